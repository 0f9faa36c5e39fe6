"""Financial statements: hierarchical trial balance, balance sheet, income statement.

Every figure is a sum of posted movements per account and currency over one or
more date ranges, read in one query from the monthly and daily rollups
(app/ledger/period_sums.py) whatever the number of journal lines; the chart of
accounts is rolled up in memory (app/ledger/account_tree.py), and a valued statement
is converted by app/ledger/statement_valuation.py.
SCHEDULED entries have no day movements until they post, so they are left out
until then; backdated entries and reversals are in the day they are dated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import col

from app.ledger import valuation as fxv
from app.ledger.account_tree import Tree, load_chart
from app.ledger.accounts import AccountType, find_journal_id, net_of
from app.ledger.closing import CLOSING_SOURCE
from app.ledger.errors import BadInput
from app.ledger.fx import Rate
from app.ledger.known_at import Late, late_day_nets, movements_at
from app.ledger.money import check_currency
from app.ledger.period_sums import Key, Range, month_end, movements
from app.ledger.statement_valuation import day_nets, rate_list, value_end, value_then
from app.ledger.valuation import Method, Valuation
from db.engine import Database
from db.tables import Account, JournalEntry, JournalLine

MAX_COLUMNS = 24
BALANCE_SHEET_TYPES = (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)
INCOME_STATEMENT_TYPES = (AccountType.INCOME, AccountType.EXPENSE)


class Compare(StrEnum):
    NONE = "NONE"
    PREVIOUS_PERIOD = "PREVIOUS_PERIOD"
    MONTHLY = "MONTHLY"


# ---------------------------------------------------------------- sums and hierarchy


async def _closing_lines(
    db: Database, tenant_id: int, currency: str | None, late: Late | None = None
) -> list[tuple[Any, ...]]:
    """(account, currency, date, debit, credit) of the lines of year-end closing entries
    (those that counted at ``late.known_at``, with ``late``).

    Closing entries (and their reversals) carry the source
    ``closing``; a partial index finds the few there are without scanning entries.
    """
    entries = (
        select_columns(col(JournalEntry.id))
        .where(col(JournalEntry.tenant_id) == tenant_id, col(JournalEntry.source) == CLOSING_SOURCE)
        .where(*([] if late is None else late.counted_then()))
        .scalar_subquery()
    )
    query = select_columns(
        col(JournalLine.account_id),
        col(JournalLine.currency),
        col(JournalLine.date),
        col(JournalLine.debit_minor),
        col(JournalLine.credit_minor),
    ).where(col(JournalLine.entry_id).in_(entries))
    if currency is not None:
        query = query.where(col(JournalLine.currency) == currency)
    async with db.read() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]


async def _closing_movements(
    db: Database,
    tenant_id: int,
    ranges: Sequence[Range],
    currency: str | None,
    late: Late | None = None,
) -> dict[Key, list[int]]:
    """What year-end closing entries moved, shaped like ``_movements``.

    The income statement of a closed year shows it before closing: these are
    taken back out.
    """
    rows = await _closing_lines(db, tenant_id, currency, late)
    sums: dict[Key, list[int]] = {}
    for account_id, cur, day, debit, credit in rows:
        figures = sums.setdefault((account_id, cur), [0] * (2 * len(ranges)))
        for index, (start, end) in enumerate(ranges):
            if (start is None or day >= start) and (end is None or day <= end):
                figures[2 * index] += int(debit)
                figures[2 * index + 1] += int(credit)
    return sums


def check_depth(depth: int | None) -> int | None:
    if depth is not None and depth < 1:
        raise BadInput("depth must be at least 1", field="depth")
    return depth


def _check_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadInput("from must be on or before to", field="from")


def _day_before(date: dt.date | None) -> dt.date | None:
    return None if date is None else date - dt.timedelta(days=1)


async def _movements(
    db: Database,
    tenant_id: int,
    ranges: Sequence[Range],
    currency: str | None,
    known_at: dt.datetime | None,
    *,
    journal_id: int | None = None,
) -> tuple[dict[Key, list[int]], Late | None]:
    """``movements``, as known at ``known_at`` when given (with what was taken out)."""
    if known_at is None:
        return await movements(db, tenant_id, ranges, currency, journal_id=journal_id), None
    return await movements_at(db, tenant_id, ranges, currency, known_at, journal_id=journal_id)


async def _day_nets(
    db: Database, tenant_id: int, span: Range, currency: str | None, to: str, late: Late | None
) -> dict[tuple[int, str, dt.date], int]:
    """``day_nets``, less the lines of ``late`` (recorded after its moment)."""
    days = await day_nets(db, tenant_id, span, currency, to)
    if late is None:
        return days
    async with db.read() as session:
        taken = await late_day_nets(session, tenant_id, late, span, currency, to)
    for key, net in taken.items():
        days[key] = days.get(key, 0) - net
    return days


# ---------------------------------------------------------------- trial balance


@dataclass(frozen=True)
class TrialBalanceLine:
    """Debit-positive figures (debit - credit) of an account and its subtree."""

    account: Account
    level: int
    currency: str
    opening_minor: int
    debit_minor: int
    credit_minor: int

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor


@dataclass(frozen=True)
class TrialBalanceTotals:
    currency: str
    opening_minor: int
    debit_minor: int
    credit_minor: int

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor

    @property
    def balanced(self) -> bool:
        return self.opening_minor == 0 and self.debit_minor == self.credit_minor


@dataclass(frozen=True)
class TrialBalanceReport:
    date_from: dt.date | None
    date_to: dt.date | None
    depth: int | None
    rows: list[TrialBalanceLine]
    totals: list[TrialBalanceTotals]
    # The chart the rows were rolled up over (``subtree_balances``).
    tree: Tree = field(repr=False, compare=False)

    @property
    def balanced(self) -> bool:
        return all(total.balanced for total in self.totals)


def subtree_balances(
    report: TrialBalanceReport, current: Mapping[Key, Sequence[int]]
) -> dict[Key, list[int]]:
    """Figures per (account id, currency), such as the current posted and pending totals
    of ``balances.current_balances``, summed over each account's subtree as the report's
    rows are (docs/holds.md: the pending layers of the trial balance)."""
    return report.tree.roll_up({key: list(figures) for key, figures in current.items()})


async def trial_balance_report(
    db: Database,
    tenant_id: int,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    currency: str | None = None,
    depth: int | None = None,
    journal_id: object | None = None,
    journal_code: str | None = None,
    known_at: dt.datetime | None = None,
) -> TrialBalanceReport:
    """Opening balance (before ``date_from``), period debits and credits and closing balance
    (through ``date_to``) per account and currency, parents summing their subtree;
    accounts deeper than ``depth`` are folded into their ancestor at that depth. With a
    journal, every figure is of that journal's lines only (it still balances: each entry
    does). With ``known_at``, as known at that moment (app/ledger/known_at.py)."""
    if currency is not None:
        check_currency(currency)
    check_depth(depth)
    _check_range(date_from, date_to)
    ranges: list[Range] = [(None, _day_before(date_from)), (date_from, date_to)]
    if date_from is None:  # nothing is before the beginning
        ranges = [(date_from, date_to)]
    async with db.read() as session:
        journal = await find_journal_id(
            session, tenant_id, journal_id=journal_id, journal_code=journal_code
        )
    own, _ = await _movements(db, tenant_id, ranges, currency, known_at, journal_id=journal)
    if date_from is None:
        own = {key: [0, 0, *figures] for key, figures in own.items()}
    tree = Tree.of(await load_chart(db, tenant_id))
    rows = []
    for (account_id, cur), (od, oc, pd, pc) in tree.roll_up(own).items():
        level = tree.level[account_id]
        if (depth is None or level < depth) and (od - oc or pd or pc):
            rows.append(TrialBalanceLine(tree.accounts[account_id], level, cur, od - oc, pd, pc))
    rows.sort(key=lambda row: (row.currency, row.account.code))
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (_, cur), (od, oc, pd, pc) in own.items():
        sums[cur][0] += od - oc
        sums[cur][1] += pd
        sums[cur][2] += pc
    totals = [
        TrialBalanceTotals(cur, *figures)
        for cur, figures in sorted(sums.items())
        if any(figures) or cur == currency
    ]
    return TrialBalanceReport(date_from, date_to, depth, rows, totals, tree)


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class StatementRow:
    """An account's amounts (its subtree's, on the normal side of its type), per column."""

    account: Account
    level: int
    amounts: list[int]


@dataclass(frozen=True)
class StatementGroup:
    category: str | None
    rows: list[StatementRow]
    totals: list[int]


@dataclass(frozen=True)
class StatementSection:
    type: str
    groups: list[StatementGroup]
    totals: list[int]


def _section(
    tree: Tree,
    rolled: dict[Key, list[int]],
    account_type: str,
    currency: str,
    columns: int,
    depth: int | None,
) -> StatementSection:
    """The rows of one type: grouped by their top account's category, ordered by code.

    As in hledger's bs/is, an account whose amounts are all zero is left out, unless it
    is the parent of a row shown (the tree keeps its shape)."""
    by_category: dict[str | None, list[StatementRow]] = defaultdict(list)
    group_totals: dict[str | None, list[int]] = defaultdict(lambda: [0] * columns)
    candidates: dict[int, list[int]] = {}
    for account_id, account in tree.accounts.items():
        figures = rolled.get((account_id, currency))
        if account.type != account_type or figures is None:
            continue
        amounts = [net_of(account_type, figures[2 * i], figures[2 * i + 1]) for i in range(columns)]
        level = tree.level[account_id]
        if level == 0:
            total = group_totals[tree.accounts[account_id].category]
            for index, amount in enumerate(amounts):
                total[index] += amount
        if depth is None or level < depth:
            candidates[account_id] = amounts
    shown = {
        node
        for account_id, amounts in candidates.items()
        if any(amounts)
        for node in tree.ancestors(account_id)
        if node in candidates
    }
    for account_id in shown:
        top = tree.accounts[tree.top(account_id)]
        row = StatementRow(
            tree.accounts[account_id], tree.level[account_id], candidates[account_id]
        )
        by_category[top.category].append(row)
    groups = [
        StatementGroup(
            category,
            sorted(by_category[category], key=lambda row: row.account.code),
            group_totals[category],
        )
        for category in sorted(by_category, key=lambda name: (name is not None, name or ""))
    ]
    totals = [sum(group.totals[i] for group in groups) for i in range(columns)]
    return StatementSection(account_type, groups, totals)


def _currencies(own: dict[Key, list[int]], currency: str | None) -> list[str]:
    if currency is not None:
        return [currency]
    return sorted({cur for (_, cur), figures in own.items() if any(figures)})


# ---------------------------------------------------------------- valuation


@dataclass(frozen=True)
class ValuationResult:
    """How a valued report was converted: the rule, every rate used, and (balance sheet)
    the unrealised difference END - THEN of the asset and liability balances."""

    currency: str
    method: Method
    rule: str
    rates: list[Rate]
    unrealised_minor: int | None = None


@dataclass(frozen=True)
class BalanceSheet:
    """Amounts on their normal side; ``current_earnings`` is income - expenses through
    ``as_of`` not yet closed to equity."""

    as_of: dt.date | None
    currency: str
    assets: StatementSection
    liabilities: StatementSection
    equity: StatementSection
    current_earnings_minor: int
    valuation: ValuationResult | None = None

    @property
    def difference_minor(self) -> int:
        """assets - (liabilities + equity + current earnings): zero when it balances."""
        return self.assets.totals[0] - (
            self.liabilities.totals[0] + self.equity.totals[0] + self.current_earnings_minor
        )

    @property
    def balanced(self) -> bool:
        return self.difference_minor == 0


def _sheet(
    tree: Tree,
    accounts: dict[int, Account],
    own: dict[Key, list[int]],
    as_of: dt.date | None,
    cur: str,
    depth: int | None,
    valuation: ValuationResult | None = None,
) -> BalanceSheet:
    rolled = tree.roll_up(own)
    earnings = 0
    for (account_id, key_currency), (debit, credit) in own.items():
        account = accounts.get(account_id)
        if key_currency == cur and account and account.type in INCOME_STATEMENT_TYPES:
            earnings += credit - debit  # income minus expenses
    assets, liabilities, equity = (
        _section(tree, rolled, kind, cur, 1, depth) for kind in BALANCE_SHEET_TYPES
    )
    return BalanceSheet(as_of, cur, assets, liabilities, equity, earnings, valuation)


def _monetary(accounts: dict[int, Account], valued: dict[Key, list[int]]) -> int:
    """Assets - liabilities (on their normal sides) of a valued statement."""
    total = 0
    for (account_id, _), (debit, credit) in valued.items():
        account = accounts.get(account_id)
        if account is not None and account.type == AccountType.ASSET:
            total += net_of(account.type, debit, credit)
        elif account is not None and account.type == AccountType.LIABILITY:
            total -= net_of(account.type, debit, credit)
    return total


async def balance_sheet(
    db: Database,
    tenant_id: int,
    *,
    as_of: dt.date | None = None,
    currency: str | None = None,
    depth: int | None = None,
    valuation: Valuation | None = None,
    known_at: dt.datetime | None = None,
) -> list[BalanceSheet]:
    """One sheet per currency with balances through ``as_of`` (or the one asked for);
    with ``valuation``, then one more: every currency's balances in that currency. With
    ``known_at``, as known at that moment."""
    if currency is not None:
        check_currency(currency)
    check_depth(depth)
    if valuation is not None:
        valuation.checked()
    own, late = await _movements(db, tenant_id, [(None, as_of)], currency, known_at)
    accounts = await load_chart(db, tenant_id)
    tree = Tree.of(accounts, same_type=True)
    sheets = [_sheet(tree, accounts, own, as_of, cur, depth) for cur in _currencies(own, currency)]
    if valuation is not None:
        to = valuation.currency
        # No date: the balances of everything posted, at today's rate.
        end = as_of if as_of is not None else dt.date.today()
        at_end, end_rates = await value_end(db, tenant_id, own, [end], to)
        days = await _day_nets(db, tenant_id, (None, as_of), currency, to, late)
        then, then_rates = await value_then(db, tenant_id, own, [(None, as_of)], days, to)
        result = ValuationResult(
            to,
            valuation.method,
            fxv.RULES[valuation.method],
            rate_list(end_rates + then_rates),
            _monetary(accounts, at_end) - _monetary(accounts, then),
        )
        valued = at_end if valuation.method is Method.END else then
        sheets.append(_sheet(tree, accounts, valued, as_of, to, depth, result))
    return sheets


@dataclass(frozen=True)
class Column:
    date_from: dt.date
    date_to: dt.date


@dataclass(frozen=True)
class IncomeStatement:
    currency: str
    columns: list[Column]
    income: StatementSection
    expenses: StatementSection
    valuation: ValuationResult | None = None

    @property
    def net_income(self) -> list[int]:
        return [i - e for i, e in zip(self.income.totals, self.expenses.totals, strict=True)]


def _add_months(date: dt.date, months: int) -> dt.date:
    index = date.year * 12 + date.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def columns_of(date_from: dt.date, date_to: dt.date, compare: Compare) -> list[Column]:
    """The periods of an income statement, oldest first.

    PREVIOUS_PERIOD: the period of the same length just before; whole calendar
    months compare with as many calendar months before, else the same number of days.
    MONTHLY: calendar months, the first and last cut to the range.
    """
    _check_range(date_from, date_to)
    if compare is Compare.NONE:
        return [Column(date_from, date_to)]
    if compare is Compare.PREVIOUS_PERIOD:
        if date_from.day == 1 and date_to == month_end(date_to):
            months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
            start = _add_months(date_from, -months)
            previous = Column(start, date_from - dt.timedelta(days=1))
        else:
            length = date_to - date_from
            end = date_from - dt.timedelta(days=1)
            previous = Column(end - length, end)
        return [previous, Column(date_from, date_to)]
    months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
    if months > MAX_COLUMNS:
        raise BadInput(
            f"MONTHLY gives at most {MAX_COLUMNS} columns; this range has {months} months",
            field="to",
        )
    columns = []
    start = date_from
    while start <= date_to:
        end = min(month_end(start), date_to)
        columns.append(Column(start, end))
        start = end + dt.timedelta(days=1)
    return columns


async def income_statement(
    db: Database,
    tenant_id: int,
    *,
    date_from: dt.date,
    date_to: dt.date,
    currency: str | None = None,
    compare: Compare = Compare.NONE,
    depth: int | None = None,
    valuation: Valuation | None = None,
    known_at: dt.datetime | None = None,
) -> list[IncomeStatement]:
    """Income and expenses per column, one statement per currency (or the one asked for);
    with ``valuation``, then one more: every currency's figures in that currency."""
    if currency is not None:
        check_currency(currency)
    check_depth(depth)
    if valuation is not None:
        valuation.checked()
    columns = columns_of(date_from, date_to, compare)
    ranges: list[Range] = [(column.date_from, column.date_to) for column in columns]
    accounts = await load_chart(db, tenant_id)
    moved, late = await _movements(db, tenant_id, ranges, currency, known_at)
    closing = await _closing_movements(db, tenant_id, ranges, currency, late)
    zero = [0] * (2 * len(ranges))
    own = {
        key: [value - taken for value, taken in zip(figures, closing.get(key, zero), strict=True)]
        for key, figures in moved.items()
        if key[0] in accounts and accounts[key[0]].type in INCOME_STATEMENT_TYPES
    }
    tree = Tree.of(accounts, same_type=True)
    rolled = tree.roll_up(own)
    statements = []
    for cur in _currencies(own, currency):
        income, expenses = (
            _section(tree, rolled, kind, cur, len(columns), depth)
            for kind in INCOME_STATEMENT_TYPES
        )
        statements.append(IncomeStatement(cur, columns, income, expenses))
    if valuation is not None:
        statements.append(
            await _valued_income_statement(
                db, tenant_id, accounts, tree, own, columns, depth, valuation, currency, late
            )
        )
    return statements


async def _valued_income_statement(
    db: Database,
    tenant_id: int,
    accounts: dict[int, Account],
    tree: Tree,
    own: dict[Key, list[int]],
    columns: list[Column],
    depth: int | None,
    valuation: Valuation,
    currency: str | None,
    late: Late | None,
) -> IncomeStatement:
    to = valuation.currency
    ranges: list[Range] = [(column.date_from, column.date_to) for column in columns]
    if valuation.method is Method.END:
        ends = [column.date_to for column in columns]
        valued, rates = await value_end(db, tenant_id, own, ends, to)
    else:
        span: Range = (columns[0].date_from, columns[-1].date_to)
        days = {
            key: net
            for key, net in (await _day_nets(db, tenant_id, span, currency, to, late)).items()
            if key[0] in accounts and accounts[key[0]].type in INCOME_STATEMENT_TYPES
        }
        closing_lines = await _closing_lines(db, tenant_id, currency, late)
        for account_id, cur, day, debit, credit in closing_lines:
            key = (account_id, cur, day)
            if cur != to and key in days:
                days[key] -= int(debit) - int(credit)
        valued, rates = await value_then(db, tenant_id, own, ranges, days, to)
    result = ValuationResult(to, valuation.method, fxv.RULES[valuation.method], rate_list(rates))
    rolled = tree.roll_up(valued)
    income, expenses = (
        _section(tree, rolled, kind, to, len(columns), depth) for kind in INCOME_STATEMENT_TYPES
    )
    return IncomeStatement(to, columns, income, expenses, result)
