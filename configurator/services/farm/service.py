"""Farm service: composes the pure router/recovery rules with the store and job files.

Every public method is one database transaction; the router runs inside it on a
:class:`~configurator.core.farm.router.FarmState` built from SQL aggregates. Callers:
the farm API (operators and node agents), ``configurator serve --demo-nodes``, and later
the order service, which creates jobs with :meth:`FarmService.submit_job` (passing
``order_token``) and reads them back with :meth:`FarmService.job_status`.

Units: seconds, grams, mm; instants are POSIX seconds (``clock()``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from configurator.adapters import storage
from configurator.adapters.db.store import (
    EventRow,
    JobRow,
    NodeRow,
    RawTransaction,
    Store,
    job_snapshot,
    node_snapshot,
    remaining_seconds,
)
from configurator.core.farm import recovery
from configurator.core.farm.models import (
    ACCEPTING_STATES,
    MATERIAL_TECHNOLOGY,
    REPORTABLE_STATES,
    Assignment,
    JobState,
    NodeState,
    Technology,
    queue_key,
)
from configurator.core.farm.router import FarmState, make_policy, rebalance, route, schedule
from configurator.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequirementsError,
)
from configurator.settings import Settings

JOB_FILE_EXTENSIONS = ("stl", "3mf")
ADMIN_KEY_FILE = "admin.key"


def hash_key(key: str) -> str:
    """sha256 hex of a key (keys are 256-bit random tokens, so a plain hash suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def load_or_create_admin_key(settings: Settings) -> tuple[str, bool]:
    """The operator key: ``settings.admin_key``, else ``data_dir/admin.key``, else a new
    one written there (mode 0600). Returns (key, generated_now)."""
    if settings.admin_key:
        return settings.admin_key, False
    path = Path(settings.data_dir) / ADMIN_KEY_FILE
    if path.exists():
        key = storage.read_bytes(path).decode().strip()
        if key:
            return key, False
    key = new_key("cfa")
    storage.write_bytes_atomic(path, (key + "\n").encode(), mode=0o600)
    return key, True


def sniff_job_file(data: bytes, ext: str) -> str | None:
    """Why ``data`` is not a plausible STL/3MF file, or None if it is."""
    if not data:
        return "file is empty"
    if ext == "3mf":
        return None if data[:4] == b"PK\x03\x04" else "3MF file is not a ZIP container"
    if len(data) >= 84:
        n = int.from_bytes(data[80:84], "little")
        if len(data) == 84 + 50 * n and n > 0:
            return None
    if data[:5].lower() == b"solid" and b"facet" in data[:4096].lower():
        return None
    return "not an STL file (neither binary with a matching triangle count nor ASCII)"


@dataclass(frozen=True)
class JobPlace:
    """Where a job stands: ``position`` in its node's queue (0 = printing now or next),
    ``est_start``/``est_finish`` POSIX s; None when not in a queue."""

    job_id: int
    state: str
    node_id: str | None
    node_name: str | None
    position: int | None
    est_start: float | None
    est_finish: float | None
    late: bool


class FarmService:
    """The print farm's use cases. Thread-safe (each call opens its own transaction)."""

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
        self._sql = _sql_for(store.engine.dialect.name)

    # -- auth ----------------------------------------------------------------------------
    def check_admin(self, key: str | None) -> None:
        """Raise :class:`AuthError` (401) unless ``key`` is the operator key; a valid node
        key gets :class:`ForbiddenError` (403)."""
        if not key:
            raise AuthError("missing key")
        if self._admin_hash and hmac.compare_digest(hash_key(key), self._admin_hash):
            return
        with self.store.transaction() as s:
            if self.store.node_by_key_hash(s, hash_key(key)) is not None:
                raise ForbiddenError("node keys cannot use operator endpoints")
        raise AuthError("invalid key")

    def node_id_for_key(self, key: str) -> str | None:
        """The active node owning ``key`` or None (no error)."""
        with self.store.transaction() as s:
            node = self.store.node_by_key_hash(s, hash_key(key))
            return node.id if node is not None else None

    def authenticate_node(self, key: str | None) -> str:
        """The node id owning ``key``; 401 for unknown keys, 403 for the operator key.

        Known keys are cached in memory (hash -> node id); every node operation re-checks
        in its own transaction that the node still exists (a removed node gets 401).
        """
        if not key:
            raise AuthError("missing key")
        h = hash_key(key)
        cached = self._node_keys.get(h)
        if cached is not None:
            return cached
        with self.store.transaction() as s:
            node = self.store.node_by_key_hash(s, h)
            if node is not None:
                if len(self._node_keys) > 100_000:
                    self._node_keys.clear()
                self._node_keys[h] = node.id
                return node.id
        if self._admin_hash and hmac.compare_digest(hash_key(key), self._admin_hash):
            raise ForbiddenError("the operator key cannot act as a node")
        raise AuthError("invalid key")

    # -- helpers -------------------------------------------------------------------------
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
        s.add(
            EventRow(
                at=now,
                job_id=job_id,
                node_id=node_id,
                actor=actor,
                kind=kind,
                reason=reason,
                data=data,
            )
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

    def _farm_state(self, s: Session, now: float) -> FarmState:
        s.flush()
        nodes = self.store.active_nodes(s)
        speed = {n.id: n.speed for n in nodes}
        busy: dict[str, float] = {}
        for j in self.store.printing_jobs(s):
            if j.node_id in speed:
                busy[j.node_id] = remaining_seconds(j, speed=speed[j.node_id], now=now)
        state = FarmState([node_snapshot(n, busy_s=busy.get(n.id, 0.0)) for n in nodes], now=now)
        for node_id, (totals, count) in self.store.node_totals(s).items():
            state.add_totals(
                node_id, seconds=totals.queued_seconds, reserved=totals.reserved, count=count
            )
        return state

    def _apply_assignment(
        self, s: Session, job: JobRow, a: Assignment, now: float, actor: str
    ) -> None:
        job.late = a.late
        job.updated_at = now
        job.started_at = None
        job.progress_pct = job.seconds_left = job.progress_at = None
        if a.node_id is None:
            job.state, job.node_id, job.est_finish = JobState.QUEUED, None, None
            self._event(s, now, "waiting", a.reason, actor=actor, job_id=job.id)
        else:
            job.state, job.node_id, job.est_finish = JobState.ASSIGNED, a.node_id, a.finish_at
            job.assigned_at = now
            self._event(s, now, "assigned", a.reason, actor=actor, job_id=job.id, node_id=a.node_id)

    def _route_rows(self, s: Session, rows: Sequence[JobRow], now: float, *, actor: str) -> None:
        """Route jobs that are not in any queue (state queued, node None), queue order."""
        if not rows:
            return
        state = self._farm_state(s, now)
        policy = make_policy(self.policy_name, seed=self.seed)
        by_id = {str(r.id): r for r in rows}
        for snap in sorted((job_snapshot(r) for r in rows), key=queue_key):
            a = route(state, snap, policy, now=now)
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

    # -- operators: nodes ---------------------------------------------------------------
    def register_node(
        self,
        *,
        name: str,
        technology: Technology | str,
        build_volume: tuple[float, float, float],
        materials: Mapping[str, float],
        speed: float = 1.0,
    ) -> tuple[NodeRow, str]:
        """Add a node; returns (node, node key). The key is shown once: only its hash is kept."""
        key = new_key("cfn")
        now = self.clock()
        with self._tx(routing=True) as s:
            clash = s.scalars(
                select(NodeRow).where(NodeRow.name == name, NodeRow.state != NodeState.REMOVED)
            ).first()
            if clash is not None:
                raise ConflictError(f"a node named {name!r} already exists ({clash.id})")
            node = NodeRow(
                id="n" + uuid.uuid4().hex[:12],
                name=name,
                technology=Technology(technology).value,
                bv_x=build_volume[0],
                bv_y=build_volume[1],
                bv_z=build_volume[2],
                speed=speed,
                materials={k: float(v) for k, v in materials.items()},
                state=NodeState.IDLE,
                key_hash=hash_key(key),
                last_heartbeat=now,
                created_at=now,
                updated_at=now,
            )
            s.add(node)
            self._event(
                s,
                now,
                "node-registered",
                f"{technology} {build_volume} mm",
                actor="operator",
                node_id=node.id,
            )
            s.flush()
            self._reconcile_node(s, node, now, actor="operator", reason="node joined")
        return node, key

    def update_node(
        self,
        node_id: str,
        *,
        name: str | None = None,
        build_volume: tuple[float, float, float] | None = None,
        materials: Mapping[str, float] | None = None,
        speed: float | None = None,
        state: NodeState | str | None = None,
    ) -> NodeRow:
        """Change a node; ``state`` may be idle (back in service), maintenance or draining."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._node(s, node_id)
            if name is not None:
                node.name = name
            if build_volume is not None:
                node.bv_x, node.bv_y, node.bv_z = build_volume
            if materials is not None:
                node.materials = {k: float(v) for k, v in materials.items()}
            if speed is not None:
                node.speed = speed
            if state is not None:
                state = NodeState(state)
                if state not in (NodeState.IDLE, NodeState.MAINTENANCE, NodeState.DRAINING):
                    raise RequirementsError(
                        {"state": "operators may set idle, maintenance or draining"}
                    )
                if state == NodeState.IDLE and self._printing_job(s, node.id) is not None:
                    state = NodeState.PRINTING
                node.state = state
            node.updated_at = now
            self._event(
                s, now, "node-updated", "operator update", actor="operator", node_id=node.id
            )
            self._reconcile_node(s, node, now, actor="operator", reason=f"node {node.state}")
        return node

    def drain_node(self, node_id: str) -> NodeRow:
        """The node finishes its current job; its queue moves elsewhere."""
        return self.update_node(node_id, state=NodeState.DRAINING)

    def remove_node(self, node_id: str) -> None:
        """Remove a node; all its open jobs (printing too, no attempt counted) are rerouted."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._node(s, node_id)
            node.state, node.updated_at = NodeState.REMOVED, now
            self._node_keys = {h: n for h, n in self._node_keys.items() if n != node_id}
            jobs = self.store.open_jobs(s, node_id=node.id, lock=True)
            fates = recovery.node_removed(node.id, [job_snapshot(j) for j in jobs])
            self._event(
                s,
                now,
                "node-removed",
                "operator removed the node",
                actor="operator",
                node_id=node.id,
            )
            self._apply_fates(s, fates, {str(j.id): j for j in jobs}, now, actor="operator")

    def list_nodes(self) -> list[NodeRow]:
        with self.store.transaction() as s:
            return self.store.active_nodes(s)

    def get_node(self, node_id: str) -> NodeRow:
        with self.store.transaction() as s:
            return self._node(s, node_id, lock=False)

    # -- operators / orders: jobs -------------------------------------------------------
    def submit_jobs(
        self,
        *,
        design_id: str,
        material: str,
        bbox: tuple[float, float, float],
        est_seconds: float,
        grams: float,
        file_bytes: bytes | None = None,
        file_path: Path | str | None = None,
        file_name: str | None = None,
        technology: Technology | str | None = None,
        priority: int = 0,
        deadline: float | None = None,
        labels: Sequence[str | None] = (None,),
        order_token: str | None = None,
        actor: str = "operator",
    ) -> list[JobRow]:
        """Store the file under ``data_dir/jobs/`` and route one job per entry of ``labels``
        (an order's pieces) in ONE transaction: all are created, or none.

        Exactly one of ``file_bytes`` / ``file_path``. ``bbox`` mm, ``est_seconds`` on a
        speed-1 node, ``grams`` of ``material``, ``deadline`` POSIX s. Raises
        :class:`RequirementsError` (field -> reason) for bad values. Returns the job row
        (state ``assigned``, or ``queued`` when no node can print it yet).
        """
        problems: dict[str, str] = {}
        if (file_bytes is None) == (file_path is None):
            problems["file"] = "give exactly one of file_bytes or file_path"
        name = file_name or (Path(file_path).name if file_path is not None else "part.stl")
        ext = Path(name).suffix.lower().lstrip(".")
        if ext not in JOB_FILE_EXTENSIONS:
            problems["file"] = f"file must be .stl or .3mf, got {name!r}"
        if file_path is not None and "file" not in problems:
            try:
                file_bytes = storage.read_bytes(file_path)
            except OSError as exc:
                problems["file"] = f"cannot read {file_path}: {exc.strerror}"
        if file_bytes is not None and "file" not in problems:
            if len(file_bytes) > self.settings.max_upload_bytes:
                problems["file"] = f"file is larger than {self.settings.max_upload_bytes} bytes"
            elif why := sniff_job_file(file_bytes, ext):
                problems["file"] = why
        tech = technology
        if tech is None:
            tech = MATERIAL_TECHNOLOGY.get(material.upper()) if material else None
            if tech is None:
                problems["material"] = (
                    f"unknown material {material!r}; give technology or one of {sorted(MATERIAL_TECHNOLOGY)}"
                )
        else:
            try:
                tech = Technology(tech)
            except ValueError:
                problems["technology"] = (
                    f"unknown technology {tech!r}; one of {[t.value for t in Technology]}"
                )
        if len(bbox) != 3 or any(not (0 < float(v) <= 10_000) for v in bbox):
            problems["bbox"] = "three sizes in mm, each > 0 and <= 10000"
        if not (0 < est_seconds <= 30 * 86400):
            problems["est_seconds"] = "must be > 0 and at most 30 days"
        if not (0 <= grams <= 1_000_000):
            problems["grams"] = "must be >= 0 and <= 1000000"
        if not design_id or len(design_id) > 128:
            problems["design_id"] = "1 to 128 characters"
        if not 1 <= len(labels) <= 1000:
            problems["labels"] = "1 to 1000 jobs per submission"
        if problems:
            raise RequirementsError(problems)
        path, digest = storage.store_job_file(self.settings.data_dir, file_bytes, ext)
        now = self.clock()
        with self._tx(routing=True) as s:
            jobs = [
                JobRow(
                    design_id=design_id,
                    label=label,
                    order_token=order_token,
                    file_path=str(path),
                    file_name=name,
                    file_sha256=digest,
                    file_size=len(file_bytes),
                    technology=Technology(tech).value,
                    material=material,
                    bbox_x=float(bbox[0]),
                    bbox_y=float(bbox[1]),
                    bbox_z=float(bbox[2]),
                    est_seconds=float(est_seconds),
                    grams=float(grams),
                    priority=int(priority),
                    deadline=deadline,
                    state=JobState.QUEUED,
                    node_id=None,
                    attempts=0,
                    late=False,
                    created_at=now,
                    updated_at=now,
                )
                for label in labels
            ]
            s.add_all(jobs)
            s.flush()
            for job in jobs:
                self._event(
                    s,
                    now,
                    "submitted",
                    f"{name} ({len(file_bytes)} bytes)",
                    actor=actor,
                    job_id=job.id,
                )
            self._route_rows(s, jobs, now, actor="router")
        return jobs

    def submit_job(self, *, label: str | None = None, **job: Any) -> JobRow:
        """One job: :meth:`submit_jobs` with a single label (same arguments otherwise)."""
        return self.submit_jobs(labels=[label], **job)[0]

    def cancel_job(self, job_id: int, *, reason: str = "cancelled by operator") -> JobRow:
        now = self.clock()
        with self.store.transaction() as s:
            job = self._job(s, job_id)
            if job.state == JobState.CANCELLED:
                return job
            if job.state in (JobState.DONE, JobState.FAILED):
                raise ConflictError(f"job {job_id} is {job.state}; cannot cancel")
            job.state, job.last_reason, job.finished_at, job.updated_at = (
                JobState.CANCELLED,
                reason,
                now,
                now,
            )
            self._event(
                s, now, "cancelled", reason, actor="operator", job_id=job.id, node_id=job.node_id
            )
        return job

    def requeue_job(self, job_id: int) -> JobRow:
        """Give a dead-letter (``failed``) job a fresh set of attempts and route it."""
        now = self.clock()
        with self._tx(routing=True) as s:
            job = self._job(s, job_id)
            if job.state != JobState.FAILED:
                raise ConflictError(
                    f"job {job_id} is {job.state}; only failed jobs can be requeued"
                )
            job.attempts = 0
            job.finished_at = None
            self._unqueue(job, now, "requeued by operator")
            self._event(
                s,
                now,
                "requeued",
                "operator requeued a dead letter",
                actor="operator",
                job_id=job.id,
            )
            self._route_rows(s, [job], now, actor="router")
        return job

    def get_job(self, job_id: int) -> JobRow:
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            return job

    def list_jobs(
        self,
        *,
        state: JobState | str | None = None,
        node_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobRow]:
        with self.store.transaction() as s:
            stmt = select(JobRow).order_by(JobRow.id.desc()).limit(limit).offset(offset)
            if state is not None:
                stmt = stmt.where(JobRow.state == JobState(state))
            if node_id is not None:
                stmt = stmt.where(JobRow.node_id == node_id)
            return list(s.scalars(stmt))

    def job_events(self, job_id: int) -> list[EventRow]:
        with self.store.transaction() as s:
            return list(
                s.scalars(select(EventRow).where(EventRow.job_id == job_id).order_by(EventRow.id))
            )

    def jobs_for_order(self, order_token: str) -> list[JobRow]:
        with self.store.transaction() as s:
            return list(
                s.scalars(
                    select(JobRow).where(JobRow.order_token == order_token).order_by(JobRow.id)
                )
            )

    def job_status(self, job_id: int) -> JobPlace:
        """Queue position and estimated start/finish of a job (for order pages)."""
        now = self.clock()
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            if job.state not in (JobState.ASSIGNED, JobState.PRINTING) or job.node_id is None:
                return JobPlace(job.id, job.state, None, None, None, None, None, job.late)
            node = s.get(NodeRow, job.node_id)
            plan = self._plan(s, node, now)
            entry = next(e for e in plan if e.job_id == str(job.id))
            return JobPlace(
                job.id,
                job.state,
                node.id,
                node.name,
                entry.position,
                entry.start,
                entry.finish,
                job.late,
            )

    def _plan(self, s: Session, node: NodeRow, now: float):
        jobs = self.store.open_jobs(s, node_id=node.id)
        printing = next((j for j in jobs if j.state == JobState.PRINTING), None)
        busy = remaining_seconds(printing, speed=node.speed, now=now) if printing else 0.0
        return schedule(node_snapshot(node, busy_s=busy), [job_snapshot(j) for j in jobs], now=now)

    def _printing_job(self, s: Session, node_id: str) -> JobRow | None:
        return s.scalars(
            select(JobRow).where(JobRow.node_id == node_id, JobRow.state == JobState.PRINTING)
        ).first()

    # -- node agents --------------------------------------------------------------------
    def _touch(self, s: Session, node: NodeRow, now: float) -> bool:
        """Record a sign of life; returns True if the node was offline (it came back)."""
        node.last_heartbeat = now
        if node.state == NodeState.OFFLINE:
            node.state = NodeState.IDLE
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

    def heartbeat(
        self,
        node_id: str,
        *,
        state: NodeState | str = NodeState.IDLE,
        materials: Mapping[str, float] | None = None,
    ) -> NodeRow:
        """A node's sign of life with its state (idle/printing/paused) and loaded material
        (grams per material; omitted = unchanged)."""
        reported = NodeState(state)
        if reported not in REPORTABLE_STATES:
            raise RequirementsError(
                {"state": f"a node reports one of {sorted(s.value for s in REPORTABLE_STATES)}"}
            )
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._agent_node(s, node_id)
            came_back = self._touch(s, node, now)
            changed = came_back
            if materials is not None and dict(materials) != dict(node.materials or {}):
                node.materials = {k: float(v) for k, v in materials.items()}
                changed = True
            printing = self._printing_job(s, node.id)
            if printing is not None and reported == NodeState.IDLE:
                fate = recovery.after_failure(
                    job_snapshot(printing),
                    max_attempts=self.settings.max_attempts,
                    reason="node reported idle while the job was printing (agent restarted?)",
                )
                self._apply_fates(
                    s, [fate], {str(printing.id): printing}, now, actor=f"node:{node.name}"
                )
                printing = None
            if node.state not in (NodeState.DRAINING, NodeState.MAINTENANCE):
                node.state = NodeState.PRINTING if printing is not None else reported
            if changed:
                self._reconcile_node(s, node, now, actor=f"node:{node.name}", reason="node changed")
        return node

    def claim(self, node_id: str) -> JobRow | None:
        """Atomically take the head of the node's own queue (assigned → printing).

        Returns the job the node is already printing if there is one (a retried claim is
        harmless), None when the queue is empty (after routing waiting jobs and pulling
        work from busier nodes) or the node is not in service.
        """
        job, pull = self._claim_once(node_id)
        if job is None and pull:
            now = self.clock()
            with self._tx(routing=True) as s:
                node = self._node(s, node_id)
                if node.state in ACCEPTING_STATES:
                    self._reconcile_node(s, node, now, actor="router", reason="node is idle")
            job, _ = self._claim_once(node_id)
        return job

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
        s.execute(
            self._sql.event,
            {
                "at": now,
                "job_id": job_id,
                "node_id": node_id,
                "actor": actor,
                "kind": kind,
                "reason": reason,
                "data": data,
            },
        )

    def _claim_once(self, node_id: str) -> tuple[Any, bool]:
        """Hot path in SQL Core with prebuilt statements: touch the node, then return its
        printing job or atomically start the head of its queue."""
        now = self.clock()
        with self.store.raw_transaction() as s:
            node = self._touch_fast(s, node_id, now)
            if node is not None:
                if node.state not in ACCEPTING_STATES and node.state != NodeState.DRAINING:
                    return None, False
                head = s.execute(self._sql.head, {"nid": node_id}).first()
                if head is not None and head.state == JobState.PRINTING:
                    return head, False
                if node.state not in ACCEPTING_STATES:
                    return None, False
                if head is None:
                    if node.state != NodeState.IDLE:
                        s.execute(
                            self._sql.node_state, {"nid": node_id, "t_state": NodeState.IDLE.value}
                        )
                    return None, True
                job = s.execute(
                    self._sql.start,
                    {"jid": head.id, "t_now": now, "t_finish": now + head.est_seconds / node.speed},
                ).first()
                if node.state != NodeState.PRINTING:
                    s.execute(
                        self._sql.node_state, {"nid": node_id, "t_state": NodeState.PRINTING.value}
                    )
                self._event_fast(
                    s, now, "claimed", f"attempt {job.attempts + 1}",
                    actor=f"node:{node.name}", job_id=job.id, node_id=node_id,
                )  # fmt: skip
                return job, False
        return self._claim_once_slow(node_id)

    def _claim_once_slow(self, node_id: str) -> tuple[JobRow | None, bool]:
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            current = self._printing_job(s, node.id)
            if current is not None:
                return current, False
            if node.state not in ACCEPTING_STATES:
                return None, False
            job = self.store.queue_head(s, node.id)
            if job is None:
                node.state = NodeState.IDLE
                return None, True
            job.state, job.started_at, job.updated_at = JobState.PRINTING, now, now
            job.progress_pct = job.seconds_left = job.progress_at = None
            job.est_finish = now + job.est_seconds / node.speed
            node.state = NodeState.PRINTING
            self._event(
                s,
                now,
                "claimed",
                f"attempt {job.attempts + 1}",
                actor=f"node:{node.name}",
                job_id=job.id,
                node_id=node.id,
            )
            return job, False

    def job_file(self, node_id: str | None, job_id: int) -> tuple[Path, str]:
        """(path, download name) of a job's file; a node may only fetch its own jobs
        (``node_id`` None = operator)."""
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            if node_id is not None and job.node_id != node_id:
                raise ForbiddenError(f"job {job_id} is not assigned to this node")
            return Path(job.file_path), job.file_name

    def _own_printing(self, s: Session, node: NodeRow, job_id: int) -> JobRow:
        job = self._job(s, job_id)
        if job.node_id != node.id:
            raise ForbiddenError(f"job {job_id} is not this node's")
        if job.state != JobState.PRINTING:
            raise ConflictError(f"job {job_id} is {job.state}, not printing")
        return job

    def progress(self, node_id: str, job_id: int, *, percent: float, seconds_left: float) -> JobRow:
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._own_printing(s, node, job_id)
            job.progress_pct, job.seconds_left, job.progress_at = percent, seconds_left, now
            job.est_finish = now + seconds_left
            job.updated_at = now
            return job

    def complete(
        self, node_id: str, job_id: int, *, actual_seconds: float, grams_used: float
    ) -> JobRow:
        """Mark the node's printing job done (idempotent: repeating it changes nothing).

        Hot path in SQL Core (one short transaction); an offline node goes the ORM way.
        Finishing early with work queued elsewhere triggers a rebalance towards this node.
        """
        now = self.clock()
        with self.store.raw_transaction() as s:
            node = self._touch_fast(s, node_id, now)
            if node is not None:
                done = s.execute(
                    self._sql.done,
                    {
                        "jid": job_id,
                        "nid": node_id,
                        "t_now": now,
                        "t_actual": actual_seconds,
                        "t_used": grams_used,
                    },
                ).first()
                if done is None:  # not this node's printing job: say why
                    job = s.execute(self._sql.job_for_update, {"jid": job_id}).first()
                    if job is None:
                        raise NotFoundError(f"job {job_id} not found")
                    if job.node_id != node_id:
                        raise ForbiddenError(f"job {job_id} is not this node's")
                    if job.state == JobState.DONE:
                        return job  # a retried report: no effect
                    raise ConflictError(f"job {job_id} is {job.state}, not printing")
                margin = self.settings.rebalance_margin_s
                early = done.est_finish is not None and now < done.est_finish - margin
                job = done
                mats = dict(node.materials or {})
                if job.material in mats:
                    mats[job.material] = max(mats[job.material] - grams_used, 0.0)
                s.execute(self._sql.node_done, {"nid": node_id, "t_mats": mats})
                self._event_fast(
                    s, now, "completed", f"{actual_seconds:.0f} s, {grams_used:.1f} g",
                    actor=f"node:{node.name}", job_id=job_id, node_id=node_id,
                    data={"actual_seconds": actual_seconds, "grams_used": grams_used},
                )  # fmt: skip
                elsewhere = early and s.execute(self._sql.elsewhere, {"nid": node_id}).first()
        if node is None:
            return self._complete_slow(
                node_id, job_id, actual_seconds=actual_seconds, grams_used=grams_used
            )
        if elsewhere:
            with self._tx(routing=True) as s:
                nd = self._node(s, node_id)
                if nd.state in ACCEPTING_STATES:
                    self._rebalance(s, now, [nd.id], actor="router")
        return done

    def _complete_slow(
        self, node_id: str, job_id: int, *, actual_seconds: float, grams_used: float
    ) -> JobRow:
        now = self.clock()
        with self.store.transaction() as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._job(s, job_id)
            if job.node_id != node.id:
                raise ForbiddenError(f"job {job_id} is not this node's")
            if job.state == JobState.DONE:
                return job
            if job.state != JobState.PRINTING:
                raise ConflictError(f"job {job_id} is {job.state}, not printing")
            early = (
                job.est_finish is not None
                and now < job.est_finish - self.settings.rebalance_margin_s
            )
            job.state, job.finished_at, job.updated_at = JobState.DONE, now, now
            job.actual_seconds, job.grams_used = actual_seconds, grams_used
            job.progress_pct, job.seconds_left = 100.0, 0.0
            mats = dict(node.materials or {})
            if job.material in mats:
                mats[job.material] = max(mats[job.material] - grams_used, 0.0)
                node.materials = mats
            if node.state == NodeState.PRINTING:
                node.state = NodeState.IDLE
            self._event(
                s,
                now,
                "completed",
                f"{actual_seconds:.0f} s, {grams_used:.1f} g",
                actor=f"node:{node.name}",
                job_id=job.id,
                node_id=node.id,
                data={"actual_seconds": actual_seconds, "grams_used": grams_used},
            )
        if early:
            with self._tx(routing=True) as s:
                node = self._node(s, node_id)
                if node.state in ACCEPTING_STATES:
                    self._rebalance(s, now, [node.id], actor="router")
        return job

    def fail(self, node_id: str, job_id: int, *, reason: str) -> JobRow:
        """The node's printing job failed: attempts + 1, rerouted or dead-lettered."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            job = self._own_printing(s, node, job_id)
            fate = recovery.after_failure(
                job_snapshot(job),
                max_attempts=self.settings.max_attempts,
                reason=f"node {node.name}: {reason}",
            )
            if node.state == NodeState.PRINTING:
                node.state = NodeState.IDLE
            self._apply_fates(s, [fate], {str(job.id): job}, now, actor=f"node:{node.name}")
            return job

    # -- housekeeping -------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Apply the heartbeat timeout: nodes silent for longer go offline, their jobs are
        rerouted (the printing one counts a failed attempt); waiting jobs are retried.
        Returns the ids of nodes taken offline."""
        now = self.clock()
        with self._tx(routing=True) as s:
            nodes = self.store.active_nodes(s)
            lost = recovery.timed_out(
                [node_snapshot(n) for n in nodes],
                now=now,
                timeout_s=self.settings.heartbeat_timeout_s,
                since=self.started_at,
            )
            for node_id in lost:
                node = self.store.lock_node(s, node_id)
                if node is None or node.state in (NodeState.OFFLINE, NodeState.REMOVED):
                    continue
                node.state, node.updated_at = NodeState.OFFLINE, now
                reason = f"node {node.name} missed its heartbeat ({self.settings.heartbeat_timeout_s:g} s)"
                self._event(s, now, "node-offline", reason, actor="system", node_id=node.id)
                jobs = self.store.open_jobs(s, node_id=node.id, lock=True)
                fates = recovery.node_lost(
                    node.id,
                    [job_snapshot(j) for j in jobs],
                    max_attempts=self.settings.max_attempts,
                    reason=reason,
                )
                self._apply_fates(s, fates, {str(j.id): j for j in jobs}, now, actor="system")
            if s.scalar(
                select(func.count()).select_from(JobRow).where(JobRow.state == JobState.QUEUED)
            ):
                self._route_waiting(s, now, actor="router")
            return lost

    def status(self, *, events: int = 50) -> dict[str, Any]:
        """Nodes (state, load in seconds, queue in order), job counts, recent events."""
        now = self.clock()
        with self.store.transaction() as s:
            nodes = self.store.active_nodes(s)
            out_nodes = []
            for node in nodes:
                plan = self._plan(s, node, now)
                out_nodes.append(
                    {
                        "node": node,
                        "load_s": (plan[-1].finish - now) if plan else 0.0,
                        "queue": [int(e.job_id) for e in plan],
                    }
                )
            counts = dict(
                s.execute(select(JobRow.state, func.count()).group_by(JobRow.state)).all()
            )
            recent = list(s.scalars(select(EventRow).order_by(EventRow.id.desc()).limit(events)))
            return {
                "now": now,
                "nodes": out_nodes,
                "jobs": {st.value: int(counts.get(st.value, 0)) for st in JobState},
                "events": recent,
            }


DEMO_KEYS_FILE = "demo-nodes.json"


def ensure_demo_nodes(
    farm: FarmService, count: int, *, jobs_per_node: int = 2, seed: int = 0
) -> list[tuple[str, str]]:
    """Make sure ``count`` demo nodes exist (heterogeneous, see
    :mod:`configurator.core.farm.demo`) and return their (name, key).

    Keys are kept in ``data_dir/demo-nodes.json`` (mode 0600) so a restart reuses the
    same nodes; a demo node whose key was lost is removed and registered again. When the
    farm has no jobs yet, ``jobs_per_node × count`` demo box jobs are submitted.
    """
    import json

    import numpy as np

    from configurator.core.farm.demo import box_stl, demo_node

    path = Path(farm.settings.data_dir) / DEMO_KEYS_FILE
    keys: dict[str, str] = {}
    if path.exists():
        try:
            keys = dict(json.loads(storage.read_bytes(path)))
        except ValueError:
            keys = {}
    existing = {n.name: n for n in farm.list_nodes()}
    out = []
    for i in range(count):
        name, spec = demo_node(i)
        key = keys.get(name)
        node = existing.get(name)
        if node is not None and key and farm.node_id_for_key(key) == node.id:
            out.append((name, key))
            continue
        if node is not None:
            farm.remove_node(node.id)
        _, key = farm.register_node(
            name=name,
            technology=spec.technology,
            build_volume=spec.build_volume,
            materials=spec.materials,
            speed=spec.speed,
        )
        keys[name] = key
        out.append((name, key))
    storage.write_bytes_atomic(path, json.dumps(keys, indent=1).encode(), mode=0o600)
    if count and not farm.list_jobs(limit=1):
        rng = np.random.default_rng(seed)
        for k in range(jobs_per_node * count):
            _, spec = demo_node(k % count)
            material = sorted(spec.materials)[0]
            size = np.round(rng.uniform(20, 120, 3), 1)
            size[2] = min(size[2], 100)
            volume_cm3 = float(np.prod(size)) / 1000 * 0.25  # 25 % infill-ish
            farm.submit_job(
                design_id=f"demo-box-{k + 1}",
                material=material,
                bbox=tuple(float(v) for v in size),
                est_seconds=float(600 + volume_cm3 * 60),
                grams=round(volume_cm3 * 1.2, 1),
                file_bytes=box_stl(*size),
                file_name=f"demo-box-{k + 1}.stl",
                label="demo",
            )
    return out


class _Statements:
    """SQL of the agent hot paths (claim, complete), run through
    :meth:`Store.raw_transaction`. PostgreSQL adds ``FOR UPDATE [SKIP LOCKED]``; on SQLite
    ``BEGIN IMMEDIATE`` already serializes writers."""

    def __init__(self, dialect: str) -> None:
        pg = dialect == "postgresql"
        lock = " FOR UPDATE" if pg else ""
        skip = " FOR UPDATE SKIP LOCKED" if pg else ""
        cols = ", ".join(c.name for c in JobRow.__table__.columns)
        self.touch = (
            "UPDATE farm_nodes SET last_heartbeat = :t_now WHERE id = :nid "
            "AND state NOT IN ('offline', 'removed') RETURNING state, name, speed, materials"
        )
        self.head = (
            f"SELECT {cols} FROM farm_jobs WHERE node_id = :nid AND state IN ('printing', 'assigned') "
            "ORDER BY CASE WHEN state = 'printing' THEN 0 ELSE 1 END, priority DESC, "
            f"CASE WHEN deadline IS NULL THEN 1 ELSE 0 END, deadline, id LIMIT 1{skip}"
        )
        self.start = (
            "UPDATE farm_jobs SET state = 'printing', started_at = :t_now, updated_at = :t_now, "
            "progress_pct = NULL, seconds_left = NULL, progress_at = NULL, est_finish = :t_finish "
            f"WHERE id = :jid AND state = 'assigned' RETURNING {cols}"
        )
        self.node_state = "UPDATE farm_nodes SET state = :t_state WHERE id = :nid"
        self.event = (
            "INSERT INTO farm_events (at, job_id, node_id, actor, kind, reason, data) "
            "VALUES (:at, :job_id, :node_id, :actor, :kind, :reason, :data)"
        )
        self.job_for_update = f"SELECT {cols} FROM farm_jobs WHERE id = :jid{lock}"
        self.done = (
            "UPDATE farm_jobs SET state = 'done', finished_at = :t_now, updated_at = :t_now, "
            "actual_seconds = :t_actual, grams_used = :t_used, progress_pct = 100.0, "
            "seconds_left = 0.0 WHERE id = :jid AND node_id = :nid AND state = 'printing' "
            f"RETURNING {cols}"
        )
        # the node stays 'printing' until its next claim finds nothing (agents claim right
        # after completing, so a steady cycle writes the node row once per request)
        self.node_done = "UPDATE farm_nodes SET materials = :t_mats WHERE id = :nid"
        self.elsewhere = (
            "SELECT id FROM farm_jobs WHERE state = 'assigned' AND node_id <> :nid LIMIT 1"
        )


_STATEMENTS: dict[str, _Statements] = {}


def _sql_for(dialect: str) -> _Statements:
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = _Statements(dialect)
    return _STATEMENTS[dialect]
