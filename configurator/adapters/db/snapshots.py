"""Rows -> the pure core's snapshots (what the router and the recovery rules read)."""

from __future__ import annotations

from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm.models import (
    JobSnapshot,
    JobState,
    NodeSnapshot,
    NodeState,
    Technology,
)


def job_snapshot(row: JobRow) -> JobSnapshot:
    return JobSnapshot(
        id=str(row.id),
        technology=Technology(row.technology),
        material=row.material,
        bbox=(row.bbox_x, row.bbox_y, row.bbox_z),
        est_seconds=row.est_seconds,
        grams=row.grams,
        priority=row.priority,
        deadline=row.deadline,
        seq=row.id,
        state=JobState(row.state),
        node_id=row.node_id,
        attempts=row.attempts,
    )


#: the seconds left of a print that ran past its estimate: it ends any moment, but it is
#: still on the printer (the router counts the plate change after it only while busy > 0)
OVERDUE_S = 1e-3


def remaining_seconds(job: JobRow, *, speed: float, now: float) -> float:
    """Seconds left of a printing job (> 0: it is still printing): its last progress report
    aged by the time since, or its estimate at the node's speed minus the time since it
    started."""
    if job.seconds_left is not None and job.progress_at is not None:
        return max(job.seconds_left - (now - job.progress_at), OVERDUE_S)
    started = job.started_at if job.started_at is not None else now
    return max(job.est_seconds / speed - (now - started), OVERDUE_S)


def node_snapshot(
    row: NodeRow, *, busy_s: float = 0.0, setup_s: float | None = None, plate_wait_s: float = 0.0
) -> NodeSnapshot:
    """``setup_s``: the node's plate change (its own, else the technology default the
    caller passes); ``plate_wait_s``: seconds until its plate is clear."""
    return NodeSnapshot(
        id=row.id,
        technology=Technology(row.technology),
        build_volume=(row.bv_x, row.bv_y, row.bv_z),
        materials=dict(row.materials or {}),
        speed=row.wall_speed,
        state=NodeState(row.state),
        busy_s=busy_s,
        last_heartbeat=row.last_heartbeat,
        name=row.name,
        time_scale=float(row.time_scale or 1.0),
        setup_s=float(setup_s if setup_s is not None else (row.setup_s or 0.0)),
        auto_clear=bool(row.auto_clear),
        plate_wait_s=plate_wait_s,
    )
