"""Monthly movements per account and currency, so reports read months, not days

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balance_months",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("account_id", "currency", "month"),
    )
    op.create_index(
        "ix_balance_months_tenant_month", "balance_months", ["tenant_id", "month"], unique=False
    )
    # The months of what is already posted: the sums of its days.
    if op.get_bind().dialect.name == "postgresql":
        month = "date_trunc('month', day)::date"
    else:
        month = "substr(day, 1, 8) || '01'"  # SQLite stores dates as YYYY-MM-DD text
    op.execute(
        "INSERT INTO balance_months "
        "(account_id, currency, month, tenant_id, debit_minor, credit_minor) "
        f"SELECT account_id, currency, {month}, tenant_id, sum(debit_minor), sum(credit_minor) "
        f"FROM balance_days GROUP BY account_id, currency, {month}, tenant_id"
    )


def downgrade() -> None:
    op.drop_index("ix_balance_months_tenant_month", table_name="balance_months")
    op.drop_table("balance_months")
