"""Events by entry, for ``ledgerql verify``

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 17:00:00.000000

``ledgerql verify`` (app/ledger/audit_books.py) compares each page of entries, read in
id order, with the events of those entries: a range on ``events.entry_id`` read in
link order, which this index serves. It also spares PostgreSQL a scan of ``events``
for the foreign key when an entry row is deleted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_entry", "events", ["entry_id", "link"])


def downgrade() -> None:
    op.drop_index("ix_events_entry", table_name="events")
