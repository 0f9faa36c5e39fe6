"""Bookeeping: account public ids and categories, counterparties, bank accounts, transactions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:05:00.000000

``accounts.public_id`` is added in place (nullable, so SQLite never copies the table),
filled with a random 24-hex id for every existing account, then indexed unique.
Transactions are journal entries with their Bookeeping fields as entry metadata: no table.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _backfill_public_ids() -> None:
    bind = op.get_bind()
    accounts = sa.table("accounts", sa.column("id", sa.BigInteger), sa.column("public_id"))
    ids = [row[0] for row in bind.execute(sa.select(accounts.c.id).order_by(accounts.c.id))]
    for account_id in ids:
        bind.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(public_id=secrets.token_hex(12))
        )


def upgrade() -> None:
    op.add_column("accounts", sa.Column("public_id", _text(24), nullable=True))
    _backfill_public_ids()
    op.create_index("ix_accounts_public_id", "accounts", ["public_id"], unique=True)

    op.create_table(
        "bookeeping_categories",
        sa.Column("account_id", _ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("emoji", _text(32), nullable=True),
        sa.Column("group_name", _text(100), nullable=True),
        sa.Column("parent_category", _text(30), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("ix_bookeeping_categories_tenant_id", "bookeeping_categories", ["tenant_id"])

    op.create_table(
        "bookeeping_counterparties",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", _text(24), nullable=False),
        sa.Column("account_name", _text(200), nullable=True),
        sa.Column("account_number", _text(100), nullable=True),
        sa.Column("email", _text(254), nullable=True),
        sa.Column("phone", _text(50), nullable=True),
        sa.Column("other_emails_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("type", _text(10), nullable=True),
        sa.Column("tax_id", _text(50), nullable=True),
        sa.Column("address", _text(500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_bookeeping_counterparties_tenant_id", "bookeeping_counterparties", ["tenant_id"]
    )
    op.create_index(
        "ix_bookeeping_counterparties_public_id",
        "bookeeping_counterparties",
        ["public_id"],
        unique=True,
    )

    op.create_table(
        "bookeeping_bank_accounts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", _text(24), nullable=False),
        sa.Column("account_type", _text(20), nullable=False),
        sa.Column("nick_name", _text(200), nullable=True),
        sa.Column("account_name", _text(200), nullable=True),
        sa.Column("account_number", _text(100), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_bookeeping_bank_accounts_tenant_id", "bookeeping_bank_accounts", ["tenant_id"]
    )
    op.create_index(
        "ix_bookeeping_bank_accounts_public_id",
        "bookeeping_bank_accounts",
        ["public_id"],
        unique=True,
    )


def downgrade() -> None:
    for table in ("bookeeping_bank_accounts", "bookeeping_counterparties"):
        op.drop_index(f"ix_{table}_public_id", table_name=table)
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_bookeeping_categories_tenant_id", table_name="bookeeping_categories")
    op.drop_table("bookeeping_categories")
    op.drop_index("ix_accounts_public_id", table_name="accounts")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("accounts") as batch_op:
            batch_op.drop_column("public_id")
    else:
        op.drop_column("accounts", "public_id")
