"""Entries and events by recording time, for reports as known at a moment (knownAt)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 15:30:00.000000

A report as known at a moment is today's report less what was recorded after it
(app/ledger/known_at.py, docs/known_at.md). These two indexes find what was recorded
after a moment in a range read that grows with those rows, not with the ledger: the
entries written since (``journal_entries.created_at``), and the events of status changes
since (a scheduled entry posted by post_due, a hold posted, voided or expired), which
keep the time the change was recorded (``events.created_at``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_journal_entries_tenant_created", "journal_entries", ["tenant_id", "created_at", "id"]
    )
    op.create_index("ix_events_tenant_created", "events", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_tenant_created", table_name="events")
    op.drop_index("ix_journal_entries_tenant_created", table_name="journal_entries")
