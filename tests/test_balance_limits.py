"""Account balance limits (docs/holds.md): setting them, and every posting path refusing what
would break them, on both engines."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import pytest

from app.ledger import posting
from app.ledger.importing import import_file
from app.ledger.ledgerfile import FORMATS
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry

CHART = [
    ("1000", "Cash", "ASSET"),
    ("1100", "Card float", "ASSET"),
    ("2100", "Wallet", "LIABILITY"),
    ("3000", "Equity", "EQUITY"),
    ("4000", "Revenue", "INCOME"),
    ("5000", "Expenses", "EXPENSE"),
]

ERRORS = (
    "errors { code field message balanceLimit { accountCode currency available requested limit } }"
)
SET_LIMITS = f"""
mutation($input: SetAccountLimitsInput!) {{
  setAccountLimits(input: $input) {{
    account {{ code limits {{ noOverdraft overdraftLimits {{ currency amount }}
      maxBalances {{ currency amount }} }} }}
    {ERRORS}
  }}
}}"""
CREATE = f"""
mutation($input: CreateAccountInput!) {{
  createAccount(input: $input) {{ account {{ code limits {{ noOverdraft maxBalances {{ currency amount }} }} }} {ERRORS} }}
}}"""
POST = f"""
mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id status }} {ERRORS} }}
}}"""
POST_MANY = f"""
mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {{
  postJournalEntries(inputs: $inputs, atomic: $atomic) {{ entry {{ id }} {ERRORS} }}
}}"""
REVERSE = f"""
mutation($id: ID!) {{ reverseJournalEntry(id: $id) {{ entry {{ id }} {ERRORS} }} }}"""
AVAILABLE = """
query($code: String!, $currency: String) {
  account(code: $code) { balance(currency: $currency) { net available } }
}"""
EVENTS = """{ events(first: 50) { nodes { type payload } } }"""


async def limits(gql: GraphQLClient, code: str, **settings: Any) -> dict[str, Any]:
    data = await gql(SET_LIMITS, {"input": {"accountCode": code, **settings}})
    result: dict[str, Any] = data["setAccountLimits"]
    return result


async def post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


async def available(gql: GraphQLClient, code: str, currency: str = "USD") -> str:
    data = await gql(AVAILABLE, {"code": code, "currency": currency})
    balance = data["account"]["balance"]
    assert balance["available"] == balance["net"]  # no holds yet
    return str(balance["available"])


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    await create_accounts(gql, CHART)
    return gql


async def test_limits_are_set_merged_cleared_and_recorded(books: GraphQLClient) -> None:
    result = await limits(
        books, "2100", noOverdraft=True, maxBalances=[{"currency": "USD", "amount": "500"}]
    )
    assert result["errors"] == []
    assert result["account"]["limits"] == {
        "noOverdraft": True,
        "overdraftLimits": [],
        "maxBalances": [{"currency": "USD", "amount": "500.00"}],
    }
    # An omitted field stays; an empty list clears.
    result = await limits(books, "2100", overdraftLimits=[{"currency": "EUR", "amount": "10.5"}])
    assert result["account"]["limits"]["noOverdraft"] is True
    assert result["account"]["limits"]["maxBalances"] == [{"currency": "USD", "amount": "500.00"}]
    assert result["account"]["limits"]["overdraftLimits"] == [
        {"currency": "EUR", "amount": "10.50"}
    ]
    result = await limits(books, "2100", maxBalances=[], noOverdraft=False)
    assert result["account"]["limits"]["maxBalances"] == []
    assert result["account"]["limits"]["noOverdraft"] is False
    events = (await books(EVENTS))["events"]["nodes"]
    changes = [json.loads(e["payload"]) for e in events if e["type"] == "account.limits_changed"]
    assert len(changes) == 3
    assert changes[0]["account_code"] == "2100"
    assert changes[0]["max_balances"] == [{"currency": "USD", "amount": "500.00"}]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"maxBalances": [{"currency": "USD", "amount": "1.001"}]}, "maxBalances.0.amount"),
        ({"maxBalances": [{"currency": "USD", "amount": "-1"}]}, "maxBalances.0.amount"),
        ({"overdraftLimits": [{"currency": "usd", "amount": "1"}]}, "overdraftLimits.0.currency"),
        (
            {
                "overdraftLimits": [
                    {"currency": "USD", "amount": "1"},
                    {"currency": "USD", "amount": "2"},
                ]
            },
            "overdraftLimits.1.currency",
        ),
    ],
)
async def test_bad_limits_are_refused_naming_the_field_and_write_nothing(
    books: GraphQLClient, settings: dict[str, Any], field: str
) -> None:
    result = await limits(books, "2100", **settings)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("BAD_USER_INPUT", field)]
    events = (await books(EVENTS))["events"]["nodes"]
    assert [e for e in events if e["type"] == "account.limits_changed"] == []


async def test_an_unknown_account_is_not_found(books: GraphQLClient) -> None:
    result = await limits(books, "9999", noOverdraft=True)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "accountCode")]


async def test_limits_at_creation(books: GraphQLClient) -> None:
    data = await books(
        CREATE,
        {
            "input": {
                "code": "2200",
                "name": "Capped",
                "type": "LIABILITY",
                "limits": {"maxBalances": [{"currency": "USD", "amount": "10"}]},
            }
        },
    )
    assert data["createAccount"]["errors"] == []
    assert data["createAccount"]["account"]["limits"]["maxBalances"] == [
        {"currency": "USD", "amount": "10.00"}
    ]
    refused = await post(books, entry("1000", "2200", "10.01"))
    assert refused["errors"][0]["code"] == "LIMIT_EXCEEDED"
    bad = await books(
        CREATE,
        {
            "input": {
                "code": "2300",
                "name": "Bad",
                "type": "LIABILITY",
                "limits": {"maxBalances": [{"currency": "USD", "amount": "0.001"}]},
            }
        },
    )
    assert [(e["code"], e["field"]) for e in bad["createAccount"]["errors"]] == [
        ("BAD_USER_INPUT", "limits.maxBalances.0.amount")
    ]


async def test_no_overdraft_on_a_credit_normal_wallet(books: GraphQLClient) -> None:
    await limits(books, "2100", noOverdraft=True)
    assert (await post(books, entry("1000", "2100", "100.00")))["errors"] == []  # fund it
    assert (await post(books, entry("2100", "4000", "60.00")))["errors"] == []
    refused = await post(books, entry("2100", "4000", "40.01"))
    assert refused["entry"] is None
    assert refused["errors"] == [
        {
            "code": "INSUFFICIENT_FUNDS",
            "field": "lines.0",
            "message": "insufficient funds on account 2100: 40.00 USD available, "
            "40.01 asked, no overdraft allowed",
            "balanceLimit": {
                "accountCode": "2100",
                "currency": "USD",
                "available": "40.00",
                "requested": "40.01",
                "limit": "0.00",
            },
        }
    ]
    assert (await post(books, entry("2100", "4000", "40.00")))["errors"] == []
    assert await available(books, "2100") == "0.00"


async def test_an_overdraft_limit_on_a_debit_normal_account(books: GraphQLClient) -> None:
    await limits(books, "1000", overdraftLimits=[{"currency": "USD", "amount": "50"}])
    # Cash (debit-normal) is credited: its balance falls, down to -50.00.
    assert (await post(books, entry("5000", "1000", "30.00")))["errors"] == []
    refused = await post(
        books,
        {
            "date": "2026-01-15",
            "memo": "two lines",
            "lines": [
                {"accountCode": "5000", "debit": "25.00"},
                {"accountCode": "1000", "debit": "5.00"},
                {"accountCode": "1000", "credit": "30.00"},
            ],
        },
    )
    assert refused["errors"][0]["code"] == "INSUFFICIENT_FUNDS"
    assert refused["errors"][0]["field"] == "lines.2"  # the line that takes from it
    assert refused["errors"][0]["balanceLimit"] == {
        "accountCode": "1000",
        "currency": "USD",
        "available": "-30.00",
        "requested": "25.00",
        "limit": "50.00",
    }
    assert (await post(books, entry("5000", "1000", "20.00")))["errors"] == []
    assert await available(books, "1000") == "-50.00"
    # Another currency has no overdraft limit, so no floor.
    assert (await post(books, entry("5000", "1000", "1000", currency="EUR")))["errors"] == []


async def test_a_max_balance_per_currency(books: GraphQLClient) -> None:
    await limits(books, "1100", maxBalances=[{"currency": "EUR", "amount": "100"}])
    assert (await post(books, entry("1100", "3000", "100", currency="EUR")))["errors"] == []
    refused = await post(books, entry("1100", "3000", "0.01", currency="EUR"))
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("LIMIT_EXCEEDED", "lines.0")]
    assert refused["errors"][0]["balanceLimit"]["limit"] == "100.00"
    # USD is not capped; taking EUR out is always fine.
    assert (await post(books, entry("1100", "3000", "5000")))["errors"] == []
    assert (await post(books, entry("3000", "1100", "1", currency="EUR")))["errors"] == []
    assert await available(books, "1100", "EUR") == "99.00"


async def test_an_account_past_a_limit_set_later_may_move_back(books: GraphQLClient) -> None:
    assert (await post(books, entry("2100", "4000", "10.00")))["errors"] == []  # overdrawn
    await limits(books, "2100", noOverdraft=True)
    refused = await post(books, entry("2100", "4000", "1.00"))
    assert refused["errors"][0]["code"] == "INSUFFICIENT_FUNDS"
    assert (await post(books, entry("1000", "2100", "4.00")))["errors"] == []  # towards 0
    assert await available(books, "2100") == "-6.00"


async def test_a_non_atomic_batch_refuses_only_what_breaks_in_order(books: GraphQLClient) -> None:
    await limits(books, "2100", noOverdraft=True)
    inputs = [
        entry("1000", "2100", "5.00"),
        entry("2100", "4000", "3.00"),
        entry("2100", "4000", "3.00"),  # 2.00 left: refused
        entry("1000", "2100", "1.00"),
        entry("2100", "4000", "3.00"),  # 3.00 left: posts
    ]
    results = (await books(POST_MANY, {"inputs": inputs, "atomic": False}))["postJournalEntries"]
    assert [r["errors"][0]["code"] if r["errors"] else "OK" for r in results] == [
        "OK",
        "OK",
        "INSUFFICIENT_FUNDS",
        "OK",
        "OK",
    ]
    assert results[2]["errors"][0]["balanceLimit"]["available"] == "2.00"
    assert await available(books, "2100") == "0.00"


async def test_an_atomic_batch_is_all_or_none(books: GraphQLClient) -> None:
    await limits(books, "2100", noOverdraft=True)
    inputs = [entry("1000", "2100", "5.00"), entry("2100", "4000", "6.00")]
    results = (await books(POST_MANY, {"inputs": inputs}))["postJournalEntries"]
    assert [r["entry"] for r in results] == [None, None]
    assert results[1]["errors"][0]["code"] == "INSUFFICIENT_FUNDS"
    assert await available(books, "2100") == "0.00"
    inputs[1] = entry("2100", "4000", "5.00")
    results = (await books(POST_MANY, {"inputs": inputs}))["postJournalEntries"]
    assert all(r["errors"] == [] for r in results)


async def test_a_reversal_that_would_overdraw_is_refused(books: GraphQLClient) -> None:
    await limits(books, "2100", noOverdraft=True)
    funded = await post(books, entry("1000", "2100", "10.00"))
    assert (await post(books, entry("2100", "4000", "8.00")))["errors"] == []
    # Undoing the funding would leave the wallet at -8.00.
    refused = (await books(REVERSE, {"id": funded["entry"]["id"]}))["reverseJournalEntry"]
    assert refused["entry"] is None
    assert refused["errors"][0]["code"] == "INSUFFICIENT_FUNDS"
    assert refused["errors"][0]["balanceLimit"]["available"] == "2.00"
    assert await available(books, "2100") == "2.00"
    # Nothing was written: the entry may still be reversed once the funds are back.
    assert (await post(books, entry("1000", "2100", "8.00")))["errors"] == []
    reversed_ = (await books(REVERSE, {"id": funded["entry"]["id"]}))["reverseJournalEntry"]
    assert reversed_["errors"] == []


async def test_an_import_refuses_the_entries_that_break_a_limit(
    books: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await limits(books, "2100", noOverdraft=True)
    documents = [
        {"date": "2026-01-15", "memo": "fund", "lines": [
            {"account": "1000", "debit": "5"}, {"account": "2100", "credit": "5"}]},
        {"date": "2026-01-16", "memo": "spend", "lines": [
            {"account": "2100", "debit": "4"}, {"account": "4000", "credit": "4"}]},
        {"date": "2026-01-17", "memo": "too much", "lines": [
            {"account": "2100", "debit": "4"}, {"account": "4000", "credit": "4"}]},
    ]  # fmt: skip
    text = "".join(json.dumps(d) + "\n" for d in documents)
    summary = await import_file(
        db, tenant.id, io.BytesIO(text.encode()), FORMATS["jsonl"], chunk_size=1
    )
    assert (summary.posted, summary.failed) == (2, 1)
    assert [(e.line, e.field) for e in summary.errors] == [(3, "lines.0")]
    assert await available(books, "2100") == "1.00"


async def test_a_due_entry_that_would_break_a_limit_stays_scheduled(
    books: GraphQLClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    later = dt.date.today() + dt.timedelta(days=30)
    await limits(books, "2100", noOverdraft=True)
    assert (await post(books, entry("1000", "2100", "5.00")))["errors"] == []
    scheduled = await post(books, entry("2100", "4000", "4.00", accrualDate=later.isoformat()))
    assert scheduled["entry"]["status"] == "SCHEDULED"  # checked when it falls due
    assert (await post(books, entry("2100", "4000", "3.00")))["errors"] == []
    with caplog.at_level(logging.WARNING, logger="ledgerql.batch"):
        await posting.post_due(db, later)
    assert "stays scheduled: insufficient funds on account 2100" in caplog.text
    entry_id = scheduled["entry"]["id"]
    status = await books("query($id: ID!) { journalEntry(id: $id) { status } }", {"id": entry_id})
    assert status["journalEntry"]["status"] == "SCHEDULED"
    assert await available(books, "2100") == "2.00"
    assert (await post(books, entry("1000", "2100", "2.00")))["errors"] == []
    await posting.post_due(db, later)
    status = await books("query($id: ID!) { journalEntry(id: $id) { status } }", {"id": entry_id})
    assert status["journalEntry"]["status"] == "POSTED"
    assert await available(books, "2100") == "0.00"
