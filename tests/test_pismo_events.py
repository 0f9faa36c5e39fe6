"""postAccountingEvent: every script of an event type in one balanced journal entry."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, TenantFixture
from tests.test_pismo_seeds import (
    CREATE_ENTRY_TYPE,
    SCRIPTS,
    Books,
    counts,
    ok,
    pismo_books,
    rest,
    script_body,
    totals,
)

POST_EVENT = """
mutation($program: ID!, $eventType: ID!, $amounts: [AccountingAmountInput!]!,
         $code: String, $date: String, $tracking: String) {
  postAccountingEvent(programId: $program, eventTypeId: $eventType, amounts: $amounts,
                      processingCode: $code, eventDate: $date, trackingId: $tracking) {
    journalEntry { id date memo lines { accountCode debit credit description } }
    scripts { id entryName entryTypeId }
    errors { code field message }
  }
}"""
EVENTS = "{ events(first: 100) { nodes { type payload } } }"


@pytest.fixture
async def books(client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient) -> Books:
    """Event type 1 has: amount on 2100 (receivable/payable), amount on 2200 (cash/revenue),
    interest on 2100 (receivable/revenue), and amount on 2100 for processing code 003000."""
    books = await pismo_books(gql)
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2200, "description": "Fee"})
    for body in (
        script_body(books),
        script_body(
            books,
            entry_type_id=2200,
            debit_accounting_account_id=books.cash,
            credit_accounting_account_id=books.revenue,
        ),
        script_body(books, entry_name="interest", credit_accounting_account_id=books.revenue),
        script_body(books, processing_code="003000", debit_accounting_account_id=books.cash),
    ):
        assert (await rest(client, tenant, SCRIPTS, body)).status_code == 201
    return books


async def event(gql: GraphQLClient, amounts: list[dict[str, Any]], **extra: Any) -> Any:
    variables = {"program": "12", "eventType": "1", "amounts": amounts, "date": "2021-03-05"}
    return (await gql(POST_EVENT, variables | extra))["postAccountingEvent"]


async def test_every_script_with_an_amount_is_applied_in_one_entry(
    gql: GraphQLClient, books: Books
) -> None:
    result = await event(
        gql,
        [{"entryName": "amount", "amount": "100.00"}, {"entryName": "interest", "amount": "2.5"}],
    )

    assert result["errors"] == []
    assert [(s["entryName"], s["entryTypeId"]) for s in result["scripts"]] == [
        ("amount", "2100"),
        ("amount", "2200"),
        ("interest", "2100"),
    ]
    journal = result["journalEntry"]
    assert journal["date"] == "2021-03-05"
    assert [(line["accountCode"], line["debit"], line["credit"]) for line in journal["lines"]] == [
        ("1.1.02", "100.00", "0.00"),
        ("2.1.01", "0.00", "100.00"),
        ("1.1.01", "100.00", "0.00"),
        ("4.1.01", "0.00", "100.00"),
        ("1.1.02", "2.50", "0.00"),
        ("4.1.01", "0.00", "2.50"),
    ]
    assert await totals(gql) == {
        "1.1.01": ("100.00", "0.00"),
        "1.1.02": ("102.50", "0.00"),
        "2.1.01": ("0.00", "100.00"),
        "4.1.01": ("0.00", "102.50"),
    }
    events = (await gql(EVENTS))["events"]["nodes"]
    assert [e["type"] for e in events] == ["accounting_event.posted"]
    assert json.loads(events[0]["payload"])["metadata"]["amounts"] == {
        "amount": "100.00",
        "interest": "2.50",
    }


async def test_processing_code_selects_its_scripts_else_those_without(
    gql: GraphQLClient, books: Books
) -> None:
    coded = await event(gql, [{"entryName": "amount", "amount": "1"}], code="003000")
    fallback = await event(gql, [{"entryName": "amount", "amount": "1"}], code="009999")

    assert [line["accountCode"] for line in coded["journalEntry"]["lines"]] == ["1.1.01", "2.1.01"]
    assert len(fallback["journalEntry"]["lines"]) == 4
    unknown = await event(gql, [{"entryName": "interest", "amount": "1"}], code="003000")
    assert [(e["field"], e["code"]) for e in unknown["errors"]] == [
        ("amounts.0.entryName", "BAD_USER_INPUT")
    ]


@pytest.mark.parametrize(
    ("amounts", "extra", "field", "words"),
    [
        ([{"entryName": "fine", "amount": "1"}], {}, "amounts.0.entryName", "entry name fine"),
        ([{"entryName": "bogus", "amount": "1"}], {}, "amounts.0.entryName", "is not one of"),
        (
            [{"entryName": "amount", "amount": "1"}, {"entryName": "amount", "amount": "2"}],
            {},
            "amounts.1.entryName",
            "given twice",
        ),
        ([], {}, "amounts", "at least one amount"),
        ([{"entryName": "amount", "amount": "0.001"}], {}, "amounts.0.amount", "more decimals"),
        ([{"entryName": "amount", "amount": "0"}], {}, "amounts.0.amount", "greater than zero"),
        (
            [{"entryName": "amount", "amount": "1"}],
            {"eventType": "9"},
            "eventTypeId",
            "event type 9",
        ),
        ([{"entryName": "amount", "amount": "1"}], {"program": "99"}, "programId", "program 99"),
        (
            [{"entryName": "amount", "amount": "1"}],
            {"program": str(2**63)},
            "programId",
            "out of range",
        ),
        (
            [{"entryName": "amount", "amount": "1"}],
            {"date": "2021-13-01"},
            "eventDate",
            "not a date",
        ),
        ([{"entryName": "amount", "amount": "1"}], {"code": "1234567"}, "processingCode", "6"),
    ],
)
async def test_bad_events_write_nothing(
    gql: GraphQLClient,
    books: Books,
    amounts: list[dict[str, Any]],
    extra: dict[str, Any],
    field: str,
    words: str,
) -> None:
    result = await event(gql, amounts, **extra)

    assert result["journalEntry"] is None
    assert len(result["errors"]) == 1
    assert result["errors"][0]["field"] == field
    assert words in result["errors"][0]["message"]
    assert await counts(gql) == (0, 0)


async def test_tracking_id_posts_an_event_once(gql: GraphQLClient, books: Books) -> None:
    amounts = [{"entryName": "interest", "amount": "3"}]
    assert (await event(gql, amounts, tracking="ev-1"))["errors"] == []

    again = await event(gql, amounts, tracking="ev-1")

    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", "trackingId")]
    assert await counts(gql) == (1, 1)
