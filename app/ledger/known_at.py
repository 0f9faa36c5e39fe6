"""Reports as known at a moment (``knownAt``): the figures as they stood then.

A report as known at ``known_at`` is today's report, read from the maintained rollups,
less what was recorded after ``known_at`` (docs/known_at.md):

- the lines of the entries written after it (``journal_entries.created_at``): later
  postings, backdated corrections and reversals (a reversal is an entry of its own);
- the lines of entries written by then but posted after it: a scheduled entry posted by
  post_due, a hold posted, each recorded by its event (``journal_entry.posted``,
  ``hold.posted``) with the time of the change;
- and, for the pending layer, the holds written after it that are still open (not open
  then) and the holds closed after it (open then).

Both are range reads of the indexes of migration 0022, so the cost grows with what was
recorded after ``known_at``, never with the ledger; without ``known_at`` nothing here
runs. An entry's status now (REVERSED, say) plays no part: only recording times do.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.ledger.entries import UNPOSTED
from app.ledger.errors import BadInput
from app.ledger.period_sums import Key, Range, movements_query, read_sums
from db.engine import Database
from db.tables import Event, Hold, JournalEntry, JournalLine

# Events that record an entry moving the posted figures after it was written.
POSTING_EVENTS = ("journal_entry.posted", "hold.posted")
# Events that record a hold leaving PENDING.
HOLD_CLOSING_EVENTS = ("hold.posted", "hold.voided", "hold.expired")
PENDING = "PENDING"


def known_moment(known_at: dt.datetime | None, *, field: str = "knownAt") -> dt.datetime | None:
    """The moment to report at, or None for the report of now: absent, or not in the past
    (nothing can have been recorded after it yet). Without an offset it is ambiguous."""
    if known_at is None:
        return None
    if known_at.tzinfo is None or known_at.utcoffset() is None:
        raise BadInput(
            f"{field} needs a time zone offset (2026-06-01T12:00:00.000000Z)", field=field
        )
    return None if known_at >= dt.datetime.now(dt.UTC) else known_at.astimezone(dt.UTC)


@asynccontextmanager
async def snapshot(db: Database, consistent: bool = True) -> AsyncIterator[AsyncSession]:
    """A read session whose statements all see one snapshot (when ``consistent``), so that
    today's figures and what is taken out of them agree even while entries are posted.
    SQLite's read transaction is one already (WAL); PostgreSQL's default (READ COMMITTED)
    is not. Without ``consistent``, the session reads as ``Database.read``'s does."""
    async with db.read() as session:
        if consistent and session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@dataclass(frozen=True)
class Late:
    """What was recorded after ``known_at``: the moment, and the entries written by then
    but posted after it (scheduled entries, holds). The entries written after it are
    found by their ``created_at`` in each read."""

    known_at: dt.datetime
    posted_later: frozenset[int]
    # The lowest and highest id of the entries written after ``known_at`` (None: none).
    ids: tuple[int, int] | None = None

    def recorded_later(self) -> Any:
        """SQL condition on ``journal_entries``: counted now (with ``_counted``), not then."""
        condition = and_(col(JournalEntry.created_at) > self.known_at)
        if self.posted_later:
            condition = or_(condition, col(JournalEntry.id).in_(sorted(self.posted_later)))
        return condition

    def counted_then(self) -> list[Any]:
        """SQL conditions on ``journal_entries`` keeping the entries that counted at
        ``known_at``, for reads of lines (the general ledger); with the usual status one."""
        conditions: list[Any] = [col(JournalEntry.created_at) <= self.known_at]
        if self.posted_later:
            conditions.append(col(JournalEntry.id).not_in(sorted(self.posted_later)))
        return conditions


def take_out(own: dict[Key, list[int]], late: dict[Key, list[int]]) -> dict[Key, list[int]]:
    """``own`` less ``late``, figure by figure (both shaped like ``movements``)."""
    result = {key: list(figures) for key, figures in own.items()}
    for key, figures in late.items():
        target = result.setdefault(key, [0] * len(figures))
        for index, value in enumerate(figures):
            target[index] -= value
    return result


def _counted() -> Any:
    return col(JournalEntry.status).not_in(UNPOSTED)


def _line_filters(
    currency: str | None, journal_id: int | None, account_id: int | None
) -> list[Any]:
    filters: list[Any] = []
    if currency is not None:
        filters.append(col(JournalLine.currency) == currency)
    if journal_id is not None:
        filters.append(col(JournalEntry.journal_id) == journal_id)
    if account_id is not None:
        filters.append(col(JournalLine.account_id) == account_id)
    return filters


async def _changed_since(
    session: AsyncSession, tenant_id: int, known_at: dt.datetime, kinds: Sequence[str]
) -> set[int]:
    """Entries written by ``known_at`` with an event of ``kinds`` recorded after it."""
    query = (
        select_columns(col(Event.entry_id))
        .join(JournalEntry, col(JournalEntry.id) == col(Event.entry_id))
        .where(
            col(Event.tenant_id) == tenant_id,
            col(Event.created_at) > known_at,
            col(Event.type).in_(kinds),
            col(JournalEntry.created_at) <= known_at,
        )
    )
    return {int(row[0]) for row in (await session.execute(query)).all() if row[0] is not None}


def _within(column: Any, bounds: Range) -> Any:
    start, end = bounds
    return and_(
        True,
        *([column >= start] if start is not None else []),
        *([column <= end] if end is not None else []),
    )


async def recorded_ids(session: AsyncSession, tenant_id: int, known_at: dt.datetime) -> Any:
    """(lowest, highest) id of the tenant's entries written after ``known_at`` (None, None
    without any): an index-only range of ix_journal_entries_tenant_created."""
    query = select_columns(func.min(col(JournalEntry.id)), func.max(col(JournalEntry.id))).where(
        col(JournalEntry.tenant_id) == tenant_id, col(JournalEntry.created_at) > known_at
    )
    return (await session.execute(query)).one()


def late_sums_query(
    tenant_id: int,
    late: Late,
    ranges: Sequence[Range],
    ids: tuple[int, int] | None,
    *,
    currency: str | None = None,
    journal_id: int | None = None,
    account_id: int | None = None,
) -> Any:
    """[debit, credit] per range, per (account, currency), summed in the database (a few
    hundred rows come back, not every late line), of the lines counted now and not at
    ``late.known_at``: with ``ids``, of the entries written after it, whose ids lie within
    ``ids``; without, of the entries posted after it (``late.posted_later``).

    The id bounds filter nothing; they make walking ix_journal_lines_entry_id over that
    range the cheap plan whatever the statistics: without ANALYZE PostgreSQL estimates
    ``entry_id = ?`` at 0.5 % of the table per entry, so a join of the entries found by
    recording time to their lines was planned as a scan of every line (docs/known_at.md).
    """
    on = col(JournalLine.date)
    sums: list[Any] = []
    for bounds in ranges:
        for amount in (col(JournalLine.debit_minor), col(JournalLine.credit_minor)):
            sums.append(func.sum(case((_within(on, bounds), amount), else_=0)))
    entry = col(JournalLine.entry_id)
    if ids is not None:
        which = [entry.between(*ids), col(JournalEntry.created_at) > late.known_at]
    else:
        which = [entry.in_(sorted(late.posted_later))]
    return (
        select_columns(col(JournalLine.account_id), col(JournalLine.currency), *sums)
        .join(JournalEntry, col(JournalEntry.id) == entry)
        .where(col(JournalEntry.tenant_id) == tenant_id, _counted(), *which)
        .where(*_line_filters(currency, journal_id, account_id))
        .group_by(col(JournalLine.account_id), col(JournalLine.currency))
    )


async def late(session: AsyncSession, tenant_id: int, known_at: dt.datetime) -> Late:
    """The moment, with the entries written by then and posted since, and the id range of
    the entries written since."""
    posted_later = await _changed_since(session, tenant_id, known_at, POSTING_EVENTS)
    low, high = await recorded_ids(session, tenant_id, known_at)
    ids = None if low is None else (int(low), int(high))
    return Late(known_at, frozenset(posted_later), ids)


async def late_sums(
    session: AsyncSession,
    tenant_id: int,
    late: Late,
    ranges: Sequence[Range],
    *,
    currency: str | None = None,
    journal_id: int | None = None,
    account_id: int | None = None,
) -> dict[Key, list[int]]:
    """What ``late_sums_query`` sums, per (account, currency): the entries written since
    and those posted since, each in one read (none when there are none)."""
    found: dict[Key, list[int]] = {}
    reads = ([late.ids] if late.ids is not None else []) + ([None] if late.posted_later else [])
    for ids in reads:
        query = late_sums_query(
            tenant_id,
            late,
            ranges,
            ids,
            currency=currency,
            journal_id=journal_id,
            account_id=account_id,
        )
        found = take_out(
            found, {k: [-v for v in f] for k, f in (await read_sums(session, query)).items()}
        )
    return found


async def late_day_nets(
    session: AsyncSession,
    tenant_id: int,
    late: Late,
    span: Range,
    currency: str | None,
    valuation_currency: str,
) -> dict[tuple[int, str, dt.date], int]:
    """Debit - credit per account, currency and day of the lines counted now and not
    then, in currencies other than ``valuation_currency`` (a valued report's day nets)."""
    on = col(JournalLine.date)
    query = (
        select_columns(
            col(JournalLine.account_id),
            col(JournalLine.currency),
            on,
            func.sum(col(JournalLine.debit_minor) - col(JournalLine.credit_minor)),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(col(JournalEntry.tenant_id) == tenant_id, late.recorded_later(), _counted())
        .where(_within(on, span), col(JournalLine.currency) != valuation_currency)
        .where(*_line_filters(currency, None, None))
        .group_by(col(JournalLine.account_id), col(JournalLine.currency), on)
    )
    rows = (await session.execute(query)).all()
    return {(int(r[0]), r[1], r[2]): int(r[3] or 0) for r in rows}


async def pending_change(
    session: AsyncSession,
    tenant_id: int,
    late: Late,
    *,
    currency: str | None = None,
    account_ids: Sequence[int] | None = None,
) -> dict[Key, list[int]]:
    """[pending debit, pending credit] to add to today's pending totals for those at
    ``late.known_at``: less the holds written since and still open, plus the holds open
    then and closed since. Each in one read bounded by entry ids, as ``late_sums_query``."""
    closed_since = await _changed_since(session, tenant_id, late.known_at, HOLD_CLOSING_EVENTS)
    entry = col(JournalLine.entry_id)
    reads: list[list[Any]] = []
    if late.ids is not None:
        reads.append(
            [
                entry.between(*late.ids),
                col(JournalEntry.created_at) > late.known_at,
                col(Hold.status) == PENDING,
            ]
        )
    if closed_since:
        reads.append([entry.in_(sorted(closed_since))])
    rows: list[Any] = []
    for which in reads:
        query = (
            select_columns(
                entry, col(JournalLine.account_id), col(JournalLine.currency), col(Hold.held_json)
            )
            .join(JournalEntry, col(JournalEntry.id) == entry)
            .join(Hold, col(Hold.entry_id) == entry)
            .where(col(JournalEntry.tenant_id) == tenant_id, *which)
            .order_by(entry, col(JournalLine.line_no), col(JournalLine.id))
        )
        rows.extend((await session.execute(query)).all())
    change: dict[Key, list[int]] = {}
    position: dict[int, int] = {}
    for entry_id, account_id, cur, held_json in rows:
        # held_json: the held [debit, credit] per line, in line order (db/tables.py).
        index = position.get(entry_id, 0)
        position[entry_id] = index + 1
        if currency is not None and cur != currency:
            continue
        if account_ids is not None and account_id not in account_ids:
            continue
        debit, credit = json.loads(held_json)[index]
        sign = -1 if entry_id not in closed_since else 1
        figures = change.setdefault((int(account_id), cur), [0, 0])
        figures[0] += sign * int(debit)
        figures[1] += sign * int(credit)
    return change


async def movements_at(
    db: Database,
    tenant_id: int,
    ranges: Sequence[Range],
    currency: str | None,
    known_at: dt.datetime,
    *,
    journal_id: int | None = None,
) -> tuple[dict[Key, list[int]], Late]:
    """``period_sums.movements`` as known at ``known_at``, with what was taken out."""
    async with snapshot(db) as session:
        own = await read_sums(
            session, movements_query(tenant_id, ranges, currency, journal_id=journal_id)
        )
        gone = await late(session, tenant_id, known_at)
        taken = await late_sums(
            session, tenant_id, gone, ranges, currency=currency, journal_id=journal_id
        )
    return take_out(own, taken), gone
