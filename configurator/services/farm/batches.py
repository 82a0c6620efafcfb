"""Plate batching on the server: a node's claim starts a plate of several queued jobs.

When a node claims and batching is on (``Settings.batching``), the head of its queue and
the other jobs of its own queue are planned with the router's rule
(:func:`configurator.core.farm.plates.plan_plate`: same technology, material and priority,
deadlines kept, footprints packed with ``rpack``, a bounded wait ``batch_wait_s`` for
parts when the plate is small). A plate of two or more jobs becomes a :class:`BatchRow`
with ONE build file — the jobs' meshes nested as packed (``nest_meshes``), binary STL —
and one estimate (the sum of the jobs' estimates); every job keeps its own row, state and
events (``claimed``, reason ``plate <id>: N jobs``) and is reported on its own
(``complete``/``fail`` per job; a failed build fails each of its jobs, each rerouted on its
own). The claim answers the head job plus ``batch`` (docs/farm.md "Plate batching").
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import trimesh
from sqlalchemy.orm import Session

from configurator.adapters import storage
from configurator.adapters.db.snapshots import job_snapshot
from configurator.adapters.db.tables import BatchRow, JobRow, NodeRow
from configurator.core.export.stl import stl_bytes
from configurator.core.export.threemf_read import read_threemf
from configurator.core.farm.models import ACCEPTING_STATES, JobState, NodeState, queue_key
from configurator.core.farm.plates import Plate, PlateRules, nest_meshes, plan_plate
from configurator.errors import ExportError, FarmError, ForbiddenError, NotFoundError
from configurator.services.farm.base import FarmBase
from configurator.services.farm.plate_rules import plate_clear


class BatchesMixin(FarmBase):
    """Plate batching (part of :class:`FarmService`)."""

    @property
    def plate_rules(self) -> PlateRules:
        return PlateRules(
            batching=self.settings.batching,
            wait_s=self.settings.batch_wait_s,
            plate_s=self.settings.batch_plate_s,
        )

    def may_batch(self, head: Any, node: Any, now: float, others: bool) -> bool:
        """Does a claim need the plate planner (else the single-job hot path)? Yes when
        batching is on and another job of the head's material and priority waits in the
        node's queue, or the head may wait for parts (small, normal priority, young)."""
        if not self.settings.batching:
            return False
        if others:
            return True
        rules = self.plate_rules
        return (
            rules.wait_s > 0
            and head.priority <= 0
            and head.est_seconds / node.speed < rules.plate_s
            and now < head.created_at + rules.wait_s
        )

    def _claim_plate(self, node_id: str) -> tuple[JobRow | None, bool]:
        """The claim with the plate planner (routing lock, ORM). (job, pull) as
        ``_claim_once``: None when the plate waits for parts (204)."""
        now = self.clock()
        with self._tx(routing=True) as s:
            node = self._agent_node(s, node_id)
            self._touch(s, node, now)
            current = self._printing_job(s, node.id)
            if current is not None:
                return current, False
            if node.state not in ACCEPTING_STATES or not plate_clear(node, now):
                return None, False
            queue = [
                j for j in self.store.open_jobs(s, node_id=node.id, lock=True)
                if j.state == JobState.ASSIGNED
            ]  # fmt: skip
            if not queue:
                return None, True
            rows = {str(j.id): j for j in queue}
            snaps = sorted((job_snapshot(j) for j in queue), key=queue_key)
            head = snaps[0]
            off = 0.0
            cal = self.calendar

            def horizon(f: float) -> float:
                if cal.always or node.auto_clear:
                    return f
                return float(cal.next_staffed(f + off)) - off

            plate = plan_plate(
                head,
                [(j, None) for j in snaps[1:]],
                bed=(node.bv_x, node.bv_y),
                speed=node.wall_speed,
                now=now,
                since=rows[head.id].created_at,
                horizon=horizon,
                rules=self.plate_rules,
            )
            if plate.hold_until is not None:
                return None, False
            jobs = [rows[j.id] for j in plate.jobs]
            batch = self._new_batch(s, node, jobs, plate, now) if len(jobs) > 1 else None
            for job in jobs:
                job.state, job.started_at, job.updated_at = JobState.PRINTING, now, now
                job.progress_pct = job.seconds_left = job.progress_at = None
                job.est_finish = now + plate.est_seconds / node.wall_speed
                job.batch_id = batch.id if batch else None
                job.material_lot = (node.material_lots or {}).get(job.material)
                reason = f"attempt {job.attempts + 1}"
                if batch is not None:
                    reason += f"; plate {batch.id}: {len(jobs)} jobs"
                self._event(
                    s, now, "claimed", reason, actor=f"node:{node.name}", job_id=job.id,
                    node_id=node.id, data={"batch": batch.id} if batch else None,
                )  # fmt: skip
            node.state = NodeState.PRINTING
            return jobs[0], False

    def _new_batch(
        self, s: Session, node: NodeRow, jobs: list[JobRow], plate: Plate, now: float
    ) -> BatchRow:
        """The plate's build file (the jobs' meshes nested as packed) and its row."""
        meshes = []
        for job in jobs:
            try:
                data = storage.read_bytes(job.file_path)
                if Path(job.file_name).suffix.lower() == ".3mf":
                    v, f = read_threemf(data)
                    meshes.append(trimesh.Trimesh(v, f, process=False))
                else:
                    meshes.append(trimesh.load(io.BytesIO(data), file_type="stl", force="mesh"))
            except (OSError, ValueError, ExportError) as exc:
                raise FarmError(f"cannot read the file of job {job.id}: {exc}") from exc
        verts, faces = nest_meshes(meshes, plate.placements)
        bid = "b" + uuid.uuid4().hex[:12]
        data = stl_bytes(verts, faces, design_id=bid, part=f"plate of {len(jobs)} jobs")
        path, digest = storage.store_job_file(self.settings.data_dir, data, "stl")
        batch = BatchRow(
            id=bid,
            node_id=node.id,
            material=jobs[0].material,
            job_ids=[j.id for j in jobs],
            placements=[list(p) for p in plate.placements],
            file_path=str(path),
            file_name=f"plate-{bid}.stl",
            file_sha256=digest,
            file_size=len(data),
            est_seconds=plate.est_seconds,
            grams=float(sum(j.grams for j in jobs)),
            created_at=now,
        )
        s.add(batch)
        return batch

    def get_batch(self, batch_id: str) -> tuple[BatchRow, list[JobRow]]:
        """A plate and its jobs (in plate order)."""
        with self.store.transaction() as s:
            batch = s.get(BatchRow, batch_id)
            if batch is None:
                raise NotFoundError(f"batch {batch_id} not found")
            jobs = {j.id: j for j in (s.get(JobRow, i) for i in batch.job_ids) if j is not None}
            return batch, [jobs[i] for i in batch.job_ids if i in jobs]

    def batch_file(self, node_id: str | None, batch_id: str) -> tuple[Path, str]:
        """(path, download name) of a plate's build file; a node may fetch only its own."""
        batch, _ = self.get_batch(batch_id)
        if node_id is not None and batch.node_id != node_id:
            raise ForbiddenError(f"batch {batch_id} is not this node's")
        return Path(batch.file_path), batch.file_name
