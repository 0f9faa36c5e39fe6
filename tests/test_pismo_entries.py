"""Accounting entries: POST /accounting/v1/accounting-entries and createAccountingEntry."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.ledger.tenants import create_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.test_pismo_seeds import (
    COMPONENTS,
    CREATE_ENTRY,
    CREATE_EVENT_TYPE,
    CREATE_PROGRAM,
    DEACTIVATE,
    ENTRIES,
    SCRIPTS,
    Books,
    accounting_account,
    assert_error,
    assert_valid,
    counts,
    entry_body,
    ok,
    pismo_books,
    rest,
    script_body,
    totals,
)

EVENTS = """
query($first: Int!, $after: String) {
  events(first: $first, after: $after) {
    nodes { id type entryId payload }
    pageInfo { hasNextPage endCursor }
  }
}"""
ENTRY_DATES = "{ journalEntries(first: 500) { nodes { date memo source } } }"
SCHEMA = COMPONENTS["AccountingEntryPost"]


@pytest.fixture
async def books(client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient) -> Books:
    """Reference data and the script of entry type 2100: receivable / payable."""
    books = await pismo_books(gql)
    assert (await rest(client, tenant, SCRIPTS, script_body(books))).status_code == 201
    return books


async def post(client: httpx.AsyncClient, tenant: TenantFixture, **changes: Any) -> httpx.Response:
    return await rest(client, tenant, ENTRIES, entry_body(**changes))


async def test_accounts_from_the_script_when_absent_or_zero(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    absent = await post(client, tenant, amount=5)
    zero = await post(
        client, tenant, amount=7, debit_accounting_account="0", credit_accounting_account="0"
    )

    assert absent.status_code == 202, absent.text
    assert assert_valid(absent, SCHEMA) == {
        "amount": Decimal("5.00"),
        "entry_type_id": 2100,
        "event_date": "2021-02-01",
        "program_id": 12,
    }
    assert zero.status_code == 202, zero.text
    assert assert_valid(zero, SCHEMA)["debit_accounting_account"] == "0"
    assert await totals(gql) == {"1.1.02": ("12.00", "0.00"), "2.1.01": ("0.00", "12.00")}


async def test_explicit_accounts_win_over_the_script(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    both = await post(
        client,
        tenant,
        amount=100,
        debit_accounting_account="1.1.01",
        credit_accounting_account="4.1.01",
    )
    debit_only = await post(client, tenant, amount=1, debit_accounting_account="1.1.01")
    credit_only = await post(client, tenant, amount=2, credit_accounting_account="4.1.01")

    for response in (both, debit_only, credit_only):
        assert response.status_code == 202, response.text
        assert_valid(response, SCHEMA)
    assert assert_valid(both, SCHEMA)["credit_accounting_account"] == "4.1.01"
    assert await totals(gql) == {
        "1.1.01": ("101.00", "0.00"),  # both + debit_only
        "1.1.02": ("2.00", "0.00"),  # credit_only's debit from the script
        "2.1.01": ("0.00", "1.00"),  # debit_only's credit from the script
        "4.1.01": ("0.00", "102.00"),
    }


async def test_no_script_needed_when_both_accounts_are_named(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    await pismo_books(gql)
    response = await post(
        client, tenant, debit_accounting_account="1.1.01", credit_accounting_account="2.1.01"
    )
    assert response.status_code == 202, response.text

    missing = await post(client, tenant, credit_accounting_account="2.1.01")

    assert_error(
        missing,
        400,
        "debit_accounting_account",
        "no accounting script for program 12 and entry type 2100",
    )
    assert await counts(gql) == (1, 1)


async def test_scripts_that_disagree_are_refused_and_agreeing_ones_used(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    for event_type in (2, 3):
        await ok(
            gql, CREATE_EVENT_TYPE, "createEventType", {"id": event_type, "description": "Other"}
        )
    # Same accounts under another event type: they agree.
    assert (
        await rest(client, tenant, SCRIPTS, script_body(books, event_type_id=2))
    ).status_code == 201
    assert (await post(client, tenant)).status_code == 202
    # A third one crediting revenue: the credit side is now ambiguous, the debit side is not.
    other = script_body(books, event_type_id=3, credit_accounting_account_id=books.revenue)
    assert (await rest(client, tenant, SCRIPTS, other)).status_code == 201
    before = await counts(gql)

    ambiguous = await post(client, tenant)

    assert_error(
        ambiguous, 400, "credit_accounting_account", "disagree", "name the debit and credit"
    )
    assert await counts(gql) == before
    assert (await post(client, tenant, credit_accounting_account="2.1.01")).status_code == 202
    # Scripts of other entry names do not count.
    interest = script_body(books, entry_name="interest", debit_accounting_account_id=books.cash)
    assert (await rest(client, tenant, SCRIPTS, interest)).status_code == 201
    assert (await post(client, tenant, credit_accounting_account="2.1.01")).status_code == 202


async def test_json_amounts_are_exact_decimals(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    for _ in range(3):
        response = await rest(
            client,
            tenant,
            ENTRIES,
            content=b'{"amount": 0.1, "entry_type_id": 2100, "event_date": "2021-02-01", '
            b'"program_id": 12}',
        )
        assert response.status_code == 202, response.text
        assert b'"amount":0.10' in response.content
    large = await rest(
        client,
        tenant,
        ENTRIES,
        content=b'{"amount": 12345678901234567.89, "entry_type_id": 2100, '
        b'"event_date": "2021-02-01", "program_id": 12}',
    )
    assert large.status_code == 202, large.text
    assert assert_valid(large, SCHEMA)["amount"] == Decimal("12345678901234567.89")
    exponent = await rest(
        client,
        tenant,
        ENTRIES,
        content=b'{"amount": 1.5E+1, "entry_type_id": 2100, "event_date": "2021-02-01", '
        b'"program_id": 12}',
    )
    assert exponent.status_code == 202, exponent.text
    assert await totals(gql) == {
        "1.1.02": ("12345678901234583.19", "0.00"),
        "2.1.01": ("0.00", "12345678901234583.19"),
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'"amount": 0.001', ["amount", "more decimals than BRL allows (2)"]),
        (b'"amount": 10.005', ["amount", "more decimals than BRL allows"]),
        (b'"amount": 0', ["amount", "greater than zero"]),
        (b'"amount": 0.00', ["amount", "greater than zero"]),
        (b'"amount": -5', ["amount", "greater than zero"]),
        (b'"amount": "10.00"', ["amount must be a number", "string"]),
        (b'"amount": true', ["amount must be a number", "boolean"]),
        (b'"amount": null', ["amount is required"]),
        (b'"amount": [10]', ["amount must be a number", "array"]),
        (b'"amount": 92233720368547758.08', ["amount", "too large"]),
        (b'"amount": 9223372036854775808', ["amount", "too large"]),
        (b'"amount": 1e400', ["amount is too large"]),
        (b'"amount": 1e999999999', ["amount is too large"]),
        (b'"amount": 1e-999999999', ["amount has too many decimals"]),
    ],
)
async def test_bad_amounts_are_400_and_write_nothing(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    books: Books,
    gql: GraphQLClient,
    content: bytes,
    words: list[str],
) -> None:
    body = (
        b'{"entry_type_id": 2100, "event_date": "2021-02-01", "program_id": 12, ' + content + b"}"
    )

    response = await rest(client, tenant, ENTRIES, content=body)

    assert_error(response, 400, "Validation error", *words)
    assert await counts(gql) == (0, 0)


async def test_amounts_follow_the_program_currency(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    yen = await pismo_books(gql, currency="JPY", program_id=77)
    assert (await rest(client, tenant, SCRIPTS, script_body(yen))).status_code == 201
    fraction = await rest(
        client,
        tenant,
        ENTRIES,
        content=b'{"amount": 10.5, "entry_type_id": 2100, "event_date": "2021-02-01", '
        b'"program_id": 77}',
    )
    assert_error(fraction, 400, "more decimals than JPY allows (0)")
    whole = await post(client, tenant, program_id=77, amount=1500)
    assert whole.status_code == 202, whole.text
    assert assert_valid(whole, SCHEMA)["amount"] == 1500
    # The largest amount that fits in 64 bits, on accounts that hold nothing yet.
    unused = {"debit_accounting_account": "1.1.01", "credit_accounting_account": "4.1.01"}
    largest = await post(client, tenant, program_id=77, amount=2**63 - 1, **unused)
    assert largest.status_code == 202, largest.text
    assert_error(await post(client, tenant, program_id=77, amount=2**63), 400, "too large")
    assert await counts(gql) == (2, 2)


async def test_a_balance_past_2_63_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    yen = await pismo_books(gql, currency="JPY", program_id=77)
    assert (await rest(client, tenant, SCRIPTS, script_body(yen))).status_code == 201
    assert (await post(client, tenant, program_id=77, amount=2**63 - 1)).status_code == 202

    response = await post(client, tenant, program_id=77, amount=1)

    assert_error(response, 400, "amount")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"program_id": 13}, ["program_id", "program 13 does not exist"]),
        ({"entry_type_id": 2200}, ["entry_type_id", "entry type 2200 does not exist"]),
        (
            {"debit_accounting_account": "8.8.88"},
            ["debit_accounting_account", "8.8.88 does not exist"],
        ),
        ({"credit_accounting_account": "x" * 51}, ["credit_accounting_account", "longer than 50"]),
        (
            {"debit_accounting_account": "1.1.01", "credit_accounting_account": "1.1.01"},
            ["credit_accounting_account", "both 1.1.01"],
        ),
        ({"transaction_id": 12342}, ["account_id", "required when transaction id is present"]),
        ({"event_date": "2021-02-30"}, ["event_date", "is not a date"]),
        ({"event_date": "01/02/2021"}, ["event_date", "is not a date"]),
        ({"event_date": ""}, ["event_date", "is not a date"]),
        ({"event_date": 20210201}, ["event_date must be a string", "number"]),
        ({"event_date": ...}, ["event_date is required"]),
        ({"program_id": ...}, ["program_id is required"]),
        ({"entry_type_id": ...}, ["entry_type_id is required"]),
        ({"amount": ...}, ["amount is required"]),
        ({"program_id": "12"}, ["program_id must be an integer", "string"]),
        ({"entry_type_id": False}, ["entry_type_id must be an integer", "boolean"]),
        ({"account_id": 21.5}, ["account_id must be an integer", "number"]),
        ({"transaction_id": "12342", "account_id": 21}, ["transaction_id must be an integer"]),
        ({"account_id": 2**63}, ["account_id is out of range"]),
        ({"transaction_id": 2**63, "account_id": 1}, ["transaction_id is out of range"]),
        ({"program_id": -(2**63) - 1}, ["program_id is out of range"]),
        ({"program_id": 2**63 - 1}, ["program_id", "program 9223372036854775807 does not exist"]),
        ({"account_id": 0}, ["account_id", "out of range"]),
        ({"tracking_id": 123}, ["tracking_id must be a string", "number"]),
        ({"tracking_id": "t" * 51}, ["tracking_id", "longer than 50"]),
        ({"tracking_id": " "}, ["tracking_id", "must not be empty"]),
        ({"debit_accounting_account": 1001}, ["debit_accounting_account must be a string"]),
        ({"credit_accounting_account": ["2.1.01"]}, ["credit_accounting_account must be a string"]),
    ],
)
async def test_bad_entries_are_400_naming_the_field(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    books: Books,
    gql: GraphQLClient,
    change: dict[str, Any],
    words: list[str],
) -> None:
    response = await post(client, tenant, **change)

    assert_error(response, 400, "Validation error", *words)
    assert await counts(gql) == (0, 0)


async def test_accounting_accounts_must_be_usable(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    await ok(gql, CREATE_PROGRAM, "createProgram", {"id": 13, "name": "Other", "currency": "BRL"})
    await accounting_account(gql, "9.9.13", "ASSET", program_id=13)
    other_program = await post(client, tenant, debit_accounting_account="9.9.13")
    assert_error(other_program, 400, "debit_accounting_account", "belongs to program 13")

    await gql(DEACTIVATE, {"code": "4.1.01"})
    explicit = await post(client, tenant, credit_accounting_account="4.1.01")
    assert_error(explicit, 400, "credit_accounting_account", "4.1.01 is deactivated")

    await gql(DEACTIVATE, {"code": "2.1.01"})
    from_script = await post(client, tenant)
    assert_error(from_script, 400, "credit_accounting_account", "2.1.01", "deactivated")
    assert await counts(gql) == (0, 0)


async def test_event_date_takes_a_date_or_a_date_time(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    for sent, day in (
        ("2021-06-26", "2021-06-26"),
        ("2021-06-26T00:00:00.000Z", "2021-06-26"),
        ("2021-06-26T23:30:00-03:00", "2021-06-26"),
        ("2021-06-26T01:00:00+09:00", "2021-06-26"),
    ):
        response = await post(client, tenant, event_date=sent)
        assert response.status_code == 202, response.text
        assert assert_valid(response, SCHEMA)["event_date"] == day
    entries = (await gql(ENTRY_DATES))["journalEntries"]["nodes"]
    assert {entry["date"] for entry in entries} == {"2021-06-26"}
    assert {entry["source"] for entry in entries} == {"pismo"}
    assert entries[0]["memo"] == "Pismo accounting entry: Purchase (entry type 2100, program 12)"


async def test_tracking_id_is_unique_per_tenant_and_409_never_posts(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient, db: Database
) -> None:
    first = await post(client, tenant, tracking_id="order-1", amount=3)
    assert first.status_code == 202
    assert assert_valid(first, SCHEMA)["tracking_id"] == "order-1"
    # Another amount or other accounts: the key decides, 409.
    for change in (
        {},
        {"amount": 4},
        {"debit_accounting_account": "1.1.01", "credit_accounting_account": "4.1.01"},
    ):
        assert_error(await post(client, tenant, tracking_id="order-1", **change), 409, "order-1")
    # Input that is invalid anyway is a 400 first, whatever its key.
    invalid = await post(client, tenant, tracking_id="order-1", entry_type_id=9999)
    assert_error(invalid, 400, "entry type 9999 does not exist")
    assert await totals(gql) == {"1.1.02": ("3.00", "0.00"), "2.1.01": ("0.00", "3.00")}
    assert await counts(gql) == (1, 1)
    # A 50-character key is allowed; the same key in another tenant is another key.
    assert (await post(client, tenant, tracking_id="k" * 50)).status_code == 202
    other = await make_tenant(db)
    await pismo_books(GraphQLClient(client, other.key))
    named = {"debit_accounting_account": "1.1.01", "credit_accounting_account": "2.1.01"}
    assert (await post(client, other, tracking_id="order-1", **named)).status_code == 202


async def test_concurrent_requests_with_one_tracking_id_post_once(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    responses = await asyncio.gather(
        *(post(client, tenant, tracking_id="race", amount=1) for _ in range(8))
    )

    assert sorted(response.status_code for response in responses) == [202] + [409] * 7
    assert await counts(gql) == (1, 1)
    assert await totals(gql) == {"1.1.02": ("1.00", "0.00"), "2.1.01": ("0.00", "1.00")}


async def test_transaction_with_account_and_unknown_fields(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    response = await post(
        client, tenant, transaction_id=2**63 - 1, account_id=21, currency="USD", foo={"x": 1}
    )

    assert response.status_code == 202, response.text
    echo = assert_valid(response, SCHEMA)
    assert echo["transaction_id"] == 2**63 - 1 and echo["account_id"] == 21
    assert "currency" not in echo and "foo" not in echo


async def test_each_entry_writes_one_event_readable_in_order(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    for amount in (1, 2, 3):
        response = await post(client, tenant, amount=amount, tracking_id=f"t{amount}")
        assert response.status_code == 202

    first = (await gql(EVENTS, {"first": 2}))["events"]
    second = (await gql(EVENTS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["events"]

    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
    events = first["nodes"] + second["nodes"]
    assert [event["type"] for event in events] == ["accounting_entry.created"] * 3
    payloads = [json.loads(event["payload"]) for event in events]
    assert [p["metadata"]["tracking_id"] for p in payloads] == ["t1", "t2", "t3"]
    assert payloads[0]["metadata"] | {"script_ids": None} == {
        "dialect": "pismo",
        "program_id": 12,
        "entry_type_id": 2100,
        "event_date": "2021-02-01",
        "amount": "1.00",
        "currency": "BRL",
        "account_id": None,
        "transaction_id": None,
        "tracking_id": "t1",
        "debit_accounting_account": "1.1.02",
        "credit_accounting_account": "2.1.01",
        "script_ids": None,
        "description": "Purchase",  # the entry type's, for Pismo's entry_creation event
        "debit_cost_center": None,  # the script has no cost center
        "credit_cost_center": None,
    }
    assert [event["entryId"] for event in events] == sorted(
        (event["entryId"] for event in events), key=int
    )


async def test_graphql_create_accounting_entry(gql: GraphQLClient, books: Books) -> None:
    input = {
        "amount": "25.50",
        "entryTypeId": "2100",
        "eventDate": "2021-02-01T10:00:00Z",
        "programId": 12,
        "accountId": "21",
        "transactionId": "9223372036854775807",
        "trackingId": "gql-1",
        "debitAccountingAccount": "0",
    }
    payload = await ok(gql, CREATE_ENTRY, "createAccountingEntry", input)

    entry = payload["accountingEntry"]
    assert entry["amount"] == "25.50" and entry["currency"] == "BRL"
    assert entry["eventDate"] == "2021-02-01T10:00:00Z"
    assert entry["transactionId"] == "9223372036854775807"
    assert entry["debitAccountingAccount"] == "0"
    assert entry["creditAccountingAccount"] is None
    assert entry["debitAccounting"] == {"account": "1.1.02"}
    assert entry["creditAccounting"] == {"account": "2.1.01"}
    assert len(entry["scriptIds"]) == 1
    journal = payload["journalEntry"]
    assert journal["id"] == entry["id"] and journal["date"] == "2021-02-01"
    assert journal["lines"] == [
        {"accountCode": "1.1.02", "debit": "25.50", "credit": "0.00"},
        {"accountCode": "2.1.01", "debit": "0.00", "credit": "25.50"},
    ]

    again = (await gql(CREATE_ENTRY, {"input": input}))["createAccountingEntry"]
    assert again["accountingEntry"] is None and again["journalEntry"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", "trackingId")]
    bad = (await gql(CREATE_ENTRY, {"input": input | {"trackingId": None, "amount": "1.001"}}))[
        "createAccountingEntry"
    ]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("BAD_USER_INPUT", "amount")]
    float_amount = await gql.raw(CREATE_ENTRY, {"input": input | {"amount": 0.1}})
    assert "not a float" in float_amount.json()["errors"][0]["message"]


async def test_read_only_key_is_forbidden(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, db: Database, gql: GraphQLClient
) -> None:
    issued = await create_key(db, slug=tenant.slug, read_only=True)
    response = await client.post(
        ENTRIES, json=entry_body(), headers={"Authorization": f"Bearer {issued.key}"}
    )
    assert_error(response, 403, "read-only")
    assert await counts(gql) == (0, 0)


async def test_a_write_that_keeps_losing_to_contention_is_a_503_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient, db: Database
) -> None:
    """A real deadlock error on every attempt: retried, then TRY_AGAIN (503), never a 500."""
    if db.sqlite:  # the message of SQLite's busy timeout, which run_write retries
        create = [
            "CREATE TRIGGER test_pismo_contended BEFORE INSERT ON journal_entries "
            f"WHEN NEW.tenant_id = {tenant.id} "
            "BEGIN SELECT RAISE(ABORT, 'database is locked'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_pismo_contended"]
    else:  # deadlock_detected
        create = [
            "CREATE FUNCTION test_pismo_contended() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$",
            "CREATE TRIGGER test_pismo_contended BEFORE INSERT ON journal_entries "
            f"FOR EACH ROW WHEN (NEW.tenant_id = {tenant.id}) "
            "EXECUTE FUNCTION test_pismo_contended()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_pismo_contended ON journal_entries",
            "DROP FUNCTION IF EXISTS test_pismo_contended()",
        ]
    before = await counts(gql)
    async with db.write() as session:
        for statement in create:
            await session.execute(text(statement))
    try:
        refused = await post(client, tenant, amount=5, tracking_id="contended-1")
    finally:
        async with db.write() as session:
            for statement in drop:
                await session.execute(text(statement))
    assert_error(refused, 503, "busy", "try again")
    assert await counts(gql) == before
    retried = await post(client, tenant, amount=5, tracking_id="contended-1")
    assert retried.status_code == 202, retried.text  # the same request, sent again
