"""The design book: design records produced by this server's runs, their files and estimates.

Records are kept in memory (most recent :data:`KEEP_IN_MEMORY`) and as JSON under
``data_dir/records/<id>.json`` (so order pages and downloads survive a restart). Mesh
files come from the geometry service (built once, cached by design id); estimates from
the estimate service (memoised per design and material).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from configurator.adapters import storage
from configurator.core.design.record import DesignRecord
from configurator.core.geometry.layout import plate_extents
from configurator.errors import ConfiguratorError, NotFoundError
from configurator.services import geometry
from configurator.services.estimate import service as estimate_service

KEEP_IN_MEMORY = 5_000
_HEX = set("0123456789abcdef")


class Estimate(BaseModel):
    """Print estimate of one piece: seconds on a reference printer, grams, price."""

    print_time_s: float | None = Field(default=None, examples=[5400.0])
    material_g: float | None = Field(default=None, examples=[42.5])
    price: float | None = Field(default=None, examples=[12.4])
    currency: str = "EUR"
    material: str | None = None
    error: str | None = Field(default=None, description="why no estimate could be made")


class DesignBook:
    """Find, file and serve design records. Thread-safe."""

    def __init__(self, settings: Any, *, catalogs: Any = None, versions: Any = None):
        """``catalogs``: an object with ``all() -> {id: Catalog}`` (saves re-loading).
        ``versions``: the design provenance (:class:`~configurator.services.trace.provenance.Provenance`):
        filed records are remembered there with their catalog version, and a record whose
        catalog file changed since is served from its stored catalog version."""
        self.settings = settings
        self.catalogs = catalogs
        self.versions = versions
        self.folder = Path(settings.data_dir) / "records"
        self._lock = threading.Lock()
        self._records: OrderedDict[str, Any] = OrderedDict()
        self._estimates: dict[tuple[str, str], Estimate] = {}
        self._extents: dict[str, tuple[float, float, float]] = {}

    # ------------------------------------------------------------------ records
    def put_many(self, records: list[Any]) -> None:
        """File records (memory + JSON); already filed ones are left as they are."""
        for record in records:
            self.put(record)

    def put(self, record: Any) -> None:
        path = self.folder / f"{record.design_id}.json"
        with self._lock:
            self._records[record.design_id] = record
            self._records.move_to_end(record.design_id)
            while len(self._records) > KEEP_IN_MEMORY:
                self._records.popitem(last=False)
        if not path.exists():
            storage.write_bytes_atomic(path, record.model_dump_json(indent=1).encode())
        if self.versions is not None:
            self.versions.remember(record, self.catalog(record))

    def record(self, design_id: str) -> Any:
        """The record with this id; :class:`NotFoundError` when this server never made it."""
        with self._lock:
            found = self._records.get(design_id)
        if found is not None:
            return found
        if not (8 <= len(design_id) <= 128 and set(design_id) <= _HEX):
            raise NotFoundError(f"no design {design_id!r}")
        path = self.folder / f"{design_id}.json"
        try:
            record = DesignRecord.model_validate_json(storage.read_bytes(path))
        except FileNotFoundError:
            kept = self.versions.design(design_id) if self.versions is not None else None
            if kept is None:
                raise NotFoundError(f"no design {design_id!r}") from None
            record = kept.record  # the file was deleted: the store keeps the record
        with self._lock:
            self._records[design_id] = record
        return record

    # ------------------------------------------------------------------ files
    def file_bytes(self, record: Any, fmt: str) -> bytes:
        """The design's file bytes in ``fmt`` (geometry service; cached by design id)."""
        return geometry.export_design(
            record, fmt=fmt, settings=self.settings, catalog=self.catalog(record)
        )

    def meshes(self, record: Any) -> dict[str, Any]:
        """Part name -> trimesh of the design (geometry service)."""
        return geometry.build_meshes(record, settings=self.settings, catalog=self.catalog(record))

    def plate_extents(self, record: Any) -> tuple[float, float, float]:
        """(x, y, z) mm of the design's print plate (what its farm jobs carry as their
        bounding box; :func:`~configurator.core.geometry.layout.plate_extents`), memoised."""
        with self._lock:
            cached = self._extents.get(record.design_id)
        if cached is None:
            cached = plate_extents(self.meshes(record))
            with self._lock:
                self._extents[record.design_id] = cached
        return cached

    def catalog(self, record: Any) -> Any | None:
        """The loaded catalog of a record: the current one when it is the version the
        record was made from, else the stored version (None: the services load it)."""
        current = None if self.catalogs is None else self.catalogs.all().get(record.catalog_id)
        if current is not None and current.content_hash == record.catalog_hash:
            return current
        if self.versions is not None and record.catalog_hash:
            stored = self.versions.catalog(record.catalog_hash)
            if stored is not None:
                return stored
        return current

    # ------------------------------------------------------------------ estimates
    def estimate(self, record: Any, material: str | None = None) -> Estimate:
        """Print time, grams and price of one piece in ``material`` (default: the design's)."""
        material = material or record.material
        key = (record.design_id, material)
        with self._lock:
            cached = self._estimates.get(key)
        if cached is not None:
            return cached
        try:
            est = estimate_service.estimate_design(
                record, material=material, settings=self.settings, catalog=self.catalog(record)
            )
            out = Estimate(
                print_time_s=float(est.seconds),
                material_g=float(est.grams),
                price=float(est.price),
                currency=getattr(est, "currency", "EUR"),
                material=material,
            )
        except ConfiguratorError as exc:
            out = Estimate(material=material, error=str(exc))
        with self._lock:
            self._estimates[key] = out
        return out
