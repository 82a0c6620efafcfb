"""Plate batching across orders (pure core): which queued jobs share one build.

When a node is about to start its next build, :func:`plan_plate` takes the head of its
queue and nests further queued jobs of the same technology and material onto the same
plate — each job keeps its identity; the build is one file, one setup, one operator
action. Footprints are packed with the ``rpack`` library (``rectangle-packer``, a
maintained C implementation of a skyline/bin search; :func:`pack_footprints`).

Rules (docs/farm.md "Plate batching"):

* only jobs of the head's technology, material and **priority** join (a job is never held
  behind lower-priority work to fill a plate; higher-priority work is a head of its own);
* a job joins only if every job on the plate still finishes by its deadline (none is
  delayed past its deadline to fill a plate) and, for a job taken from another node's queue,
  no later than it would finish there (``limit``);
* the plate grows while its finish stays within ``max(now + rules.plate_s, horizon)``,
  where ``horizon`` is the instant an operator would clear the plate anyway (a plate that
  finishes at night waits for the morning shift: parts printed by then cost nothing);
* a small plate (print time < ``rules.plate_s``) of normal priority may wait up to
  ``rules.wait_s`` after its head arrived for more parts (``Plate.hold_until``), never
  past the latest start that keeps every deadline; a job of priority > 0 never waits.

A plate's time estimate is the sum of its jobs' estimates (speed-1 seconds): the slicer
time of a nested plate is the sum of its parts' less shared heat-up, so the sum is an
upper bound the router can trust.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import rpack
import trimesh

from configurator.core.farm.models import JobSnapshot, queue_key

#: clearance between parts on a plate, mm
PLATE_GAP_MM = 5.0


@dataclass(frozen=True)
class PlateRules:
    """Batching knobs (``Settings.batching``, ``batch_wait_s``, ``batch_plate_s``)."""

    batching: bool = True
    wait_s: float = 900.0
    plate_s: float = 3600.0
    gap_mm: float = PLATE_GAP_MM


@dataclass(frozen=True)
class Plate:
    """A planned build: ``jobs`` (head first), ``placements`` ((x, y) mm of each job's
    footprint corner, rotated 90° about z when the flag is set), ``est_seconds`` (speed-1
    seconds of the whole plate) and ``hold_until`` (POSIX s: wait for more parts until
    then; None = start now)."""

    jobs: tuple[JobSnapshot, ...]
    placements: tuple[tuple[float, float, bool], ...]
    est_seconds: float
    hold_until: float | None = None


def pack_footprints(
    footprints: Sequence[tuple[float, float]],
    bed: tuple[float, float],
    *,
    gap_mm: float = PLATE_GAP_MM,
) -> list[tuple[float, float, bool]] | None:
    """Place rectangles ``(x, y)`` mm on a ``bed`` (x, y mm) with ``gap_mm`` between them:
    ``[(x, y, rotated), ...]`` (lower-left corners), or None when they do not fit.

    Each part is laid with its long side along the bed's long side when it fits that way
    (else turned); sizes are rounded up to whole mm, so a returned layout never overlaps.
    """
    bx, by = float(bed[0]), float(bed[1])
    if not footprints:
        return []
    area = sum(float(w) * float(h) for w, h in footprints)
    if area > bx * by + 1e-9:
        return None
    sizes: list[tuple[int, int]] = []
    turned: list[bool] = []
    for w, h in footprints:
        w, h = float(w), float(h)
        long_x = bx >= by
        a, b = (max(w, h), min(w, h)) if long_x else (min(w, h), max(w, h))
        if a > bx + 1e-9 or b > by + 1e-9:
            a, b = b, a
        if a > bx + 1e-9 or b > by + 1e-9:
            return None
        sizes.append((math.ceil(a + gap_mm), math.ceil(b + gap_mm)))
        turned.append((a, b) != (w, h))
    width, height = int(math.floor(bx + gap_mm)), int(math.floor(by + gap_mm))
    try:
        pos = rpack.pack(sizes, max_width=width, max_height=height)
    except rpack.PackingImpossibleError:
        return None
    return [(float(x), float(y), t) for (x, y), t in zip(pos, turned, strict=True)]


def plan_plate(
    head: JobSnapshot,
    candidates: Sequence[tuple[JobSnapshot, float | None]],
    *,
    bed: tuple[float, float],
    speed: float,
    now: float,
    since: float,
    horizon: Callable[[float], float],
    rules: PlateRules,
) -> Plate:
    """The build to start with ``head`` on a node of ``bed`` (x, y mm) and ``speed``.

    ``candidates``: other unstarted jobs this node can print (the caller checks capability)
    with the finish (POSIX s) they must not pass (None: no limit, e.g. jobs of the same
    queue, which would otherwise print later).
    ``since``: when ``head`` became ready to print (its arrival), for the bounded wait.
    ``horizon(finish)``: when an operator would clear a plate finishing at ``finish``
    anyway (the farm calendar; ``finish`` itself when staffed). See the module docstring.
    """
    jobs = [head]
    work = head.est_seconds
    foot = [(head.bbox[0], head.bbox[1])]
    placed = pack_footprints(foot, bed, gap_mm=rules.gap_mm) or [(0.0, 0.0, False)]
    if rules.batching:
        finish = now + work / speed
        limit = max(now + rules.plate_s, float(horizon(finish)))
        for job, must in sorted(candidates, key=lambda c: queue_key(c[0])):
            if (
                job.id == head.id
                or job.technology != head.technology
                or job.material != head.material
                or job.priority != head.priority
            ):
                continue
            new_finish = now + (work + job.est_seconds) / speed
            if new_finish > limit + 1e-9 or (must is not None and new_finish > must + 1e-9):
                continue
            if any(j.deadline is not None and new_finish > j.deadline for j in [*jobs, job]):
                continue
            trial = pack_footprints([*foot, (job.bbox[0], job.bbox[1])], bed, gap_mm=rules.gap_mm)
            if trial is None:
                continue
            jobs.append(job)
            foot.append((job.bbox[0], job.bbox[1]))
            work += job.est_seconds
            placed = trial
    hold = None
    if rules.batching and rules.wait_s > 0 and head.priority <= 0 and work / speed < rules.plate_s:
        until = since + rules.wait_s
        deadlines = [j.deadline for j in jobs if j.deadline is not None]
        if deadlines:
            until = min(until, min(deadlines) - work / speed)
        if until > now + 1e-9:
            hold = until
    return Plate(tuple(jobs), tuple(placed), work, hold)


def nest_meshes(
    meshes: Sequence[trimesh.Trimesh], placements: Sequence[tuple[float, float, bool]]
) -> tuple[np.ndarray, np.ndarray]:
    """One plate of ``meshes`` (mm, print orientation) laid out by ``placements`` (from
    :func:`pack_footprints` of their x/y extents): each mesh turned 90° about z when its
    flag is set, its bounding box moved to the placement corner, standing on z = 0.
    Returns (vertices (V, 3), faces (F, 3)) of the whole plate."""
    verts, faces, offset = [], [], 0
    for mesh, (x, y, turned) in zip(meshes, placements, strict=True):
        v = np.asarray(mesh.vertices, dtype=np.float64)
        if turned:  # a proper rotation (x, y) -> (-y, x): faces keep their winding
            v = v[:, [1, 0, 2]] * np.array([-1.0, 1.0, 1.0])
        v = v - v.min(axis=0) + np.array([x, y, 0.0])
        f = np.asarray(mesh.faces, dtype=np.int64)
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)
