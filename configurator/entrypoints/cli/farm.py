"""``configurator farm ...``: print-farm commands.

``configurator farm simulate --policy least-loaded|round-robin|first-idle|random --nodes N
--jobs J --seed S [--failures RATE] [--load RHO] [--sizes CSV] [--no-rebalance]
[--setup-scale X] [--calendar SPEC] [--batching on|off] [--json] [--plot FILE]`` runs the
discrete-event simulator (docs/simulate.md). Plate changes, staffed hours and batching
default to the settings' model; ``--calendar always --setup-scale 0 --batching off`` is the
farm without them.
"""

from __future__ import annotations

import argparse
import json
import sys

from configurator.entrypoints.cli import RegistryChoices


def _int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {value}")
        if value > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi}, got {value}")
        return value

    return parse


def _fraction(lo: float, hi: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not lo <= value < hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}), got {value}")
        return value

    return parse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("farm", help="print-farm commands (simulate)")
    farm_sub = p.add_subparsers(dest="farm_command", metavar="FARM_COMMAND")
    p.set_defaults(func=lambda args: _usage(p))
    s = farm_sub.add_parser(
        "simulate",
        help="discrete-event simulation of the farm with the real router",
        description="Simulate a heterogeneous print farm under a routing policy.",
    )
    s.add_argument(
        "--policy",
        choices=RegistryChoices("configurator.core.farm.router", "POLICIES"),
        default="least-loaded",
        metavar="NAME",
        help="routing policy: %(choices)s (default: %(default)s)",
    )
    s.add_argument("--nodes", type=_int_in(1, 100_000), default=20, metavar="N")
    s.add_argument("--jobs", type=_int_in(1, 1_000_000), default=1000, metavar="J")
    s.add_argument("--seed", type=_int_in(0, 2**63 - 1), default=1, metavar="S")
    s.add_argument(
        "--failures",
        type=_fraction(0.0, 0.9),
        default=0.0,
        metavar="RATE",
        help="long-run fraction of node time lost to failures (0.05 = 5%%)",
    )
    s.add_argument(
        "--load",
        type=_fraction(0.01, 2.0),
        default=0.9,
        metavar="RHO",
        help="offered load as a fraction of effective capacity (default 0.9)",
    )
    s.add_argument(
        "--sizes",
        default=None,
        metavar="CSV",
        help="job-size data set (default: the committed slicer data set, else lognormal)",
    )
    s.add_argument("--no-rebalance", action="store_true", help="route only; never move jobs")
    s.add_argument(
        "--setup-scale",
        type=_fraction(0.0, 100.0),
        default=None,
        metavar="X",
        help="plate changes x X (0 = none; default 1: the settings' per-technology setup_s)",
    )
    s.add_argument(
        "--calendar",
        default=None,
        metavar="SPEC",
        help="staffed hours, e.g. 'Mon-Fri 07:00-23:00' or 'always' (default: settings)",
    )
    s.add_argument(
        "--batching",
        choices=("on", "off"),
        default=None,
        help="nest queued jobs onto shared plates (default: settings)",
    )
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--plot", default=None, metavar="FILE", help="write Gantt + load chart PNG")
    s.set_defaults(func=run_simulate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_simulate(args: argparse.Namespace) -> int:
    from configurator.adapters.workload_data import load_job_sizes
    from configurator.core.farm.calendar import parse_windows
    from configurator.engines.simulation.farm_model import FarmModel
    from configurator.engines.simulation.simulate import SimConfig, simulate
    from configurator.engines.simulation.workload import make_workload
    from configurator.settings import Settings

    settings = Settings()
    calendar = settings.farm_calendar if args.calendar is None else args.calendar
    parse_windows(calendar, field="--calendar")  # one line on a bad spec, before any work
    model = FarmModel.standard(
        setup_s=settings.setup_s,
        setup_scale=1.0 if args.setup_scale is None else args.setup_scale,
        calendar=calendar,
        timezone=settings.farm_timezone,
        batching=settings.batching if args.batching is None else args.batching == "on",
        batch_wait_s=settings.batch_wait_s,
        batch_plate_s=settings.batch_plate_s,
        quote_margin=settings.quote_margin,
    )
    sizes = load_job_sizes(args.sizes)
    workload = make_workload(
        n_nodes=args.nodes,
        n_jobs=args.jobs,
        seed=args.seed,
        failure_rate=args.failures,
        offered_load=args.load,
        sizes=sizes,
    )
    config = SimConfig(
        heartbeat_timeout_s=settings.heartbeat_timeout_s,
        max_attempts=settings.max_attempts,
        rebalance_margin_s=settings.rebalance_margin_s,
        rebalance=not args.no_rebalance,
        model=model,
    )
    result = simulate(workload, policy=args.policy, config=config)
    if args.plot:
        from configurator.adapters.plots import write_plot

        write_plot(result, args.plot)
    if args.json:
        print(json.dumps(result.report.as_dict(), indent=2))
    else:
        print(format_report(result.report))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def format_report(rep) -> str:
    """Human-readable report (times in hours)."""
    h = 3600.0
    lb = rep.lower_bound
    lines = [
        f"policy {rep.policy}, {rep.nodes} nodes, {rep.jobs} jobs, seed {rep.seed}, "
        f"offered load {rep.offered_load:.0%}, sizes: {rep.size_source}",
        f"makespan        {rep.makespan_s / h:9.2f} h   lower bound {lb.value / h:.2f} h "
        f"({lb.binding}); ratio {rep.makespan_ratio:.3f}",
        f"flow time       mean {rep.mean_flow_s / h:.2f} h, p95 {rep.p95_flow_s / h:.2f} h",
        f"jobs            {rep.done} done, {rep.dead_lettered} dead-lettered, "
        f"{rep.deadline_misses} deadline misses",
        f"recovery        {rep.failures} node failures, {rep.reroutes} reroutes, "
        f"{rep.rebalance_moves} rebalance moves",
        f"utilisation     mean {rep.mean_utilisation:.1%} (printing incl. cut prints / makespan)",
        f"plates          {rep.builds} builds, {rep.setups_per_job:.2f} setups per job, "
        f"{rep.batched_jobs} jobs on shared plates",
        f"operators       {rep.operator_actions} plate changes over {rep.shifts} shifts "
        f"({rep.actions_per_shift:.1f} per shift, max {rep.max_actions_per_shift})",
        f"quotes          {rep.quote_keeping:.1%} of jobs done by the ready-by time quoted",
        "",
        f"{'node':6} {'model':7} {'speed':>5} {'materials':14} {'util':>6} {'useful':>6} "
        f"{'down':>5} {'jobs':>5}",
    ]
    for n in rep.per_node:
        lines.append(
            f"{n.node_id:6} {n.model:7} {n.speed:5.2f} {','.join(n.materials):14} "
            f"{n.utilisation:6.1%} {n.useful:6.1%} {n.down:5.1%} {n.jobs_done:5d}"
        )
    return "\n".join(lines)
