"""Financial statements: hierarchical trial balance, balance sheet, income statement.

The sums are checked by hypothesis against figures the test computes from the
entries it generated (reversals and a backdated entry included); the shape and
the errors through /graphql on the ASGI app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, posting, statements
from app.ledger.statements import Compare
from db.engine import Database
from tests.conftest import GraphQLClient, make_tenant
from tests.helpers import post

# code, type, parent code, category
CHART = [
    ("1000", "ASSET", None, "current"),
    ("1100", "ASSET", "1000", None),
    ("1110", "ASSET", "1100", None),
    ("1500", "ASSET", None, "fixed"),
    ("2000", "LIABILITY", None, None),
    ("2100", "LIABILITY", "2000", None),
    ("3000", "EQUITY", None, None),
    ("4000", "INCOME", None, None),
    ("4100", "INCOME", "4000", None),
    ("5000", "EXPENSE", None, "operating"),
    ("5100", "EXPENSE", "5000", None),
    ("5110", "EXPENSE", "5100", None),
]
TYPE = {code: kind for code, kind, _, _ in CHART}
PARENT = {code: parent for code, _, parent, _ in CHART}
CODES = [code for code, *_ in CHART]
START = dt.date(2025, 11, 1)
DEBIT_NORMAL = {"ASSET", "EXPENSE"}

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _ancestors(code: str) -> list[str]:
    chain = [code]
    while PARENT[chain[-1]] is not None:
        chain.append(PARENT[chain[-1]])  # type: ignore[arg-type]
    return chain


def _level(code: str) -> int:
    return len(_ancestors(code)) - 1


async def _books(db: Database) -> int:
    tenant = await make_tenant(db)
    for code, kind, parent, category in CHART:
        await accounts.create_account(
            db,
            tenant.id,
            accounts.AccountInput(
                code=code, name=code, type=kind, parent_code=parent, category=category
            ),
        )
    return tenant.id


@dataclass(frozen=True)
class Move:
    """One posted line as the test sees it: the independent oracle."""

    date: dt.date
    code: str
    currency: str
    debit: int
    credit: int


@dataclass(frozen=True)
class Plan:
    debit: str
    credit: str
    minor: int
    day: int
    currency: str
    reverse_after: int | None  # days after the entry; None: not reversed


plans = st.builds(
    Plan,
    debit=st.sampled_from(CODES),
    credit=st.sampled_from(CODES),
    minor=st.integers(1, 10**7),
    day=st.integers(0, 120),
    currency=st.sampled_from(["USD", "EUR"]),
    reverse_after=st.one_of(st.none(), st.integers(0, 40)),
)


def _text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


async def _post(db: Database, tenant_id: int, plan: Plan, moves: list[Move]) -> None:
    date = START + dt.timedelta(days=plan.day)
    result = await posting.post_entry(
        db,
        tenant_id,
        posting.EntryInput(
            date=date,
            memo="generated",
            currency=plan.currency,
            lines=[
                posting.LineInput(account_code=plan.debit, debit=_text(plan.minor)),
                posting.LineInput(account_code=plan.credit, credit=_text(plan.minor)),
            ],
        ),
    )
    moves += [
        Move(date, plan.debit, plan.currency, plan.minor, 0),
        Move(date, plan.credit, plan.currency, 0, plan.minor),
    ]
    if plan.reverse_after is not None:
        on = date + dt.timedelta(days=plan.reverse_after)
        await posting.reverse_entry(db, tenant_id, result.entry.id, date=on)
        moves += [
            Move(on, plan.debit, plan.currency, 0, plan.minor),
            Move(on, plan.credit, plan.currency, plan.minor, 0),
        ]


def _sum(moves: list[Move], code: str, currency: str, start: dt.date, end: dt.date) -> list[int]:
    """[debit, credit] of ``code``'s subtree in [start, end]."""
    figures = [0, 0]
    for move in moves:
        if (
            move.currency == currency
            and start <= move.date <= end
            and code in _ancestors(move.code)
        ):
            figures[0] += move.debit
            figures[1] += move.credit
    return figures


def _normal(code: str, debit: int, credit: int) -> int:
    return debit - credit if TYPE[code] in DEBIT_NORMAL else credit - debit


@SETTINGS
@given(
    entries=st.lists(plans, min_size=1, max_size=8),
    backdated=plans,
    window=st.tuples(st.integers(-10, 160), st.integers(0, 90)),
    depth=st.one_of(st.none(), st.integers(1, 3)),
)
async def test_reports_equal_sums_of_the_generated_entries(
    db: Database,
    entries: list[Plan],
    backdated: Plan,
    window: tuple[int, int],
    depth: int | None,
) -> None:
    tenant_id = await _books(db)
    moves: list[Move] = []
    for plan in entries:
        await _post(db, tenant_id, plan, moves)
    # Posted last, dated before every other entry.
    await _post(db, tenant_id, Plan(**{**backdated.__dict__, "day": -7}), moves)
    date_from = START + dt.timedelta(days=window[0])
    date_to = date_from + dt.timedelta(days=window[1])
    currencies = sorted({move.currency for move in moves})

    report = await statements.trial_balance_report(
        db, tenant_id, date_from=date_from, date_to=date_to, depth=depth
    )
    assert report.balanced
    got = {
        (row.account.code, row.currency): (
            row.level,
            row.opening_minor,
            row.debit_minor,
            row.credit_minor,
            row.closing_minor,
        )
        for row in report.rows
    }
    expected = {}
    for code in CODES:
        if depth is not None and _level(code) >= depth:
            continue
        for cur in currencies:
            od, oc = _sum(moves, code, cur, dt.date.min, date_from - dt.timedelta(days=1))
            pd, pc = _sum(moves, code, cur, date_from, date_to)
            if od - oc or pd or pc:
                expected[(code, cur)] = (_level(code), od - oc, pd, pc, od - oc + pd - pc)
    assert got == expected
    assert [(r.currency, r.account.code) for r in report.rows] == sorted(
        (cur, code) for code, cur in expected
    )

    for sheet in await statements.balance_sheet(db, tenant_id, as_of=date_to, depth=depth):
        assert sheet.balanced, sheet
        cur = sheet.currency
        for section, kind in (
            (sheet.assets, "ASSET"),
            (sheet.liabilities, "LIABILITY"),
            (sheet.equity, "EQUITY"),
        ):
            tops = [c for c in CODES if TYPE[c] == kind and PARENT[c] is None]
            want = sum(_normal(c, *_sum(moves, c, cur, dt.date.min, date_to)) for c in tops)
            assert section.totals == [want]
            for group in section.groups:
                for row in group.rows:
                    figures = _sum(moves, row.account.code, cur, dt.date.min, date_to)
                    assert row.amounts == [_normal(row.account.code, *figures)]
        income = _normal("4000", *_sum(moves, "4000", cur, dt.date.min, date_to))
        expense = _normal("5000", *_sum(moves, "5000", cur, dt.date.min, date_to))
        assert sheet.current_earnings_minor == income - expense

    monthly = await statements.income_statement(
        db, tenant_id, date_from=date_from, date_to=date_to, compare=Compare.MONTHLY, depth=depth
    )
    for statement in monthly:
        cur = statement.currency
        assert statement.columns[0].date_from == date_from
        assert statement.columns[-1].date_to == date_to
        for index, column in enumerate(statement.columns):
            income = _normal("4000", *_sum(moves, "4000", cur, column.date_from, column.date_to))
            expense = _normal("5000", *_sum(moves, "5000", cur, column.date_from, column.date_to))
            assert statement.income.totals[index] == income
            assert statement.expenses.totals[index] == expense
            assert statement.net_income[index] == income - expense
            for group in statement.income.groups + statement.expenses.groups:
                for row in group.rows:
                    figures = _sum(moves, row.account.code, cur, column.date_from, column.date_to)
                    assert row.amounts[index] == _normal(row.account.code, *figures)


async def test_depth_folds_deeper_accounts_into_their_ancestor(db: Database) -> None:
    tenant_id = await _books(db)
    moves: list[Move] = []
    await _post(db, tenant_id, Plan("1110", "4100", 1000, 3, "USD", None), moves)
    await _post(db, tenant_id, Plan("5110", "1100", 300, 4, "USD", None), moves)
    full = await statements.trial_balance_report(db, tenant_id)
    assert [(r.account.code, r.level, r.closing_minor) for r in full.rows] == [
        ("1000", 0, 700),
        ("1100", 1, 700),
        ("1110", 2, 1000),
        ("4000", 0, -1000),
        ("4100", 1, -1000),
        ("5000", 0, 300),
        ("5100", 1, 300),
        ("5110", 2, 300),
    ]
    top = await statements.trial_balance_report(db, tenant_id, depth=1)
    assert [(r.account.code, r.closing_minor) for r in top.rows] == [
        ("1000", 700),
        ("4000", -1000),
        ("5000", 300),
    ]
    (sheet,) = await statements.balance_sheet(db, tenant_id, depth=2)
    (group,) = sheet.assets.groups
    assert (group.category, [(r.account.code, r.amounts) for r in group.rows]) == (
        "current",
        [("1000", [700]), ("1100", [700])],
    )
    assert (sheet.current_earnings_minor, sheet.balanced) == (700, True)


async def test_previous_period_and_monthly_columns() -> None:
    march = statements.columns_of(
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), Compare.PREVIOUS_PERIOD
    )
    assert [(c.date_from, c.date_to) for c in march] == [
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    ]
    days = statements.columns_of(dt.date(2026, 3, 5), dt.date(2026, 3, 14), Compare.PREVIOUS_PERIOD)
    assert [(c.date_from, c.date_to) for c in days] == [
        (dt.date(2026, 2, 23), dt.date(2026, 3, 4)),
        (dt.date(2026, 3, 5), dt.date(2026, 3, 14)),
    ]
    months = statements.columns_of(dt.date(2025, 12, 15), dt.date(2026, 2, 10), Compare.MONTHLY)
    assert [(c.date_from, c.date_to) for c in months] == [
        (dt.date(2025, 12, 15), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 10)),
    ]
    assert (
        len(statements.columns_of(dt.date(2024, 1, 1), dt.date(2025, 12, 31), Compare.MONTHLY))
        == 24
    )


TRIAL = """
query($from: Date, $to: Date, $depth: Int) {
  trialBalanceReport(from: $from, to: $to, depth: $depth) {
    balanced
    rows { account { code } level currency openingBalance debit credit closingBalance }
    totals { currency openingBalance debit credit closingBalance balanced }
  }
}"""
SHEET = """
query($asOf: Date, $currency: String) {
  balanceSheet(asOf: $asOf, currency: $currency) {
    currency currentEarnings totalAssets totalLiabilitiesAndEquity difference balanced
    assets { type total groups { category total rows { account { code } level amount } } }
    liabilities { total } equity { total }
  }
}"""
INCOME = """
query($from: Date!, $to: Date!, $compare: StatementCompare) {
  incomeStatement(from: $from, to: $to, compare: $compare) {
    currency
    columns { from to income expenses netIncome }
    income { totals groups { rows { account { code } amounts } } }
    expenses { totals }
    netIncome
  }
}"""


async def _gql_books(gql: GraphQLClient) -> None:
    query = """mutation($input: CreateAccountInput!) { createAccount(input: $input) { errors { message } } }"""
    for code, kind, parent, category in CHART:
        data = await gql(
            query,
            {
                "input": {
                    "code": code,
                    "name": code,
                    "type": kind,
                    "parentCode": parent,
                    "category": category,
                }
            },
        )
        assert data["createAccount"]["errors"] == []


def _entry(debit: str, credit: str, amount: str, date: str, **extra: Any) -> dict[str, Any]:
    return {
        "date": date,
        "memo": "statement",
        "lines": [
            {"accountCode": debit, "debit": amount},
            {"accountCode": credit, "credit": amount},
        ],
        **extra,
    }


async def test_statements_through_graphql(gql: GraphQLClient) -> None:
    await _gql_books(gql)
    for item in (
        _entry("1100", "3000", "1000.00", "2026-01-05"),
        _entry("1110", "4100", "250.50", "2026-02-10"),
        _entry("5110", "2100", "80.25", "2026-02-20"),
        _entry("5100", "1100", "19.75", "2026-03-01"),
    ):
        assert (await post(gql, item))["errors"] == []

    trial = (await gql(TRIAL, {"from": "2026-02-01", "to": "2026-02-28", "depth": 2}))[
        "trialBalanceReport"
    ]
    assert trial["balanced"] is True
    rows = {row["account"]["code"]: row for row in trial["rows"]}
    assert set(rows) == {"1000", "1100", "2000", "2100", "3000", "4000", "4100", "5000", "5100"}
    assert rows["1000"] == {
        "account": {"code": "1000"},
        "level": 0,
        "currency": "USD",
        "openingBalance": "1000.00",
        "debit": "250.50",
        "credit": "0.00",
        "closingBalance": "1250.50",
    }
    assert (rows["5100"]["level"], rows["5100"]["closingBalance"]) == (1, "80.25")
    assert trial["totals"] == [
        {
            "currency": "USD",
            "openingBalance": "0.00",
            "debit": "330.75",
            "credit": "330.75",
            "closingBalance": "0.00",
            "balanced": True,
        }
    ]

    (sheet,) = (await gql(SHEET, {"asOf": "2026-02-28"}))["balanceSheet"]
    assert sheet["currency"] == "USD"
    assert (sheet["totalAssets"], sheet["currentEarnings"]) == ("1250.50", "170.25")
    assert (sheet["totalLiabilitiesAndEquity"], sheet["difference"], sheet["balanced"]) == (
        "1250.50",
        "0.00",
        True,
    )
    assert sheet["assets"]["groups"][0]["category"] == "current"
    assert sheet["liabilities"]["total"] == "80.25"
    assert sheet["equity"]["total"] == "1000.00"
    assert (await gql(SHEET, {"currency": "EUR"}))["balanceSheet"][0]["totalAssets"] == "0.00"

    (statement,) = (
        await gql(INCOME, {"from": "2026-03-01", "to": "2026-03-31", "compare": "PREVIOUS_PERIOD"})
    )["incomeStatement"]
    assert statement["columns"] == [
        {
            "from": "2026-02-01",
            "to": "2026-02-28",
            "income": "250.50",
            "expenses": "80.25",
            "netIncome": "170.25",
        },
        {
            "from": "2026-03-01",
            "to": "2026-03-31",
            "income": "0.00",
            "expenses": "19.75",
            "netIncome": "-19.75",
        },
    ]
    assert statement["netIncome"] == ["170.25", "-19.75"]
    assert statement["expenses"]["totals"] == ["80.25", "19.75"]

    monthly = (await gql(INCOME, {"from": "2026-01-01", "to": "2026-03-31", "compare": "MONTHLY"}))[
        "incomeStatement"
    ][0]
    assert monthly["netIncome"] == ["0.00", "170.25", "-19.75"]


async def test_bad_arguments_are_bad_user_input(gql: GraphQLClient) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        (INCOME, {"from": "2024-01-01", "to": "2026-01-31", "compare": "MONTHLY"}, "to"),
        (INCOME, {"from": "2026-02-01", "to": "2026-01-31"}, "from"),
        (TRIAL, {"depth": 0}, "depth"),
        (SHEET, {"currency": "XYZ"}, "currency"),
    ]
    for query, variables, field in cases:
        response = await gql.raw(query, variables)
        (error,) = response.json()["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT",
            field,
        ), error


async def test_scheduled_entries_count_only_once_posted(db: Database) -> None:
    tenant_id = await _books(db)
    today = dt.date.today()
    later = today + dt.timedelta(days=10)
    scheduled = posting.EntryInput(
        date=today,
        memo="accrual",
        currency="USD",
        accrual_date=later,
        lines=[
            posting.LineInput(account_code="5100", debit="40.00"),
            posting.LineInput(account_code="2100", credit="40.00"),
        ],
    )
    result = await posting.post_entry(db, tenant_id, scheduled)
    assert result.entry.status == "SCHEDULED"
    end = later + dt.timedelta(days=5)

    async def figures() -> tuple[list[int], list[int], int]:
        trial = await statements.trial_balance_report(db, tenant_id, date_to=end)
        sheets = await statements.balance_sheet(db, tenant_id, as_of=end)
        income = await statements.income_statement(
            db, tenant_id, date_from=today, date_to=end, currency="USD"
        )
        expense_rows = [r.closing_minor for r in trial.rows if r.account.code == "5100"]
        liabilities = [sheet.liabilities.totals[0] for sheet in sheets]
        return expense_rows, liabilities, income[0].expenses.totals[0]

    assert await figures() == ([], [], 0)
    await posting.post_due(db, later)
    assert await figures() == ([4000], [4000], 4000)
    # Dated on its accrual date: not in the books the day before.
    (sheet,) = await statements.balance_sheet(db, tenant_id, as_of=later, currency="USD")
    assert sheet.current_earnings_minor == -4000 and sheet.balanced
    before = await statements.balance_sheet(
        db, tenant_id, as_of=later - dt.timedelta(days=1), currency="USD"
    )
    assert before[0].liabilities.totals == [0]


async def test_trial_balance_of_one_journal(gql: GraphQLClient) -> None:
    """A journal's trial balance counts its lines only, balances, and is refused for a
    journal the tenant does not have."""
    await _gql_books(gql)
    create = """mutation($input: CreateJournalInput!) {
      createJournal(input: $input) { journal { id } errors { message } } }"""
    created = await gql(create, {"input": {"code": "SAL", "name": "Sales"}})
    assert created["createJournal"]["errors"] == []
    for item in (
        _entry("1100", "3000", "1000.00", "2026-01-05"),
        _entry("1110", "4100", "250.50", "2026-02-10", journalCode="SAL"),
        _entry("1110", "4100", "100.00", "2026-03-10", journalCode="SAL"),
        _entry("5110", "1100", "80.25", "2026-02-20"),
    ):
        assert (await post(gql, item))["errors"] == []
    query = """query($code: String, $id: ID, $from: Date) {
      trialBalanceReport(journalCode: $code, journalId: $id, from: $from, depth: 1) {
        balanced rows { account { code } openingBalance debit credit closingBalance }
      } }"""
    report = (await gql(query, {"code": "SAL", "from": "2026-03-01"}))["trialBalanceReport"]
    assert report["balanced"] is True
    assert {row["account"]["code"]: row for row in report["rows"]} == {
        "1000": {
            "account": {"code": "1000"},
            "openingBalance": "250.50",
            "debit": "100.00",
            "credit": "0.00",
            "closingBalance": "350.50",
        },
        "4000": {
            "account": {"code": "4000"},
            "openingBalance": "-250.50",
            "debit": "0.00",
            "credit": "100.00",
            "closingBalance": "-350.50",
        },
    }
    journal_id = created["createJournal"]["journal"]["id"]
    by_id = (await gql(query, {"id": journal_id, "from": "2026-03-01"}))["trialBalanceReport"]
    assert by_id == report
    missing = (await gql.raw(query, {"code": "NOPE"})).json()
    assert missing["errors"][0]["extensions"]["code"] in {"NOT_FOUND", "BAD_USER_INPUT"}
