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

Both are range reads of the indexes of migration 0020, so the cost grows with what was
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

from sqlalchemy import and_, or_
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
class LateLine:
    """A line counted in today's figures that did not count at the moment."""

    entry_id: int
    account_id: int
    currency: str
    date: dt.date
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class Late:
    """What was recorded after ``known_at`` and moves the posted figures."""

    known_at: dt.datetime
    lines: tuple[LateLine, ...]
    # Entries written by ``known_at`` but posted after it (their lines are in ``lines``).
    posted_later: frozenset[int]

    def sums(self, ranges: Sequence[Range]) -> dict[Key, list[int]]:
        """[debit, credit] per range, flattened, per (account, currency): shaped like
        ``period_sums.movements``."""
        found: dict[Key, list[int]] = {}
        for line in self.lines:
            figures = found.setdefault((line.account_id, line.currency), [0] * (2 * len(ranges)))
            for index, (start, end) in enumerate(ranges):
                if (start is None or line.date >= start) and (end is None or line.date <= end):
                    figures[2 * index] += line.debit_minor
                    figures[2 * index + 1] += line.credit_minor
        return found

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


def late_lines_query(
    tenant_id: int,
    known_at: dt.datetime,
    posted_later: set[int],
    *,
    currency: str | None = None,
    journal_id: int | None = None,
    account_id: int | None = None,
) -> Any:
    """The lines of the entries written after ``known_at`` and counted now, and of
    ``posted_later``: a range of ix_journal_entries_tenant_created, each entry's lines
    through ix_journal_lines_entry_id (the benchmark checks the plan)."""
    recorded_later = and_(col(JournalEntry.created_at) > known_at)
    if posted_later:
        recorded_later = or_(recorded_later, col(JournalEntry.id).in_(sorted(posted_later)))
    return (
        select_columns(
            col(JournalLine.entry_id),
            col(JournalLine.account_id),
            col(JournalLine.currency),
            col(JournalLine.date),
            col(JournalLine.debit_minor),
            col(JournalLine.credit_minor),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(col(JournalEntry.tenant_id) == tenant_id, recorded_later, _counted())
        .where(*_line_filters(currency, journal_id, account_id))
    )


async def late(
    session: AsyncSession,
    tenant_id: int,
    known_at: dt.datetime,
    *,
    currency: str | None = None,
    journal_id: int | None = None,
    account_id: int | None = None,
) -> Late:
    """The lines counted now that did not count at ``known_at`` (in ``currency``, of
    ``journal_id``, of ``account_id`` when given)."""
    posted_later = await _changed_since(session, tenant_id, known_at, POSTING_EVENTS)
    query = late_lines_query(
        tenant_id,
        known_at,
        posted_later,
        currency=currency,
        journal_id=journal_id,
        account_id=account_id,
    )
    rows = (await session.execute(query)).all()
    lines = tuple(LateLine(int(r[0]), int(r[1]), r[2], r[3], int(r[4]), int(r[5])) for r in rows)
    return Late(known_at, lines, frozenset(posted_later))


async def pending_change(
    session: AsyncSession,
    tenant_id: int,
    known_at: dt.datetime,
    *,
    currency: str | None = None,
    account_ids: Sequence[int] | None = None,
) -> dict[Key, list[int]]:
    """[pending debit, pending credit] to add to today's pending totals for those at
    ``known_at``: less the holds written since and still open, plus the holds open then
    and closed since."""
    closed_since = await _changed_since(session, tenant_id, known_at, HOLD_CLOSING_EVENTS)
    which = and_(col(JournalEntry.created_at) > known_at, col(Hold.status) == PENDING)
    if closed_since:
        which = or_(which, col(JournalEntry.id).in_(sorted(closed_since)))
    query = (
        select_columns(
            col(JournalLine.entry_id),
            col(JournalLine.account_id),
            col(JournalLine.currency),
            col(Hold.held_json),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .join(Hold, col(Hold.entry_id) == col(JournalLine.entry_id))
        .where(col(JournalEntry.tenant_id) == tenant_id, which)
        .order_by(col(JournalLine.entry_id), col(JournalLine.line_no), col(JournalLine.id))
    )
    change: dict[Key, list[int]] = {}
    position: dict[int, int] = {}
    for entry_id, account_id, cur, held_json in (await session.execute(query)).all():
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
        gone = await late(session, tenant_id, known_at, currency=currency, journal_id=journal_id)
    return take_out(own, gone.sums(ranges)), gone
