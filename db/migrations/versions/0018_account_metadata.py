"""Account metadata: a column for the document and flat key/value rows for lookups

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00.000000

Accounts had no metadata: the column starts NULL and the table empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("metadata_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table(
        "account_metadata",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1026), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "key", "value", "account_id"),
    )
    op.create_index("ix_account_metadata_account", "account_metadata", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_account_metadata_account", table_name="account_metadata")
    op.drop_table("account_metadata")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("metadata_json")
