"""``configurator bench``: performance and quality measured as ratios against a peer.

Each area registers a benchmark function with :func:`benchmark`. A benchmark
returns a list of :class:`Row`. Benchmarks report; tests never assert on times.
Benchmark modules are listed in :data:`BENCH_MODULES` and imported lazily; an absent
module is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

BENCH_MODULES = (
    "configurator.entrypoints.bench.catalog",
    "configurator.entrypoints.bench.optimize",
    "configurator.entrypoints.bench.geometry",
    "configurator.entrypoints.bench.farm",
    "configurator.entrypoints.bench.quote",
    "configurator.entrypoints.bench.api",
    "configurator.entrypoints.bench.estimate",
    "configurator.entrypoints.bench.simulate",
    "configurator.entrypoints.bench.plates",
    "configurator.entrypoints.bench.startup",
    "configurator.entrypoints.bench.connector",
    "configurator.entrypoints.bench.load",
    "configurator.entrypoints.bench.run_events",
    "configurator.entrypoints.bench.trace",
)


@dataclass
class Row:
    """One line of the table. ``ratio`` = ours / peer (or as documented in ``metric``)."""

    area: str
    metric: str
    ours: float | None
    peer_name: str
    peer: float | None
    ratio: float | None
    target: str
    ok: bool | None
    unit: str = ""
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_REGISTRY: dict[str, Callable[..., list[Row]]] = {}


def benchmark(name: str) -> Callable[[Callable[..., list[Row]]], Callable[..., list[Row]]]:
    """Register ``fn(quick: bool) -> list[Row]`` under ``name``."""

    def deco(fn: Callable[..., list[Row]]) -> Callable[..., list[Row]]:
        _REGISTRY[name] = fn
        return fn

    return deco


def load_all() -> dict[str, Callable[..., list[Row]]]:
    for mod in BENCH_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return dict(_REGISTRY)
