"""What the REST dialects record as an entry's metadata (docs/metadata.md "What the REST
dialects record"), on both engines: a request through each dialect, then GraphQL's
journalEntries(metadata:) finds exactly that entry by the id its REST client knows, and
JournalEntry.metadata shows the keys; replays still replay."""

from __future__ import annotations

from typing import Any

import httpx

from app.ledger.metadata import DIALECT_KEYS, index_rows
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts
from tests.test_pennylane_entries import ATTACHMENTS, PDF, account_ids, journal_id
from tests.test_pennylane_entries import body as pennylane_body
from tests.test_pismo_seeds import ENTRIES as PISMO_ENTRIES
from tests.test_pismo_seeds import SCRIPTS, entry_body, pismo_books, rest, script_body
from tests.test_rest_bookeeping import body as bookeeping_body
from tests.test_rest_bookeeping import categories
from tests.test_rest_bookeeping import post as bookeeping_post
from tests.test_rest_journal_entries import books_of, create, seed_body

# Dotted keys are no GraphQL names: a filter on them is sent in variables.
FIND = """query($m: JSON!) {
  journalEntries(metadata: $m, first: 50) { nodes { id memo source metadata } } }"""
POST = """mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id metadata } errors { code field message } } }"""


async def find(gql: GraphQLClient, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql(FIND, {"m": metadata}))["journalEntries"]["nodes"]
    return nodes


def auth(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


def test_dialect_keys_are_flat_indexed_and_not_reserved() -> None:
    for key in DIALECT_KEYS:
        assert index_rows({key: "x"}) == [(key, "sx")]


# ---------------------------------------------------------------- journal entries (seed 002)


async def test_journal_entries_external_id_finds_the_entry(
    db: Database, client: httpx.AsyncClient
) -> None:
    books = await books_of(db, client)
    sent = seed_body(books.slug)
    response = await create(client, books.key, sent)
    assert response.status_code == 200, response.text
    other = await create(client, books.key, seed_body(books.slug))
    assert other.status_code == 200, other.text
    without = await create(client, books.key, seed_body(books.slug, external_id=None))
    assert without.status_code == 200, without.text
    entry_id = str(int(response.json()["data"]["journal_entry_id"].removeprefix("JE")))

    found = await find(books.gql, {"journal_entries.external_id": sent["external_id"]})
    assert [node["id"] for node in found] == [entry_id]
    assert found[0]["metadata"] == {"journal_entries.external_id": sent["external_id"]}
    # No external id, no metadata: such an entry is as it was.
    nodes = (await books.gql("{ journalEntries(first: 50) { nodes { id metadata } } }"))[
        "journalEntries"
    ]["nodes"]
    no_id = str(int(without.json()["data"]["journal_entry_id"].removeprefix("JE")))
    assert [n["metadata"] for n in nodes if n["id"] == no_id] == [None]

    again = await create(client, books.key, sent)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["journal_entry_id"] == response.json()["data"]["journal_entry_id"]
    changed = await create(client, books.key, {**sent, "memo": "another memo"})
    assert changed.status_code == 409, changed.text
    assert len(await find(books.gql, {"journal_entries.external_id": sent["external_id"]})) == 1


async def test_journal_entries_posted_before_the_key_still_replay(
    db: Database, client: httpx.AsyncClient
) -> None:
    """An entry whose external id was posted without metadata (as before this key was
    recorded) is replayed by the same request, not refused as a CONFLICT."""
    books = await books_of(db, client)
    sent = seed_body(books.slug)
    earlier = {
        "date": sent["date"],
        "memo": sent["memo"],
        "currency": "SGD",
        "reportingCurrency": "SGD",
        "externalId": sent["external_id"],
        "lines": [
            {"accountCode": "5010", "debit": "1000.00", "description": "Rent"},
            {"accountCode": "2100", "credit": "1000.00", "description": "Payable"},
        ],
    }
    posted = (await books.gql(POST, {"input": earlier}))["postJournalEntry"]
    assert posted["errors"] == [] and posted["entry"]["metadata"] is None
    response = await create(client, books.key, sent)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["journal_entry_id"] == f"JE{int(posted['entry']['id']):08d}"


async def test_journal_entries_bad_external_id_names_the_seed_field(
    db: Database, client: httpx.AsyncClient
) -> None:
    books = await books_of(db, client)
    response = await create(client, books.key, seed_body(books.slug, external_id="ext\u0007"))
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["external_id"]
    assert response.json()["message"].startswith("external_id")


# ---------------------------------------------------------------- Pennylane (seed 003)


async def test_pennylane_attachment_id_finds_the_entry(
    db: Database, client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    bank, revenue = await account_ids(gql)
    journal = await journal_id(db, tenant)
    attachments = []
    for name in ("a.pdf", "b.pdf"):
        upload = await client.post(
            ATTACHMENTS, files={"file": (name, PDF, "application/pdf")}, headers=auth(tenant)
        )
        assert upload.status_code == 201, upload.text
        attachments.append(upload.json()["id"])
    created = []
    for extra in ({"ledger_attachment_id": attachments[0]}, {}, {"ledger_attachment_id": None}):
        sent = pennylane_body(journal, bank, revenue, **extra)
        response = await client.post(
            "/api/external/v2/ledger_entries", json=sent, headers=auth(tenant)
        )
        assert response.status_code == 201, response.text
        created.append(str(response.json()["id"]))
    found = await find(gql, {"pennylane.ledger_attachment_id": attachments[0]})
    assert [node["id"] for node in found] == [created[0]]
    assert found[0]["metadata"] == {"pennylane.ledger_attachment_id": attachments[0]}
    assert await find(gql, {"pennylane.ledger_attachment_id": attachments[1]}) == []
    # Typed: the id as a string is another value.
    assert await find(gql, {"pennylane.ledger_attachment_id": str(attachments[0])}) == []


# ---------------------------------------------------------------- Bookeeping (seed 004)


async def test_bookeeping_fields_find_the_transaction(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    chart = await categories(client, tenant)
    sent = bookeeping_body(
        chart["Cash"], chart["Sales"], 100, refNo="INV-77", paymentMethod="UPI", isReconciled=True
    )
    response = await bookeeping_post(client, tenant, sent)
    assert response.status_code == 200, response.text
    transaction = response.json()["data"]["transaction"]
    other = await bookeeping_post(client, tenant, bookeeping_body(chart["Cash"], chart["Sales"], 5))
    assert other.status_code == 200, other.text
    no_ref = bookeeping_body(chart["Cash"], chart["Sales"], 7, refNo=None)
    assert (await bookeeping_post(client, tenant, no_ref)).status_code == 200
    entry_id = str(int(transaction["_id"], 16))

    found = await find(gql, {"bookeeping.refNo": "INV-77"})
    assert [node["id"] for node in found] == [entry_id]
    metadata = found[0]["metadata"]
    assert {k: v for k, v in metadata.items() if k != "bookeeping"} == {
        "bookeeping.refNo": "INV-77",
        "bookeeping.paymentMethod": "UPI",
        "bookeeping.isReconciled": True,
    }
    assert metadata["bookeeping"]["refNo"] == "INV-77"  # the document its GETs read, kept
    both = {"bookeeping.paymentMethod": "UPI", "bookeeping.isReconciled": True}
    assert [node["id"] for node in await find(gql, both)] == [entry_id]
    assert len(await find(gql, {"bookeeping.paymentMethod": "CARD"})) == 2
    # A transaction without refNo has no such key (not a null).
    has = 'query { journalEntries(metadataHas: ["bookeeping.refNo"]) { nodes { id } } }'
    assert len((await gql(has))["journalEntries"]["nodes"]) == 2

    again = await bookeeping_post(client, tenant, sent)
    assert again.json()["data"]["action"] == "ALREADY_EXISTS"
    assert again.json()["data"]["transaction"]["_id"] == transaction["_id"]
    # The transaction as Bookeeping's reads give it, from the document beside the keys.
    read = "query($id: String!) { transaction(id: $id) { refNo paymentMethod isReconciled } }"
    assert (await gql(read, {"id": transaction["_id"]}))["transaction"] == {
        "refNo": "INV-77",
        "paymentMethod": "UPI",
        "isReconciled": True,
    }


# ---------------------------------------------------------------- Pismo (seed 000)


async def test_pismo_tracking_id_finds_the_entry(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    books = await pismo_books(gql)
    assert (await rest(client, tenant, SCRIPTS, script_body(books))).status_code == 201
    tracking = "c5f2f677-d9aa-4285-8a08-d297a72d8949"
    sent = entry_body(tracking_id=tracking, account_id=21, transaction_id=12342)
    assert (await rest(client, tenant, PISMO_ENTRIES, sent)).status_code == 202
    other = entry_body(tracking_id="d5f2f677-d9aa-4285-8a08-d297a72d8949")
    assert (await rest(client, tenant, PISMO_ENTRIES, other)).status_code == 202

    found = await find(gql, {"tracking_id": tracking})
    assert len(found) == 1 and found[0]["source"] == "pismo"
    metadata = found[0]["metadata"]
    assert metadata["tracking_id"] == tracking
    assert (metadata["program_id"], metadata["entry_type_id"]) == (12, 2100)
    assert (metadata["account_id"], metadata["transaction_id"]) == (21, 12342)
    assert [n["id"] for n in await find(gql, {"transaction_id": 12342})] == [found[0]["id"]]
