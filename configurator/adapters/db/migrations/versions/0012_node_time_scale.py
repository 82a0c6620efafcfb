"""Farm nodes: ``time_scale`` (a simulated demo printer plays its prints N× faster).

Revision ID: 0012_node_time_scale
Revises: 0001_farm_tables
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_node_time_scale"
down_revision = "0001_farm_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("farm_nodes") as batch:
        batch.add_column(
            sa.Column("time_scale", sa.Float, nullable=False, server_default=sa.text("1.0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("farm_nodes") as batch:
        batch.drop_column("time_scale")
