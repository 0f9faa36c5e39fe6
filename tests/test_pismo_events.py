"""postAccountingEvent: every script of an event type in one balanced journal entry, and
the Pismo entry_creation records of its event (and of direct accounting entries)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.events.pismo_document import ENTRY_CREATION_FIELDS as PISMO_DOCUMENT_FIELDS
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry, post
from tests.test_pismo_seeds import (
    CREATE_ENTRY_TYPE,
    ENTRIES,
    SCRIPTS,
    Books,
    counts,
    entry_body,
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


# ---------------------------------------------------------------- entry_creation records

PISMO_FIELDS = """
  transactionId accountId programId entryTypeId accountingEventId accountingEntryId
  createdAt eventDate amount description debitAccount creditAccount
  debitCostCenter creditCostCenter authorizationDate installmentNumber
"""
# first: 10, not 100: the cost limit takes pismoEntries for a 100-item list (document_limits.py).
EVENT_DOCUMENTS = f"""
{{ events(first: 100) {{ nodes {{
  type entryId document pismo {{ {PISMO_FIELDS} }} pismoEntries {{ {PISMO_FIELDS} }}
}} }} }}"""
POST_EVENT_WITH_LINE_IDS = """
mutation($amounts: [AccountingAmountInput!]!) {
  postAccountingEvent(programId: 12, eventTypeId: 1, amounts: $amounts,
                      eventDate: "2021-03-05") {
    journalEntry { id lines { id accountCode debit credit } }
    errors { code field message }
  }
}"""


def cost_center(debit: str, credit: str) -> dict[str, str]:
    return {"debit_org": "org", "credit_org": "org", "debit_cost": debit, "credit_cost": credit}


@pytest.fixture
async def costed(client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient) -> Books:
    """Event type 1: amount on 2100 (receivable/payable, cost centers D-2100/C-2100) and
    interest on 2200 "Fee" (cash/revenue, cost centers D-2200/C-2200)."""
    books = await pismo_books(gql)
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2200, "description": "Fee"})
    for body in (
        script_body(books, cost_center=cost_center("D-2100", "C-2100")),
        script_body(
            books,
            entry_type_id=2200,
            entry_name="interest",
            debit_accounting_account_id=books.cash,
            credit_accounting_account_id=books.revenue,
            cost_center=cost_center("D-2200", "C-2200"),
        ),
    ):
        response = await rest(client, tenant, SCRIPTS, body)
        assert response.status_code == 201, response.text
    return books


async def test_an_accounting_event_has_one_entry_creation_per_applied_script(
    gql: GraphQLClient, costed: Books
) -> None:
    amounts = [
        {"entryName": "amount", "amount": "100.00"},
        {"entryName": "interest", "amount": "2.5"},
    ]
    posted = (await gql(POST_EVENT_WITH_LINE_IDS, {"amounts": amounts}))["postAccountingEvent"]
    assert posted["errors"] == []
    journal = posted["journalEntry"]
    debit_line_ids = [journal["lines"][0]["id"], journal["lines"][2]["id"]]

    (node,) = (await gql(EVENT_DOCUMENTS))["events"]["nodes"]

    assert node["type"] == "accounting_event.posted" and node["entryId"] == journal["id"]
    assert node["pismo"] is None
    records = node["pismoEntries"]
    common = {
        "transactionId": None,
        "accountId": None,
        "programId": "12",
        "accountingEventId": journal["id"],
        "eventDate": "2021-03-05",
        "authorizationDate": None,
        "installmentNumber": None,
    }
    assert [{k: v for k, v in r.items() if k != "createdAt"} for r in records] == [
        common
        | {
            "entryTypeId": "2100",
            "accountingEntryId": debit_line_ids[0],
            "amount": "100.00",
            "description": "Purchase",
            "debitAccount": "1.1.02",
            "creditAccount": "2.1.01",
            "debitCostCenter": "D-2100",
            "creditCostCenter": "C-2100",
        },
        common
        | {
            "entryTypeId": "2200",
            "accountingEntryId": debit_line_ids[1],
            "amount": "2.50",
            "description": "Fee",
            "debitAccount": "1.1.01",
            "creditAccount": "4.1.01",
            "debitCostCenter": "D-2200",
            "creditCostCenter": "C-2200",
        },
    ]
    assert len(set(debit_line_ids)) == 2
    assert all(r["createdAt"].endswith("+00:00") for r in records)

    document = json.loads(node["document"])
    assert document["pismo"] is None
    entries = document["pismo_entries"]
    assert [list(e) for e in entries] == [list(PISMO_DOCUMENT_FIELDS)] * 2
    assert [e["amount"] for e in entries] == [100, 2.5]  # JSON numbers, as Pismo's
    assert [e["accounting_entry_id"] for e in entries] == [int(i) for i in debit_line_ids]
    assert {e["accounting_event_id"] for e in entries} == {int(journal["id"])}
    assert [e["entry_type_id"] for e in entries] == [2100, 2200]
    assert [(e["debit_cost_center"], e["credit_cost_center"]) for e in entries] == [
        ("D-2100", "C-2100"),
        ("D-2200", "C-2200"),
    ]
    payload = document["data"]
    assert [line["id"] for line in payload["lines"]] == [
        int(line["id"]) for line in journal["lines"]
    ]
    assert [s["id"] for s in payload["metadata"]["scripts"]] == payload["metadata"]["script_ids"]
    assert [s["entry_name"] for s in payload["metadata"]["scripts"]] == ["amount", "interest"]


async def test_a_direct_entry_carries_the_cost_centers_of_the_script_that_gave_its_accounts(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient, costed: Books
) -> None:
    from_script = await rest(client, tenant, ENTRIES, entry_body(tracking_id="s"))
    debit_named = await rest(
        client, tenant, ENTRIES, entry_body(tracking_id="n", debit_accounting_account="1.1.01")
    )
    both_named = await rest(
        client,
        tenant,
        ENTRIES,
        entry_body(
            tracking_id="b", debit_accounting_account="1.1.01", credit_accounting_account="4.1.01"
        ),
    )
    assert [r.status_code for r in (from_script, debit_named, both_named)] == [202] * 3

    nodes = (await gql(EVENT_DOCUMENTS))["events"]["nodes"]

    assert [n["type"] for n in nodes] == ["accounting_entry.created"] * 3
    assert [n["pismoEntries"] for n in nodes] == [[], [], []]
    assert [(n["pismo"]["debitCostCenter"], n["pismo"]["creditCostCenter"]) for n in nodes] == [
        ("D-2100", "C-2100"),
        (None, "C-2100"),  # the request named the debit account: no script gave it
        (None, None),
    ]
    documents = [json.loads(n["document"]) for n in nodes]
    assert [d["pismo_entries"] for d in documents] == [[], [], []]
    assert documents[0]["pismo"]["debit_cost_center"] == "D-2100"
    assert documents[0]["data"]["metadata"]["credit_cost_center"] == "C-2100"


async def test_other_events_have_no_entry_creation_records(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    assert (await post(gql, entry("1000", "4000", "1.00")))["errors"] == []

    (node,) = (await gql(EVENT_DOCUMENTS))["events"]["nodes"]

    assert node["type"] == "journal_entry.posted"
    assert node["pismo"] is None and node["pismoEntries"] == []
    document = json.loads(node["document"])
    assert "pismo" not in document and "pismo_entries" not in document  # Pismo events only
    assert all(isinstance(line["id"], int) for line in document["data"]["lines"])
