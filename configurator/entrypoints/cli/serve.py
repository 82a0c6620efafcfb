"""``configurator serve [--host] [--port] [--database URL] [--data-dir DIR] [--workers N]
[--demo-nodes N]``.

Runs the API (and the web pages other modules add to the app) with uvicorn. The database
schema is upgraded to head on start (SQLite under the data dir by default). The admin key
is printed when it was generated (it is saved in ``DATA_DIR/admin.key``). With
``--workers N`` (N > 1), N server processes share the listening socket, the database and
the data dir (uvicorn's process supervisor restarts one that dies); any of them answers for
any run, and each executes queued runs on its own ``CONFIGURATOR_RUN_WORKERS`` worker
processes. N > 1 needs PostgreSQL (``--database postgresql+psycopg://...``): SQLite serves
one process. With ``--demo-nodes N``, N heterogeneous demo nodes are registered (6 or more
cover every shipped catalog's materials) and N simulated agents run beside the server in
threads, stopped on exit; the nodes are registered with ``--demo-speed`` as their time
scale, so quotes and order pages promise the compressed times the demo prints take.
``--demo-jobs N`` queues N demo box jobs when the farm is empty (a busy dashboard).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from configurator.errors import SettingsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the web configurator and the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL (default: SQLite in the data dir)",
    )
    p.add_argument(
        "--data-dir", metavar="DIR", default=None, help="data directory (default: settings)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="N server processes on one socket and one database (N > 1 needs PostgreSQL)",
    )
    p.add_argument(
        "--demo-nodes", type=int, default=0, metavar="N", help="start N simulated print nodes"
    )
    p.add_argument(
        "--demo-speed",
        type=float,
        default=60.0,
        metavar="X",
        help="demo agents print X times faster than real time (quotes and orders follow)",
    )
    p.add_argument(
        "--demo-fail-rate",
        type=float,
        default=0.02,
        metavar="P",
        help="probability that a demo print fails (default 0.02; the farm reroutes it)",
    )
    p.add_argument(
        "--demo-jobs",
        type=int,
        default=0,
        metavar="N",
        help="queue N demo box jobs when the farm is empty (default 0)",
    )
    p.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    database = args.database or os.environ.get("CONFIGURATOR_DATABASE_URL") or ""
    if args.workers > 1 and not database.startswith(("postgresql", "postgres:")):
        raise SettingsError(  # before the heavy imports: one line at once
            f"--workers {args.workers} needs PostgreSQL (--database postgresql+psycopg://...): "
            "SQLite serves one process"
        )
    import threading

    import uvicorn
    from pydantic import ValidationError

    from configurator.adapters.connectors import SimulatedPrinter
    from configurator.adapters.farm_client import NodeClient
    from configurator.entrypoints.api.app import create_app
    from configurator.entrypoints.node.agent import run_agent
    from configurator.services.farm.demo import ensure_demo_nodes
    from configurator.settings import Settings

    if not 0 <= args.demo_nodes <= 64:
        raise SettingsError("--demo-nodes must be between 0 and 64")
    if not 0 <= args.demo_jobs <= 10_000:
        raise SettingsError("--demo-jobs must be between 0 and 10000")
    if not (args.demo_speed > 0 and args.demo_speed <= 1e6):
        raise SettingsError("--demo-speed must be > 0 and at most 1000000")
    if not 0 <= args.demo_fail_rate <= 1:
        raise SettingsError("--demo-fail-rate must be between 0 and 1")
    if not 0 < args.port < 65536:
        raise SettingsError("--port must be between 1 and 65535")
    if not 1 <= args.workers <= 64:
        raise SettingsError("--workers must be between 1 and 64")
    overrides = {}
    if args.database:
        overrides["database_url"] = args.database
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(
            f"invalid settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
        ) from None
    sock = _listen(args.host, args.port)  # a busy port is one line, before any setup
    try:
        app = create_app(settings)
    except SettingsError:
        sock.close()
        raise
    except Exception as exc:  # database unreachable, bad URL: one readable line
        sock.close()
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SettingsError(
            f"cannot open the database {settings.resolved_database_url}: {reason}"
        ) from None
    if app.state.container.admin_key_generated:
        print(
            f"configurator: admin key (saved in {settings.data_dir}/admin.key): {app.state.container.admin_key}",
            flush=True,
        )

    stop = threading.Event()
    threads = []
    if args.demo_nodes:
        nodes = ensure_demo_nodes(
            app.state.container.farm,
            args.demo_nodes,
            jobs=args.demo_jobs,
            time_scale=args.demo_speed,
        )
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        url = f"http://{host}:{args.port}"
        for i, (name, key) in enumerate(nodes):
            client = NodeClient(url, key, retry_for_s=5.0, stop=stop)
            printer = SimulatedPrinter(speed=args.demo_speed, fail_rate=args.demo_fail_rate, seed=i)
            t = threading.Thread(
                target=run_agent,
                args=(client, printer),
                kwargs={"stop": stop, "poll_s": 1.0},
                name=f"agent-{name}",
                daemon=True,
            )
            threads.append(t)
        print(
            f"configurator: {len(nodes)} demo nodes: {', '.join(n for n, _ in nodes)}",
            file=sys.stderr,
        )

    common = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "timeout_graceful_shutdown": 5,  # open progress streams must not hold a Ctrl-C long
    }
    if args.workers > 1:
        # the processes build their own app from the environment (the schema is migrated)
        os.environ["CONFIGURATOR_DATABASE_URL"] = settings.resolved_database_url
        os.environ["CONFIGURATOR_DATA_DIR"] = str(settings.data_dir)
        config = uvicorn.Config(
            "configurator.entrypoints.api.app:app_from_environment",
            factory=True,
            workers=args.workers,
            # a busy process (a CPU-bound order, a loaded machine) is not a dead one: uvicorn's
            # default 5 s would restart it, cutting its requests and runs
            timeout_worker_healthcheck=60,
            **common,
        )
    else:
        config = uvicorn.Config(app, **common)
    server = uvicorn.Server(config)
    for t in threads:
        t.start()
    print(
        f"configurator: serving on http://{args.host}:{args.port} with {args.workers} "
        f"process{'es' if args.workers > 1 else ''} (API docs at /docs)",
        file=sys.stderr,
        flush=True,
    )
    try:
        if args.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    finally:
        if args.workers > 1:
            app.state.container.close()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when host has a ':');
    SettingsError naming the address when it is taken or not ours to bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # accepted connections inherit it: without, a response written in two parts (headers,
    # body) waits for the client's delayed ACK (~40 ms a request on Linux)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
