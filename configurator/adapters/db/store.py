"""Farm store (adapter): SQLAlchemy 2 tables, engine setup, migrations and the queries
that need dialect care.

* SQLite (embedded default): WAL journal, ``synchronous=NORMAL``, a 30 s busy timeout, and
  every transaction opened with ``BEGIN IMMEDIATE`` — writers are serialized, so a claim
  (read the head of a queue, mark it printing) is one atomic step.
* PostgreSQL (``postgresql+psycopg://...``): the claim selects the queue head
  ``FOR UPDATE SKIP LOCKED``; other mutations lock the rows they change ``FOR UPDATE``.

Instants are POSIX seconds (float), durations seconds, masses grams, lengths mm.
The schema is created by Alembic (``configurator/farm/migrations``, version table
``farm_alembic_version``); :meth:`Store.migrate` upgrades to head.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    case,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from configurator.core.farm.models import (
    FarmTotals,
    JobSnapshot,
    JobState,
    NodeSnapshot,
    NodeState,
    Technology,
)
from configurator.errors import SettingsError

ROUTING_LOCK_KEY = 0x6661726D  # "farm"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
    materials: Mapped[dict[str, float]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    last_heartbeat: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


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


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; other URLs pass unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine with the farm's connection settings (see module docstring)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise SettingsError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=16,
            pool_reset_on_return=None,  # autocommit driver: nothing is left open to reset
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise SettingsError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite or postgresql"
        )
    return create_engine(parsed, pool_pre_ping=True, pool_size=16, max_overflow=16)


class Store:
    """Engine + session factory + dialect-aware queries. Use :meth:`transaction`."""

    def __init__(self, url: str):
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision (idempotent)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success."""
        with self._sessions.begin() as session:
            yield session

    def routing_lock(self, s: Session) -> None:
        """Serialize routing transactions: a transaction-scoped advisory lock on PostgreSQL
        (SQLite's ``BEGIN IMMEDIATE`` already serializes every writer)."""
        if not self.is_sqlite:
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROUTING_LOCK_KEY})

    @contextmanager
    def raw_transaction(self) -> Iterator[RawTransaction]:
        """One transaction straight on the pooled DBAPI connection (``BEGIN IMMEDIATE`` on
        SQLite): the agent hot paths, where SQLAlchemy's per-statement cost would be most of
        the work. Statements are plain SQL with ``:name`` parameters (see
        :class:`RawTransaction`)."""
        raw = self.engine.raw_connection()
        cur = raw.cursor()
        try:
            if self.is_sqlite:
                cur.execute("BEGIN IMMEDIATE")
            yield RawTransaction(cur, postgres=not self.is_sqlite)
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            cur.close()
            raw.close()

    # -- locking reads ------------------------------------------------------------------
    def lock_job(self, s: Session, job_id: int) -> JobRow | None:
        stmt = select(JobRow).where(JobRow.id == job_id).with_for_update()
        return s.scalars(stmt.execution_options(populate_existing=True)).first()

    def lock_node(self, s: Session, node_id: str) -> NodeRow | None:
        stmt = select(NodeRow).where(NodeRow.id == node_id).with_for_update()
        return s.scalars(stmt.execution_options(populate_existing=True)).first()

    def node_by_key_hash(self, s: Session, key_hash: str) -> NodeRow | None:
        stmt = select(NodeRow).where(
            NodeRow.key_hash == key_hash, NodeRow.state != NodeState.REMOVED
        )
        return s.scalars(stmt).first()

    def queue_head(self, s: Session, node_id: str) -> JobRow | None:
        """Lock and return the next job of ``node_id``'s queue (priority desc, deadline
        asc with no deadline last, id asc); SKIP LOCKED on PostgreSQL."""
        stmt = (
            select(JobRow)
            .where(JobRow.node_id == node_id, JobRow.state == JobState.ASSIGNED)
            .order_by(
                JobRow.priority.desc(),
                case((JobRow.deadline.is_(None), 1), else_=0),
                JobRow.deadline,
                JobRow.id,
            )
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return s.scalars(stmt.execution_options(populate_existing=True)).first()

    def open_jobs(
        self,
        s: Session,
        *,
        node_id: str | None = None,
        node_ids: list[str] | None = None,
        lock: bool = False,
    ) -> list[JobRow]:
        """Assigned and printing jobs (of one node / of some nodes when given), by id."""
        stmt = select(JobRow).where(JobRow.state.in_([JobState.ASSIGNED, JobState.PRINTING]))
        if node_id is not None:
            stmt = stmt.where(JobRow.node_id == node_id)
        if node_ids is not None:
            stmt = stmt.where(JobRow.node_id.in_(node_ids))
        stmt = stmt.order_by(JobRow.id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return list(s.scalars(stmt))

    def jobs_in_state(self, s: Session, state: JobState, *, lock: bool = False) -> list[JobRow]:
        stmt = select(JobRow).where(JobRow.state == state).order_by(JobRow.id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return list(s.scalars(stmt))

    def active_nodes(self, s: Session) -> list[NodeRow]:
        stmt = select(NodeRow).where(NodeRow.state != NodeState.REMOVED).order_by(NodeRow.id)
        return list(s.scalars(stmt))

    def node_totals(self, s: Session) -> dict[str, tuple[FarmTotals, int]]:
        """Per node: (assigned speed-1 seconds + reserved grams per material, queue length),
        computed in SQL."""
        out: dict[str, tuple[FarmTotals, int]] = {}
        stmt = (
            select(
                JobRow.node_id,
                JobRow.state,
                JobRow.material,
                func.sum(JobRow.est_seconds),
                func.sum(JobRow.grams),
                func.count(),
            )
            .where(JobRow.state.in_([JobState.ASSIGNED, JobState.PRINTING]))
            .group_by(JobRow.node_id, JobRow.state, JobRow.material)
        )
        for node_id, state, material, secs, grams, count in s.execute(stmt):
            if node_id is None:
                continue
            totals, n = out.get(node_id, (FarmTotals(), 0))
            if state == JobState.ASSIGNED:
                totals.queued_seconds += float(secs or 0.0)
                n += int(count)
            totals.reserved[material] = totals.reserved.get(material, 0.0) + float(grams or 0.0)
            out[node_id] = (totals, n)
        return out

    def printing_jobs(self, s: Session) -> list[JobRow]:
        stmt = select(JobRow).where(JobRow.state == JobState.PRINTING)
        return list(s.scalars(stmt))


_PARAM = re.compile(r"(?<!:):(\w+)")
JSON_COLUMNS = frozenset({"materials", "data"})


class RawRow(SimpleNamespace):
    """A result row with attribute access (JSON columns decoded, like an ORM row)."""


class _RawResult:
    def __init__(self, cur: Any):
        self._cur = cur

    def first(self) -> RawRow | None:
        if self._cur.description is None:
            return None
        row = self._cur.fetchone()
        if row is None:
            return None
        out = {}
        for d, v in zip(self._cur.description, row, strict=True):
            if d[0] in JSON_COLUMNS and isinstance(v, str):
                v = json.loads(v)
            out[d[0]] = v
        return RawRow(**out)


class RawTransaction:
    """``execute(sql, params)`` on a DBAPI cursor. ``sql`` uses ``:name`` parameters,
    rewritten to ``%(name)s`` for psycopg once per statement text; dict/list parameters
    are sent as JSON text."""

    _pg_sql: dict[str, str] = {}

    def __init__(self, cur: Any, *, postgres: bool):
        self._cur = cur
        self._pg = postgres

    def execute(self, sql: str, params: dict[str, Any]) -> _RawResult:
        if self._pg:
            conv = self._pg_sql.get(sql)
            if conv is None:
                conv = self._pg_sql[sql] = _PARAM.sub(r"%(\1)s", sql)
            sql = conv
        params = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        self._cur.execute(sql, params)
        return _RawResult(self._cur)


# -- row -> snapshot ------------------------------------------------------------------------
def job_snapshot(row: JobRow) -> JobSnapshot:
    return JobSnapshot(
        id=str(row.id),
        technology=Technology(row.technology),
        material=row.material,
        bbox=(row.bbox_x, row.bbox_y, row.bbox_z),
        est_seconds=row.est_seconds,
        grams=row.grams,
        priority=row.priority,
        deadline=row.deadline,
        seq=row.id,
        state=JobState(row.state),
        node_id=row.node_id,
        attempts=row.attempts,
    )


def remaining_seconds(job: JobRow, *, speed: float, now: float) -> float:
    """Seconds left of a printing job: its last progress report aged by the time since, or
    its estimate at the node's speed minus the time since it started."""
    if job.seconds_left is not None and job.progress_at is not None:
        return max(job.seconds_left - (now - job.progress_at), 0.0)
    started = job.started_at if job.started_at is not None else now
    return max(job.est_seconds / speed - (now - started), 0.0)


def node_snapshot(row: NodeRow, *, busy_s: float = 0.0) -> NodeSnapshot:
    return NodeSnapshot(
        id=row.id,
        technology=Technology(row.technology),
        build_volume=(row.bv_x, row.bv_y, row.bv_z),
        materials=dict(row.materials or {}),
        speed=row.speed,
        state=NodeState(row.state),
        busy_s=busy_s,
        last_heartbeat=row.last_heartbeat,
        name=row.name,
    )
