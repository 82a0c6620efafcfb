"""Provenance of designs: content-addressed catalog versions, the generator's code
identity, and each design's record with the sha256 of its mesh files.

* :func:`generator_identity` — the package version and the sha256 of the source of the
  module the generator is defined in (the family module), plus a short ``code_id``.
* :class:`Provenance` — stores, in the farm store (``trace_catalogs``, ``trace_designs``),
  every catalog version a design was made from (the YAML bytes, by their sha256 — the
  catalog hash the design record carries) and the design's provenance; hands back a stored
  catalog version, loaded, so a design can be rebuilt from exactly its own catalog after
  the YAML file was edited or removed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from configurator import __version__
from configurator.adapters import storage
from configurator.adapters.catalog_yaml import load_catalog_source
from configurator.adapters.db import trace as trace_sql
from configurator.adapters.db.store import Store
from configurator.core.design.record import DesignRecord
from configurator.core.geometry import registry
from configurator.errors import CatalogError, GeometryError

#: catalogs loaded from stored versions kept in memory
MEMORY_CATALOGS = 32


@lru_cache(maxsize=64)
def generator_identity(generator: str) -> dict[str, str]:
    """``{generator, package, version, module, module_sha256, code_id}`` of the generator
    registered as ``generator`` in this process (cached: the running code does not change).
    ``code_id`` = ``<version>+<first 16 hex of module_sha256>``."""
    try:
        fn = registry.get(generator)
    except GeometryError:
        return {"generator": generator, "code_id": "unknown generator"}
    module = sys.modules.get(fn.__module__)
    path = getattr(module, "__file__", None)
    digest = hashlib.sha256(storage.read_bytes(path)).hexdigest() if path else "unknown"
    return {
        "generator": generator,
        "package": "configurator",
        "version": __version__,
        "module": fn.__module__,
        "module_sha256": digest,
        "code_id": f"{__version__}+{digest[:16]}",
    }


@dataclass(frozen=True)
class DesignTrace:
    """A design's stored provenance."""

    record: DesignRecord
    generator_identity: dict[str, Any]
    parts_sha256: dict[str, str] | None
    file_sha256: str | None
    revalidated_from: str | None
    catalog_stored: bool


class Provenance:
    """Catalog versions and design provenance in the farm store. Thread-safe."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        identity: Callable[[str], dict[str, str]] = generator_identity,
    ):
        self.store = store
        self.clock = clock
        self.identity = identity
        self._lock = threading.Lock()
        self._catalogs: dict[str, Any] = {}

    # ------------------------------------------------------------------ writing
    def remember(
        self,
        record: Any,
        catalog: Any | None,
        *,
        parts_sha256: dict[str, str] | None = None,
        file_sha256: str | None = None,
        revalidated_from: str | None = None,
    ) -> None:
        """Store the catalog version ``record`` was made from (when ``catalog`` is that
        version and its bytes are known) and the design's provenance (once; mesh hashes
        are added when first given)."""
        now = self.clock()
        ident = self.identity(record.generator)
        source = getattr(catalog, "source", None)
        if source is not None and catalog.content_hash == record.catalog_hash:
            trace_sql.put_catalog_version(
                self.store,
                content_hash=catalog.content_hash,
                catalog_id=catalog.id,
                version=str(catalog.version),
                generator=catalog.generator,
                generator_identity=ident,
                source=source.decode("utf-8"),
                stored_at=now,
            )
        trace_sql.put_design_trace(
            self.store,
            design_id=record.design_id,
            catalog_hash=record.catalog_hash,
            record=json.loads(record.model_dump_json(exclude={"mesh", "files"})),
            generator_identity=ident,
            parts_sha256=parts_sha256,
            file_sha256=file_sha256,
            revalidated_from=revalidated_from,
            created_at=now,
        )

    # ------------------------------------------------------------------ reading
    def catalog(self, content_hash: str) -> Any | None:
        """The stored catalog version with this content hash, loaded (None when none is
        stored). Its bytes are checked against the hash before use."""
        with self._lock:
            found = self._catalogs.get(content_hash)
        if found is not None:
            return found
        with self.store.transaction() as s:
            row = trace_sql.catalog_version(s, content_hash)
            source = None if row is None else row.source.encode("utf-8")
        if source is None or hashlib.sha256(source).hexdigest() != content_hash:
            return None
        try:
            catalog = load_catalog_source(source, f"stored catalog {content_hash[:12]}")
        except CatalogError:
            return None  # the running code no longer accepts it (e.g. a generator renamed)
        with self._lock:
            if len(self._catalogs) >= MEMORY_CATALOGS:
                self._catalogs.pop(next(iter(self._catalogs)))
            self._catalogs[content_hash] = catalog
        return catalog

    def catalog_stored(self, content_hash: str) -> bool:
        with self.store.transaction() as s:
            return trace_sql.catalog_version(s, content_hash) is not None

    def design(self, design_id: str) -> DesignTrace | None:
        """The stored provenance of a design (None when none was stored)."""
        if not design_id or len(design_id) > 128:
            return None
        with self.store.transaction() as s:
            row = trace_sql.design_trace(s, design_id)
            if row is None:
                return None
            stored = trace_sql.catalog_version(s, row.catalog_hash) is not None
            return DesignTrace(
                record=DesignRecord.model_validate(row.record),
                generator_identity=dict(row.generator_identity or {}),
                parts_sha256=dict(row.parts_sha256) if row.parts_sha256 else None,
                file_sha256=row.file_sha256,
                revalidated_from=row.revalidated_from,
                catalog_stored=stored,
            )
