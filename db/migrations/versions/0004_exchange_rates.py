"""Tenant exchange rates (owner: the FX work)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 17:20:00.000000

One rate per tenant, pair and effective date (the primary key, which also serves
the "latest on or before" look-up). The rate is its exact decimal string: SQLite
has no decimal type.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("base", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("quote", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("rate", sa.String(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "base", "quote", "effective_date"),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
