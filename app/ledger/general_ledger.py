"""The general ledger of an account: its lines with a running balance, page by page.

A page's opening balance is read from the day movements (``balance_days``) and the
lines of the cursor's date up to the cursor, never by scanning earlier lines; with a
journal, from that journal's lines only. The CSV export reads the same pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.accounts import find_account, find_journal_id, net_of
from app.ledger.entries import UNPOSTED
from app.ledger.errors import BadInput
from app.ledger.known_at import late, late_sums, snapshot
from app.ledger.money import check_currency
from app.ledger.paging import (
    MAX_ROW_ID,
    Page,
    check_page_size,
    decode_cursor,
    encode_cursor,
    typed_key,
)
from app.ledger.period_sums import Range
from db.engine import Database
from db.tables import Account, BalanceDay, JournalEntry, JournalLine


@dataclass(frozen=True)
class LedgerLine:
    line_id: int
    entry_id: int
    entry_number: str
    date: dt.date
    memo: str
    description: str | None
    debit_minor: int
    credit_minor: int
    running_minor: int


@dataclass(frozen=True)
class GeneralLedger:
    account: Account
    currency: str
    opening_minor: int  # net before ``date_from`` (zero without one)
    closing_minor: int  # net through ``date_to`` (everything posted without one)
    page: Page[LedgerLine]
    journal_id: int | None = None  # set when the lines are those of one journal


async def _sum_days(
    session: AsyncSession,
    account_id: int,
    currency: str,
    before: dt.date | None = None,
    *,
    through: dt.date | None = None,
) -> tuple[int, int]:
    """Posted (debit, credit) of the account from its day movements, before ``before``
    or through ``through`` (all days when neither is given)."""
    query = select(
        func.sum(col(BalanceDay.debit_minor)), func.sum(col(BalanceDay.credit_minor))
    ).where(col(BalanceDay.account_id) == account_id, col(BalanceDay.currency) == currency)
    if before is not None:
        query = query.where(col(BalanceDay.day) < before)
    if through is not None:
        query = query.where(col(BalanceDay.day) <= through)
    row = (await session.execute(query)).one()
    return int(row[0] or 0), int(row[1] or 0)


async def _sum_lines(
    session: AsyncSession, account_id: int, currency: str, journal_id: int, *conditions: Any
) -> tuple[int, int]:
    """Posted (debit, credit) of the account's lines in one journal: balance_days has no
    journal, so a filtered balance is an aggregate over the filtered lines (an index range
    of ix_journal_lines_account_date, each line joined to its entry)."""
    row = (
        await session.execute(
            select(func.sum(col(JournalLine.debit_minor)), func.sum(col(JournalLine.credit_minor)))
            .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
            .where(
                col(JournalLine.account_id) == account_id,
                col(JournalLine.currency) == currency,
                col(JournalEntry.journal_id) == journal_id,
                col(JournalEntry.status).not_in(UNPOSTED),
                *conditions,
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


_DAY = dt.timedelta(days=1)

# Lines read per statement of a general-ledger page: the LIMIT keeps the index walk the
# cheaper plan on a small table too (see _ledger_rows); larger pages take several reads.
_LEDGER_READ = 101


async def _ledger_rows(
    session: AsyncSession,
    account_id: int,
    currency: str,
    start: tuple[dt.date, int],
    date_to: dt.date | None,
    journal_id: int | None,
    limit: int,
    visible: Sequence[Any] = (),
) -> list[Any]:
    """(line, entry number, memo) of the account's posted lines in ``currency`` after
    ``start`` (date, line id) through ``date_to``, by (date, id), at most ``limit``.

    The plan must walk ix_journal_lines_account_date from ``start`` whatever the
    statistics (a bulk load leaves none). With ``account_id = ? AND currency = ?``
    PostgreSQL's default selectivities predict a handful of rows, the LIMIT then saves
    nothing, and it sorts every line of the account (each joined to its entry). So the
    range is two row-value bounds on the index's own columns, ordered by those columns:
    each bound is taken for a third of the table and the LIMIT makes the walk the
    cheaper plan. The currency is checked here (most accounts have one); a read that
    holds another currency is read again with the currency in SQL.
    """
    key = (col(JournalLine.account_id), col(JournalLine.date), col(JournalLine.id))
    rows: list[Any] = []
    while len(rows) < limit:
        size = min(limit - len(rows), _LEDGER_READ)
        query = (
            select(JournalLine, col(JournalEntry.number), col(JournalEntry.memo))
            .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
            .where(
                tuple_(*key) > tuple_(*typed_key(account_id, *start)),
                tuple_(*key) <= tuple_(*typed_key(account_id, date_to or dt.date.max, MAX_ROW_ID)),
                # A scheduled entry's lines are stored, but it has not moved the account.
                col(JournalEntry.status).not_in(UNPOSTED),
                *visible,
            )
            .order_by(*key)
            .limit(size)
        )
        if journal_id is not None:
            query = query.where(col(JournalEntry.journal_id) == journal_id)
        read = (await session.execute(query)).all()
        if any(line.currency != currency for line, _, _ in read):
            read = (await session.execute(query.where(col(JournalLine.currency) == currency))).all()
        rows.extend(read)
        if len(read) < size:
            break
        last: JournalLine = read[-1][0]
        start = (last.date, cast(int, last.id))
    return rows


async def general_ledger(
    db: Database,
    tenant_id: int,
    account_code: str,
    *,
    currency: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    first: int = 100,
    after: str | None = None,
    default_currency: str,
    journal_id: object | None = None,
    journal_code: str | None = None,
    known_at: dt.datetime | None = None,
) -> GeneralLedger:
    """Lines of one account with a running balance, keyset-paginated on (date, line id).

    The balance before a page is the day movements before the cursor's date plus
    the lines of that date up to the cursor: no scan of earlier lines. With a journal,
    only that journal's lines are listed and every balance is of those lines. With
    ``known_at``, as known at that moment (app/ledger/known_at.py).
    """
    check_page_size(first)
    async with snapshot(db, known_at is not None) as session:
        return await general_ledger_page(
            session,
            tenant_id,
            account_code,
            currency=currency,
            date_from=date_from,
            date_to=date_to,
            first=first,
            after=after,
            default_currency=default_currency,
            journal_id=await find_journal_id(
                session, tenant_id, journal_id=journal_id, journal_code=journal_code
            ),
            known_at=known_at,
        )


async def general_ledger_page(
    session: AsyncSession,
    tenant_id: int,
    account_code: str,
    *,
    currency: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    first: int,
    after: str | None,
    default_currency: str,
    journal_id: int | None = None,
    known_at: dt.datetime | None = None,
) -> GeneralLedger:
    """``general_ledger`` in a session of the caller's, any page size (exports read
    pages larger than a client may ask for). With ``known_at``, the lines and balances
    as they stood then: the day movements less the lines recorded since, and the lines
    of the entries that counted then (a session of ``known_at.snapshot`` keeps both
    reads consistent)."""
    account = await find_account(session, tenant_id, account_code, "accountCode")
    assert account.id is not None
    account_id: int = account.id
    cur = check_currency(currency or account.currency or default_currency)
    gone = None if known_at is None else await late(session, tenant_id, known_at)
    visible = [] if gone is None else gone.counted_then()

    async def less_late(sums: tuple[int, int], bounds: Range) -> tuple[int, int]:
        if gone is None:
            return sums
        taken = await late_sums(
            session, tenant_id, gone, [bounds], currency=cur, account_id=account_id
        )
        debit, credit = taken.get((account_id, cur), [0, 0])
        return sums[0] - debit, sums[1] - credit

    async def sums_before(date: dt.date) -> tuple[int, int]:
        if journal_id is None:
            if date == dt.date.min:  # nothing is before the beginning
                return 0, 0
            before = await _sum_days(session, account_id, cur, date)
            return await less_late(before, (None, date - _DAY))
        return await _sum_lines(
            session, account_id, cur, journal_id, col(JournalLine.date) < date, *visible
        )

    opening = net_of(account.type, *await sums_before(date_from or dt.date.min))
    if journal_id is None:
        closing_sums = await less_late(
            await _sum_days(session, account.id, cur, through=date_to), (None, date_to)
        )
    else:
        closing_sums = await _sum_lines(
            session,
            account.id,
            cur,
            journal_id,
            *([col(JournalLine.date) <= date_to] if date_to else []),
            *visible,
        )
    closing = net_of(account.type, *closing_sums)
    if date_from and date_to and date_to < date_from:
        closing = opening  # an empty range moves nothing
    start: tuple[dt.date, int] = (date_from or dt.date.min, 0)  # line ids start at 1
    running = opening
    if after:
        date, line_id = decode_cursor(after, (dt.date, int))
        if date_from and date < date_from:
            raise BadInput("the cursor is before the start of the range", field="after")
        start = (date, line_id)
        debit, credit = await sums_before(date)
        same_day = (
            await session.execute(
                select(
                    func.sum(col(JournalLine.debit_minor)),
                    func.sum(col(JournalLine.credit_minor)),
                )
                .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
                .where(
                    col(JournalLine.account_id) == account.id,
                    col(JournalLine.currency) == cur,
                    col(JournalLine.date) == date,
                    col(JournalLine.id) <= line_id,
                    col(JournalEntry.status).not_in(UNPOSTED),
                    *([col(JournalEntry.journal_id) == journal_id] if journal_id else []),
                    *visible,
                )
            )
        ).one()
        running = net_of(
            account.type, debit + int(same_day[0] or 0), credit + int(same_day[1] or 0)
        )
    rows = await _ledger_rows(
        session, account.id, cur, start, date_to, journal_id, first + 1, visible
    )
    items: list[LedgerLine] = []
    for line, number, memo in rows[:first]:
        assert line.id is not None
        running += net_of(account.type, line.debit_minor, line.credit_minor)
        items.append(
            LedgerLine(
                line_id=line.id,
                entry_id=line.entry_id,
                entry_number=number,
                date=line.date,
                memo=memo,
                description=line.description,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                running_minor=running,
            )
        )
    has_next = len(rows) > first
    return GeneralLedger(
        account=account,
        currency=cur,
        opening_minor=opening,
        closing_minor=closing,
        page=Page(items, has_next, [encode_cursor(i.date, i.line_id) for i in items]),
        journal_id=journal_id,
    )
