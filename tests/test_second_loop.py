"""Big requests run on the second event loop (app/http/second_loop.py) with the same rules.

The loop's latency gain is measured by benchmarks/event_loop_stall.py; these tests
check what must not change: results, idempotency across both loops, request ids.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from app.http.second_loop import OFFLOAD_BYTES, _second_loops
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import TRIAL_BALANCE, create_accounts, entry

BULK = """
mutation($inputs: [PostJournalEntryInput!]!) {
  postJournalEntries(inputs: $inputs) { entry { id } replayed errors { code field } }
}"""
ONE = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } replayed errors { code } }
}"""


def inputs(count: int) -> list[dict[str, Any]]:
    return [
        entry("1000", "4000", "1.25", memo=f"sale {i}", idempotencyKey=f"big-{i}")
        for i in range(count)
    ]


async def test_a_big_batch_posts_once_across_both_loops(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    await create_accounts(gql)
    batch = inputs(500)
    body = httpx.Request("POST", "/", json={"query": BULK, "variables": {"inputs": batch}})
    assert len(body.read()) > OFFLOAD_BYTES  # big enough to be sent to the second loop

    first = (await gql(BULK, {"inputs": batch}))["postJournalEntries"]
    assert db in _second_loops
    assert [item["errors"] for item in first] == [[]] * 500
    assert not any(item["replayed"] for item in first)

    again = (await gql(BULK, {"inputs": batch}))["postJournalEntries"]
    assert [item["entry"]["id"] for item in again] == [item["entry"]["id"] for item in first]
    assert all(item["replayed"] for item in again)

    small = (await gql(ONE, {"input": batch[7]}))["postJournalEntry"]  # on the main loop
    assert small["replayed"] and small["entry"]["id"] == first[7]["entry"]["id"]

    trial = (await gql(TRIAL_BALANCE))["trialBalance"]
    assert trial["balanced"] and trial["totals"] == [
        {"currency": "USD", "debit": "625.00", "credit": "625.00"}
    ]


async def test_the_request_id_reaches_the_second_loop(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.ledger import balances

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(balances, "trial_balance", broken)
    # Variables the operation does not declare are ignored: they only make the body big.
    padding = "x" * (OFFLOAD_BYTES + 1)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/graphql",
            json={"query": "{ trialBalance { balanced } }", "variables": {"pad": padding}},
            headers={"Authorization": f"Bearer {tenant.key}", "X-Request-Id": "big-req-1"},
        )
    assert response.headers["x-request-id"] == "big-req-1"
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "big-req-1"}
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and "big-req-1" in logged[0].getMessage()
