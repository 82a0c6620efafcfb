"""Seed sweep of the standard farm-simulator workload (docs/simulate.md, "reference scheduler").

Usage: .venv/bin/python scripts/sim_seed_sweep.py [FIRST LAST]   (default seeds 1..10)

Prints a Markdown table: least-loaded's makespan ratio and mean-flow ratios against
round-robin and first-idle (5 % failures, as in `configurator bench --only simulate`), and,
failures off, least-loaded and the reference scheduler (one global queue bound late,
shortest estimate first) against first-idle and round-robin. About 4 s per seed.
"""

from __future__ import annotations

import sys

from configurator.adapters.workload_data import load_job_sizes
from configurator.engines.simulation.reference import global_queue_dispatch
from configurator.engines.simulation.simulate import SimConfig, simulate
from configurator.engines.simulation.workload import make_workload

POLICIES = ("least-loaded", "round-robin", "first-idle")


def main(first: int = 1, last: int = 10) -> None:
    sizes = load_job_sizes()
    print(
        "| seed | LL makespan ÷ bound | LL ÷ RR | LL ÷ FI | failures off: LL ÷ FI "
        "| SPT queue ÷ FI | SPT queue ÷ RR |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed in range(first, last + 1):
        wl = make_workload(
            n_nodes=20, n_jobs=1000, seed=seed, failure_rate=0.05, offered_load=0.9, sizes=sizes
        )
        on = {p: simulate(wl, policy=p, config=SimConfig()).report for p in POLICIES}
        off_cfg = SimConfig(failure_schedule=())
        off = {p: simulate(wl, policy=p, config=off_cfg).report for p in POLICIES}
        ref = global_queue_dispatch(wl, order="spt").mean_flow_s

        def ratio(reports: dict, a: str, b: str) -> float:
            return reports[a].mean_flow_s / reports[b].mean_flow_s

        print(
            f"| {seed} | {on['least-loaded'].makespan_ratio:.3f} "
            f"| {ratio(on, 'least-loaded', 'round-robin'):.3f} "
            f"| {ratio(on, 'least-loaded', 'first-idle'):.3f} "
            f"| {ratio(off, 'least-loaded', 'first-idle'):.3f} "
            f"| {ref / off['first-idle'].mean_flow_s:.3f} "
            f"| {ref / off['round-robin'].mean_flow_s:.3f} |"
        )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
