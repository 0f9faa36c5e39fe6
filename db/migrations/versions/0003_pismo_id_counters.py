"""Pismo id counters: automatic ids without a clash

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:00:00.000000

One row per tenant and kind (program, entry_type, event_type) holding the highest
Pismo id used, started from the rows that exist: the next automatic id is the
same one ``max(id) + 1`` gave before, now allocated under the row's lock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind -> (table, Pismo id column); the kinds app/ledger/pismo.py numbers automatically.
KINDS = {
    "program": ("pismo_programs", "program_id"),
    "entry_type": ("pismo_entry_types", "entry_type_id"),
    "event_type": ("pismo_event_types", "event_type_id"),
}


def upgrade() -> None:
    op.create_table(
        "pismo_id_counters",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "kind"),
    )
    for kind, (table, column) in KINDS.items():
        op.execute(
            sa.text(
                f"INSERT INTO pismo_id_counters (tenant_id, kind, last_id) "
                f"SELECT tenant_id, :kind, MAX({column}) FROM {table} GROUP BY tenant_id"
            ).bindparams(kind=kind)
        )


def downgrade() -> None:
    op.drop_table("pismo_id_counters")
