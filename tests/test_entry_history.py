"""An entry's status history: ``events(entryId:)`` keeps that entry's events, oldest first,
paged like the whole log; another tenant's entry gives none, a malformed id is
BAD_USER_INPUT on entryId. Through GraphQL, on both engines."""

from __future__ import annotations

from typing import Any

import httpx

from db.engine import Database
from tests.conftest import GraphQLClient, make_tenant
from tests.helpers import create_accounts, entry
from tests.test_bad_input import assert_bad, top_level_error

CHART = [("1000", "Cash", "ASSET"), ("4000", "Revenue", "INCOME")]
POST = """mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } errors { code message } } }"""
HOLD = """mutation($input: PostJournalEntryInput!) {
  holdJournalEntry(input: $input) { entry { id } errors { code message } } }"""
POST_HOLD = """mutation($id: ID!) {
  postHold(input: {entryId: $id}) { entry { status } errors { code message } } }"""
HISTORY = """query($id: ID, $first: Int!, $after: String) {
  events(entryId: $id, first: $first, after: $after) {
    nodes { id type entryId } pageInfo { hasNextPage endCursor } } }"""


async def history(gql: GraphQLClient, entry_id: str, first: int = 100) -> list[dict[str, Any]]:
    """Every event of the entry, page by page of ``first``."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await gql(HISTORY, {"id": entry_id, "first": first, "after": after}))["events"]
        found += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_a_hold_posted_has_two_events_in_order_and_no_other_entrys(
    gql: GraphQLClient,
) -> None:
    await create_accounts(gql, CHART)
    other = (await gql(POST, {"input": entry("1000", "4000", "5.00")}))["postJournalEntry"]
    held = (await gql(HOLD, {"input": entry("1000", "4000", "7.00")}))["holdJournalEntry"]
    assert held["errors"] == [], held
    hold_id = held["entry"]["id"]
    posted = (await gql(POST_HOLD, {"id": hold_id}))["postHold"]
    assert posted["errors"] == [] and posted["entry"]["status"] == "POSTED", posted
    await gql(POST, {"input": entry("1000", "4000", "9.00")})  # an event after the hold's

    events = await history(gql, hold_id)
    assert [e["type"] for e in events] == ["hold.created", "hold.posted"]
    assert {e["entryId"] for e in events} == {hold_id}
    assert int(events[0]["id"]) < int(events[1]["id"])
    # One a page: the same two, by cursor.
    assert await history(gql, hold_id, first=1) == events
    assert [e["type"] for e in await history(gql, other["entry"]["id"])] == ["journal_entry.posted"]


async def test_another_tenants_entry_or_an_unknown_one_has_no_events(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    await create_accounts(gql, CHART)
    mine = (await gql(POST, {"input": entry("1000", "4000", "5.00")}))["postJournalEntry"]
    stranger = await make_tenant(db)
    assert await history(GraphQLClient(client, stranger.key), mine["entry"]["id"]) == []
    assert await history(gql, "9000000000000000000") == []


async def test_a_malformed_entry_id_is_bad_user_input(gql: GraphQLClient) -> None:
    error = await top_level_error(gql, '{ events(entryId: "x1") { nodes { id } } }')
    assert_bad(error, "entryId")
