"""Farm tables: nodes, jobs, events.

Revision ID: 0001_farm_tables
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_farm_tables"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "farm_nodes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("technology", sa.String(8), nullable=False),
        sa.Column("bv_x", sa.Float, nullable=False),
        sa.Column("bv_y", sa.Float, nullable=False),
        sa.Column("bv_z", sa.Float, nullable=False),
        sa.Column("speed", sa.Float, nullable=False),
        sa.Column("materials", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("last_heartbeat", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_farm_nodes_key_hash", "farm_nodes", ["key_hash"], unique=True)
    op.create_index("ix_farm_nodes_state", "farm_nodes", ["state"])
    op.create_table(
        "farm_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("design_id", sa.String(128), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("order_token", sa.String(128), nullable=True),
        sa.Column("file_path", sa.String(1000), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.Integer, nullable=False),
        sa.Column("technology", sa.String(8), nullable=False),
        sa.Column("material", sa.String(32), nullable=False),
        sa.Column("bbox_x", sa.Float, nullable=False),
        sa.Column("bbox_y", sa.Float, nullable=False),
        sa.Column("bbox_z", sa.Float, nullable=False),
        sa.Column("est_seconds", sa.Float, nullable=False),
        sa.Column("grams", sa.Float, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("deadline", sa.Float, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("node_id", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("est_finish", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("assigned_at", sa.Float, nullable=True),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("progress_pct", sa.Float, nullable=True),
        sa.Column("seconds_left", sa.Float, nullable=True),
        sa.Column("progress_at", sa.Float, nullable=True),
        sa.Column("actual_seconds", sa.Float, nullable=True),
        sa.Column("grams_used", sa.Float, nullable=True),
        sa.Column("last_reason", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_farm_jobs_node_state", "farm_jobs", ["node_id", "state"])
    op.create_index("ix_farm_jobs_state", "farm_jobs", ["state"])
    op.create_index("ix_farm_jobs_order_token", "farm_jobs", ["order_token"])
    op.create_table(
        "farm_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("job_id", sa.Integer, nullable=True),
        sa.Column("node_id", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
    )
    op.create_index("ix_farm_events_job", "farm_events", ["job_id"])


def downgrade() -> None:
    op.drop_table("farm_events")
    op.drop_table("farm_jobs")
    op.drop_table("farm_nodes")
