"""The agent hot paths (claim, complete) as plain SQL, built once per dialect."""

from __future__ import annotations

from configurator.adapters.db.store import queue_order_sql
from configurator.adapters.db.tables import JobRow


class Statements:
    """SQL of the agent hot paths (claim, complete), run through
    :meth:`~configurator.adapters.db.store.Store.raw_transaction`. PostgreSQL adds
    ``FOR UPDATE [SKIP LOCKED]``; on SQLite ``BEGIN IMMEDIATE`` already serializes writers."""

    def __init__(self, dialect: str) -> None:
        pg = dialect == "postgresql"
        lock = " FOR UPDATE" if pg else ""
        skip = " FOR UPDATE SKIP LOCKED" if pg else ""
        cols = ", ".join(c.name for c in JobRow.__table__.columns)
        self.touch = (
            "UPDATE farm_nodes SET last_heartbeat = :t_now WHERE id = :nid "
            "AND state NOT IN ('offline', 'removed') RETURNING state, name, "
            "speed * time_scale AS speed, materials, technology, auto_clear, setup_s, "
            "plate_clear_at, material_lots"
        )
        self.head = (
            f"SELECT {cols} FROM farm_jobs WHERE node_id = :nid AND state IN ('printing', 'assigned') "
            "ORDER BY CASE WHEN state = 'printing' THEN 0 ELSE 1 END, "
            f"{queue_order_sql()} LIMIT 1{skip}"
        )
        self.start = (
            "UPDATE farm_jobs SET state = 'printing', started_at = :t_now, updated_at = :t_now, "
            "progress_pct = NULL, seconds_left = NULL, progress_at = NULL, est_finish = :t_finish, "
            "material_lot = :t_lot "
            f"WHERE id = :jid AND state = 'assigned' RETURNING {cols}"
        )
        self.node_state = "UPDATE farm_nodes SET state = :t_state WHERE id = :nid"
        # another job the head could share a plate with (batching)
        self.batchable = (
            "SELECT id FROM farm_jobs WHERE node_id = :nid AND state = 'assigned' "
            "AND id <> :jid AND material = :mat AND priority = :prio LIMIT 1"
        )
        self.job_for_update = f"SELECT {cols} FROM farm_jobs WHERE id = :jid{lock}"
        self.done = (
            "UPDATE farm_jobs SET state = 'done', finished_at = :t_now, updated_at = :t_now, "
            "actual_seconds = :t_actual, grams_used = :t_used, progress_pct = 100.0, record = :t_record, "
            "seconds_left = 0.0 WHERE id = :jid AND node_id = :nid AND state = 'printing' "
            f"RETURNING {cols}"
        )
        # the node stays 'printing' until its next claim finds nothing (agents claim right
        # after completing, so a steady cycle writes the node row once per request)
        self.node_done = (
            "UPDATE farm_nodes SET materials = :t_mats, plate_clear_at = :t_clear WHERE id = :nid"
        )
        self.elsewhere = (
            "SELECT id FROM farm_jobs WHERE state = 'assigned' AND node_id <> :nid LIMIT 1"
        )
        # work an idle node could get: a job waiting for a node, or one queued elsewhere
        self.pullable = (
            "SELECT id FROM farm_jobs WHERE state = 'queued' OR "
            "(state = 'assigned' AND node_id <> :nid) LIMIT 1"
        )


_STATEMENTS: dict[str, Statements] = {}


def statements_for(dialect: str) -> Statements:
    """The statements for a dialect (``sqlite`` / ``postgresql``), built once."""
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = Statements(dialect)
    return _STATEMENTS[dialect]
