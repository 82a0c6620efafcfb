"""``configurator trace ...`` and ``configurator reprint ...`` (docs/trace.md).

``configurator trace ORDER_TOKEN|JOB_ID [--json] [--database URL] [--data-dir DIR]`` prints
the production record of an order (every piece) or of one job (operator view).
``configurator trace verify [--database URL]`` walks the event log's hash chain: exit 0
"intact (N events)", exit 1 naming the first event that was edited or deleted.
``configurator reprint TOKEN [--quantity N] [--priority low|normal|rush] [--revalidate]``
orders an exact reprint (the mesh rebuilt from the stored catalog and verified by hash);
exit 2 with the reason when it cannot be exact.

They work on the farm store directly (``--database``, default: the data dir's SQLite).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PRIORITY_CHOICES = ("low", "normal", "rush")
MAX_QUANTITY = 20  # services/quotes.MAX_QUANTITY (not imported: --help stays light)


def _quantity(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_QUANTITY:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_QUANTITY}, got {value}")
    return value


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", default=None, metavar="URL", help="farm store URL")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="data directory")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "trace",
        help="production record of an order or job; 'trace verify' checks the event chain",
        description="Print the production record of an order (token) or a job (number); "
        "'configurator trace verify' checks the farm event log's hash chain.",
    )
    t.add_argument("ref", metavar="ORDER_TOKEN|JOB_ID|verify")
    t.add_argument("--json", action="store_true", help="print the record as JSON")
    _store_args(t)
    t.set_defaults(func=run_trace)
    r = sub.add_parser(
        "reprint",
        help="reprint an order exactly (mesh rebuilt from the stored catalog, verified)",
        description="Order the same design again; refused with the reason when the rebuilt "
        "mesh does not hash to the recorded one (use --revalidate for a new design).",
    )
    r.add_argument("token", metavar="TOKEN")
    r.add_argument("--quantity", type=_quantity, default=1, metavar="N")
    r.add_argument("--priority", choices=PRIORITY_CHOICES, default="normal")
    r.add_argument(
        "--revalidate",
        action="store_true",
        help="when the generator changed: re-make the design (new id) and print that",
    )
    _store_args(r)
    r.set_defaults(func=run_reprint)


def _settings(args: argparse.Namespace) -> Any:
    from configurator.settings import Settings

    overrides: dict[str, Any] = {}
    if args.database:
        overrides["database_url"] = args.database
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def run_trace(args: argparse.Namespace) -> int:
    from configurator.adapters.db.store import Store
    from configurator.services.catalogs import CatalogCache
    from configurator.services.design.book import DesignBook
    from configurator.services.trace.provenance import Provenance
    from configurator.services.trace.record import TraceService

    settings = _settings(args)
    store = Store(settings.resolved_database_url)
    try:
        store.migrate()
        if args.ref == "verify":
            report = store.verify_chain()
            if args.json:
                print(json.dumps(report.__dict__, indent=1))
            elif report.ok:
                print(f"{report.message}; head {report.head_hash}")
            else:
                print(f"BROKEN: {report.message}", file=sys.stderr)
            return 0 if report.ok else 1
        provenance = Provenance(store)
        book = DesignBook(
            settings, catalogs=CatalogCache(settings.catalog_dir), versions=provenance
        )
        record = TraceService(store, provenance, book=book).record(args.ref)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(record, indent=1))
    else:
        _print(record, 0)
    return 0


def _print(value: Any, depth: int) -> None:
    pad = "  " * depth
    for key, v in value.items():
        if key == "history":
            print(f"{pad}history:")
            for e in v:
                print(
                    f"{pad}  {e['at']}  {e['actor']:<8} {e['by']:<16} {e['kind']:<14} {e['reason']}"
                )
        elif isinstance(v, dict):
            print(f"{pad}{key}:")
            _print(v, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v, start=1):
                print(f"{pad}{key} {i}:")
                _print(item, depth + 1) if isinstance(item, dict) else print(f"{pad}  {item}")
        else:
            print(f"{pad}{key}: {v}")


def run_reprint(args: argparse.Namespace) -> int:
    from configurator.services.container import Container
    from configurator.services.trace.reprint import ReprintRequest

    request = ReprintRequest(
        quantity=args.quantity, priority=args.priority, revalidate=args.revalidate
    )
    container = Container.build(_settings(args))
    try:
        order = container.reprints.reprint(args.token, request)
    finally:
        container.close()
    print(
        f"reprint of {args.token}: order {order.token} ({order.quantity} piece(s), {order.state})"
    )
    print(f"design {order.design_id}; record: {order.links['record_page']}")
    return 0
