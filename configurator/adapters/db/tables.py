"""The farm's tables (SQLAlchemy 2 declarative models).

Instants are POSIX seconds (float), durations seconds, masses grams, lengths mm. The
schema itself is created by the Alembic migrations in ``adapters/db/migrations``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, false
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
    #: the node clears its own plate (belt printer, auto-eject) after ``setup_s``
    auto_clear: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: plate change, s (None: the technology's ``Settings.setup_s``)
    setup_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: POSIX s from which the plate is clear; None = a finished build waits for an operator
    plate_clear_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: what the node's agent last said it was started with (``--auto-clear``)
    agent_auto_clear: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: why the node is offline as its agent reported it (printer error, busy with a print
    #: the farm did not start, cannot be reached); None when in service or timed out
    state_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
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
        Index("ix_farm_jobs_batch", "batch_id"),
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
    #: the plate (:class:`BatchRow`) it is printed on; None for a single-job build
    batch_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: an operator's pause/resume waiting to be delivered to the printing node (once)
    command: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: what a connector node reported with the completed attempt (slicer, G-code hash...)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: the lot of the job's material loaded on its node when the attempt was claimed
    material_lot: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: the order token this job's order reprints (None: an original)
    reprint_of: Mapped[str | None] = mapped_column(String(128), nullable=True)


class BatchRow(Base):
    """Jobs nested onto one plate and printed as one build: one file (``file_*``), one
    estimate (``est_seconds``, speed-1 s), placements ``[[x, y, turned], ...]`` mm."""

    __tablename__ = "farm_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(32))
    material: Mapped[str] = mapped_column(String(32))
    job_ids: Mapped[list[int]] = mapped_column(JSON)
    placements: Mapped[list[Any]] = mapped_column(JSON)
    file_path: Mapped[str] = mapped_column(String(1000))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer)
    est_seconds: Mapped[float] = mapped_column(Float)
    grams: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


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


class RunRow(Base):
    """An optimization run (any server process may create, read, stream or cancel it; the
    process in ``owner`` executes it). ``request``/``context``: the DesignRequest and
    RunContext as JSON; ``result``: the OptimizationResult as JSON once finished;
    ``last_seq``: the seq of its newest event; ``client``: a hash of who asked (fairness)."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_status_created", "status", "created_at"),
        Index("ix_runs_client_created", "client", "created_at"),
        Index("ix_runs_owner", "owner"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    catalog_id: Mapped[str] = mapped_column(String(200))
    client: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    pareto: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    touched_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RunEventRow(Base):
    """One server-sent event of a run: ``seq`` from 1 (the SSE id), ``kind`` (the SSE
    event name), ``data`` (its JSON), ``at`` POSIX seconds."""

    __tablename__ = "run_events"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[float] = mapped_column(Float)


class RunServerRow(Base):
    """A server process that executes runs: ``slots`` runs at once; ``seen_at`` its last
    heartbeat (POSIX s). A run whose owner is not seen for the lease is failed."""

    __tablename__ = "run_servers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    slots: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float)
