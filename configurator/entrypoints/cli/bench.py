"""``configurator bench [--json] [--only NAME...] [--quick]``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark table (ratios against peers)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run these only")
    p.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    p.set_defaults(func=run)


def _plain(value: object) -> object:
    """JSON fallback for numpy scalars (``np.bool_``, ``np.float64``) a benchmark may return."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def run(args: argparse.Namespace) -> int:
    from configurator.entrypoints.bench import Row, load_all
    from configurator.errors import ConfiguratorError

    registry = load_all()
    names = args.only or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfiguratorError(f"unknown benchmark(s) {unknown}; known: {sorted(registry)}")
    rows = []
    for name in names:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            rows.extend(registry[name](quick=args.quick))
        except Exception as exc:  # one broken benchmark must not lose the others' rows
            print(f"bench: {name} failed: {exc}", file=sys.stderr, flush=True)
            rows.append(Row(name, "failed", None, "", None, None, "", False, note=str(exc)[:300]))
            continue
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{_cpu_name()}, {os.cpu_count()} cores, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}",
    }
    if args.json:
        print(
            json.dumps(
                {"meta": meta, "rows": [r.as_dict() for r in rows]}, indent=2, default=_plain
            )
        )
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"configurator bench — {meta['date']} — {meta['machine']}")
    for col in ("area", "metric", "ours", "peer", "peer value", "ratio", "target", "ok"):
        table.add_column(col)
    for r in rows:
        ok = "-" if r.ok is None else ("yes" if r.ok else "NO")
        table.add_row(
            r.area,
            r.metric + (f" [{r.unit}]" if r.unit else ""),
            _fmt(r.ours),
            r.peer_name,
            _fmt(r.peer),
            _fmt(r.ratio),
            r.target,
            ok,
        )
    Console(width=160).print(table)
    return 0
