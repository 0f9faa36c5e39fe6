"""GraphQL subscriptions over graphql-transport-ws, against real server processes.

The client speaks the protocol by hand with ``websockets`` (connection_init / ack,
subscribe, next, complete), so these tests check the wire, not a client library.
The servers run with a long fallback poll (``LEDGERQL_EVENTS_POLL_SECONDS``) unless a
test is about the poll: an event that arrives in time came from a wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection

from app.ledger import closing
from app.ledger.accounts import AccountInput, create_account
from app.ledger.entries import EntryInput, LineInput
from app.ledger.outbox import announce
from app.ledger.paging import encode_cursor
from app.ledger.posting import post_entry
from app.ledger.tenants import revoke_key
from benchmarks.harness import HOST, serve
from db.engine import Database, on_commit_of_events
from db.migrate import upgrade
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import POST_ENTRY, entry
from tests.test_pismo_seeds import ENTRIES, SCRIPTS, entry_body, pismo_books, rest, script_body

PROTOCOL = "graphql-transport-ws"
NO_POLL = "60"  # seconds: longer than any wait below, so only wake-ups deliver in time
RECEIVE_TIMEOUT_S = 10.0
LIVE_WITHIN_S = 1.0

EVENTS = """
subscription($after: String, $types: [String!]) {
  events(after: $after, types: $types) {
    cursor
    node { id type entryId createdAt payload document pismo {
      transactionId accountId programId entryTypeId accountingEventId accountingEntryId
      createdAt eventDate amount description debitAccount creditAccount
      debitCostCenter creditCostCenter authorizationDate installmentNumber
    } }
  }
}"""
POST_ENTRIES = """
mutation($inputs: [PostJournalEntryInput!]!) {
  postJournalEntries(inputs: $inputs) { entry { id } errors { code message } }
}"""
CLOSE_PERIOD = """
mutation($through: Date!) { closePeriod(throughDate: $through) { errors { message } } }"""


# ---------------------------------------------------------------- servers and tenants


@dataclass
class Server:
    http: str
    ws: str


@contextlib.contextmanager
def server(
    name: str, database_url: str, logs: Path, poll: str = NO_POLL, **extra: str
) -> Iterator[Server]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEDGERQL_EVENTS_POLL_SECONDS": poll,
        **extra,
    }
    with serve(name, "app.main:create_app", env, logs) as (port, _process):
        yield Server(http=f"http://{HOST}:{port}", ws=f"ws://{HOST}:{port}/graphql")


async def new_tenant(database_url: str) -> TenantFixture:
    """A tenant with a unique slug and the accounts the entries use."""
    db = Database(database_url)
    try:
        tenant = await make_tenant(db, currency="EUR")
        for code, name, kind in (("1000", "Cash", "ASSET"), ("4000", "Sales", "INCOME")):
            await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
        return tenant
    finally:
        await db.dispose()


async def stored_event_ids(database_url: str, tenant_id: int) -> list[int]:
    db = Database(database_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                text("SELECT id FROM events WHERE tenant_id = :t ORDER BY id"), {"t": tenant_id}
            )
            return [int(row[0]) for row in rows]
    finally:
        await db.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'subscriptions.db'}"
    upgrade(url)
    return url


# ---------------------------------------------------------------- the protocol, by hand


class Subscriber:
    """One graphql-transport-ws connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def message(self, within: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        while True:
            received: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
            if received["type"] != "ping":  # the server's keep-alive
                return received
            await self.ws.send(json.dumps({"type": "pong"}))

    async def item(self, op_id: str, within: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        """The next ``next`` of ``op_id``: {cursor, node}."""
        received = await self.message(within)
        assert received["type"] == "next" and received["id"] == op_id, received
        assert "errors" not in received["payload"], received
        item: dict[str, Any] = received["payload"]["data"]["events"]
        return item

    async def items(self, op_id: str, count: int) -> list[dict[str, Any]]:
        return [await self.item(op_id) for _ in range(count)]

    async def nothing_within(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            received = await self.message(seconds)
            pytest.fail(f"nothing expected, got {received}")


@contextlib.asynccontextmanager
async def connected(url: str, payload: dict[str, Any]) -> AsyncIterator[Subscriber]:
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        subscriber = Subscriber(ws)
        ack = await subscriber.message()
        assert ack["type"] == "connection_ack", ack
        yield subscriber


def bearer(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


def event_id(item: dict[str, Any]) -> int:
    return int(item["node"]["id"])


async def post_one(http: httpx.AsyncClient, tenant: TenantFixture, memo: str) -> None:
    data = await GraphQLClient(http, tenant.key)(
        POST_ENTRY, {"input": entry("1000", "4000", "1.00", memo=memo)}
    )
    assert data["postJournalEntry"]["errors"] == [], data


async def post_many(http: httpx.AsyncClient, tenant: TenantFixture, memo: str, n: int) -> None:
    inputs = [entry("1000", "4000", "2.00", memo=f"{memo} {i}") for i in range(n)]
    data = await GraphQLClient(http, tenant.key)(POST_ENTRIES, {"inputs": inputs})
    assert all(result["errors"] == [] for result in data["postJournalEntries"]), data


# ---------------------------------------------------------------- (a) authentication


async def test_a_connection_without_a_valid_key_is_closed_4403(
    sqlite_db: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(sqlite_db)
    with server("auth", sqlite_db, tmp_path) as live:
        for payload in ({}, {"Authorization": "Bearer lq_nope"}, {"X-API-Key": ""}):
            async with websockets.connect(live.ws, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT_S)
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "Forbidden")
        # The same key as HTTP, in either header form, is accepted.
        async with connected(live.ws, {"x-api-key": tenant.key}):
            pass
        async with connected(live.ws, {"authorization": f"bearer {tenant.key}"}):
            pass


async def test_only_subscriptions_run_over_the_websocket(sqlite_db: str, tmp_path: Path) -> None:
    tenant = await new_tenant(sqlite_db)
    with server("ws-ops", sqlite_db, tmp_path) as live:
        async with connected(live.ws, bearer(tenant)) as subscriber:
            await subscriber.subscribe("q", "mutation { __typename }", {})
            refused = await subscriber.message()
            assert refused["type"] == "error" and refused["id"] == "q", refused
            await subscriber.subscribe("bad", EVENTS, {"after": "not a cursor"})
            error = await subscriber.message()
            assert error["type"] == "error", error
            assert error["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", error


async def test_a_revoked_keys_subscription_ends_with_an_error(
    sqlite_db: str, tmp_path: Path
) -> None:
    """The key is checked again while the subscription runs, not only at connection."""
    tenant = await new_tenant(sqlite_db)
    settings = {"LEDGERQL_EVENTS_KEY_CHECK_SECONDS": "0.5", "LEDGERQL_AUTH_CACHE_SECONDS": "0"}
    with server("revoke", sqlite_db, tmp_path, **settings) as live:
        async with (
            httpx.AsyncClient(base_url=live.http) as http,
            connected(live.ws, bearer(tenant)) as subscriber,
        ):
            await subscriber.subscribe("1", EVENTS, {})
            await post_one(http, tenant, "before revocation")
            assert (await subscriber.item("1"))["node"]["type"] == "journal_entry.posted"
            db = Database(sqlite_db)
            try:
                await revoke_key(db, tenant.key_id)
            finally:
                await db.dispose()
            ended = await subscriber.message(within=RECEIVE_TIMEOUT_S)
            assert ended["id"] == "1" and ended["type"] in {"next", "error"}, ended
            errors = ended["payload"]["errors"] if ended["type"] == "next" else ended["payload"]
            assert errors and errors[0]["extensions"]["code"] == "UNAUTHENTICATED", ended


# ---------------------------------------------------------------- (b) and (d): SQLite, one process


async def test_live_in_process_on_sqlite_and_tenant_isolation(
    sqlite_db: str, tmp_path: Path
) -> None:
    mine = await new_tenant(sqlite_db)
    other = await new_tenant(sqlite_db)
    with server("sqlite-live", sqlite_db, tmp_path) as live:
        async with (
            httpx.AsyncClient(base_url=live.http) as http,
            connected(live.ws, bearer(mine)) as subscriber,
        ):
            await subscriber.subscribe("1", EVENTS, {})
            await subscriber.nothing_within(0.3)  # no stored event yet
            for round_ in range(3):
                await post_one(http, other, f"other {round_}")  # never delivered to mine
                started = time.monotonic()
                await post_one(http, mine, f"mine {round_}")
                item = await subscriber.item("1", within=LIVE_WITHIN_S)
                # Within a second while the fallback poll is a minute: the commit woke it.
                assert time.monotonic() - started < LIVE_WITHIN_S
                assert json.loads(item["node"]["payload"])["metadata"] is None
                document = json.loads(item["node"]["document"])
                assert document["id"] == item["node"]["id"] and "pismo" not in document
                assert item["node"]["pismo"] is None
            await subscriber.nothing_within(0.3)
    ids = await stored_event_ids(sqlite_db, mine.id)
    assert len(ids) == 3


# ---------------------------------------------------------------- (e) types


async def test_types_filter_and_closing_events_are_live(sqlite_db: str, tmp_path: Path) -> None:
    tenant = await new_tenant(sqlite_db)
    with server("types", sqlite_db, tmp_path) as live:
        async with (
            httpx.AsyncClient(base_url=live.http) as http,
            connected(live.ws, bearer(tenant)) as subscriber,
        ):
            await subscriber.subscribe("closing", EVENTS, {"types": ["period.closed"]})
            await subscriber.subscribe("all", EVENTS, {})
            await post_one(http, tenant, "before the close")
            data = await GraphQLClient(http, tenant.key)(CLOSE_PERIOD, {"through": "2025-12-31"})
            assert data["closePeriod"]["errors"] == [], data
            received: dict[str, list[str]] = {"closing": [], "all": []}
            for _ in range(3):
                message = await subscriber.message(within=LIVE_WITHIN_S)
                assert message["type"] == "next", message
                received[message["id"]].append(message["payload"]["data"]["events"]["node"]["type"])
            assert received == {
                "closing": ["period.closed"],
                "all": ["journal_entry.posted", "period.closed"],
            }
            await subscriber.subscribe("none", EVENTS, {"types": []})
            await subscriber.nothing_within(0.3)


# ---------------------------------------------------------------- the fallback poll


async def test_an_unannounced_event_is_seen_by_the_poll(sqlite_db: str, tmp_path: Path) -> None:
    """A writer that wakes nobody (another process on SQLite): the poll finds its events."""
    tenant = await new_tenant(sqlite_db)
    with server("poll", sqlite_db, tmp_path, poll="0.5") as live:
        async with connected(live.ws, bearer(tenant)) as subscriber:
            await subscriber.subscribe("1", EVENTS, {})
            await subscriber.nothing_within(0.2)
            db = Database(sqlite_db)
            try:
                async with db.write() as session:  # announces nothing
                    await session.execute(
                        text(
                            "INSERT INTO events (tenant_id, type, payload_json, created_at) "
                            "VALUES (:t, 'test.unannounced', '{}', CURRENT_TIMESTAMP)"
                        ),
                        {"t": tenant.id},
                    )
            finally:
                await db.dispose()
            item = await subscriber.item("1", within=3.0)
            assert item["node"]["type"] == "test.unannounced"


# ---------------------------------------------------------------- (f) Pismo


async def test_pismo_accounting_entry_carries_pismo_fields(sqlite_db: str, tmp_path: Path) -> None:
    tenant = await new_tenant(sqlite_db)
    with server("pismo", sqlite_db, tmp_path) as live:
        async with (
            httpx.AsyncClient(base_url=live.http) as http,
            connected(live.ws, bearer(tenant)) as subscriber,
        ):
            books = await pismo_books(GraphQLClient(http, tenant.key))
            response = await rest(http, tenant, SCRIPTS, script_body(books))
            assert response.status_code == 201, response.text
            await subscriber.subscribe("1", EVENTS, {})
            body = entry_body(amount=12.5, transaction_id=777, account_id=55, tracking_id="t-1")
            response = await rest(http, tenant, ENTRIES, body)
            assert response.status_code == 202, response.text
            item = await subscriber.item("1", within=LIVE_WITHIN_S)
    node = item["node"]
    assert node["type"] == "accounting_entry.created"
    pismo = node["pismo"]
    assert pismo == {
        "transactionId": "777",
        "accountId": "55",
        "programId": "12",
        "entryTypeId": "2100",
        "accountingEventId": None,
        "accountingEntryId": node["entryId"],
        "createdAt": pismo["createdAt"],
        "eventDate": "2021-02-01",
        "amount": "12.50",
        "description": "Purchase",  # the entry type's
        "debitAccount": "1.1.02",
        "creditAccount": "2.1.01",
        "debitCostCenter": None,
        "creditCostCenter": None,
        "authorizationDate": None,
        "installmentNumber": None,
    }
    assert pismo["createdAt"].endswith("+00:00")
    document = json.loads(node["document"])["pismo"]
    assert sorted(document) == sorted(
        [
            "transaction_id", "account_id", "program_id", "entry_type_id",
            "accounting_event_id", "accounting_entry_id", "created_at", "event_date",
            "amount", "description", "debit_account", "credit_account",
            "debit_cost_center", "credit_cost_center", "authorization_date",
            "installment_number",
        ]
    )  # fmt: skip
    assert document["amount"] == 12.5 and document["transaction_id"] == 777
    assert document["accounting_entry_id"] == int(node["entryId"])


# ---------------------------------------------------------------- (c) the judged case


async def _post_through(http: httpx.AsyncClient, tenant: TenantFixture, label: str) -> None:
    """Concurrent single and batch postings, so that transactions interleave."""
    await asyncio.gather(
        *(post_one(http, tenant, f"{label} single {i}") for i in range(4)),
        *(post_many(http, tenant, f"{label} batch {i}", 3) for i in range(2)),
    )


async def _receive_all(
    subscriber: Subscriber, op_id: str, database_url: str, tenant_id: int, seen: list[int]
) -> str:
    """Receives until ``seen`` holds as many events as the table; the last cursor."""
    cursor = ""
    expected = len(await stored_event_ids(database_url, tenant_id))
    while len(seen) < expected:
        item = await subscriber.item(op_id, within=LIVE_WITHIN_S * 3)
        seen.append(event_id(item))
        cursor = item["cursor"]
        assert cursor == encode_cursor(seen[-1])
    return cursor


async def test_across_processes_on_postgres_in_order_once_with_resume(
    postgres_url: str, tmp_path: Path
) -> None:
    """A subscriber on process 1 gets every event of entries posted through process 2, in
    order and once, including those posted while it was disconnected."""
    tenant = await new_tenant(postgres_url)
    other = await new_tenant(postgres_url)
    seen: list[int] = []
    with (
        server("pg-1", postgres_url, tmp_path) as first,
        server("pg-2", postgres_url, tmp_path) as second,
    ):
        async with httpx.AsyncClient(base_url=second.http, timeout=30) as http:
            await post_one(http, tenant, "stored before the first connection")
            async with connected(first.ws, bearer(tenant)) as subscriber:
                await subscriber.subscribe("1", EVENTS, {})
                for round_ in range(3):
                    await asyncio.gather(
                        _post_through(http, tenant, f"live {round_}"),
                        post_one(http, other, f"other tenant {round_}"),
                    )
                    cursor = await _receive_all(subscriber, "1", postgres_url, tenant.id, seen)
                await subscriber.nothing_within(0.3)
            # Disconnected: these are stored only.
            await _post_through(http, tenant, "while away")
            async with connected(first.ws, bearer(tenant)) as subscriber:
                await subscriber.subscribe("2", EVENTS, {"after": cursor})
                # The stored ones first, then live ones posted while it reads.
                await asyncio.sleep(0.05)
                await _post_through(http, tenant, "after the reconnection")
                await _receive_all(subscriber, "2", postgres_url, tenant.id, seen)
                await subscriber.nothing_within(0.5)
    stored = await stored_event_ids(postgres_url, tenant.id)
    assert len(stored) == 1 + 5 * (4 + 2 * 3)  # three live rounds, away, after
    assert seen == stored  # in order, once, none missed, none of the other tenant


# ---------------------------------------------------------------- the commit hook, in process


async def test_commits_of_events_are_announced_after_commit_on_both_engines(
    db: Database,
) -> None:
    """Each write path (group commit's run_write, closing's session) reports its tenant after
    it commits; a rolled-back transaction reports nothing, and leaves nothing behind."""
    tenant = await make_tenant(db, currency="EUR")
    for code, name, kind in (("1000", "Cash", "ASSET"), ("4000", "Sales", "INCOME")):
        await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
    reported: list[frozenset[int]] = []
    undo = on_commit_of_events(reported.append)
    try:
        lines = [
            LineInput(account_code="1000", debit="3"),
            LineInput(account_code="4000", credit="3"),
        ]
        await post_entry(
            db, tenant.id, EntryInput(date=dt.date(2026, 1, 15), memo="m", lines=lines)
        )
        assert reported == [frozenset({tenant.id})]
        await closing.close_period(db, tenant.id, dt.date(2025, 12, 31), closing.Actor())
        assert reported[-1] == frozenset({tenant.id}) and len(reported) == 2

        def announce_then_fail(conn: Any) -> None:
            announce(conn, tenant.id)
            raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await db.run_write(announce_then_fail)
        await db.run_write(lambda conn: None)  # the same pooled connection, nothing announced
        assert len(reported) == 2
    finally:
        undo()
