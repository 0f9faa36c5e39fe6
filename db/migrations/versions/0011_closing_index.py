"""An index of year-end closing entries, which the income statement leaves out

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    closing = sa.text("source = 'closing'")
    op.create_index(
        "ix_journal_entries_closing",
        "journal_entries",
        ["tenant_id", "date"],
        sqlite_where=closing,
        postgresql_where=closing,
    )


def downgrade() -> None:
    op.drop_index("ix_journal_entries_closing", table_name="journal_entries")
