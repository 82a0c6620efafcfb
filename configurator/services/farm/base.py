"""What every farm operation shares: transactions, events, the router's view of the farm,
routing and recovery applied to rows.

Every public operation is one database transaction; the router runs inside it on a
:class:`~configurator.core.farm.router.FarmState` built from SQL aggregates. Routing
transactions first take the farm-wide routing lock (so router decisions see a stable farm
and row locks are always taken after it).

Units: seconds, grams, mm; instants are POSIX seconds (``clock()``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from configurator.adapters.db.raw import RawTransaction
from configurator.adapters.db.snapshots import job_snapshot, node_snapshot, remaining_seconds
from configurator.adapters.db.statements import statements_for
from configurator.adapters.db.store import Store
from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm import recovery
from configurator.core.farm.capability import FarmView, waiting_reason
from configurator.core.farm.models import (
    ACCEPTING_STATES,
    Assignment,
    JobState,
    NodeState,
    queue_key,
)
from configurator.core.farm.router import FarmState, make_policy, rebalance, route, schedule
from configurator.errors import AuthError, NotFoundError
from configurator.services.farm.auth import hash_key
from configurator.services.farm.plate_rules import node_setup, plate_wait
from configurator.settings import Settings


@dataclass(frozen=True)
class JobPlace:
    """Where a job stands: ``position`` in its node's queue (0 = printing now or next),
    ``est_start``/``est_finish`` POSIX s; None when not in a queue. ``node_id``/
    ``node_name`` also name the printer that made a finished (or dead-lettered) job, with
    its actual ``started_at``/``finished_at`` (POSIX s). ``waiting_reason``: why a
    ``queued`` job waits (customer words)."""

    job_id: int
    state: str
    node_id: str | None
    node_name: str | None
    position: int | None
    est_start: float | None
    est_finish: float | None
    late: bool
    started_at: float | None = None
    finished_at: float | None = None
    waiting_reason: str | None = None


class FarmBase:
    """State and helpers of :class:`~configurator.services.farm.service.FarmService`
    (thread-safe: each call opens its own transaction)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        admin_key: str | None = None,
        clock: Callable[[], float] = time.time,
        policy: str = "least-loaded",
        seed: int = 0,
    ):
        self.store = store
        self.settings = settings
        self.clock = clock
        self.policy_name = policy
        self.seed = seed
        make_policy(policy, seed=seed)  # refuse unknown names early
        self.started_at = clock()
        self._admin_hash = hash_key(admin_key) if admin_key else None
        self._node_keys: dict[str, str] = {}
        self._sql = statements_for(store.engine.dialect.name)
        # the capability view (services/farm/capabilities.py): (monotonic built, view)
        self._view: tuple[float, FarmView] | None = None
        self._view_lock = threading.Lock()
        self.calendar = settings.calendar()

    def _invalidate_view(self) -> None:
        """Forget the cached capability view (after a change this process committed)."""
        self._view = None

    @contextmanager
    def _tx(self, *, routing: bool = False) -> Iterator[Session]:
        """A transaction; ``routing=True`` first takes the farm-wide routing lock (so
        router decisions see a stable farm and row locks are always taken after it)."""
        with self.store.transaction() as s:
            if routing:
                self.store.routing_lock(s)
            yield s

    def _event(
        self,
        s: Session,
        now: float,
        kind: str,
        reason: str,
        *,
        actor: str,
        job_id: int | None = None,
        node_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.store.log_event(
            s,
            at=now,
            job_id=job_id,
            node_id=node_id,
            actor=actor,
            kind=kind,
            reason=reason,
            data=data,
        )

    def _node(self, s: Session, node_id: str, *, lock: bool = True) -> NodeRow:
        node = self.store.lock_node(s, node_id) if lock else s.get(NodeRow, node_id)
        if node is None or node.state == NodeState.REMOVED:
            raise NotFoundError(f"node {node_id} not found")
        return node

    def _agent_node(self, s: Session, node_id: str) -> NodeRow:
        """The calling node, locked; a node removed since its key was checked gets 401."""
        node = self.store.lock_node(s, node_id)
        if node is None or node.state == NodeState.REMOVED:
            self._node_keys = {h: n for h, n in self._node_keys.items() if n != node_id}
            raise AuthError("node key no longer valid (node removed)")
        return node

    def _job(self, s: Session, job_id: int) -> JobRow:
        job = self.store.lock_job(s, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        return job

    def _farm_view(self, s: Session, now: float) -> FarmView:
        """Every registered node (not removed) with its current print's remaining seconds
        and its queue's totals, at ``now`` (wall-clock speeds: speed × time_scale)."""
        s.flush()
        nodes = self.store.active_nodes(s)
        speed = {n.id: n.wall_speed for n in nodes}
        busy: dict[str, float] = {}
        for j in self.store.printing_jobs(s):
            if j.node_id in speed:
                busy[j.node_id] = remaining_seconds(j, speed=speed[j.node_id], now=now)
        snaps = tuple(
            node_snapshot(
                n,
                busy_s=busy.get(n.id, 0.0),
                setup_s=node_setup(self.settings, n),
                plate_wait_s=0.0
                if n.id in busy
                else plate_wait(self.settings, self.calendar, n, now),
            )
            for n in nodes
        )
        return FarmView(
            nodes=snaps, totals=self.store.node_totals(s), at=now, calendar=self.calendar
        )

    def _farm_state(self, s: Session, now: float) -> FarmState:
        return self._farm_view(s, now).state()

    def _apply_assignment(
        self, s: Session, job: JobRow, a: Assignment, now: float, actor: str
    ) -> None:
        job.late = a.late
        job.updated_at = now
        job.started_at = None
        job.progress_pct = job.seconds_left = job.progress_at = None
        if a.node_id is None:
            job.state, job.node_id, job.est_finish = JobState.QUEUED, None, None
            if job.last_reason != a.reason:  # a job waiting for the same reason logs it once
                self._event(s, now, "waiting", a.reason, actor=actor, job_id=job.id)
            job.last_reason = a.reason
        else:
            job.state, job.node_id, job.est_finish = JobState.ASSIGNED, a.node_id, a.finish_at
            job.assigned_at = now
            self._event(s, now, "assigned", a.reason, actor=actor, job_id=job.id, node_id=a.node_id)

    def _route_rows(
        self,
        s: Session,
        rows: Sequence[JobRow],
        now: float,
        *,
        actor: str,
        state: FarmState | None = None,
    ) -> None:
        """Route jobs that are not in any queue (state queued, node None), queue order; a
        job no node can take now waits with the reason (:func:`waiting_reason`).
        ``state``: the farm state to route on (default: read now)."""
        if not rows:
            return
        if state is None:
            state = self._farm_state(s, now)
        policy = make_policy(self.policy_name, seed=self.seed)
        by_id = {str(r.id): r for r in rows}
        for snap in sorted((job_snapshot(r) for r in rows), key=queue_key):
            a = route(state, snap, policy, now=now)
            if a.node_id is None:
                a = replace(a, reason=waiting_reason(state, snap))
            self._apply_assignment(s, by_id[snap.id], a, now, actor)

    def _unqueue(self, job: JobRow, now: float, reason: str) -> None:
        job.state, job.node_id, job.est_finish = JobState.QUEUED, None, None
        job.started_at = None
        job.last_reason = reason
        job.updated_at = now

    def _apply_fates(
        self,
        s: Session,
        fates: Iterable[recovery.JobFate],
        rows: Mapping[str, JobRow],
        now: float,
        *,
        actor: str,
    ) -> None:
        to_route = []
        for f in fates:
            job = rows[f.job_id]
            job.attempts = f.attempts
            if f.action == recovery.DEAD:
                job.state, job.last_reason, job.updated_at = JobState.FAILED, f.reason, now
                job.finished_at = now
                self._event(
                    s, now, "dead-letter", f.reason, actor=actor, job_id=job.id, node_id=job.node_id
                )
            elif f.action == recovery.REROUTE:
                self._event(
                    s, now, "rerouted", f.reason, actor=actor, job_id=job.id, node_id=job.node_id
                )
                self._unqueue(job, now, f.reason)
                to_route.append(job)
        self._route_rows(s, to_route, now, actor=actor)

    def _route_waiting(self, s: Session, now: float, *, actor: str) -> None:
        self._route_rows(
            s, self.store.jobs_in_state(s, JobState.QUEUED, lock=True), now, actor=actor
        )

    def _rebalance(
        self, s: Session, now: float, targets: Sequence[str] | None, *, actor: str
    ) -> int:
        state = self._farm_state(s, now)
        if not len(state):
            return 0
        # a job can only gain the margin by moving from a node whose queue ends more than
        # the margin after the least loaded target's: load only those nodes' jobs
        if targets is None:
            floor = float(state.load.min())
        else:
            idx = [state.index[t] for t in targets if t in state.index]
            if not idx:
                return 0
            floor = float(state.load[idx].min())
        margin = self.settings.rebalance_margin_s
        sources = [nid for nid, i in state.index.items() if state.load[i] > floor + margin]
        if not sources:
            return 0
        rows = self.store.open_jobs(s, node_ids=sources, lock=True)
        rows = [r for r in rows if r.state == JobState.ASSIGNED]
        by_id = {str(r.id): r for r in rows}
        moves = rebalance(
            state,
            [job_snapshot(r) for r in rows],
            now=now,
            margin_s=self.settings.rebalance_margin_s,
            targets=targets,
        )
        for m in moves:
            job = by_id[m.job_id]
            job.node_id, job.est_finish, job.assigned_at, job.updated_at = (
                m.to_node,
                m.after,
                now,
                now,
            )
            reason = f"moved from {m.from_node}: finishes {m.before - m.after:.0f} s earlier"
            self._event(s, now, "moved", reason, actor=actor, job_id=job.id, node_id=m.to_node)
        return len(moves)

    def _reconcile_node(
        self, s: Session, node: NodeRow, now: float, *, actor: str, reason: str
    ) -> None:
        """After a node changed (joined, came back, new material/volume/state): move away
        assigned jobs it can no longer take, then route waiting jobs and pull work to it."""
        mine = [
            j
            for j in self.store.open_jobs(s, node_id=node.id, lock=True)
            if j.state == JobState.ASSIGNED
        ]
        if node.state not in ACCEPTING_STATES:
            fates = recovery.node_drained(node.id, [job_snapshot(j) for j in mine], reason=reason)
            self._apply_fates(s, fates, {str(j.id): j for j in mine}, now, actor=actor)
            return
        if mine:
            for j in mine:
                self._unqueue(j, now, reason)
            state = self._farm_state(s, now)
            idx = state.index[node.id]
            drop = []
            for j in sorted(mine, key=lambda r: queue_key(job_snapshot(r))):
                snap = job_snapshot(j)
                if state.capable(snap)[idx]:
                    state._add(idx, snap)
                    j.state, j.node_id = JobState.ASSIGNED, node.id
                else:
                    drop.append(j)
            s.flush()
            for j in drop:
                self._event(
                    s,
                    now,
                    "rerouted",
                    f"{reason}: node can no longer print it",
                    actor=actor,
                    job_id=j.id,
                    node_id=node.id,
                )
            self._route_rows(s, drop, now, actor=actor)
        self._route_waiting(s, now, actor=actor)
        self._rebalance(s, now, [node.id], actor=actor)

    def _plan(self, s: Session, node: NodeRow, now: float):
        jobs = self.store.open_jobs(s, node_id=node.id)
        printing = next((j for j in jobs if j.state == JobState.PRINTING), None)
        busy = remaining_seconds(printing, speed=node.wall_speed, now=now) if printing else 0.0
        wait = 0.0 if printing else plate_wait(self.settings, self.calendar, node, now)
        snap = node_snapshot(
            node, busy_s=busy, setup_s=node_setup(self.settings, node), plate_wait_s=wait
        )
        return schedule(snap, [job_snapshot(j) for j in jobs], now=now)

    def _printing_job(self, s: Session, node_id: str) -> JobRow | None:
        return self.store.printing_job_of(s, node_id)

    def _touch(self, s: Session, node: NodeRow, now: float) -> bool:
        """Record a sign of life; returns True if the node was offline (it came back)."""
        node.last_heartbeat = now
        if node.state == NodeState.OFFLINE:
            node.state, node.state_reason = NodeState.IDLE, None
            node.updated_at = now
            self._event(
                s,
                now,
                "node-back",
                "heartbeat after timeout",
                actor=f"node:{node.name}",
                node_id=node.id,
            )
            return True
        return False

    def _touch_fast(self, s: RawTransaction, node_id: str, now: float):
        """Record a sign of life of a node in service in one statement; returns its
        (state, name, speed, materials) or None when the node is offline or unknown (the
        caller then takes the ORM path, which handles coming back and 401)."""
        return s.execute(self._sql.touch, {"nid": node_id, "t_now": now}).first()

    def _event_fast(
        self,
        s: RawTransaction,
        now: float,
        kind: str,
        reason: str,
        *,
        actor: str,
        job_id=None,
        node_id=None,
        data=None,
    ) -> None:
        s.events.append(
            {
                "at": now,
                "job_id": job_id,
                "node_id": node_id,
                "actor": actor,
                "kind": kind,
                "reason": reason,
                "data": data,
            }
        )
