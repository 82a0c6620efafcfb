"""What the farm can make: the capability view the design side reads (pure core).

Everything here applies the router's one capability rule (:meth:`FarmState.able
<configurator.core.farm.router.FarmState.able>`: technology, a material the operator
registered, the bed fit of :func:`~configurator.core.farm.router.fits_beds`) — never a
rule of its own:

* :class:`FarmView` — the registered nodes (any state but removed, with their queues'
  totals) at one instant: what the farm service builds from its store and caches for a few
  seconds. It answers :meth:`FarmView.availability` (can the farm make a material at all,
  and would an order wait now), and :meth:`FarmView.state` is a fresh router state for
  quotes.
* :class:`FarmProfile` — the structural part only (per printer: technology, build volume,
  registered materials), plain data that travels to optimizer workers; its
  :attr:`~FarmProfile.fingerprint` is what a farm-attached design run depended on.
* :func:`missing_reason` / :func:`waiting_reason` — why a job can never be made / why it
  waits now, in the customer's words.
* :func:`plan_pieces` — route ``quantity`` copies of a job on a copy of the state, as the
  real submission would (the quote's ``ready_by``).

Units: mm, grams, seconds; instants POSIX seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from configurator.core.farm.calendar import Calendar
from configurator.core.farm.models import (
    Assignment,
    FarmTotals,
    JobSnapshot,
    NodeSnapshot,
    NodeState,
    Technology,
)
from configurator.core.farm.router import FarmState, Policy, route

#: how a customer reads a node state that keeps a printer from taking jobs
STATE_WORDS = {
    NodeState.OFFLINE: "offline",
    NodeState.DRAINING: "being taken out of service",
    NodeState.MAINTENANCE: "in maintenance",
    NodeState.IDLE: "idle",
    NodeState.PRINTING: "printing",
    NodeState.PAUSED: "paused",
}


def _name(node: NodeSnapshot) -> str:
    return node.name or node.id


def _mm(v: Sequence[float]) -> str:
    return " × ".join(f"{float(x):.0f}" for x in v) + " mm"


@dataclass(frozen=True)
class Availability:
    """Can the farm make ``material`` (``technology``) at all, and would an order wait now.

    ``available``: some registered node (any state but removed) prints it; otherwise
    ``reason`` says why not. ``notice``: available, but no such printer takes jobs now (an
    order is accepted and waits; the notice says why). ``printers``: how many nodes print it.
    """

    material: str
    technology: str
    available: bool
    reason: str | None = None
    notice: str | None = None
    printers: int = 0


def material_availability(state: FarmState, material: str, technology: str) -> Availability:
    """:class:`Availability` of ``material`` on ``state``'s nodes (:meth:`FarmState.prints`)."""
    mask = state.prints(technology, material)
    if not mask.any():
        return Availability(
            material,
            technology,
            False,
            reason=f"no printer in the farm prints {material} ({technology})",
        )
    notice = None
    if not (mask & state.accepting).any():
        notice = _out_of_service(
            state, mask, technology, (f"that prints {material}", f"that print {material}")
        )
    return Availability(material, technology, True, notice=notice, printers=int(mask.sum()))


def _out_of_service(
    state: FarmState, mask: np.ndarray, technology: str, clause: tuple[str, str]
) -> str:
    """Why the printers of ``mask`` take no jobs (``clause``: singular, plural)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 1:
        n = state.nodes[int(idx[0])]
        return (
            f"the only {technology} printer {clause[0]} ({_name(n)}) is "
            f"{STATE_WORDS.get(n.state, n.state)}"
        )
    states = ", ".join(
        f"{_name(state.nodes[int(i)])}: {STATE_WORDS.get(state.nodes[int(i)].state, '')}"
        for i in idx
    )
    return f"none of the {len(idx)} {technology} printers {clause[1]} takes jobs now ({states})"


def missing_reason(state: FarmState, job: JobSnapshot) -> str | None:
    """Why no node of ``state`` can ever make ``job`` (None when one can): no printer of
    its technology with its material, or none whose bed holds the part."""
    if state.able(job).any():
        return None
    tech = Technology(job.technology).value
    prints = state.prints(tech, job.material)
    if not prints.any():
        return f"no printer in the farm prints {job.material} ({tech})"
    beds = state.beds[prints]
    largest = beds[int(np.argmax(beds.prod(axis=1)))]
    return (
        f"no {tech} printer with {job.material} has room for {_mm(job.bbox)} "
        f"(largest bed {_mm(largest)})"
    )


def waiting_reason(state: FarmState, job: JobSnapshot) -> str:
    """Why ``job`` cannot be routed now: never makeable (:func:`missing_reason`), every
    printer that could make it out of service, or not enough of its material loaded."""
    missing = missing_reason(state, job)
    if missing is not None:
        return missing
    able = state.able(job)
    tech = Technology(job.technology).value
    if not (able & state.accepting).any():
        return _out_of_service(state, able, tech, ("that can print it", "that can print it"))
    col = state.material_col[job.material]
    free = state.loaded[:, col] - state.reserved[:, col]
    ok = able & state.accepting
    best = int(np.flatnonzero(ok)[np.argmax(free[ok])])
    return (
        f"waiting for {job.material} to be loaded: a piece needs {job.grams:.0f} g, "
        f"{_name(state.nodes[best])} has {max(free[best], 0.0):.0f} g free"
    )


def plan_pieces(
    state: FarmState, job: JobSnapshot, quantity: int, policy: Policy, *, now: float
) -> list[Assignment]:
    """Route ``quantity`` copies of ``job`` on ``state`` (mutated: use a fresh one), in
    submission order, as :meth:`submit_jobs` would: the earliest-finish decisions, node
    speeds and queues included. The quote's ``ready_by`` is the latest ``finish_at``."""
    return [
        route(state, replace(job, id=f"{job.id}#{k}", seq=job.seq + k), policy, now=now)
        for k in range(quantity)
    ]


@dataclass(frozen=True)
class FarmView:
    """The registered nodes (any state but removed) and their queues at instant ``at``.

    ``nodes``: snapshots (``busy_s`` = remaining seconds of the current print at ``at``);
    ``totals``: node id -> (assigned speed-1 seconds and reserved grams, queue length);
    ``calendar``: the farm's staffed hours (None: around the clock).
    """

    nodes: tuple[NodeSnapshot, ...]
    totals: Mapping[str, tuple[FarmTotals, int]] = field(default_factory=dict)
    at: float = 0.0
    calendar: Calendar | None = None

    def state(self) -> FarmState:
        """A fresh router state of this view (loads and reservations included)."""
        state = FarmState(self.nodes, now=self.at, calendar=self.calendar)
        for node_id, (totals, count) in self.totals.items():
            state.add_totals(
                node_id, seconds=totals.queued_seconds, reserved=totals.reserved, count=count
            )
        return state

    @cached_property
    def _state(self) -> FarmState:  # read-only use (no routing on it)
        return self.state()

    def availability(self, material: str, technology: str) -> Availability:
        return material_availability(self._state, material, technology)

    def missing(self, job: JobSnapshot) -> str | None:
        """:func:`missing_reason` on this view."""
        return missing_reason(self._state, job)

    @property
    def time_scale(self) -> float:
        """The demo time compression: the largest ``time_scale`` of a node (1 when every
        node is a real printer)."""
        return max((n.time_scale for n in self.nodes), default=1.0)

    def profile(self, *, source: str = "server") -> FarmProfile:
        return FarmProfile.of(self.nodes, source=source)


class FarmPrinter(BaseModel):
    """One printer as the optimizer sees it: what it can make, not how busy it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    technology: Technology
    build_volume: tuple[float, float, float] = Field(description="x, y, z mm")
    materials: list[str] = Field(description="materials the operator registered it for")


class FarmProfile(BaseModel):
    """What a farm can make (plain data: it travels to optimizer workers and Dask).

    ``printers`` in canonical order; ``source`` says where it was read (``server``, a URL).
    :attr:`fingerprint` hashes what the optimizer's farm constraint depends on (technology,
    build volume and materials of each printer; not names, states, grams or loads).
    """

    model_config = ConfigDict(extra="forbid")

    printers: list[FarmPrinter] = Field(default_factory=list)
    source: str = "server"
    _state: FarmState | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, nodes: Sequence[NodeSnapshot], *, source: str = "server") -> FarmProfile:
        printers = [
            FarmPrinter(
                name=_name(n),
                technology=Technology(n.technology),
                build_volume=tuple(float(v) for v in n.build_volume),  # type: ignore[arg-type]
                materials=sorted(n.materials),
            )
            for n in nodes
            if n.state != NodeState.REMOVED
        ]
        printers.sort(key=lambda p: (p.technology.value, p.build_volume, p.materials, p.name))
        return cls(printers=printers, source=source)

    @property
    def fingerprint(self) -> str:
        """``farm:<16 hex>`` — sha256 of the canonical printers (names left out)."""
        data = sorted(
            (p.technology.value, list(p.build_volume), sorted(p.materials)) for p in self.printers
        )
        text = json.dumps(data, separators=(",", ":"))
        return "farm:" + hashlib.sha256(text.encode()).hexdigest()[:16]

    def state(self) -> FarmState:
        """The router state of these printers (every one accepting, materials registered
        with 0 g): only the structural rules (:meth:`FarmState.able`) are meaningful."""
        if self._state is None:
            self._state = FarmState(
                [
                    NodeSnapshot(
                        id=f"p{i:04d}",
                        technology=p.technology,
                        build_volume=p.build_volume,
                        materials=dict.fromkeys(p.materials, 0.0),
                        name=p.name,
                    )
                    for i, p in enumerate(self.printers)
                ]
            )
        return self._state

    def availability(self, material: str, technology: str) -> Availability:
        return material_availability(self.state(), material, technology)

    def beds(self, material: str, technology: str) -> np.ndarray:
        """(m, 3) mm: build volumes of the printers that print ``material`` (``technology``)."""
        state = self.state()
        return state.beds[state.prints(technology, material)]
