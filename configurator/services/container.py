"""The composition root: every service of a server, built once from :class:`Settings`.

``Container.build(settings)`` opens the store (migrating it), loads or creates the admin
key, and wires the farm, the catalogs, the design book, the run manager, the order and the
quote services, the design provenance, production records and reprints together; ``close()`` stops the run manager and disposes of the store. The web
app (``create_app``) keeps one container in ``app.state.container``; tests and commands
that need a farm without HTTP build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from configurator.adapters.db.store import Store
from configurator.services.catalogs import CatalogCache
from configurator.services.design.book import DesignBook
from configurator.services.design.runs import RunManager
from configurator.services.farm.auth import load_or_create_admin_key
from configurator.services.farm.service import FarmService
from configurator.services.orders import OrderService
from configurator.services.quotes import QuoteService
from configurator.services.trace.provenance import Provenance
from configurator.services.trace.record import TraceService
from configurator.services.trace.reprint import ReprintService
from configurator.settings import Settings


@dataclass
class Container:
    """The services of one server process (see the module docstring)."""

    settings: Settings
    store: Store
    farm: FarmService
    catalogs: CatalogCache
    book: DesignBook
    runs: RunManager
    orders: OrderService
    quotes: QuoteService
    provenance: Provenance
    trace: TraceService
    reprints: ReprintService
    admin_key: str
    admin_key_generated: bool

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Container:
        """Build every service for ``settings`` (``migrate``: upgrade the schema first)."""
        store = Store(settings.resolved_database_url)
        if migrate:
            store.migrate()
        admin_key, generated = load_or_create_admin_key(settings)
        farm = FarmService(store, settings, admin_key=admin_key, policy=settings.routing_policy)
        catalogs = CatalogCache(settings.catalog_dir)
        provenance = Provenance(store)
        book = DesignBook(settings, catalogs=catalogs, versions=provenance)
        runs = RunManager(settings, store, on_records=book.put_many)
        orders = OrderService(farm=farm, book=book, catalogs=catalogs)
        quotes = QuoteService(farm=farm, book=book, catalogs=catalogs)
        trace = TraceService(store, provenance, book=book)
        reprints = ReprintService(farm=farm, orders=orders, book=book, provenance=provenance)
        return cls(
            settings=settings,
            store=store,
            farm=farm,
            catalogs=catalogs,
            book=book,
            runs=runs,
            orders=orders,
            quotes=quotes,
            provenance=provenance,
            trace=trace,
            reprints=reprints,
            admin_key=admin_key,
            admin_key_generated=generated,
        )

    def close(self) -> None:
        """Stop the run manager's workers and release the database (idempotent)."""
        self.runs.shutdown()
        self.store.dispose()
