"""Posting through /graphql: validation, idempotency, reversal, bulk, reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event

from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import (
    BALANCE,
    CREATE_ACCOUNT,
    POST_ENTRY,
    TRIAL_BALANCE,
    create_accounts,
    entry,
    post,
    set_lock_date,
)

EVENTS = "{ events(first: 500) { nodes { id type entryId } } }"
ENTRIES = """
query($from: Date, $to: Date, $account: String, $first: Int!, $after: String) {
  journalEntries(from: $from, to: $to, accountCode: $account, first: $first, after: $after) {
    nodes { id date memo status }
    pageInfo { hasNextPage endCursor }
  }
}"""
REVERSE = """
mutation($id: ID!, $date: Date, $memo: String) {
  reverseJournalEntry(id: $id, date: $date, memo: $memo) {
    entry { id date memo status reversalOfId lines { accountCode debit credit } }
    errors { code field message }
  }
}"""
ENTRY = "query($id: ID!) { journalEntry(id: $id) { id status reversedById } }"


async def nothing_written(gql: GraphQLClient) -> None:
    report = (await gql(TRIAL_BALANCE))["trialBalance"]
    assert report["rows"] == [] and report["totals"] == []
    assert (await gql(EVENTS))["events"]["nodes"] == []


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    await create_accounts(gql)
    return gql


def _lines(*lines: tuple[str, str | None, str | None]) -> list[dict[str, Any]]:
    return [
        {"accountCode": code, **({"debit": d} if d else {}), **({"credit": c} if c else {})}
        for code, d, c in lines
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"lines": _lines(("1000", "10.00", None), ("4000", None, "9.99"))},
            "lines",
            "does not balance",
        ),
        (
            {"lines": _lines(("1000", "3.005", None), ("4000", None, "3.005"))},
            "lines.0.debit",
            "more decimals",
        ),
        (
            {"lines": _lines(("9999", "1.00", None), ("4000", None, "1.00"))},
            "lines.0.accountCode",
            "does not exist",
        ),
        ({"memo": "   "}, "memo", "memo must not be empty"),
        ({"memo": ""}, "memo", "memo must not be empty"),
        ({"lines": _lines(("1000", "1.00", None))}, "lines", "at least two lines"),
        (
            {"lines": _lines(("1000", "1.00", "1.00"), ("4000", None, "1.00"))},
            "lines.0",
            "either a debit or a credit",
        ),
        (
            {"lines": _lines(("1000", None, None), ("4000", None, "1.00"))},
            "lines.0",
            "either a debit or a credit",
        ),
        (
            {"lines": _lines(("1000", "-1.00", None), ("4000", "1.00", None))},
            "lines.0.debit",
            "greater than zero",
        ),
        (  # a zero side is an absent one: a line of two zeros has neither
            {"lines": _lines(("1000", "0", None), ("4000", None, "0"))},
            "lines.0",
            "greater than zero",
        ),
        (
            {"lines": _lines(("1000", "0.00", "0.00"), ("4000", None, "1.00"))},
            "lines.0",
            "either a debit or a credit",
        ),
        (
            {"lines": _lines(("1000", "1.00", "0.01"), ("4000", None, "1.00"))},
            "lines.0",
            "either a debit or a credit",
        ),
        ({"currency": "ZZZ"}, "currency", "unknown currency"),
        ({"journalCode": "NOPE"}, "journalCode", "journal NOPE does not exist"),
        (
            {"lines": _lines(("1000", "92233720368547758.08", None), ("4000", None, "1"))},
            "lines.0.debit",
            "too large",
        ),
    ],
)
async def test_bad_entry_is_refused_and_writes_nothing(
    books: GraphQLClient, change: dict[str, Any], field: str, message: str
) -> None:
    result = await post(books, {**entry("1000", "4000", "10.00"), **change})
    assert result["entry"] is None
    [error] = result["errors"]
    assert error["code"] == "BAD_USER_INPUT"
    assert error["field"] == field
    assert message in error["message"]
    await nothing_written(books)


async def test_deactivated_account_is_refused(books: GraphQLClient) -> None:
    data = await books(
        'mutation { deactivateAccount(code: "5000") { account { active } errors { code } } }'
    )
    assert data["deactivateAccount"] == {"account": {"active": False}, "errors": []}
    result = await post(books, entry("5000", "1000", "5.00"))
    assert result["errors"][0]["field"] == "lines.0.accountCode"
    assert "deactivated" in result["errors"][0]["message"]
    await nothing_written(books)


async def test_float_amount_is_refused_by_the_scalar(books: GraphQLClient) -> None:
    response = await books.raw(
        POST_ENTRY,
        {
            "input": {
                **entry("1000", "4000", "1"),
                "lines": [
                    {"accountCode": "1000", "debit": 0.1},
                    {"accountCode": "4000", "credit": 0.1},
                ],
            }
        },
    )
    body = response.json()
    assert body["errors"] and "not a float" in body["errors"][0]["message"]
    await nothing_written(books)


async def test_currency_restricted_account(books: GraphQLClient) -> None:
    data = await books(
        CREATE_ACCOUNT,
        {"input": {"code": "1010", "name": "EUR bank", "type": "ASSET", "currency": "EUR"}},
    )
    assert data["createAccount"]["account"]["currency"] == "EUR"
    result = await post(books, entry("1010", "3000", "5.00"))
    assert result["errors"][0]["field"] == "lines.0.accountCode"
    ok = await post(books, entry("1010", "3000", "5.00", currency="EUR"))
    assert ok["errors"] == [] and ok["entry"]["currency"] == "EUR"


async def test_multi_currency_entry_balances_per_currency(books: GraphQLClient) -> None:
    lines = [
        {"accountCode": "1000", "debit": "10.00"},
        {"accountCode": "3000", "credit": "10.00"},
        {"accountCode": "1100", "debit": "1500", "currency": "JPY"},
        {"accountCode": "4000", "credit": "1500", "currency": "JPY"},
    ]
    result = await post(books, {**entry("1000", "3000", "1"), "lines": lines})
    assert result["errors"] == []
    report = (await books(TRIAL_BALANCE))["trialBalance"]
    assert report["balanced"] is True
    assert {t["currency"]: t["debit"] for t in report["totals"]} == {"JPY": "1500", "USD": "10.00"}
    unbalanced = [*lines[:3], {"accountCode": "4000", "credit": "1400", "currency": "JPY"}]
    bad = await post(books, {**entry("1000", "3000", "1"), "lines": unbalanced})
    assert "does not balance in JPY" in bad["errors"][0]["message"]


async def test_duplicate_account_code_is_a_conflict(books: GraphQLClient) -> None:
    data = await books(
        CREATE_ACCOUNT, {"input": {"code": "1000", "name": "Again", "type": "ASSET"}}
    )
    assert data["createAccount"]["errors"][0]["code"] == "CONFLICT"
    assert data["createAccount"]["errors"][0]["field"] == "code"


async def test_unknown_parent_account(books: GraphQLClient) -> None:
    data = await books(
        CREATE_ACCOUNT,
        {"input": {"code": "1200", "name": "Sub", "type": "ASSET", "parentCode": "77"}},
    )
    assert data["createAccount"]["errors"][0]["field"] == "parentCode"


async def test_idempotency_replay_and_conflict(books: GraphQLClient) -> None:
    first = await post(books, entry("1000", "4000", "12.34", idempotencyKey="inv-1"))
    again = await post(books, entry("1000", "4000", "12.34", idempotencyKey="inv-1"))
    assert first["replayed"] is False and again["replayed"] is True
    assert again["entry"]["id"] == first["entry"]["id"]
    assert again["entry"]["number"] == first["entry"]["number"]
    different = await post(books, entry("1000", "4000", "12.35", idempotencyKey="inv-1"))
    assert different["entry"] is None
    assert different["errors"][0]["code"] == "CONFLICT"
    assert different["errors"][0]["field"] == "idempotencyKey"
    balance = (await books(BALANCE, {"code": "1000"}))["account"]["balance"]
    assert balance["debit"] == "12.34"
    # "12.340" means the same amount: still a replay, even once the account is deactivated.
    await books('mutation { deactivateAccount(code: "4000") { errors { code } } }')
    later = await post(books, entry("1000", "4000", "12.340", idempotencyKey="inv-1"))
    assert later["replayed"] is True and later["entry"]["id"] == first["entry"]["id"]
    blank = await post(books, entry("1000", "3000", "1.00", idempotencyKey=" "))
    assert blank["errors"][0]["field"] == "idempotencyKey"


async def test_reversal_restores_balances_and_cannot_repeat(books: GraphQLClient) -> None:
    posted = await post(books, entry("5000", "1000", "80.00", date="2026-02-01"))
    entry_id = posted["entry"]["id"]
    reversed_ = (await books(REVERSE, {"id": entry_id, "date": "2026-02-03"}))[
        "reverseJournalEntry"
    ]
    assert reversed_["errors"] == []
    mirror = reversed_["entry"]
    assert mirror["reversalOfId"] == entry_id and mirror["date"] == "2026-02-03"
    assert mirror["lines"][0] == {"accountCode": "5000", "debit": "0.00", "credit": "80.00"}
    original = (await books(ENTRY, {"id": entry_id}))["journalEntry"]
    assert original == {"id": entry_id, "status": "REVERSED", "reversedById": mirror["id"]}
    for code in ("1000", "5000"):
        balance = (await books(BALANCE, {"code": code}))["account"]["balance"]
        assert balance["net"] == "0.00"
        between = (await books(BALANCE, {"code": code, "asOf": "2026-02-02"}))["account"]["balance"]
        assert between["net"] == "80.00" if code == "5000" else "-80.00"
    again = (await books(REVERSE, {"id": entry_id}))["reverseJournalEntry"]
    assert again["errors"][0]["code"] == "CONFLICT"
    of_mirror = (await books(REVERSE, {"id": mirror["id"]}))["reverseJournalEntry"]
    assert of_mirror["errors"][0]["code"] == "CONFLICT"
    missing = (await books(REVERSE, {"id": "999999999"}))["reverseJournalEntry"]
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    early = await post(books, entry("5000", "1000", "1.00", date="2026-03-01"))
    before = await books(REVERSE, {"id": early["entry"]["id"], "date": "2026-02-01"})
    assert before["reverseJournalEntry"]["errors"][0]["field"] == "date"


async def test_backdated_entry_keeps_as_of_balances_right(books: GraphQLClient) -> None:
    await post(books, entry("1000", "3000", "100.00", date="2026-03-10"))
    await post(books, entry("1000", "3000", "50.00", date="2026-03-20"))
    await post(books, entry("5000", "1000", "30.00", date="2026-03-05"))  # backdated
    expected = {
        "2026-03-04": "0.00",
        "2026-03-05": "-30.00",
        "2026-03-10": "70.00",
        "2026-03-31": "120.00",
    }
    for as_of, net in expected.items():
        balance = (await books(BALANCE, {"code": "1000", "asOf": as_of}))["account"]["balance"]
        assert balance["net"] == net, as_of
    report = (await books(TRIAL_BALANCE, {"asOf": "2026-03-10"}))["trialBalance"]
    assert report["balanced"] and report["totals"][0]["debit"] == "130.00"


async def test_general_ledger_pages_keep_running_balance(books: GraphQLClient) -> None:
    amounts = ["10.00", "20.00", "30.00", "40.00", "50.00"]
    for day, amount in enumerate(amounts, start=1):
        await post(books, entry("1000", "4000", amount, date=f"2026-04-0{day}"))
    await post(books, entry("5000", "1000", "5.00", date="2026-04-03"))
    query = """
    query($after: String, $from: Date) {
      generalLedger(accountCode: "1000", first: 2, after: $after, from: $from) {
        openingBalance closingBalance
        lines { nodes { date debit credit runningBalance } pageInfo { hasNextPage endCursor } }
      }
    }"""
    running: list[str] = []
    after = None
    closing = None
    while True:
        ledger = (await books(query, {"after": after}))["generalLedger"]
        assert ledger["openingBalance"] == "0.00"
        running += [line["runningBalance"] for line in ledger["lines"]["nodes"]]
        if not ledger["lines"]["pageInfo"]["hasNextPage"]:
            closing = ledger["closingBalance"]
            break
        assert ledger["closingBalance"] == "145.00"  # through `to`, on every page
        after = ledger["lines"]["pageInfo"]["endCursor"]
    assert running == ["10.00", "30.00", "60.00", "55.00", "95.00", "145.00"]
    assert closing == "145.00"
    ranged = (await books(query, {"from": "2026-04-03"}))["generalLedger"]
    assert ranged["openingBalance"] == "30.00"
    bad = await books.raw(query, {"after": "not-a-cursor"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_journal_entries_filters_and_pages(books: GraphQLClient) -> None:
    for day in range(1, 6):
        await post(books, entry("1000", "4000", "1.00", date=f"2026-05-0{day}", memo=f"m{day}"))
    await post(books, entry("5000", "2000", "1.00", date="2026-05-03", memo="rent"))
    page = (await books(ENTRIES, {"first": 2, "from": "2026-05-02", "to": "2026-05-04"}))[
        "journalEntries"
    ]
    assert [n["memo"] for n in page["nodes"]] == ["m2", "m3"]
    rest = (
        await books(
            ENTRIES,
            {
                "first": 10,
                "from": "2026-05-02",
                "to": "2026-05-04",
                "after": page["pageInfo"]["endCursor"],
            },
        )
    )["journalEntries"]
    assert [n["memo"] for n in rest["nodes"]] == ["rent", "m4"]
    assert rest["pageInfo"]["hasNextPage"] is False
    by_account = (await books(ENTRIES, {"first": 10, "account": "5000"}))["journalEntries"]
    assert [n["memo"] for n in by_account["nodes"]] == ["rent"]


async def test_bulk_atomic_and_not(books: GraphQLClient) -> None:
    mutation = """
    mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean!) {
      postJournalEntries(inputs: $inputs, atomic: $atomic) { entry { id } errors { code field message } }
    }"""
    good = entry("1000", "4000", "1.00")
    bad = entry("1000", "4000", "1.001")
    atomic = (await books(mutation, {"inputs": [good, bad, good], "atomic": True}))[
        "postJournalEntries"
    ]
    assert [r["entry"] for r in atomic] == [None, None, None]
    assert atomic[1]["errors"][0]["field"] == "inputs.1.lines.0.debit"
    assert "inputs.1 failed" in atomic[0]["errors"][0]["message"]
    await nothing_written(books)
    loose = (await books(mutation, {"inputs": [good, bad, good], "atomic": False}))[
        "postJournalEntries"
    ]
    assert [r["entry"] is not None for r in loose] == [True, False, True]
    balance = (await books(BALANCE, {"code": "1000"}))["account"]["balance"]
    assert balance["debit"] == "2.00"


async def test_bulk_caps_entries_and_lines_per_call(books: GraphQLClient) -> None:
    mutation = """
    mutation($inputs: [PostJournalEntryInput!]!) {
      postJournalEntries(inputs: $inputs) { entry { id } errors { code field message } }
    }"""
    one = entry("1000", "4000", "1.00")
    accepted = (await books(mutation, {"inputs": [one] * 1000}))["postJournalEntries"]
    assert len(accepted) == 1000 and all(r["errors"] == [] for r in accepted)
    too_many = (await books(mutation, {"inputs": [one] * 1001}))["postJournalEntries"]
    assert too_many[0]["errors"] == [
        {"code": "BAD_USER_INPUT", "field": "inputs", "message": "at most 1000 entries per call"}
    ]
    wide = {
        **one,
        "lines": [{"accountCode": "1000", "debit": "1.00"}] * 20
        + [{"accountCode": "4000", "credit": "20.00"}],
    }
    too_wide = (await books(mutation, {"inputs": [wide] * 1000}))["postJournalEntries"]
    assert too_wide[0]["errors"][0]["message"] == "at most 20000 lines per call"
    balance = (await books(BALANCE, {"code": "1000"}))["account"]["balance"]
    assert balance["debit"] == "1000.00"  # only the accepted call was written


async def test_events_written_with_each_posting(books: GraphQLClient) -> None:
    posted = await post(books, entry("1000", "4000", "3.00"))
    await books(REVERSE, {"id": posted["entry"]["id"]})
    events = (await books(EVENTS))["events"]["nodes"]
    assert [e["type"] for e in events] == ["journal_entry.posted", "journal_entry.reversed"]
    assert events[0]["entryId"] == posted["entry"]["id"]


async def test_balance_past_2_63_is_refused_and_nothing_written(books: GraphQLClient) -> None:
    biggest = "92233720368547758.07"  # 2^63-1 cents
    first = await post(books, entry("1000", "3000", biggest))
    assert first["errors"] == []
    second = await post(books, entry("1000", "4000", "0.01"))
    assert second["entry"] is None
    assert second["errors"][0]["field"] == "lines"
    assert "past 9223372036854775807 minor units" in second["errors"][0]["message"]
    balance = (await books(BALANCE, {"code": "1000"}))["account"]["balance"]
    assert balance["debit"] == biggest
    report = (await books(TRIAL_BALANCE))["trialBalance"]
    assert [row["account"]["code"] for row in report["rows"]] == ["1000", "3000"]


async def test_lock_date_refuses_postings_and_reversals_on_closed_days(
    books: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    open_entry = await post(books, entry("1000", "3000", "5.00", date="2026-01-31"))
    await set_lock_date(db, tenant.slug, dt.date(2026, 1, 31))
    closed = await post(books, entry("1000", "3000", "5.00", date="2026-01-31"))
    assert closed["errors"][0]["field"] == "date"
    assert "locked up to 2026-01-31" in closed["errors"][0]["message"]
    assert (await post(books, entry("1000", "3000", "5.00", date="2026-02-01")))["errors"] == []
    refused = await books(REVERSE, {"id": open_entry["entry"]["id"], "date": "2026-01-31"})
    assert refused["reverseJournalEntry"]["errors"][0]["field"] == "date"
    allowed = await books(REVERSE, {"id": open_entry["entry"]["id"], "date": "2026-02-02"})
    assert allowed["reverseJournalEntry"]["errors"] == []
    await set_lock_date(db, tenant.slug, None)
    assert (await post(books, entry("1000", "3000", "5.00", date="2026-01-15")))["errors"] == []


async def test_entries_post_to_a_named_journal(books: GraphQLClient) -> None:
    created = await books(
        'mutation { createJournal(input: {code: "SALES", name: "Sales journal"}) { journal { code } errors { code } } }'
    )
    assert created["createJournal"] == {"journal": {"code": "SALES"}, "errors": []}
    again = await books(
        'mutation { createJournal(input: {code: "SALES", name: "x"}) { journal { code } errors { code field } } }'
    )
    assert again["createJournal"]["errors"] == [{"code": "CONFLICT", "field": "code"}]
    posted = await books(
        "mutation($input: PostJournalEntryInput!) { postJournalEntry(input: $input) { entry { journalCode number } errors { code } } }",
        {"input": entry("1100", "4000", "8.00", journalCode="SALES")},
    )
    assert posted["postJournalEntry"]["entry"]["journalCode"] == "SALES"
    assert posted["postJournalEntry"]["entry"]["number"].startswith("JE-2026-01-15-")


async def test_accounts_filter_and_pages(books: GraphQLClient) -> None:
    await books('mutation { deactivateAccount(code: "2000") { errors { code } } }')
    query = """
    query($type: AccountType, $active: Boolean, $first: Int!, $after: String) {
      accounts(type: $type, active: $active, first: $first, after: $after) {
        nodes { code active } pageInfo { hasNextPage endCursor }
      }
    }"""
    page = (await books(query, {"first": 4}))["accounts"]
    assert [n["code"] for n in page["nodes"]] == ["1000", "1100", "2000", "3000"]
    rest = (await books(query, {"first": 4, "after": page["pageInfo"]["endCursor"]}))["accounts"]
    assert [n["code"] for n in rest["nodes"]] == ["4000", "5000"]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["pageInfo"]["endCursor"]}
    assets = (await books(query, {"first": 10, "type": "ASSET"}))["accounts"]["nodes"]
    assert [n["code"] for n in assets] == ["1000", "1100"]
    inactive = (await books(query, {"first": 10, "active": False}))["accounts"]["nodes"]
    assert inactive == [{"code": "2000", "active": False}]
    too_many = await books.raw(query, {"first": 501})
    assert too_many.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "first",
    }
    missing = await books('{ account(code: "nope") { code } }')
    assert missing == {"account": None}


async def test_balances_of_many_accounts_are_batched(books: GraphQLClient, db: Database) -> None:
    await post(books, entry("1000", "4000", "10.00"))
    await post(books, entry("5000", "1000", "4.00", currency="EUR"))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    query = "{ accounts { nodes { code balance { net } balances { currency net } } } }"
    event.listen(db.read_engine.sync_engine, "before_cursor_execute", count)
    try:
        nodes = (await books(query))["accounts"]["nodes"]
    finally:
        event.remove(db.read_engine.sync_engine, "before_cursor_execute", count)
    by_code = {node["code"]: node for node in nodes}
    assert by_code["1000"]["balance"] == {"net": "10.00"}
    assert by_code["1000"]["balances"] == [
        {"currency": "EUR", "net": "-4.00"},
        {"currency": "USD", "net": "10.00"},
    ]
    assert by_code["3000"]["balances"] == []
    # key, accounts, one batch per (asOf, currency) asked: not one query per account
    balance_queries = [s for s in statements if "balance" in s.lower()]
    assert len(balance_queries) == 2, statements


@pytest.mark.parametrize("order", ["DATE", "DATE_DESC", "ID", "ID_DESC"])
async def test_entry_pages_keep_to_the_tenant_range_and_order(db: Database, order: str) -> None:
    """DATE listings bound the tenant, the dates and the cursor by row values on the
    (tenant, date, id) index: every page of every range holds the tenant's entries of
    that range only, each once, in order; other tenants' entries (before and after it
    in the index) never show."""
    from app.ledger import accounts, listings, posting
    from tests.conftest import make_tenant

    start = dt.date(2026, 2, 1)
    tenants = [await make_tenant(db) for _ in range(3)]
    mine: list[tuple[dt.date, int]] = []
    for rank, tenant in enumerate(tenants):
        for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
            await accounts.create_account(
                db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
            )
        for index in range(9):
            day = start + dt.timedelta(days=(index * 5) % 4)
            result = await posting.post_entry(
                db,
                tenant.id,
                posting.EntryInput(
                    date=day,
                    memo="m",
                    lines=[
                        posting.LineInput(account_code="1000", debit="1.00"),
                        posting.LineInput(account_code="4000", credit="1.00"),
                    ],
                ),
            )
            if rank == 1:
                mine.append((day, result.entry.id))
    by_date = order.startswith("DATE")
    ranges = [(None, None), (start + dt.timedelta(days=1), start + dt.timedelta(days=2))]
    for date_from, date_to in ranges:
        kept = [
            (day, entry_id)
            for day, entry_id in mine
            if (date_from is None or day >= date_from) and (date_to is None or day <= date_to)
        ]
        expected = sorted(kept, key=(lambda e: e) if by_date else (lambda e: e[1]))
        if order.endswith("_DESC"):
            expected.reverse()
        for first in (1, 2, 4, 50):
            seen: list[int] = []
            after = None
            for _ in range(len(mine) + 1):  # a cursor that does not advance fails, not hangs
                page = await listings.list_entries(
                    db,
                    tenants[1].id,
                    date_from=date_from,
                    date_to=date_to,
                    first=first,
                    after=after,
                    order=order,
                )
                assert len(page.items) <= first
                seen.extend(view.id for view in page.items)
                if not page.has_next:
                    break
                after = page.cursors[-1]
            else:
                pytest.fail("the pages do not end")
            assert seen == [entry_id for _, entry_id in expected], (date_from, first)
