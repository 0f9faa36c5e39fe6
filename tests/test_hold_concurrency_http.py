"""Holds racing over HTTP (docs/holds.md): real concurrent clients post, void and post in
part the same holds on a uvicorn server while its expiry job releases the ones falling
due, on both engines.

Each hold must end exactly once: one transition wins (a post, a void, or the expiry),
every other request on it is CONFLICT, it has one closing event, nothing stays pending,
the wallet's posted balance is the funds less what was posted, and the maintained
balances equal the sums of the journal lines.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.ledger.balances import balances_by_account
from benchmarks.harness import serve
from db.engine import Database
from tests.conftest import TenantFixture
from tests.helpers import line_sums

HOLDS = 20
CLIENTS_PER_HOLD = 3  # a full post, a partial post and a void, at once
EXPIRING = 10  # the first holds expire as the requests arrive
AMOUNT = "3.00"

ERRORS = "errors { code field message }"
CREATE = (
    f"""mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{ {ERRORS} }} }}"""
)
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!, $at: DateTime) {{
  holdJournalEntry(input: $input, expiresAt: $at) {{ entry {{ id }} {ERRORS} }} }}"""
POST_HOLD = f"""mutation($input: PostHoldInput!) {{
  postHold(input: $input) {{ entry {{ id status lines {{ debit }} }} {ERRORS} }} }}"""
VOID_HOLD = f"""mutation($input: VoidHoldInput!) {{
  voidHold(input: $input) {{ entry {{ id status }} {ERRORS} }} }}"""
STATE = """query($id: ID!) { hold(entryId: $id) { status } }"""
BALANCE = """{ account(code: "2100") {
  balance(currency: "USD") { net pendingDebit available } } }"""
EVENTS = """{ events(first: 500) { nodes { type entryId } } }"""


def _entry(debit: str, credit: str, amount: str) -> dict[str, Any]:
    return {
        "date": "2026-06-01",
        "memo": "race",
        "lines": [
            {"accountCode": debit, "debit": amount},
            {"accountCode": credit, "credit": amount},
        ],
    }


async def test_posts_voids_and_expiry_race_over_http(
    db: Database, db_url: str, tenant: TenantFixture, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LEDGERQL_POST_DUE_SECONDS": "0",
        "LEDGERQL_HOLD_EXPIRY_SECONDS": "0.2",
        "LEDGERQL_RATE_LIMITS": "graphql.write=100000/minute",
    }
    clients = HOLDS * CLIENTS_PER_HOLD
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {tenant.key}"}
    with serve("holds", "app.main:create_app", env, tmp_path) as (port, _):
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60, limits=limits
        ) as http:

            async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                assert body.get("errors") is None, body
                data: dict[str, Any] = body["data"]
                return data

            for code, kind, extra in (
                ("1000", "ASSET", {}),
                ("2100", "LIABILITY", {"limits": {"noOverdraft": True}}),
                ("4000", "INCOME", {}),
            ):
                made = await gql(
                    CREATE, {"input": {"code": code, "name": code, "type": kind, **extra}}
                )
                assert made["createAccount"]["errors"] == []
            funded = await gql(POST, {"input": _entry("1000", "2100", "100.00")})
            assert funded["postJournalEntry"]["errors"] == []

            expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
            ids: list[str] = []
            for index in range(HOLDS):
                at = expires if index < EXPIRING else expires + dt.timedelta(days=1)
                made = await gql(
                    HOLD, {"input": _entry("2100", "4000", AMOUNT), "at": at.isoformat()}
                )
                assert made["holdJournalEntry"]["errors"] == []
                ids.append(made["holdJournalEntry"]["entry"]["id"])

            async def full(entry_id: str) -> tuple[str, str, dict[str, Any]]:
                data = await gql(POST_HOLD, {"input": {"entryId": entry_id}})
                return entry_id, "post", data["postHold"]

            async def part(entry_id: str) -> tuple[str, str, dict[str, Any]]:
                data = await gql(POST_HOLD, {"input": {"entryId": entry_id, "amount": "1.00"}})
                return entry_id, "part", data["postHold"]

            async def void(entry_id: str) -> tuple[str, str, dict[str, Any]]:
                data = await gql(VOID_HOLD, {"input": {"entryId": entry_id}})
                return entry_id, "void", data["voidHold"]

            async def starting(offset: float, work: Any) -> tuple[str, str, dict[str, Any]]:
                now = dt.datetime.now(dt.UTC)
                await asyncio.sleep(max(0.0, (expires - now).total_seconds() + offset))
                result: tuple[str, str, dict[str, Any]] = await work
                return result

            # Spread over 0.6 s around the expiry instant, so that the job, the late posts
            # (refused) and the early ones meet on the expiring holds.
            results = await asyncio.gather(
                *(
                    starting((index % 7) * 0.1 - 0.3, act(entry_id))
                    for index, entry_id in enumerate(ids)
                    for act in (full, part, void)
                )
            )
            await asyncio.sleep(1.5)  # the expiry job's next rounds
            states = {i: (await gql(STATE, {"id": i}))["hold"]["status"] for i in ids}
            wallet = (await gql(BALANCE, {}))["account"]["balance"]
            events = (await gql(EVENTS, {}))["events"]["nodes"]

    wins: dict[str, list[tuple[str, dict[str, Any]]]] = {i: [] for i in ids}
    for entry_id, action, result in results:
        if result["errors"]:
            assert [e["code"] for e in result["errors"]] == ["CONFLICT"], result
            assert result["errors"][0]["field"] == "entryId"
        else:
            wins[entry_id].append((action, result))
    posted_minor = 0
    for index, entry_id in enumerate(ids):
        won = wins[entry_id]
        assert len(won) <= 1, (entry_id, won)  # never two transitions of one hold
        if not won:
            assert index < EXPIRING and states[entry_id] == "EXPIRED"
            continue
        action, result = won[0]
        assert states[entry_id] == ("VOIDED" if action == "void" else "POSTED")
        if action != "void":
            posted_minor += {"post": 300, "part": 100}[action]
            assert result["entry"]["lines"][0]["debit"] == ("3.00" if action == "post" else "1.00")
    closing = Counter(
        e["entryId"] for e in events if e["type"] in ("hold.posted", "hold.voided", "hold.expired")
    )
    assert closing == {entry_id: 1 for entry_id in ids}
    expired = {e["entryId"] for e in events if e["type"] == "hold.expired"}
    assert expired == {i for i in ids if states[i] == "EXPIRED"}
    assert expired <= set(ids[:EXPIRING])
    left = 10_000 - posted_minor
    assert wallet == {
        "net": f"{left // 100}.{left % 100:02d}",
        "pendingDebit": "0.00",
        "available": f"{left // 100}.{left % 100:02d}",
    }
    maintained = await balances_by_account(db, tenant.id)
    assert {pair: total for pair, total in maintained.items() if any(total)} == await line_sums(
        db, tenant.id
    )
    print(  # the figures of the run, for -s
        f"\n{db_url.split(':')[0]}: {len(results)} racing requests: "
        f"{Counter(states.values())}, wallet {wallet}"
    )
