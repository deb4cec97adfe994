"""The schema of the release before migrations: imports, audit log, scenarios, item counts, data-table indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

A database made by that release has these tables already (without an alembic_version table), so each is created
only when missing: upgrading it is then just recording the revision, and its rows are untouched. The per-kind data
tables (data_responses, …) are created on first import with the columns the settings ask for, so they are not
defined here; this revision only gives existing ones the indexes the pages rely on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def tables() -> list[sa.Table]:
    """The fixed tables as that release defined them (a frozen copy: later revisions change them, not this list)."""
    meta = sa.MetaData()
    return [
        sa.Table("imports", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("kind", sa.String, nullable=False),
                 sa.Column("period", sa.String, nullable=False),
                 sa.Column("file_name", sa.String, nullable=False),
                 sa.Column("sha256", sa.String, nullable=False),
                 sa.Column("rows", sa.Integer, nullable=False),
                 sa.Column("status", sa.String, nullable=False),
                 sa.Column("imported_at", sa.String, nullable=False),
                 sa.Column("imported_by", sa.String, nullable=False)),
        sa.Table("audit_log", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("at", sa.String, nullable=False),
                 sa.Column("user", sa.String, nullable=False),
                 sa.Column("action", sa.String, nullable=False),
                 sa.Column("kind", sa.String, nullable=False),
                 sa.Column("period", sa.String, nullable=False),
                 sa.Column("file_name", sa.String, nullable=False),
                 sa.Column("sha256", sa.String, nullable=False),
                 sa.Column("rows", sa.Integer, nullable=False),
                 sa.Column("import_id", sa.Integer, nullable=False)),
        sa.Table("scenarios", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String, nullable=False, unique=True),
                 sa.Column("wave", sa.String, nullable=False),
                 sa.Column("spec_json", sa.Text, nullable=False),
                 sa.Column("saved_at", sa.String, nullable=False),
                 sa.Column("saved_by", sa.String, nullable=False)),
        sa.Table("item_counts", meta,
                 sa.Column("import_id", sa.Integer, nullable=False, index=True),
                 sa.Column("county", sa.String, nullable=False),
                 sa.Column("item", sa.String, nullable=False),
                 sa.Column("answer", sa.String),
                 sa.Column("n", sa.Integer, nullable=False),
                 sa.Column("w_sum", sa.Float, nullable=False),
                 sa.Column("w2_sum", sa.Float, nullable=False)),
    ]


# Pages read one import, one county (all waves) or one wave (all counties); that release added these indexes lazily.
DATA_INDEXES = {"import": "import_id", "county": "county", "wave": "wave"}


def upgrade() -> None:
    """Create the missing fixed tables; give existing data tables their indexes."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    have = set(inspector.get_table_names())
    for table in tables():
        if table.name not in have:
            table.create(bind)
    for name in sorted(t for t in have if t.startswith("data_")):
        columns = {c["name"] for c in inspector.get_columns(name)}
        indexes = {ix["name"] for ix in inspector.get_indexes(name)}
        for suffix, column in DATA_INDEXES.items():
            if column in columns and f"ix_{name}_{suffix}" not in indexes and (suffix == "import" or name == "data_responses"):
                op.create_index(f"ix_{name}_{suffix}", name, [column])


def downgrade() -> None:
    """Back to an empty schema: the fixed tables are dropped (their rows with them), the data tables lose the indexes."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    have = set(inspector.get_table_names())
    for name in sorted(t for t in have if t.startswith("data_")):
        indexes = {ix["name"] for ix in inspector.get_indexes(name)}
        for suffix in DATA_INDEXES:
            if f"ix_{name}_{suffix}" in indexes:
                op.drop_index(f"ix_{name}_{suffix}", table_name=name)
    for table in reversed(tables()):
        if table.name in have:
            table.drop(bind)
