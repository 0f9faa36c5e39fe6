"""General ledger: opening and closing balances, the journal filter, keyset pages.

Balances are checked against sums of the journal lines made here, independently
of the server's balance_days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, general_ledger, posting
from db.engine import Database
from tests.conftest import GraphQLClient, make_tenant
from tests.helpers import create_accounts, entry, post

START = dt.date(2026, 1, 1)
JOURNALS = ("SAL", "BNK")


@dataclass(frozen=True)
class Move:
    day: int
    minor: int
    cash_debit: bool
    journal: str


moves = st.builds(
    Move,
    day=st.integers(0, 40),
    minor=st.integers(1, 10**7),
    cash_debit=st.booleans(),
    journal=st.sampled_from(JOURNALS),
)


def _expected(moves: list[Move], keep: object) -> list[tuple[dt.date, int]]:
    return [
        (START + dt.timedelta(days=m.day), m.minor if m.cash_debit else -m.minor)
        for m in moves
        if keep is None or m.journal == keep
    ]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(moves, min_size=1, max_size=12),
    start=st.integers(-1, 42),
    length=st.integers(0, 42),
    journal=st.sampled_from((None, *JOURNALS)),
    first=st.integers(1, 4),
)
async def test_opening_and_closing_equal_line_sums(
    db: Database, moves: list[Move], start: int, length: int, journal: str | None, first: int
) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    for code in JOURNALS:
        await accounts.create_journal(db, tenant.id, code=code, name=code)
    for m in moves:
        amount = f"{m.minor // 100}.{m.minor % 100:02d}"
        cash = {"account_code": "1000", "debit" if m.cash_debit else "credit": amount}
        sales = {"account_code": "4000", "credit" if m.cash_debit else "debit": amount}
        await posting.post_entry(
            db,
            tenant.id,
            posting.EntryInput(
                date=START + dt.timedelta(days=m.day),
                memo="m",
                lines=[posting.LineInput(**cash), posting.LineInput(**sales)],  # type: ignore[arg-type]
                journal_code=m.journal,
            ),
        )
    date_from = START + dt.timedelta(days=start) if start >= 0 else None
    date_to = (date_from or START) + dt.timedelta(days=length)
    signed = _expected(moves, journal)
    opening = sum(v for d, v in signed if date_from is not None and d < date_from)
    closing = sum(v for d, v in signed if d <= date_to)
    in_range = sorted(
        v for d, v in signed if (date_from is None or d >= date_from) and d <= date_to
    )

    seen: list[int] = []
    after = None
    while True:
        ledger = await general_ledger.general_ledger(
            db,
            tenant.id,
            "1000",
            date_from=date_from,
            date_to=date_to,
            first=first,
            after=after,
            default_currency="USD",
            journal_code=journal,
        )
        assert ledger.opening_minor == opening
        assert ledger.closing_minor == closing
        running = ledger.page.items
        for line in running:
            seen.append(line.line_id)
        if not ledger.page.has_next:
            last = running[-1].running_minor if running else None
            break
        after = ledger.page.cursors[-1]
    # Every line of the range exactly once, and the running balance ends at the closing.
    assert len(seen) == len(set(seen)) == len(in_range)
    if last is not None:
        assert last == closing


LEDGER = """
query($code: String!, $journalId: ID, $journalCode: String, $after: String, $first: Int!) {
  generalLedger(accountCode: $code, journalId: $journalId, journalCode: $journalCode,
                first: $first, after: $after) {
    openingBalance closingBalance journalId
    lines { nodes { entryNumber debit credit runningBalance }
            pageInfo { hasNextPage endCursor } }
  }
}"""

CREATE_JOURNAL = """
mutation($input: CreateJournalInput!) { createJournal(input: $input) { journal { id } errors { message } } }
"""


async def test_journal_filter_keeps_that_journals_lines(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    made = await gql(CREATE_JOURNAL, {"input": {"code": "SAL", "name": "Sales"}})
    assert made["createJournal"]["errors"] == []
    for debit, credit, amount, day, journal in (
        ("1000", "4000", "100.00", 1, None),
        ("1000", "4000", "7.00", 2, "SAL"),
        ("5000", "1000", "3.00", 3, "SAL"),
        ("1000", "4000", "1.00", 4, None),
    ):
        extra = {"journalCode": journal} if journal else {}
        posted = await post(gql, entry(debit, credit, amount, date=f"2026-02-0{day}", **extra))
        assert posted["errors"] == [], posted

    everything = (await gql(LEDGER, {"code": "1000", "first": 10}))["generalLedger"]
    assert everything["closingBalance"] == "105.00" and everything["journalId"] is None

    filtered = (await gql(LEDGER, {"code": "1000", "journalCode": "SAL", "first": 1}))[
        "generalLedger"
    ]
    assert filtered["journalId"] is not None
    assert filtered["openingBalance"] == "0.00" and filtered["closingBalance"] == "4.00"
    assert filtered["lines"]["nodes"][0]["runningBalance"] == "7.00"
    second = (
        await gql(
            LEDGER,
            {
                "code": "1000",
                "journalId": filtered["journalId"],
                "first": 1,
                "after": filtered["lines"]["pageInfo"]["endCursor"],
            },
        )
    )["generalLedger"]
    assert [n["runningBalance"] for n in second["lines"]["nodes"]] == ["4.00"]
    assert not second["lines"]["pageInfo"]["hasNextPage"]

    missing = await gql.raw(LEDGER, {"code": "1000", "journalCode": "NOPE", "first": 1})
    assert missing.json()["errors"][0]["extensions"]["field"] == "journalCode"
    both = await gql.raw(
        LEDGER, {"code": "1000", "journalCode": "SAL", "journalId": "1", "first": 1}
    )
    assert both.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_closing_is_set_on_every_page_and_through_to(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    for day, amount in ((1, "10.00"), (2, "20.00"), (3, "30.00")):
        await post(gql, entry("1000", "4000", amount, date=f"2026-03-0{day}"))
    query = """query($after: String) {
      generalLedger(accountCode: "1000", from: "2026-03-02", to: "2026-03-02", first: 1, after: $after) {
        openingBalance closingBalance lines { nodes { runningBalance } pageInfo { hasNextPage } }
      }}"""
    ledger = (await gql(query))["generalLedger"]
    assert (ledger["openingBalance"], ledger["closingBalance"]) == ("10.00", "30.00")
    assert ledger["lines"]["nodes"] == [{"runningBalance": "30.00"}]


async def test_pages_of_a_two_currency_account(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page query leaves the currency out of SQL and reads large pages in parts: the
    lines shown are still those of the asked currency only, posted ones only, each once,
    in (date, id) order, however the pages and the parts fall."""
    monkeypatch.setattr(general_ledger, "_LEDGER_READ", 2)
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    currencies = ("USD", "USD", "EUR", "USD", "EUR", "EUR", "EUR", "USD", "EUR", "USD", "USD")
    expected: dict[str, list[tuple[dt.date, int]]] = {"USD": [], "EUR": []}
    for index, currency in enumerate(currencies):
        day = START + dt.timedelta(days=(index * 7) % 4)
        minor = (index + 1) * 100
        await posting.post_entry(
            db,
            tenant.id,
            posting.EntryInput(
                date=day,
                memo="m",
                currency=currency,
                lines=[
                    posting.LineInput(account_code="1000", debit=f"{index + 1}.00"),
                    posting.LineInput(account_code="4000", credit=f"{index + 1}.00"),
                ],
            ),
        )
        expected[currency].append((day, minor))
    # A scheduled entry's line is stored but is not in the ledger.
    await posting.post_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=START,
            memo="later",
            currency="EUR",
            accrual_date=dt.date.today() + dt.timedelta(days=400),
            lines=[
                posting.LineInput(account_code="1000", debit="99.00"),
                posting.LineInput(account_code="4000", credit="99.00"),
            ],
        ),
    )
    for currency, lines in expected.items():
        in_order = [minor for _, minor in sorted(lines, key=lambda line: line[0])]
        for first in (1, 2, 3, 7):
            seen: list[int] = []
            after = None
            for _ in range(len(in_order) + 1):  # a cursor that does not advance fails
                ledger = await general_ledger.general_ledger(
                    db,
                    tenant.id,
                    "1000",
                    currency=currency,
                    first=first,
                    after=after,
                    default_currency="USD",
                )
                assert len(ledger.page.items) <= first
                seen.extend(line.debit_minor for line in ledger.page.items)
                if not ledger.page.has_next:
                    break
                after = ledger.page.cursors[-1]
            else:
                pytest.fail("the pages do not end")
            assert seen == in_order, (currency, first)
            assert ledger.closing_minor == sum(in_order)
