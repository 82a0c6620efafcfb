"""``configurator node run --server URL --node-key KEY --simulate [--speed X] [--fail-rate P]``.

A node agent over HTTP (see :mod:`configurator.entrypoints.node.agent`). Only simulated printing is
built in; a real printer connector (e.g. OctoPrint) plugs in later. Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="print-node agent")
    nsub = p.add_subparsers(dest="node_command", metavar="ACTION", parser_class=type(p))
    r = nsub.add_parser("run", help="run a node agent against a farm server")
    r.add_argument("--server", required=True, metavar="URL", help="e.g. http://127.0.0.1:8000")
    r.add_argument(
        "--node-key",
        default=os.environ.get("CONFIGURATOR_NODE_KEY"),
        metavar="KEY",
        help="the key POST /farm/nodes returned (or CONFIGURATOR_NODE_KEY)",
    )
    r.add_argument(
        "--simulate", action="store_true", help="simulate printing (no printer attached)"
    )
    r.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="simulate X times faster than real time",
    )
    r.add_argument(
        "--fail-rate", type=float, default=0.0, metavar="P", help="fail a print with probability P"
    )
    r.add_argument("--seed", type=int, default=0)
    r.add_argument(
        "--auto-clear",
        action="store_true",
        default=None,
        help="the printer clears its own plate (belt, auto-eject); sent with heartbeats, "
        "the operator's registration decides (a mismatch is logged)",
    )
    r.add_argument(
        "--poll", type=float, default=1.0, metavar="S", help="seconds between claims when idle"
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


def run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from configurator.adapters.connectors import SimulatedPrinter
    from configurator.adapters.farm_client import NodeClient
    from configurator.entrypoints.node.agent import run_agent
    from configurator.errors import FarmError

    if not args.node_key:
        raise FarmError("--node-key is required (or set CONFIGURATOR_NODE_KEY)")
    if not args.simulate:
        raise FarmError("no printer connector is built in yet; run with --simulate")
    if not args.server.startswith(("http://", "https://")):
        raise FarmError(f"--server must be an http(s) URL, got {args.server!r}")
    import math

    for flag, value in (("--speed", args.speed), ("--poll", args.poll)):
        if not (math.isfinite(value) and value > 0):  # nan would slip past a plain "<= 0"
            raise FarmError(f"{flag} must be a number > 0, got {value}")
    if not (math.isfinite(args.retry_for) and args.retry_for >= 0):
        raise FarmError(f"--retry-for must be a number of seconds >= 0, got {args.retry_for}")
    if args.max_jobs is not None and args.max_jobs < 1:
        raise FarmError(f"--max-jobs must be at least 1, got {args.max_jobs}")
    printer = SimulatedPrinter(speed=args.speed, fail_rate=args.fail_rate, seed=args.seed)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with NodeClient(args.server, args.node_key, retry_for_s=args.retry_for, stop=stop) as client:
        client.heartbeat("idle")  # fail fast on a wrong key or URL (AuthError -> exit 2)
        stats = run_agent(
            client,
            printer,
            stop=stop,
            poll_s=args.poll,
            max_jobs=args.max_jobs,
            auto_clear=args.auto_clear,
        )
    print(
        f"node: claimed {stats.claimed}, completed {stats.completed}, failed {stats.failed}, "
        f"abandoned {stats.abandoned}",
        file=sys.stderr,
    )
    return 0
