"""Traceability: the event hash chain, stored catalog versions and design provenance,
printer details and material lots on nodes, the connector record, lot and reprint link on
jobs (docs/trace.md).

Existing events are linked into the chain here (id order), and the chain head is written.

Revision ID: 0016_trace
Revises: 0012_node_time_scale
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from configurator.core.farm.chain import GENESIS, event_hash

revision = "0016_trace"
down_revision = "0018_node_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("farm_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    with op.batch_alter_table("farm_nodes") as batch:
        batch.add_column(sa.Column("printer", sa.JSON, nullable=True))
        batch.add_column(sa.Column("material_lots", sa.JSON, nullable=True))
    with op.batch_alter_table("farm_jobs") as batch:
        batch.add_column(sa.Column("record", sa.JSON, nullable=True))
        batch.add_column(sa.Column("material_lot", sa.String(128), nullable=True))
        batch.add_column(sa.Column("reprint_of", sa.String(128), nullable=True))
    op.create_table(
        "farm_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_table(
        "trace_catalogs",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("catalog_id", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("generator", sa.String(64), nullable=False),
        sa.Column("generator_identity", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stored_at", sa.Float, nullable=False),
    )
    op.create_table(
        "trace_designs",
        sa.Column("design_id", sa.String(128), primary_key=True),
        sa.Column("catalog_hash", sa.String(64), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("generator_identity", sa.JSON, nullable=False),
        sa.Column("parts_sha256", sa.JSON, nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("revalidated_from", sa.String(128), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_trace_designs_catalog_hash", "trace_designs", ["catalog_hash"])
    _link_existing_events()


def _link_existing_events() -> None:
    """Link the events written before the chain existed, in id order, renumbered 1..N
    (closing gaps left by rows deleted before), and write the chain head."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, at, job_id, node_id, actor, kind, reason, data FROM farm_events ORDER BY id"
        )
    ).all()
    prev, new_id = GENESIS, 0
    for row in rows:
        new_id += 1
        data = json.loads(row.data) if isinstance(row.data, str) else row.data
        fields = {
            "id": new_id,
            "at": row.at,
            "job_id": row.job_id,
            "node_id": row.node_id,
            "actor": row.actor,
            "kind": row.kind,
            "reason": row.reason,
            "data": data,
            "prev_hash": prev,
        }
        prev = event_hash(fields)
        bind.execute(
            sa.text("UPDATE farm_events SET id = :new, prev_hash = :p, hash = :h WHERE id = :old"),
            {"new": new_id, "p": fields["prev_hash"], "h": prev, "old": row.id},
        )
    bind.execute(
        sa.text("INSERT INTO farm_chain (id, last_id, last_hash, n) VALUES (1, :i, :h, :n)"),
        {"i": new_id, "h": prev, "n": new_id},
    )


def downgrade() -> None:
    op.drop_index("ix_trace_designs_catalog_hash", table_name="trace_designs")
    op.drop_table("trace_designs")
    op.drop_table("trace_catalogs")
    op.drop_table("farm_chain")
    with op.batch_alter_table("farm_jobs") as batch:
        batch.drop_column("reprint_of")
        batch.drop_column("material_lot")
        batch.drop_column("record")
    with op.batch_alter_table("farm_nodes") as batch:
        batch.drop_column("material_lots")
        batch.drop_column("printer")
    with op.batch_alter_table("farm_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
