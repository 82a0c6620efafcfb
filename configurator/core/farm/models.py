"""Print-farm domain model (pure core: no files, DB or HTTP).

Units everywhere: lengths in mm, masses in grams (g), durations in seconds (s), instants
as POSIX seconds (float, UTC). A node's ``speed`` is a dimensionless throughput factor: a
job estimated at ``est_seconds`` on the reference machine takes ``est_seconds / speed`` on it.

The snapshots below are what the router (:mod:`configurator.core.farm.router`) and the recovery
rules (:mod:`configurator.core.farm.recovery`) read; the store builds them from its rows and a
simulator can build them from its own state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Technology(StrEnum):
    """Printing process. A job's material belongs to exactly one technology."""

    FDM = "FDM"
    SLA = "SLA"
    SLS = "SLS"
    SLM = "SLM"  # metal laser powder-bed fusion (implants)


class NodeState(StrEnum):
    """``idle``/``printing``/``paused`` accept new assignments; the others do not.

    ``offline`` is set by the heartbeat timeout, ``draining`` and ``maintenance`` by an
    operator, ``removed`` when an operator deletes the node (kept for the job history).
    """

    IDLE = "idle"
    PRINTING = "printing"
    PAUSED = "paused"
    OFFLINE = "offline"
    DRAINING = "draining"
    MAINTENANCE = "maintenance"
    REMOVED = "removed"


#: node states whose queue may receive jobs
ACCEPTING_STATES = frozenset({NodeState.IDLE, NodeState.PRINTING, NodeState.PAUSED})
#: states a node agent may report in a heartbeat
REPORTABLE_STATES = frozenset(
    {NodeState.IDLE, NodeState.PRINTING, NodeState.PAUSED, NodeState.OFFLINE}
)
#: what an operator may ask of a printing job (delivered to its node with the next report)
JOB_COMMANDS = ("pause", "resume")


class JobState(StrEnum):
    """``queued`` → ``assigned`` → ``printing`` → ``done`` | ``failed`` | ``cancelled``.

    ``queued``: waiting for a capable node (none could take it when it was routed).
    ``assigned``: in a node's queue, not started; the router may move it (rebalance).
    ``printing``: claimed by its node. ``failed`` is the dead-letter state (more failed
    attempts than allowed): an operator can requeue it. ``done``/``cancelled`` are final.
    """

    QUEUED = "queued"
    ASSIGNED = "assigned"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: jobs that still need printing
OPEN_JOB_STATES = frozenset({JobState.QUEUED, JobState.ASSIGNED, JobState.PRINTING})
FINAL_JOB_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})

#: materials the farm knows, by technology (a job's technology follows from its material
#: unless given explicitly). Names are the catalogs' material names (``catalogs/*.yaml``;
#: a test checks that catalogs, demo nodes and this table agree).
MATERIAL_TECHNOLOGY: Mapping[str, Technology] = {
    "PLA": Technology.FDM,
    "PETG": Technology.FDM,
    "ABS": Technology.FDM,
    "ASA": Technology.FDM,
    "TPU": Technology.FDM,
    "PA-CF": Technology.FDM,
    "PEEK": Technology.FDM,  # high-temperature FDM (heated chamber, 400+ °C nozzle)
    "RESIN": Technology.SLA,
    "TOUGH-RESIN": Technology.SLA,
    "PA12": Technology.SLS,
    "PA11": Technology.SLS,
    "Ti-6Al-4V": Technology.SLM,
    "316L": Technology.SLM,
}
_BY_UPPER = {name.upper(): tech for name, tech in MATERIAL_TECHNOLOGY.items()}


def technology_of(material: str) -> Technology | None:
    """The technology of a material of :data:`MATERIAL_TECHNOLOGY` (case-insensitive), or
    None for a material the table does not know."""
    return _BY_UPPER.get(material.upper()) if material else None


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """A node as the router sees it.

    ``build_volume``: (x, y, z) mm. ``materials``: material name -> grams loaded, for
    the materials the operator registered it for (0 g: registered, none loaded).
    ``speed``: wall-clock throughput factor — the registered speed times ``time_scale``
    (a simulated demo printer plays its prints ``time_scale``× faster than real time; 1 for
    a real printer), so every time the router computes is wall-clock time.
    ``busy_s``: remaining seconds of the job it is printing now (0 when idle), already at
    its own speed. ``last_heartbeat``: POSIX seconds or None if it never reported.
    ``setup_s``: plate change between two builds, s. ``auto_clear``: the node clears its
    own plate (belt printer, auto-eject) instead of waiting for an operator in a staffed
    hour. ``plate_wait_s``: seconds until its plate is clear when it is idle with a
    finished build on it (0 when clear or printing).
    """

    id: str
    technology: Technology
    build_volume: tuple[float, float, float]
    materials: Mapping[str, float]
    speed: float = 1.0
    state: NodeState = NodeState.IDLE
    busy_s: float = 0.0
    last_heartbeat: float | None = None
    name: str = ""
    time_scale: float = 1.0
    setup_s: float = 0.0
    auto_clear: bool = True
    plate_wait_s: float = 0.0

    @property
    def accepting(self) -> bool:
        return self.state in ACCEPTING_STATES


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """A job as the router sees it.

    ``bbox``: (x, y, z) mm of the part as it will be printed (z up; the router may rotate
    it about z). ``est_seconds``: estimated print time on a speed-1 node. ``grams``:
    material needed. ``seq``: submission order (first come first served tie-break).
    ``deadline``: POSIX seconds or None. ``node_id``: the node whose queue holds it.
    """

    id: str
    technology: Technology
    material: str
    bbox: tuple[float, float, float]
    est_seconds: float
    grams: float
    priority: int = 0
    deadline: float | None = None
    seq: int = 0
    state: JobState = JobState.QUEUED
    node_id: str | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Assignment:
    """The router's decision for one job.

    ``node_id`` is None when no node is capable (the job stays ``queued``).
    ``finish_at``: estimated finish (POSIX s) if the job runs after everything already in
    that node's queue. ``late``: the deadline cannot be met on any capable node even if the
    job went straight to the head of a queue.
    """

    job_id: str
    node_id: str | None
    finish_at: float | None
    late: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Move:
    """A rebalance decision: move an unstarted job from one queue to another.

    ``before``/``after``: estimated finish (POSIX s) on the old and the new node.
    """

    job_id: str
    from_node: str
    to_node: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class JobFate:
    """A recovery decision for one job (see :mod:`configurator.core.farm.recovery`).

    ``action``: ``reroute`` (back to routing, unstarted), ``dead`` (to the dead-letter
    state ``failed``) or ``keep`` (stays where it is). ``attempts``: the job's new count of
    failed attempts.
    """

    job_id: str
    action: str
    attempts: int
    reason: str


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One job in a node's planned schedule: ``start``/``finish`` POSIX s, ``position`` 0 =
    printing now or next."""

    job_id: str
    node_id: str
    position: int
    start: float
    finish: float


@dataclass(slots=True)
class FarmTotals:
    """Per-node aggregates a store can compute in SQL instead of shipping every job:
    ``queued_seconds`` (sum of est_seconds of assigned jobs, speed-1 seconds) and
    ``reserved`` (material -> grams reserved by assigned and printing jobs)."""

    queued_seconds: float = 0.0
    reserved: dict[str, float] = field(default_factory=dict)


#: The one queue order inside a node's queue: (field, descending, nulls last) — higher
#: priority first, then earliest deadline (none last), then first come. :func:`queue_key`
#: applies it to snapshots; the store renders it as SQL.
QUEUE_ORDER: tuple[tuple[str, bool, bool], ...] = (
    ("priority", True, False),
    ("deadline", False, True),
    ("seq", False, False),
)


def queue_key(job: JobSnapshot) -> tuple[float, ...]:
    """Sort key of :data:`QUEUE_ORDER` for a snapshot (``sorted(jobs, key=queue_key)``)."""
    key: list[float] = []
    for name, descending, nulls_last in QUEUE_ORDER:
        value = getattr(job, name)
        if nulls_last:
            key.append(1.0 if value is None else 0.0)
            value = 0.0 if value is None else value
        key.append(-value if descending else value)
    return tuple(key)
