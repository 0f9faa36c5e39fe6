"""Posted movements per account and currency over date ranges, read from the rollups.

``balance_months`` holds each account's movements per calendar month and
``balance_days`` per day, both written by every posting (rollups.py). A range is read
as the whole months it covers plus the days of the partial months at its edges, so a
sum reads about accounts x (months + edge days) rows, whatever the number of journal
lines or of days with postings (summing days alone grew with accounts x days: five
times slower at 1M lines than at 10k).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal_column, or_, union_all
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.ledger.entries import UNPOSTED
from db.engine import Database
from db.tables import BalanceDay, BalanceMonth, JournalEntry, JournalLine

Bound = dt.date | None  # None: unbounded on that side
Range = tuple[Bound, Bound]  # inclusive
Key = tuple[int, str]  # (account id, currency)

_MONTH, _DAY = 0, 1  # which rollup a row comes from


def month_end(date: dt.date) -> dt.date:
    return next_month(date) - dt.timedelta(days=1)


def next_month(date: dt.date) -> dt.date:
    """The first day of the month after ``date``'s."""
    return (date.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Parts:
    """A range as whole months (first days, inclusive) and the days around them."""

    months: Range | None
    days: tuple[Range, ...]


def split(start: Bound, end: Bound) -> Parts:
    first = None if start is None else start if start.day == 1 else next_month(start)
    if end is None:
        last = None
    elif end == month_end(end):
        last = end.replace(day=1)
    else:
        last = (end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if first is not None and last is not None and first > last:
        return Parts(months=None, days=((start, end),))  # within one or two partial months
    days: list[Range] = []
    if start is not None and first is not None and start < first:
        days.append((start, first - dt.timedelta(days=1)))
    if end is not None and last is not None and end > month_end(last):
        days.append((month_end(last) + dt.timedelta(days=1), end))
    return Parts(months=(first, last), days=tuple(days))


def merge(ranges: Sequence[Range]) -> list[Range]:
    """The union of ``ranges`` as disjoint ranges: no row is read twice."""

    def low(bound: Range) -> dt.date:
        return bound[0] or dt.date.min

    merged: list[Range] = []
    for start, end in sorted(ranges, key=low):
        if merged:
            previous_start, previous_end = merged[-1]
            if previous_end is None or start is None or start <= previous_end:
                wider = None if previous_end is None or end is None else max(previous_end, end)
                merged[-1] = (previous_start, wider)
                continue
        merged.append((start, end))
    return merged


def _within(column: Any, bounds: Range) -> Any:
    start, end = bounds
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(True, *conditions)


async def movements(
    db: Database,
    tenant_id: int,
    ranges: Sequence[Range],
    currency: str | None,
    *,
    journal_id: int | None = None,
) -> dict[Key, list[int]]:
    """[debit, credit] per range, flattened, per (account, currency): one query."""
    if not ranges:
        return {}
    async with db.read() as session:
        return await read_sums(
            session, movements_query(tenant_id, ranges, currency, journal_id=journal_id)
        )


def movements_query(
    tenant_id: int, ranges: Sequence[Range], currency: str | None, *, journal_id: int | None
) -> Any:
    """The query of ``movements`` (``ranges`` not empty), for a caller's session."""
    if journal_id is not None:
        return _journal_movements(tenant_id, journal_id, ranges, currency)
    parts = [split(start, end) for start, end in ranges]
    reads: list[Any] = []
    for table, date_column, kind, wanted in (
        (BalanceMonth, col(BalanceMonth.month), _MONTH, [p.months for p in parts if p.months]),
        (BalanceDay, col(BalanceDay.day), _DAY, [day for p in parts for day in p.days]),
    ):
        for bounds in merge(wanted):
            read: Any = select_columns(
                col(table.account_id).label("account_id"),
                col(table.currency).label("currency"),
                date_column.label("period_date"),
                literal_column(str(kind)).label("kind"),
                col(table.debit_minor).label("debit"),
                col(table.credit_minor).label("credit"),
            ).where(col(table.tenant_id) == tenant_id, _within(date_column, bounds))
            if currency is not None:
                read = read.where(col(table.currency) == currency)
            reads.append(read)
    rows = union_all(*reads).subquery() if len(reads) > 1 else reads[0].subquery()
    sums: list[Any] = []
    for part in parts:
        conditions = [
            and_(rows.c.kind == _DAY, _within(rows.c.period_date, day)) for day in part.days
        ]
        if part.months is not None:
            conditions.append(and_(rows.c.kind == _MONTH, _within(rows.c.period_date, part.months)))
        for amount in (rows.c.debit, rows.c.credit):
            sums.append(func.sum(case((or_(*conditions), amount), else_=0)))
    return select_columns(rows.c.account_id, rows.c.currency, *sums).group_by(
        rows.c.account_id, rows.c.currency
    )


def _journal_movements(
    tenant_id: int, journal_id: int, ranges: Sequence[Range], currency: str | None
) -> Any:
    """The same sums over one journal's lines: the rollups have no journal, so these read
    every posted line of the journal in the ranges (time grows with that journal's lines)."""
    on = col(JournalLine.date)
    sums: list[Any] = []
    for bounds in ranges:
        for amount in (col(JournalLine.debit_minor), col(JournalLine.credit_minor)):
            sums.append(func.sum(case((_within(on, bounds), amount), else_=0)))
    query: Any = (
        select_columns(col(JournalLine.account_id), col(JournalLine.currency), *sums)
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(
            col(JournalLine.tenant_id) == tenant_id,
            col(JournalEntry.tenant_id) == tenant_id,
            col(JournalEntry.journal_id) == journal_id,
            col(JournalEntry.status).not_in(UNPOSTED),
            or_(*(_within(on, bounds) for bounds in merge(ranges))),
        )
        .group_by(col(JournalLine.account_id), col(JournalLine.currency))
    )
    if currency is not None:
        query = query.where(col(JournalLine.currency) == currency)
    return query


async def read_sums(session: AsyncSession, query: Any) -> dict[Key, list[int]]:
    """The sums a ``movements_query`` reads, per (account, currency)."""
    found = (await session.execute(query)).all()
    # asyncpg returns SUM(bigint) as Decimal: every figure becomes an int.
    return {(row[0], row[1]): [int(value or 0) for value in row[2:]] for row in found}
