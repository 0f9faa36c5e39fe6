"""hledger agrees with our statements: on a generated ledger exported as a journal,
``hledger balancesheet`` / ``balancesheetequity`` and ``incomestatement`` print, per
account (subtree sums) and per commodity, the figures of our balance sheet and income
statement, and their totals; both equal sums the test computes from what it posted.

The export writes account codes as hledger account names, after an ``account``
directive per used account that declares its type (``account 1000  ; type: A``).
Two charts: hledger's own names (``assets:bank``...), each account's parent the
prefix of its name, where hledger could also infer types and the hierarchy from
the names; and numeric codes (1000, 4000), where it knows the types only from
the directives. The numeric chart is flat: hledger's hierarchy is in the names,
so a ledgerql parent that is not a name prefix (1100 under 1000) is none for
hledger, and the two would sum subtrees differently.

Skips when ``hledger`` is not on PATH, except with LEDGERQL_REQUIRE_HLEDGER=1 (CI).
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, posting, statements
from app.ledger.money import from_minor, to_minor
from app.ledger.statements import StatementSection
from db.engine import Database
from tests.conftest import make_tenant
from tests.test_export import export_text

# code (an hledger account name), type, parent code
Chart = list[tuple[str, str, str | None]]
NAMED: Chart = [
    ("assets", "ASSET", None),
    ("assets:bank", "ASSET", "assets"),
    ("assets:bank:checking", "ASSET", "assets:bank"),
    ("assets:cash", "ASSET", "assets"),
    ("liabilities", "LIABILITY", None),
    ("liabilities:card", "LIABILITY", "liabilities"),
    ("equity", "EQUITY", None),
    ("equity:capital", "EQUITY", "equity"),
    ("income", "INCOME", None),
    ("income:sales", "INCOME", "income"),
    ("income:sales:web", "INCOME", "income:sales"),
    ("expenses", "EXPENSE", None),
    ("expenses:rent", "EXPENSE", "expenses"),
    ("expenses:office", "EXPENSE", "expenses"),
]
NUMERIC: Chart = [
    ("1000", "ASSET", None),
    ("1100", "ASSET", None),
    ("2000", "LIABILITY", None),
    ("3000", "EQUITY", None),
    ("4000", "INCOME", None),
    ("4100", "INCOME", None),
    ("5000", "EXPENSE", None),
    ("6000", "EXPENSE", None),
]
CHARTS = {"named": NAMED, "numeric": NUMERIC}
# The charts share no code, so one map gives the type of any account.
TYPE = {code: kind for chart in CHARTS.values() for code, kind, _ in chart}
CURRENCIES = ["EUR", "USD", "JPY"]  # JPY: no minor digits
START = dt.date(2026, 1, 1)
DEBIT_NORMAL = {"ASSET", "EXPENSE"}
TIMEOUT = 30

SETTINGS = settings(
    max_examples=12,
    phases=[Phase.explicit, Phase.generate],  # shrinking a hledger run per example is slow
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# (account or "total"/"net", commodity) -> amount in minor units
Figures = dict[tuple[str, str], int]


@dataclass(frozen=True)
class Plan:
    debit: str
    credit: str
    minor: int
    day: int
    currency: str
    reverse_after: int | None


def plans(codes: list[str]) -> st.SearchStrategy[Plan]:
    return st.builds(
        Plan,
        debit=st.sampled_from(codes),
        credit=st.sampled_from(codes),
        minor=st.integers(1, 10**7),
        day=st.integers(0, 90),
        currency=st.sampled_from(CURRENCIES),
        reverse_after=st.one_of(st.none(), st.integers(0, 30)),
    )


@dataclass(frozen=True)
class Move:
    date: dt.date
    code: str
    currency: str
    signed: int  # debit-positive


async def _books(db: Database, chart: Chart) -> int:
    tenant = await make_tenant(db, "EUR")
    for code, kind, parent in chart:
        await accounts.create_account(
            db,
            tenant.id,
            accounts.AccountInput(code=code, name=code, type=kind, parent_code=parent),
        )
    return tenant.id


async def _post(db: Database, tenant_id: int, plan: Plan, moves: list[Move]) -> None:
    date = START + dt.timedelta(days=plan.day)
    amount = str(from_minor(plan.minor, plan.currency))
    result = await posting.post_entry(
        db,
        tenant_id,
        posting.EntryInput(
            date=date,
            memo="generated",
            currency=plan.currency,
            lines=[
                posting.LineInput(account_code=plan.debit, debit=amount),
                posting.LineInput(account_code=plan.credit, credit=amount),
            ],
        ),
    )
    moves += [
        Move(date, plan.debit, plan.currency, plan.minor),
        Move(date, plan.credit, plan.currency, -plan.minor),
    ]
    if plan.reverse_after is not None:
        on = date + dt.timedelta(days=plan.reverse_after)
        await posting.reverse_entry(db, tenant_id, result.entry.id, date=on)
        moves += [
            Move(on, plan.debit, plan.currency, -plan.minor),
            Move(on, plan.credit, plan.currency, plan.minor),
        ]


def _normal(code: str, signed: int) -> int:
    return signed if TYPE[code] in DEBIT_NORMAL else -signed


def _subtree(code: str, other: str) -> bool:
    return other == code or other.startswith(code + ":")


def _oracle(
    codes: list[str], moves: list[Move], kinds: set[str], start: dt.date | None, end: dt.date
) -> Figures:
    """Subtree sums on each type's normal side, nonzero only, from the posted moves."""
    result: Figures = defaultdict(int)
    for move in moves:
        if (start is None or move.date >= start) and move.date <= end:
            for code in codes:
                if TYPE[code] in kinds and _subtree(code, move.code):
                    result[(code, move.currency)] += _normal(code, move.signed)
    return {key: value for key, value in result.items() if value}


def _hledger(hledger: str, journal: Path, *args: str) -> dict[str, Figures]:
    """Rows per section (``Assets``, ``Revenues``...; ``Net:`` under ``net``) of a
    multi-section report, as subtree sums per (account, commodity)."""
    command = [
        hledger,
        "-f",
        str(journal),
        *args,
        "--tree",
        "--no-elide",
        "--layout=bare",
        "-O",
        "csv",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[1][:2] == ["Account", "Commodity"], rows[:2]
    sections: dict[str, Figures] = defaultdict(dict)
    if len(rows[1]) == 2:  # a period before every entry: no column at all
        return sections
    assert len(rows[1]) == 3, rows[:2]
    section = ""
    for account, commodity, amount in rows[2:]:
        if not commodity and not amount:
            section = account
            continue
        name = "net" if account == "Net:" else section
        value = Decimal(amount.replace(",", ""))
        if value:
            minor = to_minor(abs(value), commodity, allow_zero=True)
            sections[name][(account, commodity)] = -minor if value < 0 else minor
    return sections


def _ours(section: StatementSection, currency: str, column: int = 0) -> Figures:
    figures = {
        (row.account.code, currency): row.amounts[column]
        for group in section.groups
        for row in group.rows
        if row.amounts[column]
    }
    if section.totals[column]:
        figures[("total", currency)] = section.totals[column]
    return figures


def _accounts_only(figures: Figures) -> Figures:
    return {key: value for key, value in figures.items() if key[0] != "total"}


@pytest.mark.parametrize("chart_name", sorted(CHARTS))
@SETTINGS
@given(
    data=st.data(),
    as_of_day=st.integers(0, 120),
    period=st.tuples(st.integers(0, 120), st.integers(0, 60)),
)
async def test_statements_equal_hledgers_on_our_exported_journal(
    db: Database,
    hledger: str,
    tmp_path_factory: pytest.TempPathFactory,
    chart_name: str,
    data: st.DataObject,
    as_of_day: int,
    period: tuple[int, int],
) -> None:
    chart = CHARTS[chart_name]
    codes = [code for code, *_ in chart]
    entries = data.draw(st.lists(plans(codes), min_size=1, max_size=10), label="entries")
    tenant_id = await _books(db, chart)
    moves: list[Move] = []
    for plan in entries:
        await _post(db, tenant_id, plan, moves)
    journal = tmp_path_factory.mktemp("hledger") / "export.journal"
    journal.write_text(await export_text(db, tenant_id, "journal"))

    # Balance sheet through as_of; hledger's --end is exclusive.
    as_of = START + dt.timedelta(days=as_of_day)
    end = (as_of + dt.timedelta(days=1)).isoformat()
    sheet_hl = _hledger(hledger, journal, "balancesheet", "--end", end)
    equity_hl = _hledger(hledger, journal, "balancesheetequity", "--end", end)
    sheets = {
        sheet.currency: sheet
        for sheet in await statements.balance_sheet(db, tenant_id, as_of=as_of)
    }
    for currency in CURRENCIES:
        (sheet,) = await statements.balance_sheet(db, tenant_id, as_of=as_of, currency=currency)
        if currency not in sheets:  # nothing in it: all zero, and hledger shows none of it
            assert all(f[0] == 0 for f in (sheet.assets.totals, sheet.liabilities.totals))
        assets, liabilities = _ours(sheet.assets, currency), _ours(sheet.liabilities, currency)
        equity = _ours(sheet.equity, currency)
        for ours, section, hl in (
            (assets, "Assets", sheet_hl),
            (liabilities, "Liabilities", sheet_hl),
            (equity, "Equity", equity_hl),
        ):
            theirs = {key: value for key, value in hl[section].items() if key[1] == currency}
            assert ours == theirs, (section, currency, journal.read_text())
        # balancesheetequity's net is assets - liabilities - equity: the current earnings.
        assert sheet.current_earnings_minor == equity_hl["net"].get(("Net:", currency), 0)
        assert sheet.balanced
        oracle = _oracle(codes, moves, {"ASSET", "LIABILITY", "EQUITY"}, None, as_of)
        mine = {**assets, **liabilities, **equity}
        assert {k: v for k, v in oracle.items() if k[1] == currency} == _accounts_only(mine)

    # Income statement over [begin, finish]; hledger's --begin is inclusive, --end not.
    begin = START + dt.timedelta(days=period[0])
    finish = begin + dt.timedelta(days=period[1])
    income_hl = _hledger(
        hledger,
        journal,
        "incomestatement",
        "--begin",
        begin.isoformat(),
        "--end",
        (finish + dt.timedelta(days=1)).isoformat(),
    )
    oracle = _oracle(codes, moves, {"INCOME", "EXPENSE"}, begin, finish)
    for currency in CURRENCIES:
        (statement,) = await statements.income_statement(
            db, tenant_id, date_from=begin, date_to=finish, currency=currency
        )
        income = _ours(statement.income, currency)
        expenses = _ours(statement.expenses, currency)
        for ours, section in ((income, "Revenues"), (expenses, "Expenses")):
            theirs = {key: value for key, value in income_hl[section].items() if key[1] == currency}
            assert ours == theirs, (section, currency, journal.read_text())
        assert statement.net_income[0] == income_hl["net"].get(("Net:", currency), 0)
        mine = {**income, **expenses}
        assert {k: v for k, v in oracle.items() if k[1] == currency} == _accounts_only(mine)
