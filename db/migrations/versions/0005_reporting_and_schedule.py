"""Reporting amounts, scheduled entries, external ids (owner: the write-path work)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 17:20:00.000000

Every column is nullable and left NULL on the entries that exist: they were
posted without a reporting currency (their reporting fields read as null) and
none is scheduled. Columns are added, never a table copied, on both engines.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENTRY_COLUMNS = (
    ("external_id", sqlmodel.sql.sqltypes.AutoString(length=200)),
    ("accrual_date", sa.Date()),
    ("reporting_currency", sqlmodel.sql.sqltypes.AutoString(length=3)),
    ("exchange_rate", sqlmodel.sql.sqltypes.AutoString(length=40)),
    ("rate_source", sqlmodel.sql.sqltypes.AutoString(length=20)),
    ("rate_date", sa.Date()),
)
_LINE_COLUMNS = ("reporting_debit_minor", "reporting_credit_minor")


def upgrade() -> None:
    for name, kind in _ENTRY_COLUMNS:
        op.add_column("journal_entries", sa.Column(name, kind, nullable=True))
    for name in _LINE_COLUMNS:
        op.add_column("journal_lines", sa.Column(name, sa.BigInteger(), nullable=True))
    # Partial: the rows of ordinary postings (POSTED, no external id) add no index entry.
    scheduled = sa.text("status = 'SCHEDULED'")
    op.create_index(
        "ix_journal_entries_scheduled",
        "journal_entries",
        ["accrual_date"],
        sqlite_where=scheduled,
        postgresql_where=scheduled,
    )
    with_external_id = sa.text("external_id IS NOT NULL")
    op.create_index(
        "uq_journal_entries_tenant_external",
        "journal_entries",
        ["tenant_id", "external_id"],
        unique=True,
        sqlite_where=with_external_id,
        postgresql_where=with_external_id,
    )


def downgrade() -> None:
    op.drop_index("uq_journal_entries_tenant_external", table_name="journal_entries")
    op.drop_index("ix_journal_entries_scheduled", table_name="journal_entries")
    with op.batch_alter_table("journal_lines") as lines:
        for name in reversed(_LINE_COLUMNS):
            lines.drop_column(name)
    with op.batch_alter_table("journal_entries") as entries:
        for name, _ in reversed(_ENTRY_COLUMNS):
            entries.drop_column(name)
