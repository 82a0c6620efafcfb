"""Database engines: URL normalisation and the connection settings of each dialect.

* SQLite (embedded default): WAL journal, ``synchronous=NORMAL``, a 30 s busy timeout, and
  every transaction opened with ``BEGIN IMMEDIATE`` — writers are serialized, so a claim
  (read the head of a queue, mark it printing) is one atomic step.
* PostgreSQL (``postgresql+psycopg://...``): a pooled engine with pre-ping; row locks
  (``FOR UPDATE [SKIP LOCKED]``) are taken by the queries.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from configurator.errors import SettingsError


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
