"""Attachments and the entry's attachment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:00:00.000000

Two new tables (the metadata; the bytes of the database storage) and a nullable
``journal_entries.attachment_id``. The column is added in place on both engines:
SQLite's ADD COLUMN accepts a REFERENCES clause on a column whose default is NULL,
so the table (and its partial indexes) is never copied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ENTRY_FK = "journal_entries_attachment_id_fkey"  # PostgreSQL's own name for it


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("storage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_tenant_id", "attachments", ["tenant_id"])
    op.create_table(
        "attachment_blobs",
        sa.Column("attachment_id", _ID, autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"]),
        sa.PrimaryKeyConstraint("attachment_id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE journal_entries ADD COLUMN attachment_id BIGINT REFERENCES attachments (id)"
        )
    else:
        op.add_column("journal_entries", sa.Column("attachment_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            _ENTRY_FK, "journal_entries", "attachments", ["attachment_id"], ["id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that references another table: copy the table.
        with op.batch_alter_table("journal_entries") as batch_op:
            batch_op.drop_column("attachment_id")
    else:
        op.drop_constraint(_ENTRY_FK, "journal_entries", type_="foreignkey")
        op.drop_column("journal_entries", "attachment_id")
    op.drop_table("attachment_blobs")
    op.drop_index("ix_attachments_tenant_id", table_name="attachments")
    op.drop_table("attachments")
