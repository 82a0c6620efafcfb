"""Seeded workload generator for the farm simulator (pure: numpy only, no files).

A :class:`Workload` is everything one simulation needs and nothing policy-specific:
a heterogeneous fleet (:class:`NodeSpec`), jobs arriving over time (:class:`JobSpec`)
and the failure parameters. The same ``seed`` gives the same workload, byte for byte,
so every routing policy is compared on identical input.

Units: seconds, grams, millimetres. ``work_s`` is the print time of a job on a node of
speed 1.0 (the reference printer); on a node of speed ``v`` it takes ``work_s / v``.

Random streams are independent children of ``numpy.random.SeedSequence(seed)``:
``fleet``, ``sizes``, ``arrivals``, ``attributes`` (here), ``failures`` (drawn by the
simulator per node, see :func:`failure_streams`), ``policy`` (the ``random`` policy) and
``errors`` (estimate errors), so e.g. changing the number of jobs
never changes the fleet, and a node fails at the same times whatever the policy.

Job sizes come from a :class:`SizeSample` (rows of the estimation data set, passed in
by the caller, see ``configurator.adapters.workload_data``); without one a documented lognormal
fallback is used (:func:`lognormal_sizes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from configurator.core.farm.router import fits_bed
from configurator.errors import FarmError

#: material -> (technology, target share of fleet speed, density g/cm3). Job materials are
#: then drawn by the share of speed the generated fleet actually has (:func:`material_shares`).
MATERIALS: dict[str, tuple[str, float, float]] = {
    "PLA": ("FDM", 0.5, 1.24),
    "PETG": ("FDM", 0.3, 1.27),
    "ABS": ("FDM", 0.2, 1.04),
}

#: printer models of the fleet: name -> (speed factor, bed x, y, z mm). Cycled with a
#: seeded shuffle so every fleet mixes slow small, reference, fast and large machines.
PRINTER_MODELS: dict[str, tuple[float, tuple[float, float, float]]] = {
    "mini": (0.7, (180.0, 180.0, 180.0)),
    "mk4": (1.0, (250.0, 210.0, 220.0)),
    "corexy": (1.6, (256.0, 256.0, 256.0)),
    "large": (1.2, (350.0, 350.0, 400.0)),
}

#: the printer model whose bed every job of a data-set workload fits (see ``_draw_rows``).
REFERENCE_MODEL = "mk4"

#: grams loaded per material slot; the operator swaps in a full spool between prints.
SPOOL_G = 1000.0

#: priority levels (higher is more urgent), their share of jobs and deadline rule:
#: deadline = arrival + slack_factor * work_s + lead_s
PRIORITIES: dict[int, tuple[float, float, float]] = {
    0: (0.80, 4.0, 48 * 3600.0),
    1: (0.15, 2.5, 12 * 3600.0),
    2: (0.05, 1.5, 3 * 3600.0),
}

#: fallback job-size distribution (used until/unless the estimation data set is given):
#: print time on the reference printer ~ lognormal(median 2.5 h, sigma 0.8), clipped to
#: [10 min, 30 h]; filament 11 g per print hour x lognormal(0, 0.25).
FALLBACK_MEDIAN_S = 2.5 * 3600.0
FALLBACK_SIGMA = 0.8
FALLBACK_CLIP_S = (600.0, 30 * 3600.0)
FALLBACK_G_PER_H = 11.0


@dataclass(frozen=True)
class NodeSpec:
    """One simulated printer. ``speed`` is relative to the reference printer (1.0)."""

    node_id: str
    model: str
    technology: str
    materials: tuple[str, ...]
    speed: float
    bed_mm: tuple[float, float, float]
    spool_g: float = SPOOL_G


@dataclass(frozen=True)
class JobSpec:
    """One print job: arrives at ``arrival_s``; ``work_s`` is the *estimated* print time on
    a speed-1 printer (what the router knows), ``actual_s`` the time it really takes there
    (``work_s`` x a seeded estimate error; equal to ``work_s`` when the error is off)."""

    job_id: str
    arrival_s: float
    material: str
    technology: str
    work_s: float
    grams: float
    bbox_mm: tuple[float, float, float]
    priority: int
    deadline_s: float
    actual_s: float = -1.0

    def __post_init__(self) -> None:
        if self.actual_s < 0:
            object.__setattr__(self, "actual_s", self.work_s)


@dataclass(frozen=True)
class SizeSample:
    """Rows of a job-size data set, shape (n,) each: reference print time s, grams, bbox mm.

    ``material`` is optional (None: the workload assigns materials by demand share).
    """

    work_s: np.ndarray
    grams: np.ndarray
    bbox_mm: np.ndarray  # (n, 3)
    source: str
    material: np.ndarray | None = None


@dataclass(frozen=True)
class Workload:
    """A whole simulation input. ``failure_rate`` is the long-run fraction of node time
    spent down; ``mttr_s`` the mean repair time; ``offered_load`` the target ratio of
    offered work to effective capacity."""

    seed: int
    nodes: tuple[NodeSpec, ...]
    jobs: tuple[JobSpec, ...]
    failure_rate: float
    mttr_s: float
    offered_load: float
    size_source: str
    notes: dict[str, float] = field(default_factory=dict)


_STREAMS = ("fleet", "sizes", "arrivals", "attributes", "failures", "policy", "errors")


def _child(seed: int, name: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed).spawn(len(_STREAMS))[_STREAMS.index(name)]


def _streams(seed: int) -> dict[str, np.random.Generator]:
    return {n: np.random.default_rng(_child(seed, n)) for n in _STREAMS}


def failure_streams(seed: int, n_nodes: int) -> list[np.random.Generator]:
    """One independent generator per node for failure/repair times (policy-independent)."""
    parent = _child(seed, "failures")
    return [np.random.default_rng(c) for c in parent.spawn(n_nodes)]


def policy_seed(seed: int) -> int:
    """Seed for the ``random`` policy, independent of the workload's streams."""
    return int(_child(seed, "policy").generate_state(1)[0])


def make_fleet(n_nodes: int, rng: np.random.Generator) -> tuple[NodeSpec, ...]:
    """``n_nodes`` heterogeneous printers; primary materials assigned so each material's
    share of total speed follows :data:`MATERIALS` (largest deficit first, fastest nodes
    first); ~30% of nodes also carry a second spool of another material."""
    if n_nodes < 1:
        raise FarmError("--nodes must be at least 1")
    models = list(PRINTER_MODELS)
    order = np.concatenate([rng.permutation(len(models)) for _ in range(n_nodes // 4 + 1)])
    chosen = [models[int(i)] for i in order[:n_nodes]]
    total_speed = sum(PRINTER_MODELS[m][0] for m in chosen)
    names = list(MATERIALS)
    assigned = dict.fromkeys(names, 0.0)
    # largest-deficit assignment of a primary material, fastest nodes first
    by_speed = sorted(range(n_nodes), key=lambda i: (-PRINTER_MODELS[chosen[i]][0], i))
    primary: dict[int, str] = {}
    for i in by_speed:
        deficit = {m: MATERIALS[m][1] * total_speed - assigned[m] for m in names}
        m = max(names, key=lambda k: (deficit[k], -names.index(k)))
        primary[i] = m
        assigned[m] += PRINTER_MODELS[chosen[i]][0]
    nodes = []
    for i, model in enumerate(chosen):
        speed, bed = PRINTER_MODELS[model]
        mats = [primary[i]]
        if n_nodes > 1 and rng.random() < 0.3:  # a second spool
            others = [m for m in names if m != primary[i]]
            mats.append(others[int(rng.integers(len(others)))])
        tech = MATERIALS[mats[0]][0]
        nodes.append(
            NodeSpec(
                node_id=f"n{i:03d}",
                model=model,
                technology=tech,
                materials=tuple(sorted(mats, key=names.index)),
                speed=speed,
                bed_mm=bed,
            )
        )
    return tuple(nodes)


def material_shares(nodes: tuple[NodeSpec, ...]) -> np.ndarray:
    """Share of jobs per material (order of :data:`MATERIALS`): its share of the fleet's
    speed, a node's speed split evenly between the materials it carries. The farm is sized
    for its demand, so every material class sees about the same offered load."""
    names = list(MATERIALS)
    cap = np.zeros(len(names))
    for n in nodes:
        for m in n.materials:
            cap[names.index(m)] += n.speed / len(n.materials)
    return cap / cap.sum()


def lognormal_sizes(n: int, rng: np.random.Generator) -> SizeSample:
    """The documented fallback size distribution (see module constants)."""
    work = np.clip(rng.lognormal(np.log(FALLBACK_MEDIAN_S), FALLBACK_SIGMA, n), *FALLBACK_CLIP_S)
    grams = work / 3600.0 * FALLBACK_G_PER_H * rng.lognormal(0.0, 0.25, n)
    # bounding box from part volume (PLA density) and a fill fraction of the box
    volume_mm3 = grams / 1.24 * 1000.0
    fill = rng.uniform(0.15, 0.5, n)
    aspect = rng.uniform(0.5, 2.0, (n, 3))
    side = np.cbrt(volume_mm3 / fill / aspect.prod(axis=1))
    bbox = aspect * side[:, None]
    return SizeSample(work_s=work, grams=grams, bbox_mm=bbox, source="lognormal fallback")


def _fit_to(bbox: np.ndarray, bed: tuple[float, float, float]) -> np.ndarray:
    """Scale a box down (uniformly) until it fits ``bed`` with a 2% margin."""
    lo_xy, hi_xy = sorted(float(v) for v in bbox[:2])
    b_lo, b_hi = sorted(bed[:2])
    limits = [(lo_xy, b_lo), (hi_xy, b_hi), (float(bbox[2]), bed[2])]
    scale = min([1.0] + [0.98 * room / size for size, room in limits if size > 0])
    return bbox * scale


def _draw_rows(sizes: SizeSample, materials: list[str], rng: np.random.Generator) -> np.ndarray:
    """Row indices drawn with replacement; a job of material m draws among the rows sliced
    with m when the data set has any (sizes and grams depend on the material)."""
    n = len(materials)
    u = rng.random(n)
    all_rows = np.arange(len(sizes.work_s))
    # Parts that fit the reference bed only: the data set's whole-plate rows of the largest
    # enclosures need a large-format printer, and the few large nodes would then bound every
    # policy alike (a benchmark of those nodes, not of routing).
    ref_bed = PRINTER_MODELS[REFERENCE_MODEL][1]
    fits = np.array([fits_bed(tuple(b), ref_bed) for b in np.asarray(sizes.bbox_mm)], dtype=bool)
    if fits.any():
        all_rows = all_rows[fits]
    pools: dict[str, np.ndarray] = {}
    out = np.empty(n, dtype=np.int64)
    for j, m in enumerate(materials):
        if m not in pools:
            mine = (
                all_rows[np.asarray(sizes.material)[all_rows] == m]
                if sizes.material is not None
                else all_rows
            )
            pools[m] = mine if mine.size else all_rows
        pool = pools[m]
        out[j] = pool[min(int(u[j] * pool.size), pool.size - 1)]
    return out


def make_workload(
    *,
    n_nodes: int,
    n_jobs: int,
    seed: int,
    failure_rate: float = 0.0,
    offered_load: float = 0.9,
    mttr_s: float = 2 * 3600.0,
    estimate_sigma: float = 0.1,
    sizes: SizeSample | None = None,
) -> Workload:
    """Build the seeded workload.

    Arrivals are Poisson with rate ``offered_load * capacity / mean work``, where capacity
    = sum of node speeds x (1 - failure_rate) (work-seconds per second). Job sizes are
    drawn with replacement from ``sizes`` (or the lognormal fallback); a job's box is
    shrunk, if needed, to fit the largest bed among the nodes that carry its material,
    and its grams capped at a spool, so every job has a capable node. The real print time
    is ``work_s`` x lognormal(0, ``estimate_sigma``) (the estimator's error; 0 turns it off).
    """
    if n_jobs < 1:
        raise FarmError("--jobs must be at least 1")
    if not 0.0 <= failure_rate < 0.9:
        raise FarmError(f"--failures must be in [0, 0.9), got {failure_rate}")
    if not 0.0 <= estimate_sigma <= 1.0:
        raise FarmError(f"estimate error sigma must be in [0, 1], got {estimate_sigma}")
    if not 0.0 < offered_load <= 2.0:
        raise FarmError(f"offered load must be in (0, 2], got {offered_load}")
    rs = _streams(seed)
    nodes = make_fleet(n_nodes, rs["fleet"])
    attr = rs["attributes"]
    names = list(MATERIALS)
    shares = material_shares(nodes)
    mat_idx = attr.choice(len(names), size=n_jobs, p=shares)
    levels = sorted(PRIORITIES)
    prio = attr.choice(levels, size=n_jobs, p=[PRIORITIES[p][0] for p in levels])
    if sizes is None:
        sample = lognormal_sizes(n_jobs, rs["sizes"])
        rows = np.arange(n_jobs)
    else:
        if len(sizes.work_s) == 0:
            raise FarmError(f"job-size data set {sizes.source} has no rows")
        sample = sizes
        rows = _draw_rows(sizes, [names[int(i)] for i in mat_idx], rs["sizes"])
    work = np.asarray(sample.work_s, dtype=float)[rows]
    grams = np.minimum(np.asarray(sample.grams, dtype=float)[rows], SPOOL_G)
    bbox = np.asarray(sample.bbox_mm, dtype=float)[rows]

    if estimate_sigma > 0:
        actual = work * rs["errors"].lognormal(0.0, estimate_sigma, n_jobs)
    else:
        actual = work.copy()

    speed_total = sum(n.speed for n in nodes)
    capacity = speed_total * (1.0 - failure_rate)
    rate = offered_load * capacity / float(work.mean())  # jobs per second
    gaps = rs["arrivals"].exponential(1.0 / rate, n_jobs)
    arrivals = np.cumsum(gaps)

    biggest_bed = {
        m: max((n.bed_mm for n in nodes if m in n.materials), key=lambda b: b[0] * b[1] * b[2])
        for m in names
        if any(m in n.materials for n in nodes)
    }
    jobs = []
    for j in range(n_jobs):
        m = names[int(mat_idx[j])]
        if m not in biggest_bed:  # a one-node fleet may lack a material: use one it has
            m = nodes[0].materials[0]
        box = _fit_to(bbox[j], biggest_bed[m])
        p = int(prio[j])
        _, slack, lead = PRIORITIES[p]
        jobs.append(
            JobSpec(
                job_id=f"j{j:05d}",
                arrival_s=float(arrivals[j]),
                material=m,
                technology=MATERIALS[m][0],
                work_s=float(work[j]),
                grams=float(grams[j]),
                bbox_mm=(float(box[0]), float(box[1]), float(box[2])),
                priority=p,
                deadline_s=float(arrivals[j] + slack * work[j] + lead),
                actual_s=float(actual[j]),
            )
        )
    return Workload(
        seed=seed,
        nodes=nodes,
        jobs=tuple(jobs),
        failure_rate=failure_rate,
        mttr_s=mttr_s,
        offered_load=offered_load,
        size_source=sample.source,
        notes={
            "arrival_rate_per_h": rate * 3600.0,
            "mean_work_s": float(work.mean()),
            "capacity_speed": capacity,
        },
    )
