"""Journal types (Pennylane: sales, purchases, bank, payroll, miscellaneous)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:00:00.000000

A NOT NULL column with a server default: existing journals become miscellaneous, on
either engine, without copying the table (SQLite adds such a column in place).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "journals",
        sa.Column(
            "type",
            sqlmodel.sql.sqltypes.AutoString(length=20),
            nullable=False,
            server_default="miscellaneous",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("journals") as batch_op:
        batch_op.drop_column("type")
