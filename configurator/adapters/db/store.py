"""The farm store: engine + session factory + the queries that need dialect care.

Every SQL statement of the farm lives in this package: the ORM queries below, the agent
hot-path statements in :mod:`configurator.adapters.db.statements`, the schema in the
migrations. The one queue order (:data:`configurator.core.farm.models.QUEUE_ORDER`) is
rendered here for both.

* SQLite: every transaction is ``BEGIN IMMEDIATE`` (writers serialized).
* PostgreSQL: the claim selects the queue head ``FOR UPDATE SKIP LOCKED``; other mutations
  lock the rows they change ``FOR UPDATE``; routing transactions take an advisory lock.
* Events: a transaction buffers the events it logs (:meth:`Store.log_event`) and appends
  them to the hash chain just before it commits (:mod:`configurator.adapters.db.chain`).

The schema is created by Alembic (``adapters/db/migrations``, version table
``farm_alembic_version``); :meth:`Store.migrate` upgrades to head.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from configurator.adapters.db.chain import append_events, chain_sql, read_events, read_head
from configurator.adapters.db.engine import make_engine, normalize_url
from configurator.adapters.db.raw import RawTransaction
from configurator.adapters.db.tables import EventRow, JobRow, NodeRow
from configurator.core.farm.chain import ChainReport, verify_chain
from configurator.core.farm.models import QUEUE_ORDER, FarmTotals, JobState, NodeState

ROUTING_LOCK_KEY = 0x6661726D  # "farm"
#: ``Session.info`` key of the events a transaction logged (appended before commit)
PENDING_EVENTS = "farm_events"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: the PostgreSQL advisory lock key that serializes schema migrations ("cfgmigr")
MIGRATE_LOCK_KEY = 0x6366676D69677200 & 0x7FFFFFFFFFFFFFFF

__all__ = ["MIGRATIONS_DIR", "ROUTING_LOCK_KEY", "Store", "queue_order_sql"]


def _queue_columns() -> list[Any]:
    """ORM ``ORDER BY`` terms of :data:`QUEUE_ORDER` (nulls last where asked)."""
    cols = {"priority": JobRow.priority, "deadline": JobRow.deadline, "seq": JobRow.id}
    out: list[Any] = []
    for name, descending, nulls_last in QUEUE_ORDER:
        col = cols[name]
        if nulls_last:
            out.append(case((col.is_(None), 1), else_=0))
        out.append(col.desc() if descending else col)
    return out


def queue_order_sql() -> str:
    """The same order as plain SQL over ``farm_jobs`` (for the raw hot-path statements)."""
    cols = {"priority": "priority", "deadline": "deadline", "seq": "id"}
    out = []
    for name, descending, nulls_last in QUEUE_ORDER:
        col = cols[name]
        if nulls_last:
            out.append(f"CASE WHEN {col} IS NULL THEN 1 ELSE 0 END")
        out.append(f"{col} DESC" if descending else col)
    return ", ".join(out)


class Store:
    """Engine + session factory + dialect-aware queries. Use :meth:`transaction`."""

    def __init__(self, url: str, *, chained: bool = True):
        """``chained=False``: events are inserted without the hash chain (the bench's
        baseline; never for a farm)."""
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.chained = chained
        self._chain_sql = chain_sql(self.engine.dialect.name)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision (idempotent). On PostgreSQL a
        transaction-scoped advisory lock serializes processes that start at once: the
        second finds the schema at head (without it both create the tables and one fails)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            if not self.is_sqlite:  # servers starting together migrate one after the other
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success."""
        with self._sessions.begin() as session:
            yield session
            pending = session.info.pop(PENDING_EVENTS, None)
            if pending:
                cur = session.connection().connection.cursor()
                try:
                    tx = RawTransaction(cur, postgres=not self.is_sqlite)
                    append_events(tx, self._chain_sql, pending, chained=self.chained)
                finally:
                    cur.close()

    @staticmethod
    def log_event(s: Session, **event: Any) -> None:
        """Buffer an event (``at, job_id, node_id, actor, kind, reason, data``) of the
        transaction ``s``; it is appended to the hash chain when the transaction commits."""
        s.info.setdefault(PENDING_EVENTS, []).append(event)

    def verify_chain(self) -> ChainReport:
        """Walk the event log's hash chain (:func:`configurator.core.farm.chain.verify_chain`)."""
        with self.raw_transaction() as tx:
            head = read_head(tx, self._chain_sql)
            return verify_chain(read_events(tx, self._chain_sql), head)

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
            tx = RawTransaction(cur, postgres=not self.is_sqlite)
            yield tx
            append_events(tx, self._chain_sql, tx.events, chained=self.chained)
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
        """Lock and return the next job of ``node_id``'s queue (:data:`QUEUE_ORDER`);
        SKIP LOCKED on PostgreSQL."""
        stmt = (
            select(JobRow)
            .where(JobRow.node_id == node_id, JobRow.state == JobState.ASSIGNED)
            .order_by(*_queue_columns())
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

    # -- plain reads ----------------------------------------------------------------------
    def node_by_name(self, s: Session, name: str) -> NodeRow | None:
        """The node (not removed) called ``name``."""
        stmt = select(NodeRow).where(NodeRow.name == name, NodeRow.state != NodeState.REMOVED)
        return s.scalars(stmt).first()

    def printing_job_of(self, s: Session, node_id: str) -> JobRow | None:
        stmt = select(JobRow).where(JobRow.node_id == node_id, JobRow.state == JobState.PRINTING)
        return s.scalars(stmt).first()

    def list_jobs(
        self,
        s: Session,
        *,
        state: str | None = None,
        node_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobRow]:
        """Jobs, newest first, optionally of one state / one node."""
        stmt = select(JobRow).order_by(JobRow.id.desc()).limit(limit).offset(offset)
        if state is not None:
            stmt = stmt.where(JobRow.state == state)
        if node_id is not None:
            stmt = stmt.where(JobRow.node_id == node_id)
        return list(s.scalars(stmt))

    def jobs_for_order(self, s: Session, order_token: str) -> list[JobRow]:
        stmt = select(JobRow).where(JobRow.order_token == order_token).order_by(JobRow.id)
        return list(s.scalars(stmt))

    def job_events(self, s: Session, job_id: int) -> list[EventRow]:
        stmt = select(EventRow).where(EventRow.job_id == job_id).order_by(EventRow.id)
        return list(s.scalars(stmt))

    def recent_events(self, s: Session, limit: int) -> list[EventRow]:
        """The newest ``limit`` events, newest first."""
        return list(s.scalars(select(EventRow).order_by(EventRow.id.desc()).limit(limit)))

    def job_counts(self, s: Session) -> dict[str, int]:
        """Job state -> number of jobs in it."""
        rows = s.execute(select(JobRow.state, func.count()).group_by(JobRow.state)).all()
        return {str(state): int(n) for state, n in rows}

    def any_job_in_state(self, s: Session, state: str) -> bool:
        return (
            s.scalars(select(JobRow.id).where(JobRow.state == state).limit(1)).first() is not None
        )
