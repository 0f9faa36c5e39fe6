"""Webhooks against a real receiver on 127.0.0.1: signed, retried, recorded, exactly one
delivery row per (endpoint, event); on both engines."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from sqlalchemy import func
from sqlmodel import col, select

from app.cli.main import main
from app.runtime.webhook_settings import WebhookSettings
from app.webhooks.worker import backoff_seconds, deliver_due, non_public_address
from benchmarks.harness import serve
from db.engine import Database
from db.tables import Event
from db.webhook_tables import WebhookDelivery
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts, entry, post

# Tiny backoffs and timeout: a test's retries take milliseconds.
FAST = WebhookSettings(
    allow_private=True,  # the receiver is on 127.0.0.1
    poll_seconds=0.05,
    timeout_seconds=0.5,
    max_attempts=5,
    backoff_base_seconds=0.01,
    backoff_cap_seconds=0.05,
    batch_size=100,
    concurrency=5,
)
SLEEP_PAST_TIMEOUT = 1.5

CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes active lastEventId }
    secret
    errors { code field message }
  }
}"""

DELIVERIES = """
query($endpointId: ID, $status: WebhookDeliveryStatus, $after: String) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: 20, after: $after) {
    nodes {
      id endpointId eventId eventType status attemptCount lastStatusCode lastError deliveredAt
      attempts { startedAt statusCode latencyMs error }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

REPLAY = """
mutation($id: ID!) {
  replayWebhookDelivery(id: $id) { delivery { id status attemptCount } errors { code field message } }
}"""

DISABLE = """
mutation($id: ID!) {
  disableWebhookEndpoint(id: $id) { endpoint { id active } errors { code field message } }
}"""


# ---------------------------------------------------------------- the receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None  # None: it slept past the sender's timeout


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 whose answers are scripted per event id: the n-th
    request for an event gets ``plan[n]`` ("500" or "sleep"), 200 past its end."""

    port: int = 0
    plan: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def for_event(self, event_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.headers.get("x-ledgerql-event-id") == event_id]

    def successes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered == 200]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> str:
        with self.lock:
            event_id = headers.get("x-ledgerql-event-id")
            seen = sum(1 for r in self.received if r.headers.get("x-ledgerql-event-id") == event_id)
            action = self.plan[seen] if seen < len(self.plan) else "200"
            answered = {"500": 500, "sleep": None}.get(action, 200)
            self.received.append(Received(path, headers, body, answered))
        return action


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            action = state.answer(self.path, headers, body)
            if action == "sleep":
                time.sleep(SLEEP_PAST_TIMEOUT)
            status = 500 if action == "500" else 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up waiting (the timeout case)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- helpers


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The verification docs/webhooks.md documents, as a receiver would write it."""
    timestamp = headers["x-ledgerql-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-ledgerql-signature"], f"v1={expected}")


async def create_endpoint(
    gql: GraphQLClient, url: str, types: list[str] | None = None
) -> tuple[str, str]:
    data = await gql(CREATE, {"input": {"url": url, "eventTypes": types or []}})
    payload = data["createWebhookEndpoint"]
    assert payload["errors"] == [], payload
    return payload["endpoint"]["id"], payload["secret"]


async def post_entries(gql: GraphQLClient, count: int) -> list[str]:
    ids = []
    for n in range(count):
        result = await post(gql, entry("1000", "4000", f"{n + 1}.00"))
        assert result["errors"] == [], result
        ids.append(result["entry"]["id"])
    return ids


async def event_ids(db: Database, tenant_id: int) -> list[str]:
    async with db.read() as session:
        rows = await session.scalars(
            select(col(Event.id)).where(col(Event.tenant_id) == tenant_id).order_by(col(Event.id))
        )
        return [str(i) for i in rows.all()]


async def pump(
    db: Database, until: Callable[[], bool], settings: WebhookSettings = FAST, seconds: float = 15
) -> None:
    """Delivery passes until ``until()``, as the server's loop would run them."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "deliveries did not finish in time"
        await deliver_due(db, settings)
        await asyncio.sleep(0.01)


async def deliveries(gql: GraphQLClient, endpoint_id: str, **args: Any) -> list[dict[str, Any]]:
    data = await gql(DELIVERIES, {"endpointId": endpoint_id, **args})
    nodes: list[dict[str, Any]] = data["webhookDeliveries"]["nodes"]
    return nodes


def counter(outcome: str) -> float:
    value = REGISTRY.get_sample_value("ledgerql_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


# ---------------------------------------------------------------- tests


async def test_fails_three_times_then_succeeds_once_signed_with_attempts_visible(
    db: Database, gql: GraphQLClient, tenant: TenantFixture, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, secret = await create_endpoint(gql, receiver.url())
    receiver.plan = ["500", "500", "500"]
    await post_entries(gql, 2)
    events = await event_ids(db, tenant.id)
    assert len(events) == 2

    await pump(db, lambda: len(receiver.successes()) == 2)
    # More passes send nothing more: each event got through once.
    for _ in range(5):
        await deliver_due(db, FAST)
    for event_id in events:
        got = receiver.for_event(event_id)
        assert [r.answered for r in got] == [500, 500, 500, 200]
        success = got[-1]
        assert verify(secret, success.headers, success.body)
        assert not verify("whsec_wrong", success.headers, success.body)
        assert success.headers["content-type"] == "application/json"
        document = json.loads(success.body)
        assert document["id"] == event_id
        assert document["type"] == "journal_entry.posted"
        assert document["endpointId"] == endpoint_id
        assert "pismo" not in document and "pismo_entries" not in document

    nodes = await deliveries(gql, endpoint_id)
    assert sorted((n["eventId"] for n in nodes), key=int) == events
    for node in nodes:
        assert node["status"] == "SUCCEEDED"
        assert node["attemptCount"] == 4
        assert node["lastStatusCode"] == 200 and node["lastError"] is None
        assert node["deliveredAt"] is not None
        attempts = node["attempts"]
        assert [a["statusCode"] for a in attempts] == [500, 500, 500, 200]
        assert [a["error"] for a in attempts] == ["HTTP 500"] * 3 + [None]
        assert all(isinstance(a["latencyMs"], int) and a["latencyMs"] >= 0 for a in attempts)
        assert attempts == sorted(attempts, key=lambda a: a["startedAt"])


async def test_timeout_is_an_attempt_then_success(
    db: Database, gql: GraphQLClient, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    receiver.plan = ["sleep"]
    await post_entries(gql, 1)
    await pump(db, lambda: len(receiver.successes()) == 1)
    (node,) = await deliveries(gql, endpoint_id)
    first, second = node["attempts"]
    assert first["statusCode"] is None and "timed out" in first["error"]
    assert first["latencyMs"] >= FAST.timeout_seconds * 1000 * 0.9
    assert second["statusCode"] == 200
    assert node["status"] == "SUCCEEDED"


async def test_event_types_filter(db: Database, gql: GraphQLClient, receiver: Receiver) -> None:
    await create_accounts(gql)
    reversed_only, _ = await create_endpoint(
        gql, receiver.url("/reversed"), ["journal_entry.reversed"]
    )
    posted_only, _ = await create_endpoint(gql, receiver.url("/posted"), ["journal_entry.posted"])
    every, _ = await create_endpoint(gql, receiver.url("/all"))
    (entry_id,) = await post_entries(gql, 1)
    reversal = await gql(
        "mutation($id: ID!) { reverseJournalEntry(id: $id) { errors { message } } }",
        {"id": entry_id},
    )
    assert reversal["reverseJournalEntry"]["errors"] == []
    await pump(db, lambda: len(receiver.successes()) == 4)
    for _ in range(3):
        await deliver_due(db, FAST)
    by_path: dict[str, list[str]] = {}
    for r in receiver.successes():
        by_path.setdefault(r.path, []).append(json.loads(r.body)["type"])
    assert {path: sorted(types) for path, types in by_path.items()} == {
        "/reversed": ["journal_entry.reversed"],
        "/posted": ["journal_entry.posted"],
        "/all": ["journal_entry.posted", "journal_entry.reversed"],
    }
    assert [n["eventType"] for n in await deliveries(gql, reversed_only)] == [
        "journal_entry.reversed"
    ]
    assert [n["eventType"] for n in await deliveries(gql, posted_only)] == ["journal_entry.posted"]
    assert len(await deliveries(gql, every)) == 2


async def test_tenant_isolation(
    db: Database, client: httpx.AsyncClient, gql: GraphQLClient, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    await post_entries(gql, 1)
    await pump(db, lambda: len(receiver.successes()) == 1)
    (node,) = await deliveries(gql, endpoint_id)

    other: TenantFixture = await make_tenant(db)
    other_gql = GraphQLClient(client, other.key)
    await create_accounts(other_gql)
    await post_entries(other_gql, 2)  # events of the other tenant: never sent here
    for _ in range(3):
        await deliver_due(db, FAST)
    assert len(receiver.received) == 1

    assert (await other_gql("{ webhookEndpoints { id } }"))["webhookEndpoints"] == []
    assert await deliveries(other_gql, endpoint_id) == []
    replay = (await other_gql(REPLAY, {"id": node["id"]}))["replayWebhookDelivery"]
    assert replay["delivery"] is None and replay["errors"][0]["code"] == "NOT_FOUND"
    disable = (await other_gql(DISABLE, {"id": endpoint_id}))["disableWebhookEndpoint"]
    assert disable["endpoint"] is None and disable["errors"][0]["code"] == "NOT_FOUND"
    assert (await gql("{ webhookEndpoints { id active } }"))["webhookEndpoints"] == [
        {"id": endpoint_id, "active": True}
    ]


async def test_replay_sends_again_as_a_new_cycle(
    db: Database, gql: GraphQLClient, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, secret = await create_endpoint(gql, receiver.url())
    await post_entries(gql, 1)
    await pump(db, lambda: len(receiver.successes()) == 1)
    (node,) = await deliveries(gql, endpoint_id)

    replay = (await gql(REPLAY, {"id": node["id"]}))["replayWebhookDelivery"]
    assert replay["errors"] == []
    assert replay["delivery"] == {"id": node["id"], "status": "PENDING", "attemptCount": 0}
    await pump(db, lambda: len(receiver.successes()) == 2)
    first, second = receiver.successes()
    # The same event, so the receiver can tell it has it already.
    assert first.headers["x-ledgerql-event-id"] == second.headers["x-ledgerql-event-id"]
    assert verify(secret, second.headers, second.body)
    (after,) = await deliveries(gql, endpoint_id)
    assert after["status"] == "SUCCEEDED" and after["attemptCount"] == 1
    assert len(after["attempts"]) == 2

    missing = (await gql(REPLAY, {"id": "999999999"}))["replayWebhookDelivery"]
    assert missing["errors"][0]["code"] == "NOT_FOUND"


async def test_gives_up_after_max_attempts(
    db: Database, gql: GraphQLClient, receiver: Receiver
) -> None:
    settings = WebhookSettings(**{**FAST.__dict__, "max_attempts": 3})
    gave_up_before = counter("gave_up")
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    receiver.plan = ["500"] * 10
    await post_entries(gql, 1)

    async def failed() -> bool:
        nodes = await deliveries(gql, endpoint_id, status="FAILED")
        return len(nodes) == 1

    deadline = time.monotonic() + 15
    while not await failed():
        assert time.monotonic() < deadline
        await deliver_due(db, settings)
        await asyncio.sleep(0.01)
    for _ in range(5):
        await deliver_due(db, settings)
    assert [r.answered for r in receiver.received] == [500, 500, 500]
    (node,) = await deliveries(gql, endpoint_id)
    assert node["status"] == "FAILED" and node["attemptCount"] == 3
    assert node["lastStatusCode"] == 500 and len(node["attempts"]) == 3
    assert counter("gave_up") == gave_up_before + 1
    assert await deliveries(gql, endpoint_id, status="PENDING") == []


async def test_non_public_destinations_are_refused_by_default(
    db: Database, gql: GraphQLClient, receiver: Receiver
) -> None:
    """Without LEDGERQL_WEBHOOK_ALLOW_PRIVATE nothing is sent to 127.0.0.1 (or any
    non-public address): each attempt is recorded as refused and nothing reaches it."""
    guarded = WebhookSettings(**{**FAST.__dict__, "allow_private": False, "max_attempts": 2})
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    await post_entries(gql, 1)
    deadline = time.monotonic() + 15
    while not await deliveries(gql, endpoint_id, status="FAILED"):
        assert time.monotonic() < deadline
        await deliver_due(db, guarded)
        await asyncio.sleep(0.01)
    assert receiver.received == []
    (node,) = await deliveries(gql, endpoint_id)
    assert [a["statusCode"] for a in node["attempts"]] == [None, None]
    assert all("non-public address 127.0.0.1" in a["error"] for a in node["attempts"])
    for url, refused in (
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://169.254.169.254/latest", "169.254.169.254"),  # cloud metadata
        ("http://[::1]:8080/x", "::1"),
        ("https://93.184.215.14/hook", None),  # a public address
    ):
        assert await non_public_address(url) == refused, url
    assert await non_public_address("http://localhost:9/x") is not None  # by name too


async def test_two_concurrent_passes_make_one_delivery_per_event(
    db: Database, db_url: str, gql: GraphQLClient, tenant: TenantFixture, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    await post_entries(gql, 12)
    events = await event_ids(db, tenant.id)
    # Two Database objects: two connection pools, as two server processes would have.
    second = Database(db_url)
    try:
        for _ in range(3):
            await asyncio.gather(deliver_due(db, FAST), deliver_due(second, FAST))
        await pump(db, lambda: len(receiver.successes()) >= len(events))
    finally:
        await second.dispose()
    async with db.read() as session:
        rows = (
            await session.execute(
                select(col(WebhookDelivery.event_id), func.count())
                .where(col(WebhookDelivery.endpoint_id) == int(endpoint_id))
                .group_by(col(WebhookDelivery.event_id))
            )
        ).all()
    assert sorted((str(event_id) for event_id, _ in rows), key=int) == events
    assert all(count == 1 for _, count in rows)
    # The claim lease kept the two passes from sending the same delivery twice.
    sent = sorted((r.headers["x-ledgerql-event-id"] for r in receiver.received), key=int)
    assert sent == events


async def test_secret_shown_once_and_url_checked(gql: GraphQLClient, receiver: Receiver) -> None:
    endpoint_id, secret = await create_endpoint(gql, receiver.url())
    assert secret.startswith("whsec_") and len(secret) > 40
    fields = await gql('{ __type(name: "WebhookEndpoint") { fields { name } } }')
    assert "secret" not in {f["name"] for f in fields["__type"]["fields"]}
    listed = (await gql("{ webhookEndpoints { id url eventTypes active } }"))["webhookEndpoints"]
    assert listed == [{"id": endpoint_id, "url": receiver.url(), "eventTypes": [], "active": True}]

    for bad in ("ftp://127.0.0.1/x", "127.0.0.1:8000/x", "http://", "https://exa mple.com/"):
        data = await gql(CREATE, {"input": {"url": bad}})
        payload = data["createWebhookEndpoint"]
        assert payload["endpoint"] is None and payload["secret"] is None, bad
        assert payload["errors"][0]["code"] == "BAD_USER_INPUT"
        assert payload["errors"][0]["field"] == "url"
    data = await gql(CREATE, {"input": {"url": receiver.url(), "eventTypes": ["Bad Type"]}})
    assert data["createWebhookEndpoint"]["errors"][0]["field"] == "eventTypes.0"

    disabled = (await gql(DISABLE, {"id": endpoint_id}))["disableWebhookEndpoint"]
    assert disabled == {"endpoint": {"id": endpoint_id, "active": False}, "errors": []}


async def test_disabled_endpoint_waits_then_catches_up(
    db: Database, gql: GraphQLClient, receiver: Receiver
) -> None:
    await create_accounts(gql)
    endpoint_id, _ = await create_endpoint(gql, receiver.url())
    await gql(DISABLE, {"id": endpoint_id})
    await post_entries(gql, 2)
    for _ in range(3):
        await deliver_due(db, FAST)
    assert receiver.received == []
    enabled = await gql(
        "mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) "
        "{ endpoint { active } errors { message } } }",
        {"input": {"id": endpoint_id, "active": True}},
    )
    assert enabled["updateWebhookEndpoint"] == {"endpoint": {"active": True}, "errors": []}
    await pump(db, lambda: len(receiver.successes()) == 2)


def test_backoff_schedule_doubles_to_the_cap() -> None:
    settings = WebhookSettings(backoff_base_seconds=10, backoff_cap_seconds=3600)
    for n, full in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (40, 3600)]:
        wait = backoff_seconds(n, settings)
        assert 0.75 * full <= wait <= full, (n, wait)


async def test_cli_create_list_deliveries_replay(
    db: Database, db_url: str, gql: GraphQLClient, tenant: TenantFixture, receiver: Receiver
) -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["webhook", *args], env={"DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return result.output

    await create_accounts(gql)
    created = await asyncio.to_thread(
        run,
        "create",
        "--tenant",
        tenant.slug,
        receiver.url(),
        "--event-type",
        "journal_entry.posted",
    )
    assert "secret: whsec_" in created and "shown once" in created
    endpoint_id = created.split("endpoint: ")[1].split()[0]
    listed = await asyncio.to_thread(run, "list", "--tenant", tenant.slug)
    assert f"{endpoint_id}\tactive\tjournal_entry.posted\t{receiver.url()}" in listed
    await post_entries(gql, 1)
    await pump(db, lambda: len(receiver.successes()) == 1)
    shown = await asyncio.to_thread(
        run, "deliveries", "--tenant", tenant.slug, "--endpoint", endpoint_id
    )
    delivery_id, _, _, event_type, status, attempts, _ = shown.strip().split("\t")
    assert (event_type, status, attempts) == ("journal_entry.posted", "SUCCEEDED", "1")
    replayed = await asyncio.to_thread(run, "replay", "--tenant", tenant.slug, delivery_id)
    assert f"delivery {delivery_id}: PENDING" in replayed
    await pump(db, lambda: len(receiver.successes()) == 2)
    disabled = await asyncio.to_thread(run, "disable", "--tenant", tenant.slug, endpoint_id)
    assert "\tdisabled\t" in disabled
    enabled = await asyncio.to_thread(run, "enable", "--tenant", tenant.slug, endpoint_id)
    assert f"{endpoint_id}\tactive\t" in enabled

    def unknown_tenant() -> Any:
        slug = f"nobody-{uuid.uuid4().hex[:6]}"
        return CliRunner().invoke(
            main, ["webhook", "list", "--tenant", slug], env={"DATABASE_URL": db_url}
        )

    unknown = await asyncio.to_thread(unknown_tenant)
    assert unknown.exit_code == 1 and "does not exist" in unknown.output


async def test_server_process_delivers_in_the_background(
    db_url: str, gql: GraphQLClient, receiver: Receiver, tmp_path: Path
) -> None:
    """A real `uvicorn app.main:create_app` process runs the delivery loop by itself (its
    background job, app/jobs/scheduler.py); the test only posts and listens."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LEDGERQL_WEBHOOK_POLL_SECONDS": "0.1",
        "LEDGERQL_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEDGERQL_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
        "LEDGERQL_WEBHOOK_BACKOFF_CAP_SECONDS": "0.1",
        "LEDGERQL_WEBHOOK_TIMEOUT_SECONDS": "2",
        "LEDGERQL_POST_DUE_SECONDS": "0",
    }
    await create_accounts(gql)
    _, secret = await create_endpoint(gql, receiver.url())
    receiver.plan = ["500"]
    with serve("webhooks", "app.main:create_app", env, tmp_path):
        await post_entries(gql, 1)
        deadline = time.monotonic() + 30
        while not receiver.successes():
            assert time.monotonic() < deadline, (tmp_path / "webhooks.log").read_text()
            await asyncio.sleep(0.05)
    (success,) = receiver.successes()
    assert [r.answered for r in receiver.received] == [500, 200]
    assert verify(secret, success.headers, success.body)
