"""``configurator serve [--host] [--port] [--database URL] [--data-dir DIR] [--demo-nodes N]``.

Runs the API (and the web pages other modules add to the app) with uvicorn. The database
schema is upgraded to head on start (SQLite under the data dir by default). The admin key
is printed when it was generated (it is saved in ``DATA_DIR/admin.key``). With
``--demo-nodes N``, N heterogeneous demo nodes are registered (and a few demo jobs when the
farm is empty) and N simulated agents run beside the server in threads, stopped on exit.
"""

from __future__ import annotations

import argparse
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
        "--demo-nodes", type=int, default=0, metavar="N", help="start N simulated print nodes"
    )
    p.add_argument(
        "--demo-speed",
        type=float,
        default=60.0,
        metavar="X",
        help="demo agents print X times faster than real time",
    )
    p.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
    if not 0 < args.port < 65536:
        raise SettingsError("--port must be between 1 and 65535")
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
            app.state.container.farm, args.demo_nodes, time_scale=1.0 / args.demo_speed
        )
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        url = f"http://{host}:{args.port}"
        for i, (name, key) in enumerate(nodes):
            client = NodeClient(url, key, retry_for_s=5.0, stop=stop)
            printer = SimulatedPrinter(speed=args.demo_speed, fail_rate=0.02, seed=i)
            t = threading.Thread(
                target=run_agent,
                args=(client, printer),
                kwargs={"stop": stop, "poll_s": 2.0},
                name=f"agent-{name}",
                daemon=True,
            )
            threads.append(t)
        print(
            f"configurator: {len(nodes)} demo nodes: {', '.join(n for n, _ in nodes)}",
            file=sys.stderr,
        )

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,  # open progress streams must not hold a Ctrl-C for minutes
    )
    server = uvicorn.Server(config)
    for t in threads:
        t.start()
    print(
        f"configurator: serving on http://{args.host}:{args.port} (API docs at /docs)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when host has a ':');
    SettingsError naming the address when it is taken or not ours to bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
