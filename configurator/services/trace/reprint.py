"""Exact reprint: a new order for the same design, the mesh rebuilt from its stored catalog
version and verified against the recorded hashes.

The original order's design record comes from the store (so a design file deleted from
the data dir does not matter), its catalog from the stored version (so an edited or
removed YAML does not matter), the mesh is built afresh (no cache) and must hash to what
was recorded: the job file's sha256 (the plate 3MF) and, when recorded, each part's STL.
When it does not — the generator's code changed — the reprint is refused (409) with the
reason, unless ``revalidate``: then the design is re-made from the stored catalog with
the current code as a NEW design (``generator_code`` set, hence a new design id; never
silently a different part under the old id), filed, and ordered. The new order's jobs
carry ``reprint_of`` (the original token); the record links both ways.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from configurator.core.design.record import DesignRecord
from configurator.core.geometry.layout import plate_extents
from configurator.errors import ConflictError, NotFoundError
from configurator.services import geometry
from configurator.services.orders import MAX_QUANTITY, PRIORITIES, OrderPublic, Priority
from configurator.services.trace.provenance import Provenance


class ReprintRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"quantity": 1, "priority": "normal"}]}
    )

    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True)
    priority: Priority = "normal"
    revalidate: bool = Field(
        default=False,
        description="when the generator's code changed: re-make the design from its stored "
        "catalog as a new design (new id) and print that",
    )


class ReprintService:
    """Reprints orders. ``farm``: FarmService; ``orders``: OrderService; ``book``:
    DesignBook; ``provenance``: the design provenance."""

    def __init__(self, *, farm: Any, orders: Any, book: Any, provenance: Provenance):
        self.farm = farm
        self.orders = orders
        self.book = book
        self.provenance = provenance

    def reprint(self, token: str, request: ReprintRequest) -> OrderPublic:
        if not token or len(token) > 128:
            raise NotFoundError("no such order")
        jobs = self.farm.jobs_for_order(token)
        if not jobs:
            raise NotFoundError("no such order")
        original = jobs[0]
        kept = self.provenance.design(original.design_id)
        record = kept.record if kept is not None else self._book_record(original.design_id)
        catalog = self.provenance.catalog(record.catalog_hash)
        if catalog is None:
            current = self.book.catalog(record)
            if current is None or current.content_hash != record.catalog_hash:
                raise ConflictError(
                    f"cannot reprint order {token[:8]}…: the catalog version its design was "
                    f"made from ({record.catalog_id} {record.catalog_hash[:12]}) is not stored"
                )
            catalog = current
        parts = geometry.rebuild_design(catalog, record)
        plate = geometry.export_whole(parts, "3mf")
        mismatch = self._mismatch(original, kept, parts, plate)
        bbox = (original.bbox_x, original.bbox_y, original.bbox_z)
        revalidated_from = None
        if mismatch:
            if not request.revalidate:
                raise ConflictError(
                    f"cannot reprint exactly: {mismatch}. {self._why(kept, record)} "
                    "To print the design as the current code makes it, re-validate it: "
                    "reprint with revalidate=true (--revalidate) — that makes a new design "
                    "with a new id from the stored catalog."
                )
            record, parts = self._revalidate(record, catalog)
            plate = geometry.export_whole(parts, "3mf")
            bbox = plate_extents(parts.meshes)
            revalidated_from = original.design_id
        self.provenance.remember(
            record,
            catalog,
            parts_sha256=geometry.parts_sha256(parts),
            file_sha256=hashlib.sha256(plate).hexdigest(),
            revalidated_from=revalidated_from,
        )
        if revalidated_from is not None:
            self.book.put(record)  # after its provenance: that names what it re-validates
        new_token = secrets.token_urlsafe(24)
        self.farm.submit_jobs(
            design_id=record.design_id,
            material=original.material,
            technology=original.technology,
            bbox=bbox,
            est_seconds=original.est_seconds,
            grams=original.grams,
            file_bytes=plate,
            file_name=original.file_name
            if revalidated_from is None
            else f"{record.catalog_id}-{record.design_id[:12]}.3mf",
            priority=PRIORITIES[request.priority],
            labels=[
                f"{record.catalog_id} piece {n}/{request.quantity} (reprint)"
                for n in range(1, request.quantity + 1)
            ],
            order_token=new_token,
            actor="order",
            require_makeable=True,
            reprint_of=token,
        )
        return self.orders.get(new_token)

    def _book_record(self, design_id: str) -> Any:
        try:
            return self.book.record(design_id)
        except NotFoundError:
            raise ConflictError(
                f"cannot reprint: the record of design {design_id[:12]}… is not kept"
            ) from None

    @staticmethod
    def _mismatch(original: Any, kept: Any, parts: Any, plate: bytes) -> str | None:
        """Why the rebuilt mesh is not the recorded one (None: byte-identical)."""
        now = hashlib.sha256(plate).hexdigest()
        if now != original.file_sha256:
            return (
                f"the rebuilt file hashes to {now[:16]}…, the recorded one to "
                f"{original.file_sha256[:16]}…"
            )
        if kept is not None and kept.parts_sha256:
            rebuilt = geometry.parts_sha256(parts)
            for name, digest in kept.parts_sha256.items():
                if rebuilt.get(name) != digest:
                    return f"part {name!r} rebuilt hashes differently from the recorded mesh"
        return None

    def _why(self, kept: Any, record: Any) -> str:
        now = self.provenance.identity(record.generator)
        then = kept.generator_identity if kept is not None else {}
        if then.get("code_id") and then.get("code_id") != now.get("code_id"):
            return (
                f"The generator code changed: the design was made with {record.generator} "
                f"{then.get('code_id')} (module sha256 {str(then.get('module_sha256'))[:16]}…), "
                f"this server runs {now.get('code_id')}."
            )
        return (
            f"The generator {record.generator} reports the same code identity "
            f"({now.get('code_id')}): a library it builds on changed."
        )

    def _revalidate(self, record: Any, catalog: Any) -> tuple[DesignRecord, Any]:
        """The design re-made from its stored catalog with the current generator code: a
        new record (``generator_code`` set: a new id), checked."""
        code = self.provenance.identity(record.generator).get("code_id", "unknown")
        identity = dict(record.identity(), generator_code=code)
        fresh = DesignRecord.build(**identity)
        if fresh.design_id == record.design_id:
            raise ConflictError(
                "cannot re-validate: the design was already re-validated with this code, "
                "yet the mesh differs (the generator is not deterministic)"
            )
        return fresh, geometry.rebuild_design(catalog, fresh)
