"""Tenant domains (owner: the tenancy work)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 17:20:00.000000

A nullable column and a unique index (several tenants may have none: NULLs never
collide, on either engine). An index rather than a constraint: SQLite cannot add a
constraint to an existing table without copying it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True),
    )
    op.create_index("ix_tenants_domain", "tenants", ["domain"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_tenants_domain", table_name="tenants")
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("domain")
