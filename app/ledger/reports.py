"""Reading the books: accounts, balances, entries, general ledger, trial balance.

Balances come from the maintained tables (``account_balances`` for now,
``balance_days`` for a past date), never from scanning journal lines.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import BigInteger, Date, func, literal, tuple_
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.accounts import net_of
from app.ledger.entries import POSTED, REVERSED, SCHEDULED
from app.ledger.errors import BadInput, LedgerError, NotFound
from app.ledger.money import check_currency
from app.ledger.posting import EntryView, load_entries
from app.ledger.text import check_lookup
from app.ledger.validation import parse_id
from db.engine import Database
from db.tables import (
    Account,
    AccountBalance,
    BalanceDay,
    Event,
    Journal,
    JournalEntry,
    JournalLine,
)

MAX_PAGE = 500
_CURSOR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
T = TypeVar("T")


def encode_cursor(*parts: object) -> str:
    text = "|".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, kinds: tuple[type, ...], field: str = "after") -> tuple[Any, ...]:
    """The parts of a cursor made by ``encode_cursor``, converted to ``kinds``.

    Each part must be what ``encode_cursor`` writes of its kind: an id (1 to 2^63-1),
    a YYYY-MM-DD date, or a text the text rule allows. Anything else, decoded or
    not, is the client's mistake, never a failed query.
    """
    invalid = BadInput("the cursor is not valid", field=field)
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (ValueError, UnicodeError):
        raise invalid from None
    parts = text.split("|")
    if len(parts) != len(kinds):
        raise invalid
    try:
        return tuple(_cursor_part(part, kind) for part, kind in zip(parts, kinds, strict=True))
    except (ValueError, LedgerError):
        raise invalid from None


def _cursor_part(part: str, kind: type) -> object:
    if kind is int:
        return parse_id(part)
    if kind is dt.date:
        if not _CURSOR_DATE.fullmatch(part):
            raise ValueError(part)
        return dt.date.fromisoformat(part)
    return check_lookup(part, field="after")


def check_page_size(first: int) -> int:
    if first < 1 or first > MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    return first


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    cursors: list[str]


@dataclass(frozen=True)
class Balance:
    currency: str
    debit_minor: int
    credit_minor: int
    net_minor: int


# ---------------------------------------------------------------- accounts


async def find_account(
    session: AsyncSession, tenant_id: int, code: str, field: str = "code"
) -> Account:
    check_lookup(code, field=field, what="account code")
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
    )
    if account is None:
        raise NotFound(f"account {code} does not exist", field=field)
    return account


async def get_account(db: Database, tenant_id: int, code: str) -> Account | None:
    check_lookup(code, field="code", what="account code")
    async with db.read() as session:
        return await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
        )


async def list_accounts(
    db: Database,
    tenant_id: int,
    *,
    type: str | None = None,
    active: bool | None = None,
    first: int = 100,
    after: str | None = None,
) -> Page[Account]:
    """Accounts ordered by code, keyset-paginated on the code."""
    check_page_size(first)
    query = select(Account).where(col(Account.tenant_id) == tenant_id)
    if type is not None:
        query = query.where(col(Account.type) == type)
    if active is True:
        query = query.where(col(Account.deactivated_at).is_(None))
    elif active is False:
        query = query.where(col(Account.deactivated_at).is_not(None))
    if after:
        (code,) = decode_cursor(after, (str,))
        query = query.where(col(Account.code) > code)
    async with db.read() as session:
        rows = list(
            (await session.scalars(query.order_by(col(Account.code)).limit(first + 1))).all()
        )
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.code) for item in items])


async def balances_by_account(
    db: Database,
    tenant_id: int,
    *,
    as_of: dt.date | None = None,
    currency: str | None = None,
    account_ids: list[int] | None = None,
) -> dict[tuple[int, str], tuple[int, int]]:
    """Posted (debit, credit) totals per (account id, currency)."""
    if currency is not None:
        check_currency(currency)
    if as_of is None:
        table: Any = AccountBalance
        query = select(
            table.account_id, table.currency, table.debit_minor, table.credit_minor
        ).where(table.tenant_id == tenant_id)
    else:
        table = BalanceDay
        query = (
            select(
                table.account_id,
                table.currency,
                func.sum(table.debit_minor),
                func.sum(table.credit_minor),
            )
            .where(table.tenant_id == tenant_id, table.day <= as_of)
            .group_by(table.account_id, table.currency)
        )
    if currency is not None:
        query = query.where(table.currency == currency)
    if account_ids is not None:
        query = query.where(table.account_id.in_(account_ids))
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    # asyncpg returns SUM(bigint) as Decimal: make every total an int.
    return {(row[0], row[1]): (int(row[2] or 0), int(row[3] or 0)) for row in rows}


# ---------------------------------------------------------------- entries


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
) -> Page[EntryView]:
    """Entries in ``order`` (DATE: by (date, id); DATE_DESC, ID, ID_DESC), keyset-paginated;
    SCHEDULED ones too unless ``status`` keeps one status; ``ids`` and ``journal_ids``
    keep those listed. A cursor is good for its own order only."""
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
    async with db.read() as session:
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


_STATUSES = (POSTED, SCHEDULED, REVERSED)
ENTRY_ORDERS = ("DATE", "DATE_DESC", "ID", "ID_DESC")

# The columns of ix_journal_entries_tenant_date, the order of the DATE listings.
_ENTRY_DATE_KEY = (col(JournalEntry.tenant_id), col(JournalEntry.date), col(JournalEntry.id))
_MAX_ID = 2**63 - 1


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
    high: tuple[dt.date, int] = (date_to or dt.date.max, _MAX_ID)
    if after:
        date, entry_id = decode_cursor(after, (dt.date, int))
        if descending:
            high = min(high, (date, entry_id - 1))
        else:
            low = max(low, (date, entry_id))
    return (
        tuple_(*_ENTRY_DATE_KEY) > tuple_(*_typed_key(tenant_id, *low)),
        tuple_(*_ENTRY_DATE_KEY) <= tuple_(*_typed_key(tenant_id, *high)),
    )


def _typed_key(owner_id: int, date: dt.date, row_id: int) -> tuple[Any, ...]:
    """Bound values of a row-value bound, typed as the index columns are (asyncpg
    otherwise binds an int as INTEGER, too small for a BIGINT id)."""
    return (literal(owner_id, BigInteger), literal(date, Date), literal(row_id, BigInteger))


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


# ---------------------------------------------------------------- general ledger


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
                col(JournalEntry.status) != SCHEDULED,
                *conditions,
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


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
                tuple_(*key) > tuple_(*_typed_key(account_id, *start)),
                tuple_(*key) <= tuple_(*_typed_key(account_id, date_to or dt.date.max, _MAX_ID)),
                # A scheduled entry's lines are stored, but it has not moved the account.
                col(JournalEntry.status) != SCHEDULED,
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


async def find_journal_id(
    session: AsyncSession,
    tenant_id: int,
    *,
    journal_id: object | None = None,
    journal_code: str | None = None,
) -> int | None:
    """The id of the tenant's journal given by id or by code (at most one of them)."""
    if journal_id is None and journal_code is None:
        return None
    if journal_id is not None and journal_code is not None:
        raise BadInput("give at most one of journalId and journalCode", field="journalCode")
    query = select(col(Journal.id)).where(col(Journal.tenant_id) == tenant_id)
    if journal_id is not None:
        field = "journalId"
        query = query.where(col(Journal.id) == parse_id(journal_id, field=field))
    else:
        field = "journalCode"
        query = query.where(
            col(Journal.code) == check_lookup(journal_code or "", field=field, what="journal code")
        )
    found = await session.scalar(query)
    if found is None:
        raise NotFound("the journal does not exist", field=field)
    return int(found)


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
) -> GeneralLedger:
    """Lines of one account with a running balance, keyset-paginated on (date, line id).

    The balance before a page is the day movements before the cursor's date plus
    the lines of that date up to the cursor: no scan of earlier lines. With a journal,
    only that journal's lines are listed and every balance is of those lines.
    """
    check_page_size(first)
    async with db.read() as session:
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
) -> GeneralLedger:
    """``general_ledger`` in a session of the caller's, any page size (exports read
    pages larger than a client may ask for)."""
    account = await find_account(session, tenant_id, account_code, "accountCode")
    assert account.id is not None
    account_id: int = account.id
    cur = check_currency(currency or account.currency or default_currency)

    async def sums_before(date: dt.date) -> tuple[int, int]:
        if journal_id is None:
            return await _sum_days(session, account_id, cur, date)
        return await _sum_lines(session, account_id, cur, journal_id, col(JournalLine.date) < date)

    opening = net_of(account.type, *await sums_before(date_from or dt.date.min))
    if journal_id is None:
        closing_sums = await _sum_days(session, account.id, cur, through=date_to)
    else:
        closing_sums = await _sum_lines(
            session,
            account.id,
            cur,
            journal_id,
            *([col(JournalLine.date) <= date_to] if date_to else []),
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
                    col(JournalEntry.status) != SCHEDULED,
                    *([col(JournalEntry.journal_id) == journal_id] if journal_id else []),
                )
            )
        ).one()
        running = net_of(
            account.type, debit + int(same_day[0] or 0), credit + int(same_day[1] or 0)
        )
    rows = await _ledger_rows(session, account.id, cur, start, date_to, journal_id, first + 1)
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


# ---------------------------------------------------------------- trial balance


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class TrialBalanceTotal:
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class TrialBalance:
    as_of: dt.date | None
    rows: list[TrialBalanceRow]
    totals: list[TrialBalanceTotal]

    @property
    def balanced(self) -> bool:
        return all(total.debit_minor == total.credit_minor for total in self.totals)


async def trial_balance(
    db: Database, tenant_id: int, *, as_of: dt.date | None = None, currency: str | None = None
) -> TrialBalance:
    """Posted debit and credit totals per account and currency, with totals per currency."""
    totals = await balances_by_account(db, tenant_id, as_of=as_of, currency=currency)
    async with db.read() as session:
        accounts = {
            account.id: account
            for account in await session.scalars(
                select(Account).where(col(Account.tenant_id) == tenant_id)
            )
        }
    rows = [
        TrialBalanceRow(accounts[account_id], cur, debit, credit)
        for (account_id, cur), (debit, credit) in totals.items()
        if debit or credit
    ]
    rows.sort(key=lambda row: (row.currency, row.account.code))
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        sums[row.currency][0] += row.debit_minor
        sums[row.currency][1] += row.credit_minor
    return TrialBalance(
        as_of=as_of,
        rows=rows,
        totals=[TrialBalanceTotal(cur, d, c) for cur, (d, c) in sorted(sums.items())],
    )


# ---------------------------------------------------------------- events


async def list_events(
    db: Database, tenant_id: int, *, first: int = 100, after: str | None = None
) -> Page[Event]:
    """Events oldest first, keyset-paginated on their id."""
    check_page_size(first)
    query = select(Event).where(col(Event.tenant_id) == tenant_id)
    if after:
        (event_id,) = decode_cursor(after, (int,))
        query = query.where(col(Event.id) > event_id)
    async with db.read() as session:
        rows = list((await session.scalars(query.order_by(col(Event.id)).limit(first + 1))).all())
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.id) for item in items])
