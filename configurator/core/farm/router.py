"""Print-farm router: which node prints which job (pure core: numpy only, no I/O, no clock).

API
---
Build a :class:`FarmState` from snapshots, then ask it for decisions; every decision is
applied to the state at once (per-node load and reserved material are kept incrementally,
so a decision costs O(nodes) vectorized numpy work, never a re-sum of queues)::

    state = FarmState(nodes, now=t)                 # nodes: Sequence[NodeSnapshot]
    state.add_jobs(jobs)                            # jobs already in queues (assigned/printing)
    policy = make_policy("least-loaded")            # or round-robin | first-idle | random(seed)
    a = route(state, job, policy, now=t)            # -> Assignment (node_id None if no capable node)
    fates = reroute(state, jobs, policy, now=t)     # unassign + route again, queue order
    moves = rebalance(state, unstarted, now=t, margin_s=60, targets=["n7"])  # -> list[Move]
    plan = schedule(node, jobs_on_node, now=t)      # -> list[QueueEntry] (position, start, finish)

Definitions
-----------
* able(node, job) — the one capability rule, shared by the router, the farm's capability
  view, the order check and the optimizer's farm constraint: same technology, the operator
  registered the node for the job's material, and the part's (x, y) footprint fits the bed
  at *some* rotation about z (exact test, including diagonal placements; :func:`fits_beds`)
  with z <= the build height. Any state but removed (removed nodes are not in the state).
* capable(node, job) = able, and now: the node accepts jobs (idle/printing/paused) and has
  at least ``job.grams`` of the material left after what its queue already reserves.
* load(node), seconds: remaining time of its current print + sum(est_seconds) of the jobs
  assigned to it / node.speed, plus one plate change (``setup_s``) after every build ahead
  and, for an idle node whose plate is not clear yet, the wait until it is.
* start(node): ``now + load``; with a farm calendar (:mod:`configurator.core.farm.calendar`)
  the last plate change before the new build of a non-auto-clear node needs an operator,
  so it happens in staffed time (``Calendar.clear_done``; earlier changes in the queue
  count as their setup time). finish = start + est_seconds / speed.
* least-loaded = earliest finish: ``argmin(finish)`` over capable nodes; with a calendar
  the cost is shift-aware: the finish plus the unstaffed wait until an operator can clear
  that plate (a short print that would end at 02:00 costs until the morning shift; a long
  one that runs through the night costs only its finish). Ties go to the lowest node index
  (nodes are ordered by id). Without setup and calendar this is exactly
  ``argmin(now + load + job.est_seconds / speed)``.
* round-robin: the next capable node after the previous pick (cyclic, by index).
* first-idle: the capable node that becomes free first (earliest start, ignoring the job's
  own duration there) — what a global "next free printer takes the next job" queue does.
* random: uniform over capable nodes, ``numpy.random.default_rng(seed)``.
* Within a node: higher priority first, then earliest deadline, then first come
  (:func:`configurator.core.farm.models.queue_key`).
* ``late``: the job's deadline cannot be met on any capable node even at the head of its
  queue; it is still routed (and flagged).
* rebalance: unstarted jobs, tail of the queue first, move to the node where they would
  finish earliest if that gains more than ``margin_s`` seconds over the end of their
  current queue. The margin makes moves strictly improving, so jobs never ping-pong.

Policies are looked up by name in :data:`POLICIES` (unknown names are refused). Same
snapshots, same calls and same seed → same decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from configurator.core.farm.calendar import Calendar
from configurator.core.farm.models import (
    Assignment,
    JobSnapshot,
    JobState,
    Move,
    NodeSnapshot,
    QueueEntry,
    Technology,
    queue_key,
)
from configurator.errors import FarmError

_TECH_CODE = {t: i for i, t in enumerate(Technology)}
_EPS = 1e-9


def footprint_fits(part_x: Any, part_y: Any, bed_x: Any, bed_y: Any) -> np.ndarray:
    """Does a ``part_x`` × ``part_y`` rectangle (mm) fit in each bed at some rotation about z?

    Exact (Carver, 1956): with p >= q the part's sides and a >= b the bed's, it fits iff
    ``p <= a and q <= b``, or ``p > a``, ``q <= b`` and
    ``b >= (2pqa + (p² - q²)·sqrt(p² + q² - a²)) / (p² + q²)`` (a diagonal placement).
    Arguments broadcast against each other (numpy rules): one part against ``n`` beds,
    or ``(n, 1)`` parts against ``(m,)`` beds. Returns a bool array of the broadcast shape.
    """
    px, py = np.asarray(part_x, dtype=float), np.asarray(part_y, dtype=float)
    p, q = np.maximum(px, py), np.minimum(px, py)
    a = np.maximum(bed_x, bed_y)
    b = np.minimum(bed_x, bed_y)
    straight = (p <= a + _EPS) & (q <= b + _EPS)
    pp, qq = p * p, q * q
    with np.errstate(invalid="ignore", divide="ignore"):
        need = (2 * p * q * a + (pp - qq) * np.sqrt(np.maximum(pp + qq - a * a, 0.0))) / (pp + qq)
    diagonal = (p > a) & (q <= b + _EPS) & (b + _EPS >= need)
    return straight | diagonal


def fits_beds(bbox: Any, beds: Any) -> np.ndarray:
    """The one bed-fit rule, vectorized: does each part of ``bbox`` (``(3,)`` or ``(n, 3)``
    x, y, z mm) fit each bed of ``beds`` (``(m, 3)`` x, y, z mm) at some rotation about z
    (:func:`footprint_fits`, diagonal placements included) with its height within the build
    height? Returns ``(m,)`` for one part, ``(n, m)`` for several."""
    box = np.asarray(bbox, dtype=float)
    bed = np.asarray(beds, dtype=float).reshape(-1, 3)
    if box.ndim == 2:
        box = box[:, None, :]
    height = bed[:, 2] + _EPS >= box[..., 2]
    return height & footprint_fits(box[..., 0], box[..., 1], bed[:, 0], bed[:, 1])


def fits_bed(bbox: tuple[float, float, float], bed: tuple[float, float, float]) -> bool:
    """:func:`fits_beds` for one part and one printer (x, y, z mm each)."""
    return bool(fits_beds(bbox, [bed])[0])


def fit_margin(bboxes: Any, beds: Any) -> np.ndarray:
    """How well each part of ``bboxes`` (n, 3 mm) fits the best of ``beds`` (m, 3 mm): a
    margin in mm, ``>= 0`` exactly when :func:`fits_beds` says it fits some bed.

    Per bed the margin is the straight placement's smallest slack ``min(a - p, b - q,
    bed_z - z)`` (long side against long side), raised to 0 where only a diagonal
    placement fits; the best bed counts. With no bed, ``-max(p, z)`` (the part needs a
    printer at least that large). Returns ``(n,)``; an optimizer reads it as a constraint.
    """
    box = np.atleast_2d(np.asarray(bboxes, dtype=float))
    bed = np.asarray(beds, dtype=float).reshape(-1, 3)
    p = np.maximum(box[:, 0], box[:, 1])
    if not len(bed):
        return -np.maximum(p, box[:, 2])
    q = np.minimum(box[:, 0], box[:, 1])
    a, b = np.maximum(bed[:, 0], bed[:, 1]), np.minimum(bed[:, 0], bed[:, 1])
    slack = np.minimum(np.minimum(a - p[:, None], b - q[:, None]), bed[:, 2] - box[:, 2][:, None])
    fits = fits_beds(box, bed)
    per_bed = np.where(fits, np.maximum(slack, 0.0), np.minimum(slack, -_EPS))
    return per_bed.max(axis=1)


class FarmState:
    """Vectorized view of the farm: one row per node, loads kept incrementally.

    Arrays (n = number of nodes, ordered by node id): ``speed`` (n,), ``busy`` (n,) s of
    the current print, ``load`` (n,) s (busy + assigned work / speed + plate changes ahead
    + plate wait), ``setup`` (n,) s, ``auto_clear`` (n,) bool, ``wait`` (n,) s until an
    idle node's plate is clear, ``loaded`` and ``reserved`` (n, m) grams per material
    column, ``accepting`` (n,) bool.

    ``calendar``: the farm's staffed hours (None or ``always``: staffed around the clock);
    ``time_offset``: seconds added to the router's instants to get POSIX seconds for the
    calendar (a simulator's clock starts at 0).
    """

    def __init__(
        self,
        nodes: Sequence[NodeSnapshot],
        *,
        now: float = 0.0,
        calendar: Calendar | None = None,
        time_offset: float = 0.0,
    ):
        nodes = sorted(nodes, key=lambda n: n.id)
        #: the snapshots, in row order (for explanations: names, states)
        self.nodes: list[NodeSnapshot] = list(nodes)
        self.now = float(now)
        self.node_ids: list[str] = [n.id for n in nodes]
        self.index: dict[str, int] = {nid: i for i, nid in enumerate(self.node_ids)}
        n = len(nodes)
        self.tech = np.array([_TECH_CODE[Technology(nd.technology)] for nd in nodes], dtype=np.int8)
        bv = np.array([nd.build_volume for nd in nodes], dtype=float).reshape(n, 3)
        self.beds = bv  # (n, 3) mm
        self.bed_x, self.bed_y, self.bed_z = bv[:, 0].copy(), bv[:, 1].copy(), bv[:, 2].copy()
        self.speed = np.array([nd.speed for nd in nodes], dtype=float)
        if n and (self.speed <= 0).any():
            raise FarmError("node speed must be > 0")
        self.accepting = np.array([nd.accepting for nd in nodes], dtype=bool)
        self.busy = np.array([max(nd.busy_s, 0.0) for nd in nodes], dtype=float)
        self.setup = np.array([max(nd.setup_s, 0.0) for nd in nodes], dtype=float)
        self.auto_clear = np.array([nd.auto_clear for nd in nodes], dtype=bool)
        self.wait = np.array([max(nd.plate_wait_s, 0.0) for nd in nodes], dtype=float)
        self.calendar = None if calendar is None or calendar.always else calendar
        self.time_offset = float(time_offset)
        self.load = self.busy + np.where(self.busy > 0, self.setup, 0.0) + self.wait
        self.material_col: dict[str, int] = {}
        for nd in nodes:
            for m in nd.materials:
                self.material_col.setdefault(m, len(self.material_col))
        self.loaded = np.zeros((n, len(self.material_col)))
        #: (n, m) the operator registered the node for the material (grams may be 0)
        self.registered = np.zeros((n, len(self.material_col)), dtype=bool)
        for i, nd in enumerate(nodes):
            for m, g in nd.materials.items():
                self.loaded[i, self.material_col[m]] = g
                self.registered[i, self.material_col[m]] = True
        self.reserved = np.zeros_like(self.loaded)
        self.queue_len = np.zeros(n, dtype=np.int64)

    # -- bookkeeping -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.node_ids)

    def add_jobs(self, jobs: Iterable[JobSnapshot]) -> None:
        """Account for jobs already placed: ``assigned`` ones add to load and reserve
        material; ``printing`` ones reserve material (their time is in ``busy_s``)."""
        for job in jobs:
            if job.node_id is None or job.node_id not in self.index:
                continue
            if job.state == JobState.ASSIGNED:
                self._add(self.index[job.node_id], job)
            elif job.state == JobState.PRINTING:
                self._reserve(self.index[job.node_id], job.material, job.grams)

    def add_totals(
        self, node_id: str, *, seconds: float, reserved: dict[str, float], count: int = 0
    ) -> None:
        """Aggregate form of :meth:`add_jobs`: ``seconds`` of assigned speed-1 work in
        ``count`` builds (each followed by a plate change, as :meth:`assign` counts it) and
        ``reserved`` grams per material (assigned + printing) for one node."""
        i = self.index.get(node_id)
        if i is None:
            return
        self.load[i] += seconds / self.speed[i] + count * self.setup[i]  # a plate change each
        self.queue_len[i] += count
        for m, g in reserved.items():
            self._reserve(i, m, g)

    def _reserve(self, i: int, material: str, grams: float) -> None:
        col = self.material_col.get(material)
        if col is not None:
            self.reserved[i, col] += grams

    def _floor(self, i: int) -> float:
        """The load of node ``i`` with nothing queued."""
        return self.busy[i] + (self.setup[i] if self.busy[i] > 0 else 0.0) + self.wait[i]

    def _add(self, i: int, job: JobSnapshot) -> None:
        self.load[i] += job.est_seconds / self.speed[i] + self.setup[i]
        self.queue_len[i] += 1
        self._reserve(i, job.material, job.grams)

    def _remove(self, i: int, job: JobSnapshot) -> None:
        self.load[i] = max(
            self.load[i] - (job.est_seconds / self.speed[i] + self.setup[i]), self._floor(i)
        )
        self.queue_len[i] -= 1
        self._reserve(i, job.material, -job.grams)

    def unassign(self, job: JobSnapshot) -> None:
        """Take an ``assigned`` job out of its node's totals (before moving it)."""
        if job.node_id is not None and job.node_id in self.index:
            self._remove(self.index[job.node_id], job)

    def set_accepting(self, node_id: str, accepting: bool) -> None:
        self.accepting[self.index[node_id]] = accepting

    def set_busy(self, node_id: str, busy_s: float) -> None:
        """The node's current print now has ``busy_s`` seconds left (simulators call this)."""
        i = self.index[node_id]
        new = max(busy_s, 0.0)
        s_new = self.setup[i] if new > 0 else 0.0
        s_old = self.setup[i] if self.busy[i] > 0 else 0.0
        self.load[i] += (new + s_new) - (self.busy[i] + s_old)
        self.busy[i] = new

    def set_plate_wait(self, node_id: str, wait_s: float) -> None:
        """The idle node's plate is clear in ``wait_s`` seconds (0: clear now)."""
        i = self.index[node_id]
        new = max(wait_s, 0.0)
        self.load[i] += new - self.wait[i]
        self.wait[i] = new

    # -- capability / timing -------------------------------------------------------------
    def prints(self, technology: Technology | str, material: str) -> np.ndarray:
        """Bool array (n,): nodes of ``technology`` registered for ``material``, in any
        state (what the farm can make at all; material grams and states aside)."""
        col = self.material_col.get(material)
        if col is None or not len(self):
            return np.zeros(len(self), dtype=bool)
        return (self.tech == _TECH_CODE[Technology(technology)]) & self.registered[:, col]

    def able(self, job: JobSnapshot) -> np.ndarray:
        """Bool array (n,): nodes that can make ``job`` at all — :meth:`prints` its material
        and the part fits the bed (:func:`fits_beds`) — whatever their state and grams. The
        one capability rule: :meth:`capable` adds only what changes from minute to minute."""
        mask = self.prints(job.technology, job.material)
        if mask.any():
            mask &= fits_beds(job.bbox, self.beds)
        return mask

    def capable(self, job: JobSnapshot) -> np.ndarray:
        """Bool array (n,): which nodes can print ``job`` now: :meth:`able`, accepting
        jobs, and enough of the material left after what their queues reserve."""
        mask = self.able(job) & self.accepting
        if mask.any():
            col = self.material_col[job.material]
            mask &= self.loaded[:, col] - self.reserved[:, col] + _EPS >= job.grams
        return mask

    def start_times(self, *, now: float) -> np.ndarray:
        """(n,) POSIX s at which a build appended to each node's queue would start."""
        t = now + self.load
        if self.calendar is None:
            return t
        manual = ~self.auto_clear & ((self.queue_len > 0) | (self.busy > 0))
        if manual.any():
            end = t[manual] - self.setup[manual] + self.time_offset
            t[manual] = self.calendar.add_staffed(end, self.setup[manual]) - self.time_offset
        return t

    def finish_times(self, job: JobSnapshot, *, now: float) -> np.ndarray:
        """(n,) POSIX s at which ``job`` would finish if appended to each node's queue."""
        return self.start_times(now=now) + job.est_seconds / self.speed

    def costs(self, job: JobSnapshot, *, now: float) -> np.ndarray:
        """(n,) least-loaded's cost: the finish, plus (with a calendar) the unstaffed wait
        until an operator can take that build off a non-auto-clear node's plate."""
        finish = self.finish_times(job, now=now)
        if self.calendar is None:
            return finish
        off = self.time_offset
        staffed = self.calendar.next_staffed(finish + off) - off
        return np.where(self.auto_clear, finish, staffed)

    def is_late(self, job: JobSnapshot, capable: np.ndarray, *, now: float) -> bool:
        if job.deadline is None:
            return False
        if not capable.any():
            return True
        head = self.busy + np.where(self.busy > 0, self.setup, 0.0) + self.wait
        best = now + head[capable] + job.est_seconds / self.speed[capable]
        return bool(best.min() > job.deadline + _EPS)


# -- policies ---------------------------------------------------------------------------
class Policy:
    """Chooses one node index among ``capable`` (at least one is True)."""

    name = ""

    def choose(self, state: FarmState, job: JobSnapshot, capable: np.ndarray, *, now: float) -> int:
        raise NotImplementedError


class LeastLoaded(Policy):
    """Earliest finish among capable nodes (ties: lowest index)."""

    name = "least-loaded"

    def choose(self, state, job, capable, *, now):
        t = np.where(capable, state.costs(job, now=now), np.inf)
        return int(np.argmin(t))


class FirstIdle(Policy):
    """The capable node that is free first, whatever the job's duration there."""

    name = "first-idle"

    def choose(self, state, job, capable, *, now):
        free = state.load if state.calendar is None else state.start_times(now=now)
        return int(np.argmin(np.where(capable, free, np.inf)))


class RoundRobin(Policy):
    """Cycle through nodes by index, skipping those that cannot print the job."""

    name = "round-robin"

    def __init__(self) -> None:
        self.cursor = -1

    def choose(self, state, job, capable, *, now):
        idx = np.flatnonzero(capable)
        after = idx[idx > self.cursor]
        self.cursor = int(after[0] if after.size else idx[0])
        return self.cursor


class RandomPolicy(Policy):
    """Uniform over capable nodes (seeded)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def choose(self, state, job, capable, *, now):
        idx = np.flatnonzero(capable)
        return int(idx[self.rng.integers(idx.size)])


POLICIES: dict[str, Callable[..., Policy]] = {
    "least-loaded": lambda seed=0: LeastLoaded(),
    "round-robin": lambda seed=0: RoundRobin(),
    "first-idle": lambda seed=0: FirstIdle(),
    "random": lambda seed=0: RandomPolicy(seed),
}


def make_policy(name: str, *, seed: int = 0) -> Policy:
    """A fresh policy by name (see :data:`POLICIES`); ``seed`` is used by ``random``."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise FarmError(f"unknown routing policy {name!r}; known: {sorted(POLICIES)}") from None
    return factory(seed=seed)


# -- decisions ----------------------------------------------------------------------------
def route(state: FarmState, job: JobSnapshot, policy: Policy, *, now: float) -> Assignment:
    """Choose a node for ``job`` (not currently counted in ``state``) and count it there."""
    capable = state.capable(job)
    late = state.is_late(job, capable, now=now)
    if not capable.any():
        return Assignment(job.id, None, None, late, "no capable node")
    i = policy.choose(state, job, capable, now=now)
    if state.calendar is None:
        finish = float(now + state.load[i] + job.est_seconds / state.speed[i])
    else:
        finish = float(state.finish_times(job, now=now)[i])
    state._add(i, job)
    reason = f"{policy.name}: finish {finish - now:.0f} s from now"
    if late:
        reason += "; deadline cannot be met on any capable node"
    return Assignment(job.id, state.node_ids[i], finish, late, reason)


def reroute(
    state: FarmState, jobs: Sequence[JobSnapshot], policy: Policy, *, now: float
) -> list[Assignment]:
    """Route ``jobs`` again (e.g. from a node that went offline or is draining).

    Jobs still counted on a node (``assigned``) are taken out first. They are routed in
    queue order (priority, deadline, first come) so urgent work gets the best slots.
    """
    for job in jobs:
        if job.state == JobState.ASSIGNED:
            state.unassign(job)
    return [route(state, job, policy, now=now) for job in sorted(jobs, key=queue_key)]


def rebalance(
    state: FarmState,
    jobs: Sequence[JobSnapshot],
    *,
    now: float,
    margin_s: float,
    targets: Sequence[str] | None = None,
) -> list[Move]:
    """Move unstarted jobs where they finish more than ``margin_s`` earlier.

    ``jobs``: the ``assigned`` jobs that may move (already counted in ``state``).
    ``targets``: node ids that gained capacity (joined, came back, finished early); None =
    any node. A job's current finish is taken as the end of its node's queue (where the
    tail job finishes); jobs are tried tail first (lowest priority, latest deadline, last
    come). Each move is applied to ``state`` before the next job is considered.
    """
    moves: list[Move] = []
    if not len(state):
        return moves
    target_mask = np.ones(len(state), dtype=bool)
    if targets is not None:
        target_mask[:] = False
        for t in targets:
            if t in state.index:
                target_mask[state.index[t]] = True
        if not target_mask.any():
            return moves
    for job in sorted(jobs, key=queue_key, reverse=True):  # tail of the queue first
        if job.state != JobState.ASSIGNED or job.node_id not in state.index:
            continue
        i = state.index[job.node_id]
        before = float(now + state.load[i])
        best_possible = now + np.min(
            np.where(target_mask, state.load, np.inf) + job.est_seconds / state.speed
        )
        if best_possible + margin_s >= before:
            continue  # cheap filter: no target could gain the margin
        cap = state.capable(job) & target_mask
        cap[i] = False
        if not cap.any():
            continue
        t = np.where(cap, state.finish_times(job, now=now), np.inf)
        j = int(np.argmin(t))
        if t[j] + margin_s < before:
            state._remove(i, job)
            state._add(j, job)
            moves.append(Move(job.id, job.node_id, state.node_ids[j], before, float(t[j])))
    return moves


def schedule(node: NodeSnapshot, jobs: Iterable[JobSnapshot], *, now: float) -> list[QueueEntry]:
    """Planned order of one node's queue: the printing job(s) first (a plate of several
    jobs prints as one build), then assigned jobs in :func:`queue_key` order, each starting
    one plate change (``node.setup_s``) after the previous one ends; an idle node whose
    plate is not clear starts after ``node.plate_wait_s``."""
    jobs = list(jobs)
    printing = [j for j in jobs if j.state == JobState.PRINTING]
    waiting = sorted((j for j in jobs if j.state == JobState.ASSIGNED), key=queue_key)
    out: list[QueueEntry] = []
    t = now + max(node.plate_wait_s, 0.0)
    busy_end = now + max(node.busy_s, 0.0)
    for pos, job in enumerate(printing):
        out.append(QueueEntry(job.id, node.id, pos, now, busy_end))
    if printing:
        t = busy_end + node.setup_s
    for pos, job in enumerate(waiting, start=len(printing)):
        start = t
        t = start + job.est_seconds / node.speed
        out.append(QueueEntry(job.id, node.id, pos, start, t))
        t += node.setup_s
    return out
