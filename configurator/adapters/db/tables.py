"""The farm's tables (SQLAlchemy 2 declarative models).

Instants are POSIX seconds (float), durations seconds, masses grams, lengths mm. The
schema itself is created by the Alembic migrations in ``adapters/db/migrations``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class NodeRow(Base):
    __tablename__ = "farm_nodes"
    __table_args__ = (
        Index("ix_farm_nodes_key_hash", "key_hash", unique=True),
        Index("ix_farm_nodes_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    technology: Mapped[str] = mapped_column(String(8))
    bv_x: Mapped[float] = mapped_column(Float)
    bv_y: Mapped[float] = mapped_column(Float)
    bv_z: Mapped[float] = mapped_column(Float)
    speed: Mapped[float] = mapped_column(Float)
    #: a simulated printer plays its prints time_scale× faster than real time (1: real)
    time_scale: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    materials: Mapped[dict[str, float]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    last_heartbeat: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    #: printer details a connector node reports on its heartbeat (firmware, model...)
    printer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: material -> spool/lot id the operator entered when loading it
    material_lots: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)

    @property
    def wall_speed(self) -> float:
        """Throughput in wall-clock time: ``speed × time_scale`` (what the router uses)."""
        return float(self.speed) * float(self.time_scale or 1.0)


class JobRow(Base):
    __tablename__ = "farm_jobs"
    __table_args__ = (
        Index("ix_farm_jobs_node_state", "node_id", "state"),
        Index("ix_farm_jobs_state", "state"),
        Index("ix_farm_jobs_order_token", "order_token"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    design_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_token: Mapped[str | None] = mapped_column(String(128), nullable=True)
    file_path: Mapped[str] = mapped_column(String(1000))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer)
    technology: Mapped[str] = mapped_column(String(8))
    material: Mapped[str] = mapped_column(String(32))
    bbox_x: Mapped[float] = mapped_column(Float)
    bbox_y: Mapped[float] = mapped_column(Float)
    bbox_z: Mapped[float] = mapped_column(Float)
    est_seconds: Mapped[float] = mapped_column(Float)
    grams: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    node_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    est_finish: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    assigned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    seconds_left: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    actual_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    grams_used: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
    #: what a connector node reported with the completed attempt (slicer, G-code hash...)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: the lot of the job's material loaded on its node when the attempt was claimed
    material_lot: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: the order token this job's order reprints (None: an original)
    reprint_of: Mapped[str | None] = mapped_column(String(128), nullable=True)


class EventRow(Base):
    __tablename__ = "farm_events"
    __table_args__ = (Index("ix_farm_events_job", "job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    node_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: hash chain (core/farm/chain.py): the predecessor's hash and this event's own
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChainHeadRow(Base):
    """The one row (id 1) naming the last event of the hash chain; appenders lock it."""

    __tablename__ = "farm_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    n: Mapped[int] = mapped_column(Integer)


class CatalogVersionRow(Base):
    """A catalog file as a design was made from it, stored by its content hash (sha256 of
    the bytes), with the generator's code identity when it was first stored."""

    __tablename__ = "trace_catalogs"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    generator: Mapped[str] = mapped_column(String(64))
    generator_identity: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[float] = mapped_column(Float)


class DesignTraceRow(Base):
    """A design's provenance: its full record, the generator identity it was made with,
    the sha256 of its mesh files (per part STL, the plate 3MF)."""

    __tablename__ = "trace_designs"
    __table_args__ = (Index("ix_trace_designs_catalog_hash", "catalog_hash"),)

    design_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    catalog_hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    generator_identity: Mapped[dict[str, Any]] = mapped_column(JSON)
    parts_sha256: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    file_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revalidated_from: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
