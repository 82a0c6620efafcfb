"""Farm simulator benchmark: the standard workload under all four routing policies.

Standard workload (docs/simulate.md): 20 nodes, 1,000 jobs, 3 materials, 5% of node time
lost to failures, seed 1, offered load 90% of effective capacity, job sizes from the
committed slicer data set (lognormal fallback while it is absent), router settings at
their defaults (rebalance margin 60 s, heartbeat timeout 30 s, 3 attempts). Every policy
sees the same jobs and the same node failures.

Targets for least-loaded: makespan <= 1.05 x lower bound; mean flow time >= 25% better
(ratio <= 0.75) than round-robin and than first-idle. Reported, never asserted. The same
ratios are also given with rebalancing off (the routing policy alone).
"""

from __future__ import annotations

import time

from configurator.entrypoints.bench import Row, benchmark

POLICIES = ("least-loaded", "round-robin", "first-idle", "random")
STANDARD = {"n_nodes": 20, "n_jobs": 1000, "seed": 1, "failure_rate": 0.05, "offered_load": 0.9}
QUICK = {"n_nodes": 8, "n_jobs": 200, "seed": 1, "failure_rate": 0.05, "offered_load": 0.9}
AREA = "farm-sim"


def _run(spec: dict, *, rebalance: bool):
    from configurator.adapters.workload_data import load_job_sizes
    from configurator.engines.simulation.simulate import SimConfig, simulate
    from configurator.engines.simulation.workload import make_workload
    from configurator.settings import Settings

    settings = Settings()
    workload = make_workload(**spec, sizes=load_job_sizes())
    cfg = SimConfig(
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        max_attempts=settings.max_attempts,
        rebalance_margin_s=settings.rebalance_margin_s,
        rebalance=rebalance,
    )
    t0 = time.perf_counter()
    reports = {p: simulate(workload, policy=p, config=cfg).report for p in POLICIES}
    return reports, time.perf_counter() - t0, workload


@benchmark("simulate")
def bench_simulate(quick: bool = False) -> list[Row]:
    spec = QUICK if quick else STANDARD
    label = (
        f"{spec['n_nodes']} nodes, {spec['n_jobs']} jobs, seed {spec['seed']}, "
        f"{spec['failure_rate']:.0%} failures, load {spec['offered_load']:.0%}"
    )
    reports, wall, workload = _run(spec, rebalance=True)
    h = 3600.0
    note = f"{label}; sizes: {workload.size_source}"
    rows: list[Row] = []
    for p in POLICIES:
        r = reports[p]
        is_ll = p == "least-loaded"
        rows.append(
            Row(
                AREA,
                f"makespan {p}",
                r.makespan_s / h,
                "lower bound",
                r.lower_bound.value / h,
                r.makespan_ratio,
                "<= 1.05" if is_ll else "",
                (r.makespan_ratio <= 1.05) if is_ll else None,
                unit="h",
                note=f"{note}; bound from {r.lower_bound.binding}",
            )
        )
    for p in POLICIES:
        r = reports[p]
        rows.append(
            Row(
                AREA,
                f"flow mean/p95 {p}",
                r.mean_flow_s / h,
                "p95",
                r.p95_flow_s / h,
                None,
                "",
                None,
                unit="h",
                note=(
                    f"{r.deadline_misses} deadline misses, {r.dead_lettered} dead-lettered, "
                    f"{r.reroutes} reroutes, {r.rebalance_moves} rebalance moves, "
                    f"{r.failures} failures, utilisation {r.mean_utilisation:.1%}"
                ),
            )
        )
    rows += _flow_rows(reports, suffix="")
    plain, _, _ = _run(spec, rebalance=False)
    rows += _flow_rows(plain, suffix=" (no rebalance)")
    ll = plain["least-loaded"]
    rows.append(
        Row(
            AREA,
            "makespan least-loaded (no rebalance)",
            ll.makespan_s / h,
            "lower bound",
            ll.lower_bound.value / h,
            ll.makespan_ratio,
            "<= 1.05",
            ll.makespan_ratio <= 1.05,
            unit="h",
        )
    )
    rows += _reference_rows(spec)
    rows.append(
        Row(
            AREA,
            "simulation wall time, 4 policies",
            wall,
            "",
            None,
            None,
            "seconds",
            None,
            unit="s",
            note=label,
        )
    )
    return rows


def _flow_rows(reports: dict, *, suffix: str) -> list[Row]:
    h = 3600.0
    ll = reports["least-loaded"]
    out = []
    for peer in ("round-robin", "first-idle"):
        ratio = ll.mean_flow_s / reports[peer].mean_flow_s
        out.append(
            Row(
                AREA,
                f"mean flow least-loaded vs {peer}{suffix}",
                ll.mean_flow_s / h,
                peer,
                reports[peer].mean_flow_s / h,
                ratio,
                "<= 0.75",
                ratio <= 0.75,
                unit="h",
            )
        )
    return out


def _reference_rows(spec: dict) -> list[Row]:
    """Failures off, same jobs: least-loaded and first-idle next to the reference scheduler
    (one global queue, late binding, shortest estimated print first, fastest idle node;
    :mod:`configurator.engines.simulation.reference`). It says how much mean flow any dispatcher
    that knows the estimates could gain over first-idle on this workload."""
    from configurator.adapters.workload_data import load_job_sizes
    from configurator.engines.simulation.reference import global_queue_dispatch
    from configurator.engines.simulation.simulate import SimConfig, simulate
    from configurator.engines.simulation.workload import make_workload

    h = 3600.0
    workload = make_workload(**spec, sizes=load_job_sizes())
    cfg = SimConfig(failure_schedule=())
    ll = simulate(workload, policy="least-loaded", config=cfg).report
    fi = simulate(workload, policy="first-idle", config=cfg).report
    rr = simulate(workload, policy="round-robin", config=cfg).report
    ref = global_queue_dispatch(workload, order="spt")
    return [
        Row(
            AREA,
            "mean flow, failures off: global SPT queue vs round-robin",
            ref.mean_flow_s / h,
            "round-robin",
            rr.mean_flow_s / h,
            ref.mean_flow_s / rr.mean_flow_s,
            "reference",
            None,
            unit="h",
            note=f"least-loaded vs round-robin, failures off: {ll.mean_flow_s / rr.mean_flow_s:.3f}",
        ),
        Row(
            AREA,
            "mean flow, failures off: global SPT queue vs first-idle",
            ref.mean_flow_s / h,
            "first-idle",
            fi.mean_flow_s / h,
            ref.mean_flow_s / fi.mean_flow_s,
            "reference",
            None,
            unit="h",
            note=(
                "reference scheduler: one global queue bound late, shortest estimate first, "
                "fastest idle node; what a 0.75 target vs first-idle would have to beat"
            ),
        ),
        Row(
            AREA,
            "mean flow, failures off: least-loaded vs global SPT queue",
            ll.mean_flow_s / h,
            "global SPT queue",
            ref.mean_flow_s / h,
            ll.mean_flow_s / ref.mean_flow_s,
            "reference",
            None,
            unit="h",
            note=f"least-loaded vs first-idle, failures off: {ll.mean_flow_s / fi.mean_flow_s:.3f}",
        ),
    ]
