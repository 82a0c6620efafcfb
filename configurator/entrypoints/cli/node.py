"""``configurator node run``: a node agent per printer.

::

    configurator node run --server URL --node-key KEY --octoprint URL --octoprint-key KEY \\
        [--slicer-profile INI ...] [--auto-clear]
    configurator node run --server URL --node-key KEY --simulate [--speed X] [--fail-rate P]
    configurator node run --server URL --config printers.yaml     # several printers

See :mod:`configurator.entrypoints.node.agent` for the loop and docs/farm.md ("Real
printers"). Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="print-node agent")
    nsub = p.add_subparsers(dest="node_command", metavar="ACTION", parser_class=type(p))
    r = nsub.add_parser("run", help="run a node agent against a farm server")
    r.add_argument("--server", default=None, metavar="URL", help="e.g. http://127.0.0.1:8000")
    r.add_argument(
        "--node-key",
        default=os.environ.get("CONFIGURATOR_NODE_KEY"),
        metavar="KEY",
        help="the key POST /farm/nodes returned (or CONFIGURATOR_NODE_KEY)",
    )
    real = r.add_argument_group("a printer behind OctoPrint")
    real.add_argument(
        "--octoprint", metavar="URL", help="the printer's OctoPrint, e.g. http://10.0.0.21"
    )
    real.add_argument(
        "--octoprint-key",
        default=os.environ.get("CONFIGURATOR_OCTOPRINT_KEY"),
        metavar="KEY",
        help="an OctoPrint application key (or CONFIGURATOR_OCTOPRINT_KEY)",
    )
    real.add_argument(
        "--slicer-profile",
        action="append",
        default=[],
        metavar="INI",
        help="PrusaSlicer INI file(s) of this printer, loaded in order (repeat); they must set "
        "filament_type. Default: the committed FDM profile of each job's material, bed from "
        "OctoPrint's printer profile",
    )
    real.add_argument("--workdir", metavar="DIR", help="where sliced jobs are kept")
    r.add_argument(
        "--config",
        metavar="FILE",
        help="a YAML file listing several printers for this agent process (docs/farm.md)",
    )
    sim = r.add_argument_group("a simulated printer")
    sim.add_argument(
        "--simulate", action="store_true", help="simulate printing (no printer attached)"
    )
    sim.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="simulate X times faster than real time",
    )
    sim.add_argument(
        "--fail-rate", type=float, default=0.0, metavar="P", help="fail a print with probability P"
    )
    sim.add_argument("--seed", type=int, default=0)
    r.add_argument(
        "--auto-clear",
        action="store_true",
        help="the printer clears its own plate (belt, auto-eject); sent with heartbeats, "
        "the operator's registration decides (a mismatch is logged)",
    )
    r.add_argument(
        "--poll",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between claims when idle and between printer polls while printing",
    )
    r.add_argument("--max-jobs", type=int, default=None, metavar="N", help="stop after N jobs")
    r.add_argument(
        "--retry-for",
        type=float,
        default=60.0,
        metavar="S",
        help="keep retrying an unreachable server for S seconds per request",
    )
    r.set_defaults(func=run)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])


def _specs(args: argparse.Namespace):
    from pathlib import Path

    from configurator.entrypoints.node.printers import PrinterSpec, load_config
    from configurator.errors import SettingsError

    if args.config:
        if args.octoprint or args.simulate or args.slicer_profile:
            raise SettingsError(
                "--config lists the printers: drop --octoprint/--simulate/--slicer-profile"
            )
        server, specs = load_config(Path(args.config))
        return args.server or server, specs
    if args.simulate and args.octoprint:
        raise SettingsError("give one of --octoprint URL and --simulate, not both")
    if not args.simulate and not args.octoprint:
        raise SettingsError(
            "say which printer: --octoprint URL (a real printer), --simulate or --config FILE"
        )
    if not args.node_key:
        raise SettingsError("--node-key is required (or set CONFIGURATOR_NODE_KEY)")
    simulate = None
    if args.simulate:
        simulate = {"speed": args.speed, "fail_rate": args.fail_rate, "seed": args.seed}
    spec = PrinterSpec(
        name=args.octoprint or "simulated",
        node_key=args.node_key,
        octoprint=args.octoprint,
        octoprint_key=args.octoprint_key,
        slicer_profile=tuple(Path(p) for p in args.slicer_profile),
        auto_clear=args.auto_clear,
        simulate=simulate,
        workdir=Path(args.workdir) if args.workdir else None,
    )
    return args.server, [spec.validate()]


def run(args: argparse.Namespace) -> int:
    import logging
    import math
    import signal
    import threading

    from configurator.entrypoints.node.runner import run_printers
    from configurator.errors import FarmError

    for flag, value in (("--speed", args.speed), ("--poll", args.poll)):
        if not (math.isfinite(value) and value > 0):  # nan would slip past a plain "<= 0"
            raise FarmError(f"{flag} must be a number > 0, got {value}")
    if not (math.isfinite(args.retry_for) and args.retry_for >= 0):
        raise FarmError(f"--retry-for must be a number of seconds >= 0, got {args.retry_for}")
    if args.max_jobs is not None and args.max_jobs < 1:
        raise FarmError(f"--max-jobs must be at least 1, got {args.max_jobs}")
    server, specs = _specs(args)
    if not server:
        raise FarmError("--server is required (or 'server:' in the --config file)")
    if not server.startswith(("http://", "https://")):
        raise FarmError(f"--server must be an http(s) URL, got {server!r}")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(threadName)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runs = run_printers(
        server, specs, stop, poll_s=args.poll, retry_for_s=args.retry_for, max_jobs=args.max_jobs
    )
    for r in runs:
        s = r.stats
        print(
            f"node {r.spec.name}: claimed {s.claimed}, completed {s.completed}, failed {s.failed}, "
            f"abandoned {s.abandoned}, re-attached {s.reattached}",
            file=sys.stderr,
        )
    errors = [r.error for r in runs if r.error is not None]
    if errors:
        raise errors[0]
    return 0
