"""The traceability tables: stored catalog versions and design provenance (one place for
their SQL). Rows are immutable once written, except that a design's mesh hashes are
filled in when its first order makes the files."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from configurator.adapters.db.tables import CatalogVersionRow, DesignTraceRow


def catalog_version(s: Session, content_hash: str) -> CatalogVersionRow | None:
    return s.get(CatalogVersionRow, content_hash)


def design_trace(s: Session, design_id: str) -> DesignTraceRow | None:
    return s.get(DesignTraceRow, design_id)


def put_catalog_version(store: Any, **row: Any) -> None:
    """Store a catalog version unless its hash is there already (a concurrent writer
    storing the same bytes is fine: the row is the same)."""
    try:
        with store.transaction() as s:
            if s.get(CatalogVersionRow, row["content_hash"]) is None:
                s.add(CatalogVersionRow(**row))
    except IntegrityError:
        pass


def put_design_trace(store: Any, **row: Any) -> None:
    """Store a design's provenance; an existing row only gains the mesh hashes it lacked."""
    try:
        with store.transaction() as s:
            found = s.get(DesignTraceRow, row["design_id"])
            if found is None:
                s.add(DesignTraceRow(**row))
                return
            if found.parts_sha256 is None and row.get("parts_sha256"):
                found.parts_sha256 = row["parts_sha256"]
            if found.file_sha256 is None and row.get("file_sha256"):
                found.file_sha256 = row["file_sha256"]
    except IntegrityError:
        pass
