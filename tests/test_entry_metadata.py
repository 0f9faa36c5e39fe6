"""Metadata on journal entries through GraphQL (docs/metadata.md), on both engines: given at
posting (single, bulk, holds), read back exactly, part of the idempotency request, refused
naming metadata.<key>, and found by journalEntries(metadata, metadataHas)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.webhooks.worker import Claim, body_of
from db.engine import Database
from db.tables import Event
from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry

ERRORS = "errors { code field message }"
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id metadata }} replayed {ERRORS} }} }}"""
POST_MANY = f"""mutation($inputs: [PostJournalEntryInput!]!) {{
  postJournalEntries(inputs: $inputs, atomic: false) {{ entry {{ id metadata }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ entry {{ id status metadata }} {ERRORS} }} }}"""
FIND = """query($m: JSON, $has: [String!], $after: String, $first: Int! = 50) {
  journalEntries(metadata: $m, metadataHas: $has, after: $after, first: $first) {
    nodes { id memo metadata } pageInfo { hasNextPage endCursor } } }"""


async def post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


async def find(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql(FIND, variables))["journalEntries"]["nodes"]
    return nodes


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    await create_accounts(gql)
    return gql


def sale(memo: str, **metadata: Any) -> dict[str, Any]:
    return entry("1000", "4000", "10.00", memo=memo, metadata=metadata)


async def test_metadata_is_read_back_exactly(books: GraphQLClient) -> None:
    given = {"order_id": "A-17", "customer": 42, "ok": True, "none": None, "big": 2**62}
    posted = await post(books, sale("s1", **given))
    assert posted["errors"] == []
    assert posted["entry"]["metadata"] == given
    # A number written in the query keeps its digits: 12.50 stays 12.50.
    document = """mutation { postJournalEntry(input: {date: "2026-01-15", memo: "s2",
      lines: [{accountCode: "1000", debit: "1.00"}, {accountCode: "4000", credit: "1.00"}],
      metadata: {price: 12.50, tiny: 0.000000000000000000001}}) { entry { id } } }"""
    entry_id = (await books(document))["postJournalEntry"]["entry"]["id"]
    raw = await books.raw(
        "query($id: ID!) { journalEntry(id: $id) { metadata } }", {"id": entry_id}
    )
    assert '"price":12.50' in raw.text and '"tiny":1E-21' in raw.text.replace("e-", "E-")


async def test_long_numbers_in_variables_keep_their_digits(books: GraphQLClient) -> None:
    """JSON variables decode numbers as floats, which keep about 15 digits: a number of more
    is decoded exactly, so metadata keeps it and finds it; Money still refuses a number."""
    long = "0.12345678901234567890123"
    base = entry("1000", "4000", "10.00", memo="long")
    body = json.dumps({"query": POST, "variables": {"input": {**base, "metadata": "@"}}})
    body = body.replace('"@"', '{"rate": LONG, "ok": 1.5}'.replace("LONG", long))
    headers = {"Authorization": f"Bearer {books.key}", "Content-Type": "application/json"}
    response = await books.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert f'"rate":{long}' in response.text and '"ok":1.5' in response.text
    found = await books(
        "{ journalEntries(metadata: {rate: LONG}) { nodes { memo } } }".replace("LONG", long)
    )
    assert [n["memo"] for n in found["journalEntries"]["nodes"]] == ["long"]
    money = json.dumps({"query": POST, "variables": {"input": base}})
    money = money.replace('"10.00"', "10.000000000000000001", 1)
    refused = await books.http.post("/graphql", content=money, headers=headers)
    assert "not a float" in refused.text and "errors" in refused.json()


async def test_bulk_holds_and_no_metadata(books: GraphQLClient) -> None:
    data = await books(
        POST_MANY, {"inputs": [sale("b1", k="1"), sale("b2"), entry("1000", "4000", "1.00")]}
    )
    first, second, third = data["postJournalEntries"]
    assert first["entry"]["metadata"] == {"k": "1"}
    assert second["entry"]["metadata"] is None and third["entry"]["metadata"] is None
    held = (await books(HOLD, {"input": sale("h1", auth="8841")}))["holdJournalEntry"]
    assert held["entry"]["status"] == "PENDING"
    assert held["entry"]["metadata"] == {"auth": "8841"}
    assert [n["memo"] for n in await find(books, m={"auth": "8841"})] == ["h1"]


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        ({"bad key": 1}, "metadata.bad key", "1-64 characters"),
        ({"hledger": "x"}, "metadata.hledger", "ledger's own"),
        ({"a": {"b": 1}}, "metadata.a", "no objects or lists"),
        ({"a": "x" * 1025}, "metadata.a", "1024"),
        ({f"k{i}": 1 for i in range(65)}, "metadata", "64 keys"),
    ],
)
async def test_bad_metadata_names_the_key(
    books: GraphQLClient, metadata: dict[str, Any], field: str, words: str
) -> None:
    (error,) = (await post(books, entry("1000", "4000", "1.00", metadata=metadata)))["errors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert words in error["message"]
    data = await books(
        POST_MANY, {"inputs": [sale("ok"), entry("1000", "4000", "1.00", metadata=metadata)]}
    )
    assert data["postJournalEntries"][0]["errors"] == []
    assert data["postJournalEntries"][1]["errors"][0]["field"] == f"inputs.1.{field}"


async def test_metadata_is_part_of_the_idempotent_request(books: GraphQLClient) -> None:
    first = await post(books, sale("k", order_id="A-1") | {"idempotencyKey": "key-1"})
    assert first["errors"] == []
    same = await post(books, sale("k", order_id="A-1") | {"idempotencyKey": "key-1"})
    assert same["replayed"] is True and same["entry"]["id"] == first["entry"]["id"]
    (error,) = (await post(books, sale("k", order_id="A-2") | {"idempotencyKey": "key-1"}))[
        "errors"
    ]
    assert error["code"] == "CONFLICT" and error["field"] == "idempotencyKey"
    # 12.5 sent as a variable (a float) and 12.50 written in the query are the same request.
    await post(books, sale("p", price=12.5) | {"idempotencyKey": "key-2"})
    document = """mutation { postJournalEntry(input: {date: "2026-01-15", memo: "p",
      idempotencyKey: "key-2", metadata: {price: 12.50},
      lines: [{accountCode: "1000", debit: "10.00"}, {accountCode: "4000", credit: "10.00"}]})
      { replayed errors { code } } }"""
    assert (await books(document))["postJournalEntry"] == {"replayed": True, "errors": []}


async def test_found_by_key_and_value(books: GraphQLClient) -> None:
    await post(books, sale("a17-1", order_id="A-17", customer=42))
    await post(books, sale("a17-2", order_id="A-17", customer=43))
    await post(books, sale("a18", order_id="A-18", customer=42, price=12.5))
    await post(books, sale("one-text", n="1"))
    await post(books, sale("one-number", n=1))
    await post(books, sale("plain"))
    assert [n["memo"] for n in await find(books, m={"order_id": "A-17"})] == ["a17-1", "a17-2"]
    both = await find(books, m={"order_id": "A-17", "customer": 42})
    assert [n["memo"] for n in both] == ["a17-1"]
    assert [n["memo"] for n in await find(books, m={"n": "1"})] == ["one-text"]
    assert [n["memo"] for n in await find(books, m={"n": 1})] == ["one-number"]
    price = await books.raw("{ journalEntries(metadata: {price: 12.50}) { nodes { memo } } }", None)
    assert price.json()["data"]["journalEntries"]["nodes"] == [{"memo": "a18"}]
    assert [n["memo"] for n in await find(books, has=["customer"])] == ["a17-1", "a17-2", "a18"]
    assert [n["memo"] for n in await find(books, has=["customer", "price"])] == ["a18"]
    assert await find(books, m={"order_id": "nope"}) == []
    # Pagination applies to the matches.
    page = (await books(FIND, {"m": {"order_id": "A-17"}, "first": 1}))["journalEntries"]
    assert [n["memo"] for n in page["nodes"]] == ["a17-1"] and page["pageInfo"]["hasNextPage"]
    rest = await find(books, m={"order_id": "A-17"}, after=page["pageInfo"]["endCursor"])
    assert [n["memo"] for n in rest] == ["a17-2"]


async def test_a_bad_filter_names_its_key(books: GraphQLClient) -> None:
    response = await books.raw(FIND, {"m": {"bad key": 1}})
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "metadata.bad key" in str(body["errors"][0])


SET = f"""mutation($id: ID!, $m: JSON!) {{
  setEntryMetadata(entryId: $id, metadata: $m) {{ entry {{ id metadata lines {{ debit }} }}
  {ERRORS} }} }}"""
EVENTS = """{ events(first: 100) { nodes { type entryId payload } } }"""


async def test_set_entry_metadata_merges_reindexes_and_records(books: GraphQLClient) -> None:
    posted = await post(books, sale("m1", order_id="A-17", cart="c-1") | {"idempotencyKey": "k-m"})
    entry_id = posted["entry"]["id"]
    changed = await books(SET, {"id": entry_id, "m": {"status": "shipped", "cart": None}})
    result = changed["setEntryMetadata"]
    assert result["errors"] == []
    assert result["entry"]["metadata"] == {"order_id": "A-17", "status": "shipped"}
    assert result["entry"]["lines"][0]["debit"] == "10.00"  # amounts untouched
    # The index follows: the new value is found, the deleted key no longer.
    assert [n["memo"] for n in await find(books, m={"status": "shipped"})] == ["m1"]
    assert await find(books, has=["cart"]) == []
    assert [n["memo"] for n in await find(books, m={"order_id": "A-17"})] == ["m1"]
    (event,) = [
        e
        for e in (await books(EVENTS))["events"]["nodes"]
        if e["type"] == "journal_entry.metadata_changed"
    ]
    assert event["entryId"] == entry_id
    payload = json.loads(event["payload"])
    assert payload["changes"] == {
        "status": {"before": None, "after": "shipped"},
        "cart": {"before": "c-1", "after": None},
    }
    assert payload["by"]["via"] == "graphql" and payload["by"]["key_id"]
    # The original posting still replays (metadata changes are not part of its request).
    again = await post(books, sale("m1", order_id="A-17", cart="c-1") | {"idempotencyKey": "k-m"})
    assert again["replayed"] is True and again["entry"]["metadata"]["status"] == "shipped"


async def test_set_entry_metadata_on_a_reversed_entry_and_refusals(books: GraphQLClient) -> None:
    entry_id = (await post(books, sale("r1")))["entry"]["id"]
    reversed_ = await books(
        "mutation($id: ID!) { reverseJournalEntry(id: $id) { errors { code } } }", {"id": entry_id}
    )
    assert reversed_["reverseJournalEntry"]["errors"] == []
    ok = await books(SET, {"id": entry_id, "m": {"note": "refunded"}})
    assert ok["setEntryMetadata"]["entry"]["metadata"] == {"note": "refunded"}
    for change, field in (
        ({"bad key": 1}, "metadata.bad key"),
        ({"hledger": "x"}, "metadata.hledger"),
        ({"a": [1]}, "metadata.a"),
        ({}, "metadata"),
        ({f"k{i}": 1 for i in range(64)}, "metadata"),  # 65 keys with "note"
    ):
        (error,) = (await books(SET, {"id": entry_id, "m": change}))["setEntryMetadata"]["errors"]
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field), change
    (error,) = (await books(SET, {"id": "999999999", "m": {"a": 1}}))["setEntryMetadata"]["errors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", "entryId")
    still = await books(SET, {"id": entry_id, "m": {"other": 2}})
    assert still["setEntryMetadata"]["entry"]["metadata"] == {"note": "refunded", "other": 2}


async def test_events_carry_the_metadata(books: GraphQLClient) -> None:
    await post(books, sale("e1", order_id="A-17", n=3))
    await books(HOLD, {"input": sale("e2", auth="x")})
    events = (await books(EVENTS))["events"]["nodes"]
    documents = {
        e["type"]: json.loads(e["payload"])
        for e in events
        if e["type"] in ("journal_entry.posted", "hold.created")
    }
    assert documents["journal_entry.posted"]["metadata"] == {"order_id": "A-17", "n": 3}
    assert documents["hold.created"]["metadata"] == {"auth": "x"}


async def test_event_documents_keep_numbers_exact(books: GraphQLClient, db: Database) -> None:
    """The document a subscription and a webhook receive writes a metadata number as given
    (12.50, not 12.5) and an integer past 64 bits as its digits."""
    document = """mutation { postJournalEntry(input: {date: "2026-01-15", memo: "exact",
      lines: [{accountCode: "1000", debit: "1.00"}, {accountCode: "4000", credit: "1.00"}],
      metadata: {price: 12.50, big: 1180591620717411303424}}) { entry { id } } }"""
    entry_id = (await books(document))["postJournalEntry"]["entry"]["id"]
    found = await books("{ events(first: 100) { nodes { id entryId document } } }")
    (node,) = [n for n in found["events"]["nodes"] if n["entryId"] == entry_id]
    assert '"price":12.50' in node["document"]
    assert '"big":1180591620717411303424' in node["document"]
    async with db.read() as session:
        event = await session.get(Event, int(node["id"]))
    assert event is not None
    body = body_of(Claim(1, 2, "http://127.0.0.1/", "s", 0, event)).decode()
    assert '"price":12.50' in body and '"big":1180591620717411303424' in body
