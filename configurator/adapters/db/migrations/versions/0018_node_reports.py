"""Node reports: why a node is offline (``state_reason``), and an operator's pending
pause/resume for a printing job (``command``, delivered once to its node).

Revision ID: 0018_node_reports
Revises: 0017_plates
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_node_reports"
down_revision = "0017_plates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("farm_nodes") as batch:
        batch.add_column(sa.Column("state_reason", sa.String(500), nullable=True))
    with op.batch_alter_table("farm_jobs") as batch:
        batch.add_column(sa.Column("command", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("farm_jobs") as batch:
        batch.drop_column("command")
    with op.batch_alter_table("farm_nodes") as batch:
        batch.drop_column("state_reason")
