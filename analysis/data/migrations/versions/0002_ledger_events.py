"""The 问题台账's append-only event table (who changed which fields of a ledger item, when).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Created only when missing: the ledger code of the same release also creates it on first write, so a database that
had a ledger before it was upgraded keeps its rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ledger_events and its index on ledger_id when missing."""
    bind = op.get_bind()
    if sa.inspect(bind).has_table("ledger_events"):
        return
    op.create_table(
        "ledger_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ledger_id", sa.String, nullable=False),
        sa.Column("at", sa.String, nullable=False),
        sa.Column("user", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
    )
    op.create_index("ix_ledger_events_ledger_id", "ledger_events", ["ledger_id"])


def downgrade() -> None:
    """Drop the ledger's events (the ledger's history is lost)."""
    op.drop_index("ix_ledger_events_ledger_id", "ledger_events")
    op.drop_table("ledger_events")
