"""The router's view of a simulated farm (engine: pure): snapshots of simulated nodes and
jobs, the capability matrix, the lower bound with the router's capability check, shifts.
"""

from __future__ import annotations

import numpy as np

from configurator.core.farm.calendar import Calendar
from configurator.core.farm.models import JobSnapshot, NodeSnapshot, Technology
from configurator.core.farm.router import FarmState
from configurator.engines.simulation.farm_model import FarmModel
from configurator.engines.simulation.report import LowerBound, lower_bound
from configurator.engines.simulation.workload import JobSpec, NodeSpec, Workload
from configurator.errors import FarmError


def node_snapshot(node: NodeSpec) -> NodeSnapshot:
    """The router's view of a simulated node at full spools."""
    return NodeSnapshot(
        id=node.node_id,
        technology=Technology(node.technology),
        build_volume=node.bed_mm,
        materials=dict.fromkeys(node.materials, node.spool_g),
        speed=node.speed,
        name=node.model,
    )


def job_snapshot(job: JobSpec, seq: int) -> JobSnapshot:
    """The router's view of a simulated job (deadline as simulated seconds)."""
    return JobSnapshot(
        id=job.job_id,
        technology=Technology(job.technology),
        material=job.material,
        bbox=job.bbox_mm,
        est_seconds=job.work_s,
        grams=job.grams,
        priority=job.priority,
        deadline=job.deadline_s,
        seq=seq,
    )


def capability_matrix(workload: Workload) -> np.ndarray:
    """``(jobs, nodes)`` bool: the router's capability check (:meth:`FarmState.capable`) at
    full spools, jobs and nodes in ``workload`` order."""
    state = FarmState([node_snapshot(n) for n in workload.nodes])
    cols = [state.index[n.node_id] for n in workload.nodes]
    rows = [state.capable(job_snapshot(job, seq))[cols] for seq, job in enumerate(workload.jobs)]
    return np.array(rows, dtype=bool).reshape(len(workload.jobs), len(workload.nodes))


def check_printable(workload: Workload, cap: np.ndarray | None = None) -> np.ndarray:
    """The capability matrix, after checking every job has a capable node (FarmError naming
    the first that has none: it could never be printed)."""
    cap = capability_matrix(workload) if cap is None else cap
    orphans = np.flatnonzero(~cap.any(axis=1))
    if orphans.size:
        job = workload.jobs[int(orphans[0])]
        raise FarmError(f"job {job.job_id} ({job.material}, {job.bbox_mm} mm) fits no node")
    return cap


def workload_lower_bound(
    workload: Workload, cap: np.ndarray | None = None, model: FarmModel | None = None
) -> LowerBound:
    """:func:`sim_report.lower_bound` with the router's own capability check (``cap``: the
    :func:`capability_matrix`, computed when not given), extended by ``model``'s plate
    changes and staffed hours when given."""
    cap = capability_matrix(workload) if cap is None else cap
    jk = {job.job_id: k for k, job in enumerate(workload.jobs)}
    ni = {node.node_id: i for i, node in enumerate(workload.nodes)}
    return lower_bound(
        workload, lambda node, job: bool(cap[jk[job.job_id], ni[node.node_id]]), model=model
    )


def count_shifts(calendar: Calendar, epoch: float, end_s: float) -> int:
    """Staffed windows (days when always staffed) overlapping simulated ``[0, end_s]``."""
    if end_s <= 0:
        return 0
    if calendar.always:
        return int(end_s // 86400.0) + 1
    return calendar.windows_between(epoch, epoch + end_s)
