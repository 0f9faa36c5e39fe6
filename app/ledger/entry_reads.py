"""Reading journal entries back by id, with their lines, as ``EntryView``.

The write path reads here the entries it replays, reverses or posts when due; every
other read of entries by id (listings, exports, dialects, closing) comes here through
``posting.load_entries``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlmodel import SQLModel

from app.ledger.entries import EntryView, LineView

_IDS_PER_QUERY = 10_000

_tables = SQLModel.metadata.tables
ACCOUNTS: Table = _tables["accounts"]
JOURNALS: Table = _tables["journals"]
ENTRIES: Table = _tables["journal_entries"]
LINES: Table = _tables["journal_lines"]
ATTACHMENTS: Table = _tables["attachments"]


def read_metadata(text: str | None) -> dict[str, Any] | None:
    """Stored metadata: its numbers exact (a fraction is a Decimal, as it was written)."""
    return json.loads(text, parse_float=Decimal) if text else None


def load_views(conn: Connection, tenant_id: int, entry_ids: Sequence[int]) -> list[EntryView]:
    """Entries with their lines, in the order of ``entry_ids``; unknown ids are left out."""
    distinct = sorted(set(entry_ids))
    rows: list[Any] = []
    line_rows: list[Any] = []
    # In slices: both drivers take at most 32,767 bound values (a rerun of a large
    # import replays, and reads back, every entry of its chunk).
    for start in range(0, len(distinct), _IDS_PER_QUERY):
        ids = distinct[start : start + _IDS_PER_QUERY]
        rows.extend(
            row
            for row in conn.execute(
                select(
                    ENTRIES,
                    JOURNALS.c.code.label("journal_code"),
                    ATTACHMENTS.c.filename.label("attachment_filename"),
                )
                .join(JOURNALS, JOURNALS.c.id == ENTRIES.c.journal_id)
                .outerjoin(ATTACHMENTS, ATTACHMENTS.c.id == ENTRIES.c.attachment_id)
                # By primary key alone, the tenant checked here: with ``tenant_id = ?``
                # in SQL, PostgreSQL without statistics ANDs in a bitmap of the tenant's
                # whole ix_journal_entries_tenant_date range (and SQLite may walk it).
                .where(ENTRIES.c.id.in_(ids))
            )
            if row.tenant_id == tenant_id
        )
        line_rows.extend(
            conn.execute(
                select(LINES, ACCOUNTS.c.code.label("account_code"))
                .join(ACCOUNTS, ACCOUNTS.c.id == LINES.c.account_id)
                # The id range adds no condition (ids are sorted); it is there for the
                # planner: without statistics PostgreSQL takes each ``entry_id = ?`` for
                # 0.5% of the table, so 50 ids look like a quarter of it and it reads the
                # whole table; with a range of unknown width ix_journal_lines_entry_id wins.
                .where(LINES.c.entry_id.in_(ids), LINES.c.entry_id.between(ids[0], ids[-1]))
                .order_by(LINES.c.entry_id, LINES.c.line_no)
            )
        )
    lines: dict[int, list[LineView]] = defaultdict(list)
    for line in line_rows:
        lines[line.entry_id].append(
            LineView(
                id=line.id,
                account_id=line.account_id,
                account_code=line.account_code,
                currency=line.currency,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                description=line.description,
                line_no=line.line_no,
                reporting_debit_minor=line.reporting_debit_minor,
                reporting_credit_minor=line.reporting_credit_minor,
            )
        )
    views = {
        row.id: EntryView(
            id=row.id,
            tenant_id=row.tenant_id,
            number=row.number,
            date=row.date,
            memo=row.memo,
            currency=row.currency,
            status=row.status,
            source=row.source,
            journal_code=row.journal_code,
            idempotency_key=row.idempotency_key,
            reversal_of_id=row.reversal_of_id,
            reversed_by_id=row.reversed_by_id,
            metadata=read_metadata(row.metadata_json),
            created_at=row.created_at,
            lines=lines[row.id],
            external_id=row.external_id,
            accrual_date=row.accrual_date,
            reporting_currency=row.reporting_currency,
            exchange_rate=row.exchange_rate,
            rate_source=row.rate_source,
            rate_date=row.rate_date,
            journal_id=row.journal_id,
            attachment_id=row.attachment_id,
            attachment_filename=row.attachment_filename,
        )
        for row in rows
    }
    return [views[entry_id] for entry_id in entry_ids if entry_id in views]
