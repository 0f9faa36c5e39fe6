"""Account limits: no overdraft, overdraft limits and max balances

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:00:00.000000

One nullable column on accounts (app/ledger/limits.py reads it as JSON): existing
accounts have no limits, so there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("limits_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("limits_json")
