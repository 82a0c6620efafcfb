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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

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


def lower_bound(workload: Workload, capable: Callable[[NodeSpec, JobSpec], bool]) -> LowerBound:
    """The makespan lower bound of ``workload`` (see module docstring).

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
        speed = sum(
            n.speed for n in workload.nodes if n.technology == tech and material in n.materials
        )
        if speed > 0:
            per_class[f"{material}/{tech}"] = firsts[key] + work[key] / speed
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
    binding = class_name if class_bound >= job_bound else job_name
    return LowerBound(
        value=max(class_bound, job_bound),
        class_bound=class_bound,
        job_bound=job_bound,
        binding=binding,
        per_class=per_class,
    )


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


@dataclass(frozen=True)
class Interval:
    """A span on one node's timeline: ``kind`` is ``print`` (ok), ``lost`` (a print cut by
    a failure) or ``down`` (failed until repaired)."""

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
) -> SimReport:
    """Compute the report. Makespan = last completion (done or dead-lettered), from t = 0.
    Flow time = finish - arrival over done jobs; p95 by linear interpolation. A deadline
    miss is a done job finished after its deadline, or a dead-lettered job."""
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
    )
