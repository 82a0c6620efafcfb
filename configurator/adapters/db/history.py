"""Read the farm's completed jobs for ``configurator estimate train --from-history``.

An adapter over the farm store's SQLAlchemy models (:mod:`configurator.adapters.db.store`): every
job in state ``done`` with a reported ``actual_seconds``, with its node, material,
technology, speed-1 estimate, grams used and the path of its mesh file. The meshes are read
from the jobs' files (STL or 3MF; all parts of a file together, as printed); the estimate
service computes each technology's features from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trimesh
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm.models import JobState
from configurator.errors import EstimateError


@dataclass(frozen=True)
class CompletedJob:
    """One finished print as the farm recorded it (seconds, grams, mm)."""

    job_id: int
    node_id: str
    material: str
    technology: str
    est_seconds: float
    actual_seconds: float
    grams_used: float | None
    file_path: Path


def read_completed_jobs(store) -> tuple[list[CompletedJob], dict[str, float]]:
    """``(completed jobs by id, {node_id: current speed})`` from a farm ``Store``."""
    try:
        return _read(store)
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) is not None else exc).splitlines()[0]
        raise EstimateError(f"cannot read the farm store ({reason})") from exc


def _read(store) -> tuple[list[CompletedJob], dict[str, float]]:
    with store.transaction() as s:
        jobs = s.scalars(
            select(JobRow)
            .where(JobRow.state == JobState.DONE, JobRow.actual_seconds.is_not(None))
            .order_by(JobRow.id)
        ).all()
        speeds = {n.id: float(n.speed) for n in s.scalars(select(NodeRow)).all()}
        out = [
            CompletedJob(
                job_id=j.id,
                node_id=j.node_id or "",
                material=j.material,
                technology=j.technology,
                est_seconds=float(j.est_seconds),
                actual_seconds=float(j.actual_seconds),
                grams_used=None if j.grams_used is None else float(j.grams_used),
                file_path=Path(j.file_path),
            )
            for j in jobs
            if j.actual_seconds and j.actual_seconds > 0
        ]
    return out, speeds


def load_job_mesh(path: Path) -> trimesh.Trimesh:
    """The job file's mesh (all parts of an STL/3MF concatenated, as printed together)."""
    try:
        loaded = trimesh.load(str(path), force="mesh")
    except FileNotFoundError:
        raise EstimateError(f"job file {path} is missing") from None
    except Exception as exc:  # trimesh raises assorted errors on bad files
        raise EstimateError(f"cannot read job file {path}: {exc}") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise EstimateError(f"job file {path} holds no mesh")
    return loaded


def job_meshes(
    jobs: list[CompletedJob],
) -> tuple[list[CompletedJob], list[trimesh.Trimesh], list[str]]:
    """``(kept jobs, their meshes, problems)``: the jobs whose files load, with the mesh.

    Jobs whose file is missing or unreadable are left out and named in ``problems``.
    """
    kept, meshes, problems = [], [], []
    for job in jobs:
        try:
            meshes.append(load_job_mesh(job.file_path))
            kept.append(job)
        except EstimateError as exc:
            problems.append(f"job {job.job_id}: {exc}")
    return kept, meshes, problems
