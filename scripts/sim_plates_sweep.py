"""Seed sweep with plate changes, staffed hours and batching (docs/simulate.md, "Plates and
shifts"): least-loaded (shift-aware, batching) vs first-idle (no batching), both with the
settings' plate changes and calendar, on the standard workload (20 nodes, 1,000 jobs, 90 %
offered load, 5 % failures).

Usage: .venv/bin/python scripts/sim_plates_sweep.py [FIRST LAST] [--json FILE]

Prints a Markdown table per seed and the medians; ``--json`` also writes every figure
(including each job's arrival, finish and quote, so quote keeping can be read for other
margins: ``quote(m) = arrival + (quote(0) - arrival) * (1 + m)``).
"""

from __future__ import annotations

import json
import statistics
import sys

from configurator.adapters.workload_data import load_job_sizes
from configurator.engines.simulation.farm_model import FarmModel
from configurator.engines.simulation.simulate import SimConfig, simulate
from configurator.engines.simulation.workload import make_workload
from configurator.settings import Settings


def models(settings: Settings) -> tuple[FarmModel, FarmModel]:
    common = dict(
        setup_s=settings.setup_s,
        calendar=settings.farm_calendar,
        timezone=settings.farm_timezone,
        batch_wait_s=settings.batch_wait_s,
        batch_plate_s=settings.batch_plate_s,
        quote_margin=settings.quote_margin,
    )
    return FarmModel.standard(batching=True, **common), FarmModel.standard(batching=False, **common)


def main(first: int, last: int, out: str | None) -> None:
    settings = Settings()
    sizes = load_job_sizes()
    on, off = models(settings)
    rows, dump = [], []
    print(
        "| seed | LL flow h | FI flow h | LL ÷ FI flow | LL makespan h | bound h | ratio "
        "| quote keeping | setups/job LL (FI) | operator actions/shift LL (FI) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in range(first, last + 1):
        wl = make_workload(n_nodes=20, n_jobs=1000, seed=seed, failure_rate=0.05, sizes=sizes)
        ll = simulate(wl, policy="least-loaded", config=SimConfig(model=on))
        fi = simulate(wl, policy="first-idle", config=SimConfig(model=off))
        a, b = ll.report, fi.report
        h = 3600.0
        row = {
            "seed": seed,
            "flow_ratio": a.mean_flow_s / b.mean_flow_s,
            "makespan_ratio": a.makespan_ratio,
            "quote_keeping": a.quote_keeping,
        }
        rows.append(row)
        print(
            f"| {seed} | {a.mean_flow_s / h:.2f} | {b.mean_flow_s / h:.2f} | {row['flow_ratio']:.3f} "
            f"| {a.makespan_s / h:.1f} | {a.lower_bound.value / h:.1f} | {a.makespan_ratio:.3f} "
            f"| {a.quote_keeping:.1%} | {a.setups_per_job:.2f} ({b.setups_per_job:.2f}) "
            f"| {a.actions_per_shift:.1f} ({b.actions_per_shift:.1f}) |",
            flush=True,
        )
        dump.append(
            {
                "seed": seed,
                "least_loaded": a.as_dict(),
                "first_idle": b.as_dict(),
                "jobs": [[o.arrival_s, o.finish_s, o.quote_s, o.state] for o in ll.outcomes],
            }
        )
    med = {
        k: statistics.median(r[k] for r in rows)
        for k in ("flow_ratio", "makespan_ratio", "quote_keeping")
    }
    within = sum(1 for r in rows if r["makespan_ratio"] <= 1.05)
    print(
        f"\nmedian LL ÷ FI mean flow {med['flow_ratio']:.3f} (target <= 0.75); makespan <= 1.05 x "
        f"bound on {within} of {len(rows)} seeds; median quote keeping {med['quote_keeping']:.1%}"
    )
    if out:
        with open(out, "w") as fh:
            json.dump(dump, fh)


if __name__ == "__main__":
    argv = sys.argv[1:]
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        del argv[i : i + 2]
    first, last = (int(argv[0]), int(argv[1])) if len(argv) == 2 else (1, 10)
    main(first, last, out)
