"""Pismo: programs, entry types, event types, accounting scripts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 05:07:59.530610

Pismo accounting accounts are rows of ``accounts`` (which already has
``program_id``), so no table for them. Scripts reference programs, entry types
and event types by the tenant's Pismo ids through composite foreign keys on the
``(tenant_id, <pismo id>)`` unique constraints.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pismo_programs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("program_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "program_id", name="uq_pismo_programs_tenant_program"),
    )
    op.create_table(
        "pismo_entry_types",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_type_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "entry_type_id", name="uq_pismo_entry_types_tenant_id"),
    )
    op.create_table(
        "pismo_event_types",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "event_type_id", name="uq_pismo_event_types_tenant_id"),
    )
    op.create_table(
        "pismo_accounting_scripts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("program_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_type_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("processing_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("debit_org", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("credit_org", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("debit_cost", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("credit_cost", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("cost_center_deactivated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.ForeignKeyConstraint(["debit_account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["credit_account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(
            ["tenant_id", "program_id"],
            ["pismo_programs.tenant_id", "pismo_programs.program_id"],
            name="fk_pismo_scripts_program",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_type_id"],
            ["pismo_event_types.tenant_id", "pismo_event_types.event_type_id"],
            name="fk_pismo_scripts_event_type",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "entry_type_id"],
            ["pismo_entry_types.tenant_id", "pismo_entry_types.entry_type_id"],
            name="fk_pismo_scripts_entry_type",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "tenant_id",
            "program_id",
            "event_type_id",
            "entry_type_id",
            "entry_name",
            "processing_code",
            name="uq_pismo_scripts_key",
        ),
    )
    op.create_index(
        "ix_pismo_scripts_entry",
        "pismo_accounting_scripts",
        ["tenant_id", "program_id", "entry_type_id", "entry_name"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_pismo_scripts_entry", table_name="pismo_accounting_scripts")
    op.drop_table("pismo_accounting_scripts")
    op.drop_table("pismo_event_types")
    op.drop_table("pismo_entry_types")
    op.drop_table("pismo_programs")
