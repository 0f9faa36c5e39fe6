"""The journal and the event log, listed: entries, their lines, and events.

Each listing is keyset-paginated (``app.ledger.paging``) in one order a client
chooses or in id order; filters keep the rows they name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select as select_columns
from sqlalchemy import tuple_
from sqlmodel import col, select

from app.ledger.accounts import find_account
from app.ledger.entries import HOLD_STATUSES, POSTED, REVERSED, SCHEDULED
from app.ledger.errors import BadInput
from app.ledger.metadata_filter import ENTRIES, matching_ids, metadata_conditions
from app.ledger.paging import (
    MAX_ROW_ID,
    Page,
    check_page_size,
    decode_cursor,
    encode_cursor,
    typed_key,
)
from app.ledger.posting import EntryView, load_entries
from db.engine import Database
from db.tables import Account, Event, JournalEntry, JournalLine


async def get_entry(db: Database, tenant_id: int, entry_id: int) -> EntryView | None:
    async with db.read() as session:
        found = await load_entries(session, tenant_id, [entry_id])
    return found[0] if found else None


async def list_entries(
    db: Database,
    tenant_id: int,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    account_code: str | None = None,
    status: str | None = None,
    first: int = 50,
    after: str | None = None,
    ids: Sequence[int] | None = None,
    journal_ids: Sequence[int] | None = None,
    order: str = "DATE",
    metadata: Mapping[str, object] | None = None,
    metadata_has: Sequence[str] | None = None,
    memo_contains: str | None = None,
) -> Page[EntryView]:
    """Entries in ``order`` (DATE: by (date, id); DATE_DESC, ID, ID_DESC), keyset-paginated;
    SCHEDULED ones too unless ``status`` keeps one status; ``ids`` and ``journal_ids``
    keep those listed; ``metadata`` those whose metadata has every key with that value,
    ``metadata_has`` those with every key (metadata_filter.py). A cursor is good for its
    own order only. ``memo_contains`` keeps those whose memo holds that text, in any case:
    no index serves it, so it scans the tenant's entries the other filters leave."""
    check_page_size(first)
    if order not in ENTRY_ORDERS:
        raise BadInput(f"order must be one of {', '.join(ENTRY_ORDERS)}", field="order")
    by_date = order.startswith("DATE")
    descending = order.endswith("_DESC")
    query = select(col(JournalEntry.id), col(JournalEntry.date))
    if by_date:
        query = query.where(*_date_range(tenant_id, date_from, date_to, after, descending))
    else:
        query = query.where(col(JournalEntry.tenant_id) == tenant_id)
        if date_from:
            query = query.where(col(JournalEntry.date) >= date_from)
        if date_to:
            query = query.where(col(JournalEntry.date) <= date_to)
        if after:
            (entry_id,) = decode_cursor(after, (int,))
            id_after = (
                col(JournalEntry.id) < entry_id if descending else col(JournalEntry.id) > entry_id
            )
            query = query.where(id_after)
    if ids is not None:
        query = query.where(col(JournalEntry.id).in_(list(ids)))
    if journal_ids is not None:
        query = query.where(col(JournalEntry.journal_id).in_(list(journal_ids)))
    if status is not None:
        if status not in _STATUSES:
            raise BadInput(f"status must be one of {', '.join(_STATUSES)}", field="status")
        query = query.where(col(JournalEntry.status) == status)
    if memo_contains is not None:
        query = query.where(_memo_holds(memo_contains))
    wanted = metadata_conditions(ENTRIES, tenant_id, metadata, metadata_has)
    async with db.read() as session:
        if wanted:
            found = await matching_ids(session, ENTRIES, wanted)
            query = query.where(col(JournalEntry.id).in_(found))
        if account_code:
            account = await find_account(session, tenant_id, account_code, "accountCode")
            query = query.where(
                col(JournalEntry.id).in_(
                    select(col(JournalLine.entry_id)).where(
                        col(JournalLine.account_id) == account.id
                    )
                )
            )
        key = _ENTRY_DATE_KEY if by_date else (col(JournalEntry.id),)
        ordering = [part.desc() for part in key] if descending else list(key)
        rows = (await session.execute(query.order_by(*ordering).limit(first + 1))).all()
        page = rows[:first]
        entries = await load_entries(session, tenant_id, [cast(int, row[0]) for row in page])
    cursors = [encode_cursor(row[1], row[0]) if by_date else encode_cursor(row[0]) for row in page]
    return Page(entries, len(rows) > first, cursors)


_STATUSES = (POSTED, SCHEDULED, REVERSED, *HOLD_STATUSES)
MAX_MEMO_SEARCH = 200


def _memo_holds(text: str) -> Any:
    """The memo holds ``text`` as typed: % and _ are escaped, so they match themselves.
    ILIKE on PostgreSQL; on SQLite lower() LIKE lower(), case-insensitive for ASCII."""
    if len(text) > MAX_MEMO_SEARCH:
        raise BadInput(
            f"memoContains is at most {MAX_MEMO_SEARCH} characters", field="memoContains"
        )
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col(JournalEntry.memo).ilike(f"%{escaped}%", escape="\\")


ENTRY_ORDERS = ("DATE", "DATE_DESC", "ID", "ID_DESC")

# The columns of ix_journal_entries_tenant_date, the order of the DATE listings.
_ENTRY_DATE_KEY = (col(JournalEntry.tenant_id), col(JournalEntry.date), col(JournalEntry.id))


def _date_range(
    tenant_id: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
    after: str | None,
    descending: bool,
) -> tuple[Any, Any]:
    """The tenant's entries from ``date_from`` through ``date_to`` past the cursor, as two
    row-value bounds on ix_journal_entries_tenant_date's columns (the tenant is between them).

    Not ``tenant_id = ?``: without statistics (no ANALYZE after a bulk load) PostgreSQL
    takes that for 0.5% of the table; once that is fewer rows than the page it sorts all
    the tenant's entries rather than walk the index. A row bound counts for a third of the
    table: the LIMIT then makes the walk the cheaper plan at any size.
    """
    # (date, id) bounds: after ``low`` (exclusive), through ``high`` (inclusive).
    low: tuple[dt.date, int] = (date_from or dt.date.min, 0)
    high: tuple[dt.date, int] = (date_to or dt.date.max, MAX_ROW_ID)
    if after:
        date, entry_id = decode_cursor(after, (dt.date, int))
        if descending:
            high = min(high, (date, entry_id - 1))
        else:
            low = max(low, (date, entry_id))
    return (
        tuple_(*_ENTRY_DATE_KEY) > tuple_(*typed_key(tenant_id, *low)),
        tuple_(*_ENTRY_DATE_KEY) <= tuple_(*typed_key(tenant_id, *high)),
    )


@dataclass(frozen=True)
class EntryLine:
    """A journal line with what a listing of lines shows of its entry."""

    id: int
    entry_id: int
    journal_id: int
    account_id: int
    account_code: str
    date: dt.date
    currency: str
    debit_minor: int
    credit_minor: int
    description: str | None


async def list_lines(
    db: Database,
    tenant_id: int,
    *,
    ids: Sequence[int] | None = None,
    account_ids: Sequence[int] | None = None,
    journal_ids: Sequence[int] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    descending: bool = False,
    first: int = 100,
    after: str | None = None,
) -> Page[EntryLine]:
    """The tenant's journal lines by id (``descending``: newest first), keyset-paginated;
    each filter keeps the lines it lists; dates are the lines' posting dates."""
    check_page_size(first)
    line_id = col(JournalLine.id)
    query = (
        select_columns(  # sqlmodel's select is typed for at most four columns
            line_id,
            col(JournalLine.entry_id),
            col(JournalEntry.journal_id),
            col(JournalLine.account_id),
            col(Account.code),
            col(JournalLine.date),
            col(JournalLine.currency),
            col(JournalLine.debit_minor),
            col(JournalLine.credit_minor),
            col(JournalLine.description),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .join(Account, col(Account.id) == col(JournalLine.account_id))
        .where(col(JournalLine.tenant_id) == tenant_id)
    )
    if ids is not None:
        query = query.where(line_id.in_(list(ids)))
    if account_ids is not None:
        query = query.where(col(JournalLine.account_id).in_(list(account_ids)))
    if journal_ids is not None:
        query = query.where(col(JournalEntry.journal_id).in_(list(journal_ids)))
    if date_from:
        query = query.where(col(JournalLine.date) >= date_from)
    if date_to:
        query = query.where(col(JournalLine.date) <= date_to)
    if after:
        (position,) = decode_cursor(after, (int,))
        query = query.where(line_id < position if descending else line_id > position)
    query = query.order_by(line_id.desc() if descending else line_id).limit(first + 1)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    items = [EntryLine(*cast(tuple[Any, ...], row)) for row in rows[:first]]
    return Page(items, len(rows) > first, [encode_cursor(item.id) for item in items])


async def list_events(
    db: Database,
    tenant_id: int,
    *,
    first: int = 100,
    after: str | None = None,
    entry_id: int | None = None,
) -> Page[Event]:
    """Events oldest first, keyset-paginated on their id; ``entry_id`` keeps that entry's
    (none for another tenant's entry: the tenant condition still holds)."""
    check_page_size(first)
    query = select(Event).where(col(Event.tenant_id) == tenant_id)
    if entry_id is not None:
        # Equality on entry_id lets both engines read ix_events_entry (entry_id, link):
        # an entry's few events, sorted by id after, not a walk of the tenant's log.
        query = query.where(col(Event.entry_id) == entry_id)
    if after:
        (event_id,) = decode_cursor(after, (int,))
        query = query.where(col(Event.id) > event_id)
    async with db.read() as session:
        rows = list((await session.scalars(query.order_by(col(Event.id)).limit(first + 1))).all())
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.id) for item in items])
