"""Plates and shifts benchmark: the standard workload with the settings' plate changes,
staffed hours and batching (docs/simulate.md "Plates and shifts").

Least-loaded (shift-aware, batching) against first-idle (no batching, the same plate
changes and calendar), seed 1; the seed sweep is ``scripts/sim_plates_sweep.py``. Targets
(issue): mean flow <= 0.75 x first-idle, makespan <= 1.05 x the extended lower bound,
quote keeping >= 95 %. Reported, never asserted.
"""

from __future__ import annotations

from configurator.entrypoints.bench import Row, benchmark

STANDARD = {"n_nodes": 20, "n_jobs": 1000, "seed": 1, "failure_rate": 0.05, "offered_load": 0.9}
QUICK = {"n_nodes": 8, "n_jobs": 200, "seed": 1, "failure_rate": 0.05, "offered_load": 0.9}
AREA = "farm-plates"


@benchmark("simulate-plates")
def bench_plates(quick: bool = False) -> list[Row]:
    import time

    from configurator.adapters.workload_data import load_job_sizes
    from configurator.engines.simulation.farm_model import FarmModel
    from configurator.engines.simulation.simulate import SimConfig, simulate
    from configurator.engines.simulation.workload import make_workload
    from configurator.settings import Settings

    spec = QUICK if quick else STANDARD
    st = Settings()
    common = dict(
        setup_s=st.setup_s,
        calendar=st.farm_calendar,
        timezone=st.farm_timezone,
        batch_wait_s=st.batch_wait_s,
        batch_plate_s=st.batch_plate_s,
        quote_margin=st.quote_margin,
    )
    base = SimConfig(
        heartbeat_timeout_s=st.heartbeat_timeout_s,
        max_attempts=st.max_attempts,
        rebalance_margin_s=st.rebalance_margin_s,
    )
    wl = make_workload(**spec, sizes=load_job_sizes())
    t0 = time.perf_counter()
    ll = simulate(
        wl, policy="least-loaded", config=_with(base, FarmModel.standard(batching=True, **common))
    ).report
    fi = simulate(
        wl, policy="first-idle", config=_with(base, FarmModel.standard(batching=False, **common))
    ).report
    wall = time.perf_counter() - t0
    h = 3600.0
    label = (
        f"{spec['n_nodes']} nodes, {spec['n_jobs']} jobs, seed {spec['seed']}, "
        f"{spec['failure_rate']:.0%} failures, load {spec['offered_load']:.0%}; "
        f"calendar {st.farm_calendar!r}, setup {st.setup_s['FDM']:g} s FDM"
    )
    flow = ll.mean_flow_s / fi.mean_flow_s
    return [
        Row(AREA, "mean flow least-loaded+batching vs first-idle", ll.mean_flow_s / h,
            "first-idle, no batching", fi.mean_flow_s / h, flow, "<= 0.75", flow <= 0.75,
            unit="h", note=label),
        Row(AREA, "makespan least-loaded+batching", ll.makespan_s / h, "extended lower bound",
            ll.lower_bound.value / h, ll.makespan_ratio, "<= 1.05", ll.makespan_ratio <= 1.05,
            unit="h", note=f"bound from {ll.lower_bound.binding}; first-idle {fi.makespan_s / h:.1f} h"),
        Row(AREA, "quote keeping least-loaded+batching", ll.quote_keeping, "first-idle",
            fi.quote_keeping, None, ">= 0.95", ll.quote_keeping >= 0.95,
            note=f"ready-by = router finish + {st.quote_margin:g} x lead time"),
        Row(AREA, "setups per job", ll.setups_per_job, "first-idle", fi.setups_per_job,
            ll.setups_per_job / fi.setups_per_job, "report", None,
            note=f"{ll.batched_jobs} jobs on shared plates"),
        Row(AREA, "operator actions per shift", ll.actions_per_shift, "first-idle",
            fi.actions_per_shift, ll.actions_per_shift / fi.actions_per_shift if fi.actions_per_shift else None,
            "report", None, note=f"max {ll.max_actions_per_shift} ({fi.max_actions_per_shift}) in one shift"),
        Row(AREA, "deadline misses", ll.deadline_misses, "first-idle", fi.deadline_misses, None,
            "report", None),
        Row(AREA, "simulation wall time, 2 runs", wall, "", None, None, "seconds", None, unit="s"),
    ]  # fmt: skip


def _with(cfg, model):
    from dataclasses import replace

    return replace(cfg, model=model)
