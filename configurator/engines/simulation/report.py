"""Metrics of a farm simulation and the makespan lower bound (pure).

Times are simulated seconds from t = 0 (the simulation start; jobs arrive later).

Lower bound (ARCHITECTURE.md section 5): the makespan of *any* schedule is at least the
largest of

(a) for each capability class c (material x technology):
    first arrival in c + (total work of c) / (total speed of the nodes that print c);
(b) for each job j: arrival_j + work_j / (speed of j's fastest capable node).

(a) holds because no work of class c can start before its first arrival and, from then
on, at most the class's nodes can work on it, at their full speeds, never down. (b) holds
because a job cannot start before it arrives nor run faster than on its fastest capable
node. Neither counts failures, so the bound stays valid (and gets looser) with failures.
Work is the *actual* print time (``JobSpec.actual_s``), not the router's estimate. The
bound is for printing every job: a run that dead-letters jobs may end before it.

With plate changes and staffed hours (a :class:`FarmModel` that is not off) two terms are
extended (docs/simulate.md "The extended lower bound"):

(a) adds the plate changes a class needs at least: every build after a node's first needs
    one, and a class needs at least B_c builds (its job count without batching; with
    batching, its total footprint area over the largest bed's area, rounded up), so
    ``max(0, B_c - nodes_c) * min(speed * setup)`` speed-seconds join its work;
(c) unstaffed time, where it binds: in an unstaffed stretch U = [u0, u1) a node that needs
    an operator starts at most one build (its plate is cleared only in staffed time). If
    the jobs of a class arriving in U need more builds than its nodes can start there
    (more jobs than nodes without batching; more footprint area than the nodes' beds with
    it), at least ``need - nodes`` of them start at u1 or later, so the makespan is at
    least u1 + the (need - nodes)-th smallest of their print times on the fastest node
    (without batching; with it, the smallest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from configurator.engines.simulation.farm_model import FarmModel
from configurator.engines.simulation.workload import JobSpec, NodeSpec, Workload


@dataclass(frozen=True)
class LowerBound:
    """``value`` = max(``class_bound``, ``job_bound``) in s; ``binding`` names the term
    that attains it (``class PLA/FDM`` or ``job j00042``)."""

    value: float
    class_bound: float
    job_bound: float
    binding: str
    per_class: dict[str, float] = field(default_factory=dict)
    staffed_bound: float = 0.0


def lower_bound(
    workload: Workload,
    capable: Callable[[NodeSpec, JobSpec], bool],
    *,
    model: FarmModel | None = None,
) -> LowerBound:
    """The makespan lower bound of ``workload`` (see module docstring), extended by
    ``model``'s plate changes and staffed hours when given.

    ``capable(node, job)`` is the router's full capability check (technology, material,
    grams, bed with rotation about z); class membership uses material x technology only.
    """
    per_class: dict[str, float] = {}
    firsts: dict[tuple[str, str], float] = {}
    work: dict[tuple[str, str], float] = {}
    for job in workload.jobs:
        key = (job.material, job.technology)
        firsts[key] = min(firsts.get(key, float("inf")), job.arrival_s)
        work[key] = work.get(key, 0.0) + job.actual_s
    for key in sorted(work):
        material, tech = key
        mine = [n for n in workload.nodes if n.technology == tech and material in n.materials]
        speed = sum(n.speed for n in mine)
        if speed > 0:
            extra = _setup_work(workload, key, mine, model) if model is not None else 0.0
            per_class[f"{material}/{tech}"] = firsts[key] + (work[key] + extra) / speed
    class_bound, class_name = 0.0, ""
    for name, value in per_class.items():
        if value > class_bound:
            class_bound, class_name = value, f"class {name}"
    job_bound, job_name = 0.0, ""
    for job in workload.jobs:
        speeds = [n.speed for n in workload.nodes if capable(n, job)]
        if speeds:
            value = job.arrival_s + job.actual_s / max(speeds)
            if value > job_bound:
                job_bound, job_name = value, f"job {job.job_id}"
    staff_bound, staff_name = (0.0, "")
    if model is not None:
        staff_bound, staff_name = _unstaffed_bound(workload, model)
    binding = class_name if class_bound >= job_bound else job_name
    if staff_bound > max(class_bound, job_bound):
        binding = staff_name
    return LowerBound(
        value=max(class_bound, job_bound, staff_bound),
        class_bound=class_bound,
        job_bound=job_bound,
        binding=binding,
        per_class=per_class,
        staffed_bound=staff_bound,
    )


def _area(job: JobSpec) -> float:
    return job.bbox_mm[0] * job.bbox_mm[1]


def _setup_work(
    workload: Workload, key: tuple[str, str], nodes: list[NodeSpec], model: FarmModel
) -> float:
    """Speed-seconds of plate changes class ``key`` needs at least (term (a))."""
    setups = [model.setup_for(n.technology) for n in nodes]
    if not any(setups):
        return 0.0
    jobs = [j for j in workload.jobs if (j.material, j.technology) == key]
    if model.plates.batching:
        bed = max(n.bed_mm[0] * n.bed_mm[1] for n in nodes)
        builds = int(np.ceil(sum(_area(j) for j in jobs) / bed))
    else:
        builds = len(jobs)
    cheapest = min(n.speed * s for n, s in zip(nodes, setups, strict=True))
    return max(0, builds - len(nodes)) * cheapest


def _unstaffed_bound(workload: Workload, model: FarmModel) -> tuple[float, str]:
    """Term (c): the largest ``u1 + print time`` forced past an unstaffed stretch."""
    calendar = model.make_calendar()
    if calendar.always or not workload.jobs:
        return 0.0, ""
    epoch = model.epoch()
    arrivals = np.array([j.arrival_s for j in workload.jobs])
    stretches = calendar.unstaffed_between(
        epoch + arrivals.min() - 7 * 86400, epoch + arrivals.max()
    )
    best, name = 0.0, ""
    classes = sorted({(j.material, j.technology) for j in workload.jobs})
    for material, tech in classes:
        nodes = [n for n in workload.nodes if n.technology == tech and material in n.materials]
        if not nodes or any(n.model in model.auto_clear_models for n in nodes):
            continue
        vmax = max(n.speed for n in nodes)
        beds = sum(n.bed_mm[0] * n.bed_mm[1] for n in nodes)
        jobs = [j for j in workload.jobs if (j.material, j.technology) == (material, tech)]
        at = np.array([j.arrival_s for j in jobs]) + epoch
        for u0, u1 in stretches:
            inside = [j for j, a in zip(jobs, at, strict=True) if u0 <= a < u1]
            works = sorted(j.actual_s for j in inside)
            if model.plates.batching:
                if sum(_area(j) for j in inside) <= beds:
                    continue
                value = u1 - epoch + works[0] / vmax
            else:
                late = len(inside) - len(nodes)
                if late <= 0:
                    continue
                value = u1 - epoch + works[late - 1] / vmax
            if value > best:
                best, name = (
                    value,
                    f"unstaffed {material}/{tech} until t={(u1 - epoch) / 3600:.1f} h",
                )
    return best, name


@dataclass(frozen=True)
class JobOutcome:
    """How one job ended. ``state``: ``done`` or ``dead`` (dead-lettered). ``finish_s``:
    completion (done) or the moment it was dead-lettered. ``attempts``: failed attempts."""

    job_id: str
    arrival_s: float
    deadline_s: float
    priority: int
    state: str
    finish_s: float
    node_id: str | None
    attempts: int
    reroutes: int
    quote_s: float | None = None


@dataclass(frozen=True)
class PlantCounts:
    """Plate and operator counts of a run: ``builds`` completed (each followed by one plate
    change), ``batched_jobs`` (jobs that shared a plate), ``operator_actions`` per shift id,
    ``shifts`` (staffed windows spanned by the run; days when always staffed)."""

    builds: int = 0
    batched_jobs: int = 0
    operator_actions: dict[int, int] = field(default_factory=dict)
    shifts: int = 0


@dataclass(frozen=True)
class Interval:
    """A span on one node's timeline: ``kind`` is ``print`` (ok; one per job, a plate's
    jobs share the span), ``lost`` (a print cut by a failure), ``setup`` (plate change,
    including the wait for an operator) or ``down`` (failed until repaired)."""

    node_id: str
    start_s: float
    end_s: float
    kind: str
    job_id: str | None = None


@dataclass(frozen=True)
class NodeMetrics:
    node_id: str
    model: str
    speed: float
    materials: tuple[str, ...]
    utilisation: float  # (print + lost) time / makespan
    useful: float  # print time / makespan
    down: float  # down time / makespan
    jobs_done: int


@dataclass(frozen=True)
class SimReport:
    """Everything ``configurator farm simulate`` prints. Times in s."""

    policy: str
    seed: int
    nodes: int
    jobs: int
    done: int
    dead_lettered: int
    makespan_s: float
    lower_bound: LowerBound
    makespan_ratio: float  # makespan / lower bound
    mean_flow_s: float
    p95_flow_s: float
    deadline_misses: int
    reroutes: int
    rebalance_moves: int
    failures: int
    mean_utilisation: float
    per_node: tuple[NodeMetrics, ...]
    offered_load: float
    size_source: str
    builds: int = 0
    setups_per_job: float = 0.0
    batched_jobs: int = 0
    operator_actions: int = 0
    shifts: int = 0
    actions_per_shift: float = 0.0
    max_actions_per_shift: int = 0
    quote_keeping: float = 0.0
    model: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready dict (rounded to ms / 4 decimals so output bytes are stable)."""

        def r(x: float, nd: int = 3) -> float:
            return round(float(x), nd)

        return {
            "policy": self.policy,
            "seed": self.seed,
            "nodes": self.nodes,
            "jobs": self.jobs,
            "done": self.done,
            "dead_lettered": self.dead_lettered,
            "makespan_s": r(self.makespan_s),
            "lower_bound_s": r(self.lower_bound.value),
            "lower_bound": {
                "class_bound_s": r(self.lower_bound.class_bound),
                "job_bound_s": r(self.lower_bound.job_bound),
                "binding": self.lower_bound.binding,
                "per_class_s": {k: r(v) for k, v in self.lower_bound.per_class.items()},
                "staffed_bound_s": r(self.lower_bound.staffed_bound),
            },
            "makespan_ratio": r(self.makespan_ratio, 4),
            "mean_flow_s": r(self.mean_flow_s),
            "p95_flow_s": r(self.p95_flow_s),
            "deadline_misses": self.deadline_misses,
            "reroutes": self.reroutes,
            "rebalance_moves": self.rebalance_moves,
            "failures": self.failures,
            "mean_utilisation": r(self.mean_utilisation, 4),
            "offered_load": r(self.offered_load, 4),
            "size_source": self.size_source,
            "model": self.model,
            "builds": self.builds,
            "setups_per_job": r(self.setups_per_job, 4),
            "batched_jobs": self.batched_jobs,
            "operator_actions": self.operator_actions,
            "shifts": self.shifts,
            "operator_actions_per_shift": r(self.actions_per_shift, 3),
            "max_operator_actions_per_shift": self.max_actions_per_shift,
            "quote_keeping": r(self.quote_keeping, 4),
            "per_node": [
                {
                    "node_id": n.node_id,
                    "model": n.model,
                    "speed": n.speed,
                    "materials": list(n.materials),
                    "utilisation": r(n.utilisation, 4),
                    "useful": r(n.useful, 4),
                    "down": r(n.down, 4),
                    "jobs_done": n.jobs_done,
                }
                for n in self.per_node
            ],
        }


def summarize(
    *,
    policy: str,
    workload: Workload,
    outcomes: Sequence[JobOutcome],
    intervals: Sequence[Interval],
    lb: LowerBound,
    reroutes: int,
    rebalance_moves: int,
    failures: int,
    plant: PlantCounts | None = None,
    model: FarmModel | None = None,
) -> SimReport:
    """Compute the report. Makespan = last completion (done or dead-lettered), from t = 0.
    Flow time = finish - arrival over done jobs; p95 by linear interpolation. A deadline
    miss is a done job finished after its deadline, or a dead-lettered job. Quote keeping:
    the share of all jobs done by the ready-by time quoted when they arrived."""
    plant = plant or PlantCounts()
    done = [o for o in outcomes if o.state == "done"]
    dead = [o for o in outcomes if o.state == "dead"]
    makespan = max((o.finish_s for o in outcomes), default=0.0)
    flows = np.array([o.finish_s - o.arrival_s for o in done], dtype=float)
    misses = sum(1 for o in done if o.finish_s > o.deadline_s) + len(dead)
    per_node = []
    span = makespan if makespan > 0 else 1.0
    for node in workload.nodes:
        mine = [iv for iv in intervals if iv.node_id == node.node_id]
        printed = sum(iv.end_s - iv.start_s for iv in mine if iv.kind == "print")
        lost = sum(iv.end_s - iv.start_s for iv in mine if iv.kind == "lost")
        down = sum(min(iv.end_s, makespan) - iv.start_s for iv in mine if iv.kind == "down")
        per_node.append(
            NodeMetrics(
                node_id=node.node_id,
                model=node.model,
                speed=node.speed,
                materials=node.materials,
                utilisation=(printed + lost) / span,
                useful=printed / span,
                down=max(down, 0.0) / span,
                jobs_done=sum(1 for o in done if o.node_id == node.node_id),
            )
        )
    return SimReport(
        policy=policy,
        seed=workload.seed,
        nodes=len(workload.nodes),
        jobs=len(workload.jobs),
        done=len(done),
        dead_lettered=len(dead),
        makespan_s=makespan,
        lower_bound=lb,
        makespan_ratio=makespan / lb.value if lb.value > 0 else float("nan"),
        mean_flow_s=float(flows.mean()) if flows.size else 0.0,
        p95_flow_s=float(np.percentile(flows, 95)) if flows.size else 0.0,
        deadline_misses=misses,
        reroutes=reroutes,
        rebalance_moves=rebalance_moves,
        failures=failures,
        mean_utilisation=float(np.mean([n.utilisation for n in per_node])),
        per_node=tuple(per_node),
        offered_load=workload.offered_load,
        size_source=workload.size_source,
        builds=plant.builds,
        setups_per_job=plant.builds / len(done) if done else 0.0,
        batched_jobs=plant.batched_jobs,
        operator_actions=sum(plant.operator_actions.values()),
        shifts=plant.shifts,
        actions_per_shift=sum(plant.operator_actions.values()) / plant.shifts
        if plant.shifts
        else 0.0,
        max_actions_per_shift=max(plant.operator_actions.values(), default=0),
        quote_keeping=(
            sum(1 for o in done if o.quote_s is not None and o.finish_s <= o.quote_s + 1e-6)
            / len(outcomes)
            if outcomes
            else 0.0
        ),
        model=_model_dict(model),
    )


def _model_dict(model: FarmModel | None) -> dict:
    if model is None:
        return {}
    return {
        "setup_s": {t: round(model.setup_for(t), 3) for t in sorted(model.setup_s)},
        "setup_scale": model.setup_scale,
        "calendar": model.calendar,
        "timezone": model.timezone,
        "start_date": model.start_date,
        "batching": model.plates.batching,
        "batch_wait_s": model.plates.wait_s,
        "batch_plate_s": model.plates.plate_s,
        "quote_margin": model.quote_margin,
    }
