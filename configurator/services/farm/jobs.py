"""Jobs: submit (operators and orders), cancel, requeue, read, queue places, files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from configurator.adapters import storage
from configurator.adapters.db.snapshots import job_snapshot
from configurator.adapters.db.tables import EventRow, JobRow, NodeRow
from configurator.core.farm.capability import missing_reason
from configurator.core.farm.files import JOB_FILE_EXTENSIONS, sniff_job_file
from configurator.core.farm.models import MATERIAL_TECHNOLOGY, JobState, Technology, technology_of
from configurator.errors import (
    ConflictError,
    ForbiddenError,
    NoCapableNodeError,
    NotFoundError,
    RequirementsError,
)
from configurator.services.farm.base import FarmBase, JobPlace

#: reads of a job's place before answering without one (it kept moving between reads)
STATUS_READS = 3


class JobsMixin(FarmBase):
    """Job operations (part of :class:`FarmService`)."""

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
        require_makeable: bool = False,
        reprint_of: str | None = None,
    ) -> list[JobRow]:
        """Store the file under ``data_dir/jobs/`` and route one job per entry of ``labels``
        (an order's pieces) in ONE transaction: all are created, or none.

        ``require_makeable`` (orders): :class:`NoCapableNodeError` (409) naming what is
        missing when no registered node (any state but removed) can make it — checked in
        the routing transaction, so capabilities that changed since a quote count.
        Otherwise such a job waits (``queued``) with the reason. ``reprint_of``: the
        token of the order an exact reprint repeats (kept on the jobs and in the event).

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
            tech = technology_of(material)
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
            state = self._farm_state(s, now)
            jobs = [
                JobRow(
                    design_id=design_id,
                    label=label,
                    order_token=order_token,
                    reprint_of=reprint_of,
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
            if require_makeable:
                missing = missing_reason(state, job_snapshot(jobs[0]))
                if missing is not None:
                    raise NoCapableNodeError(f"the farm cannot make this: {missing}")
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
                    data=_submitted(job, reprint_of),
                )
            self._route_rows(s, jobs, now, actor="router", state=state)
        self._invalidate_view()  # the next quote counts these jobs in the queues
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
            return self.store.list_jobs(
                s,
                state=None if state is None else JobState(state).value,
                node_id=node_id,
                limit=limit,
                offset=offset,
            )

    def job_events(self, job_id: int) -> list[EventRow]:
        with self.store.transaction() as s:
            return self.store.job_events(s, job_id)

    def jobs_for_order(self, order_token: str) -> list[JobRow]:
        with self.store.transaction() as s:
            return self.store.jobs_for_order(s, order_token)

    def job_status(self, job_id: int) -> JobPlace:
        """Queue position and estimated start/finish of a job (for order pages); for a job
        that ended, the printer that made it and its actual start and finish; for a
        waiting one, why it waits."""
        for _ in range(STATUS_READS):
            place = self._job_status(job_id, self.clock())
            if place is not None:
                return place
        # moved or started on every read: where it stands without a place in a queue
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            node = s.get(NodeRow, job.node_id) if job.node_id is not None else None
            return JobPlace(
                job.id, job.state, job.node_id, node.name if node is not None else None,
                None, None, job.est_finish, job.late, started_at=job.started_at,
            )  # fmt: skip

    def _job_status(self, job_id: int, now: float) -> JobPlace | None:
        """:meth:`job_status` from one transaction; None when the job left its node's
        queue between reading it and reading that queue (claimed, finished or moved by
        another transaction: on PostgreSQL each statement sees the newest commits)."""
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            node = s.get(NodeRow, job.node_id) if job.node_id is not None else None
            if job.state not in (JobState.ASSIGNED, JobState.PRINTING) or node is None:
                ended = job.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
                return JobPlace(
                    job.id,
                    job.state,
                    node.id if node is not None and ended else None,
                    node.name if node is not None and ended else None,
                    None,
                    None,
                    job.finished_at if job.state == JobState.DONE else None,
                    job.late,
                    started_at=job.started_at if ended else None,
                    finished_at=job.finished_at if ended else None,
                    waiting_reason=job.last_reason if job.state == JobState.QUEUED else None,
                )
            plan = self._plan(s, node, now)
            entry = next((e for e in plan if e.job_id == str(job.id)), None)
            if entry is None:
                return None
            return JobPlace(
                job.id,
                job.state,
                node.id,
                node.name,
                entry.position,
                entry.start,
                entry.finish,
                job.late,
                started_at=job.started_at,
            )

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


def _submitted(job: JobRow, reprint_of: str | None) -> dict[str, Any]:
    """The ``submitted`` event's data: what the job prints (chained with the event)."""
    data: dict[str, Any] = {
        "design_id": job.design_id,
        "file_sha256": job.file_sha256,
        "material": job.material,
        "order_token": job.order_token,
    }
    if reprint_of:
        data["reprint_of"] = reprint_of
    return data
