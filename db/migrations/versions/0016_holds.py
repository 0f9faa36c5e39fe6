"""Holds: pending totals on account_balances, and a table of holds

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:00:00.000000

Two columns on account_balances (the pending debits and credits of open holds, 0 for
every existing row) and a table of holds, one row per PENDING entry ever made
(docs/holds.md). Nothing was held before, so there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_balances") as batch:
        batch.add_column(
            sa.Column("pending_debit_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("pending_credit_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "holds",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("held_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index(
        "ix_holds_open_expiry",
        "holds",
        ["expires_at"],
        sqlite_where=sa.text("status = 'PENDING'"),
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_holds_open_expiry", table_name="holds")
    op.drop_table("holds")
    with op.batch_alter_table("account_balances") as batch:
        batch.drop_column("pending_credit_minor")
        batch.drop_column("pending_debit_minor")
