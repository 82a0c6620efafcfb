"""Plates: node plate state (auto-clear, plate change time, when the plate is clear) and
plate batches (several jobs printed as one build).

Revision ID: 0017_plates
Revises: 0001_farm_tables
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_plates"
down_revision = "0015_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("farm_nodes") as t:
        t.add_column(sa.Column("auto_clear", sa.Boolean, nullable=False, server_default=sa.false()))
        t.add_column(sa.Column("setup_s", sa.Float, nullable=True))
        t.add_column(sa.Column("plate_clear_at", sa.Float, nullable=True))
        t.add_column(sa.Column("agent_auto_clear", sa.Boolean, nullable=True))
    # nodes that exist already keep working as before: their plate is clear now
    op.execute("UPDATE farm_nodes SET plate_clear_at = updated_at")
    with op.batch_alter_table("farm_jobs") as t:
        t.add_column(sa.Column("batch_id", sa.String(32), nullable=True))
    op.create_index("ix_farm_jobs_batch", "farm_jobs", ["batch_id"])
    op.create_table(
        "farm_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("node_id", sa.String(32), nullable=False),
        sa.Column("material", sa.String(32), nullable=False),
        sa.Column("job_ids", sa.JSON, nullable=False),
        sa.Column("placements", sa.JSON, nullable=False),
        sa.Column("file_path", sa.String(1000), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.Integer, nullable=False),
        sa.Column("est_seconds", sa.Float, nullable=False),
        sa.Column("grams", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("farm_batches")
    op.drop_index("ix_farm_jobs_batch", table_name="farm_jobs")
    with op.batch_alter_table("farm_jobs") as t:
        t.drop_column("batch_id")
    with op.batch_alter_table("farm_nodes") as t:
        t.drop_column("agent_auto_clear")
        t.drop_column("plate_clear_at")
        t.drop_column("setup_s")
        t.drop_column("auto_clear")
