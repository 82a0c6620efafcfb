"""Appending to the farm's hash-chained event log, and reading it back to verify.

Events a transaction logs are buffered and appended at its end (:meth:`Store.transaction`
and :meth:`Store.raw_transaction` call :func:`append_events` just before commit): lock the
chain head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serializes writers), link the events to it (:func:`configurator.core.farm.chain.link`:
consecutive ids, predecessor hash, own hash), insert them and move the head. The head is
locked last, after every other lock the transaction takes, and nothing else is locked
while it is held: concurrent server processes queue on it for the few statements that
remain and keep one valid chain, without a lock-order deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from configurator.adapters.db.raw import RawTransaction
from configurator.core.farm.chain import GENESIS, link

#: the columns an event is inserted with (besides id, prev_hash, hash)
EVENT_COLUMNS = ("at", "job_id", "node_id", "actor", "kind", "reason", "data")


class ChainSql:
    """The statements of the chain, per dialect."""

    def __init__(self, dialect: str):
        lock = " FOR UPDATE" if dialect == "postgresql" else ""
        self.head = f"SELECT last_id, last_hash, n FROM farm_chain WHERE id = 1{lock}"
        self.new_head = "INSERT INTO farm_chain (id, last_id, last_hash, n) VALUES (1, :last_id, :last_hash, :n)"
        self.move_head = (
            "UPDATE farm_chain SET last_id = :last_id, last_hash = :last_hash, n = n + :k "
            "WHERE id = 1"
        )
        self.insert = (
            "INSERT INTO farm_events (id, at, job_id, node_id, actor, kind, reason, data, "
            "prev_hash, hash) VALUES (:id, :at, :job_id, :node_id, :actor, :kind, :reason, "
            ":data, :prev_hash, :hash)"
        )
        self.plain_insert = (
            "INSERT INTO farm_events (at, job_id, node_id, actor, kind, reason, data) "
            "VALUES (:at, :job_id, :node_id, :actor, :kind, :reason, :data)"
        )
        self.events = (
            "SELECT id, at, job_id, node_id, actor, kind, reason, data, prev_hash, hash "
            "FROM farm_events WHERE id > :after ORDER BY id LIMIT :limit"
        )
        self.read_head = "SELECT last_id, last_hash, n FROM farm_chain WHERE id = 1"


_SQL: dict[str, ChainSql] = {}


def chain_sql(dialect: str) -> ChainSql:
    if dialect not in _SQL:
        _SQL[dialect] = ChainSql(dialect)
    return _SQL[dialect]


def append_events(
    tx: RawTransaction, sql: ChainSql, events: list[dict[str, Any]], *, chained: bool = True
) -> None:
    """Append ``events`` (dicts of :data:`EVENT_COLUMNS`) to the log in this transaction.
    ``chained=False`` inserts them unlinked (the bench's baseline only)."""
    if not events:
        return
    if not chained:
        for ev in events:
            tx.execute(sql.plain_insert, ev)
        return
    head = tx.execute(sql.head, {}).first()
    last_id, last_hash = (0, GENESIS) if head is None else (int(head.last_id), head.last_hash)
    rows = link(events, last_id=last_id, last_hash=last_hash)
    for row in rows:
        tx.execute(sql.insert, row)
    params = {"last_id": rows[-1]["id"], "last_hash": rows[-1]["hash"], "k": len(rows)}
    if head is None:
        tx.execute(sql.new_head, {**params, "n": len(rows)})
    else:
        tx.execute(sql.move_head, params)


def read_events(tx: RawTransaction, sql: ChainSql, *, batch: int = 5000) -> Iterator[dict]:
    """Every event in id order (JSON ``data`` decoded), read in batches."""
    after = 0
    while True:
        tx.execute(sql.events, {"after": after, "limit": batch})
        rows = tx.fetchall()
        if not rows:
            return
        for row in rows:
            if isinstance(row.get("data"), str):
                row["data"] = json.loads(row["data"])
            yield row
        after = int(rows[-1]["id"])


def read_head(tx: RawTransaction, sql: ChainSql) -> dict | None:
    head = tx.execute(sql.read_head, {}).first()
    return None if head is None else dict(vars(head))
