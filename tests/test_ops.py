"""/health, /ready, /metrics and the leases, on the real app and both engines."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.http.request_metrics import operation_label
from app.jobs import leases, scheduler
from app.main import create_app
from app.runtime.settings import RateLimitSettings, Settings, parse_rate_limits
from db.engine import Database
from db.migrate import upgrade
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry

# The newest migration script shipped, read off the file names (not through alembic, which
# /ready itself uses), so a new migration does not need this test edited.
_VERSIONS = Path(__file__).resolve().parents[1] / "db" / "migrations" / "versions"
HEAD = max(p.name[:4] for p in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))

BULK = """
mutation PostSome($inputs: [PostJournalEntryInput!]!) {
  postJournalEntries(inputs: $inputs, atomic: true) { entry { id } errors { code } }
}"""
SINGLE = """
mutation PostOne($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } errors { code } }
}"""


def sample(text: str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in a /metrics text (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "migration": HEAD}


@pytest.mark.parametrize("revision", [None, "0013"])
async def test_ready_is_503_on_a_database_not_at_the_head(
    tmp_path: Path, revision: str | None
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    if revision is not None:
        await asyncio.to_thread(upgrade, url, revision)
    db = Database(url)
    try:
        app = create_app(db=db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/ready")
            assert (await http.get("/health")).status_code == 200  # alive all the same
    finally:
        await db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    if revision is None:
        assert "not migrated" in body["reason"]
    else:
        assert "0013" in body["reason"] and HEAD in body["reason"]


async def test_metrics_count_the_postings_and_requests(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await create_accounts(gql)
    before = await scrape(client)
    inputs = [entry("1000", "4000", f"{n}.00", memo=f"metrics {n}") for n in range(1, 4)]
    bulk = await client.post(
        "/graphql",
        json={"query": BULK, "variables": {"inputs": inputs}, "operationName": "PostSome"},
        headers={"Authorization": f"Bearer {gql.key}"},
    )
    assert bulk.status_code == 200 and "errors" not in bulk.json(), bulk.text
    for n in range(2):
        single = await client.post(
            "/graphql",
            json={"query": SINGLE, "variables": {"input": entry("1000", "4000", f"{n + 5}.00")}},
            headers={"Authorization": f"Bearer {gql.key}"},
        )
        assert single.json()["data"]["postJournalEntry"]["errors"] == []
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("ledgerql_posted_entries_total") == 3 + 2
    # One transaction of 3 entries, then two of 1 (sequential: no group commit sharing).
    assert delta("ledgerql_posting_batch_entries_count") == 3
    assert delta("ledgerql_posting_batch_entries_sum") == 3 + 1 + 1
    graphql = {"route": "/graphql", "method": "POST", "status": "200"}
    assert delta("ledgerql_request_duration_seconds_count", **graphql, operation="PostSome") == 1
    # No operationName in the request: "anonymous", whatever the document names.
    assert delta("ledgerql_request_duration_seconds_count", **graphql, operation="anonymous") == 2
    # The scrape itself is counted by its route; the pools are reported.
    metrics = {"route": "/metrics", "method": "GET", "status": "200", "operation": ""}
    assert delta("ledgerql_request_duration_seconds_count", **metrics) == 1
    assert sample(after, "ledgerql_db_pool_size", engine="write") >= 1
    assert sample(after, "ledgerql_group_commit_queue_depth") == 0


async def test_route_labels_are_templates_not_paths(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for _ in range(2):
        await client.get(f"/no/such/path/{uuid.uuid4().hex}")
    after = await scrape(client)
    assert "/no/such/path" not in after
    labels = {"route": "other", "method": "GET", "status": "404", "operation": ""}
    name = "ledgerql_request_duration_seconds_count"
    assert sample(after, name, **labels) - sample(before, name, **labels) == 2


def test_operation_names_are_bounded() -> None:
    assert operation_label("PostSome") == "PostSome"
    assert operation_label("_x9") == "_x9"
    assert operation_label(None) == "anonymous"
    assert operation_label("") == "anonymous"
    assert operation_label("a" * 64) == "a" * 64
    assert operation_label("a" * 65) == "other"
    assert operation_label("9lives") == "other"
    assert operation_label("has space") == "other"
    assert operation_label(["PostSome"]) == "other"


async def test_unbounded_operation_names_share_one_label(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    before = await scrape(client)
    names = [f"bad-{uuid.uuid4().hex}" for _ in range(3)] + ["x" * 100]
    for name in names:
        await client.post(
            "/graphql",
            json={"query": "{ __typename }", "operationName": name},
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
    after = await scrape(client)
    for name in names:
        assert name not in after
    counts = [
        sample(text, "ledgerql_request_duration_seconds_count", **labels)
        for text in (before, after)
        for labels in [
            {"route": "/graphql", "method": "POST", "status": status, "operation": "other"}
            for status in ("200", "400")
        ]
    ]
    assert sum(counts[2:]) - sum(counts[:2]) == len(names)


async def test_a_big_request_run_on_the_second_loop_keeps_its_operation_name(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """Bodies over 64 KiB run on the second event loop (app/http/second_loop.py); the name the
    endpoint read still reaches the metrics, and only a request it never parsed is other."""
    before = await scrape(client)
    pad = "x" * (70 * 1024)  # an unused variable: the body passes the offload threshold
    for body in (
        {"query": "query Big { __typename }", "operationName": "Big", "variables": {"p": pad}},
        {"query": "query Small { __typename }", "operationName": "Small"},
    ):
        response = await client.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {tenant.key}"}
        )
        assert response.status_code == 200, response.text
    refused = await client.post(
        "/graphql",
        content=b"{not json",
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"},
    )
    assert refused.status_code == 400
    after = await scrape(client)
    labels = {"route": "/graphql", "method": "POST"}

    def delta(status: str, operation: str) -> float:
        name = "ledgerql_request_duration_seconds_count"
        return sample(after, name, **labels, status=status, operation=operation) - sample(
            before, name, **labels, status=status, operation=operation
        )

    assert (delta("200", "Big"), delta("200", "Small"), delta("400", "other")) == (1, 1, 1)


async def test_rate_limit_refusals_are_counted(db: Database, tenant: TenantFixture) -> None:
    limits = RateLimitSettings(limits=parse_rate_limits("graphql.read=1/minute"))
    app = create_app(Settings(rate_limits=limits), db=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        before = (await http.get("/metrics")).text
        statuses = [
            (
                await http.post(
                    "/graphql",
                    json={"query": "{ __typename }"},
                    headers={"Authorization": f"Bearer {tenant.key}"},
                )
            ).status_code
            for _ in range(3)
        ]
        after = (await http.get("/metrics")).text
    assert statuses[0] == 200 and statuses[1:] == [429, 429], statuses
    name = "ledgerql_rate_limited_total"
    assert sample(after, name, surface="graphql") - sample(before, name, surface="graphql") == 2


# ---------------------------------------------------------------- leases


async def test_a_lease_has_one_holder_until_it_expires(db: Database) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    assert await leases.try_acquire(db, name, "a", 30)
    assert not await leases.try_acquire(db, name, "b", 30)
    assert await leases.renew(db, name, "a", 0.2)
    first = await leases.current(db, name)
    assert first is not None and first.holder == "a"
    assert not await leases.try_acquire(db, name, "b", 30)  # not yet expired
    await asyncio.sleep(0.3)
    assert await leases.try_acquire(db, name, "b", 30)  # expired: taken over
    assert not await leases.renew(db, name, "a", 30)  # a has lost it
    taken = await leases.current(db, name)
    assert taken is not None and taken.holder == "b" and taken.acquired_at > first.acquired_at
    assert not await leases.release(db, name, "a")  # not a's to give
    assert await leases.release(db, name, "b")
    assert await leases.current(db, name) is None
    assert await leases.try_acquire(db, name, "a", 30)
    await leases.release(db, name, "a")


async def test_concurrent_claims_have_one_winner(db: Database) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    won = await asyncio.gather(*(leases.try_acquire(db, name, f"h{i}", 30) for i in range(8)))
    assert sum(won) == 1
    holder = await leases.current(db, name)
    assert holder is not None and holder.holder == f"h{won.index(True)}"
    await leases.release(db, name, holder.holder)


async def test_a_leased_job_runs_in_one_holder_and_moves_on_stop(db: Database) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    runs: dict[str, int] = {"a": 0, "b": 0}

    def job(holder: str) -> scheduler.LeasedJob:
        async def work() -> None:
            runs[holder] += 1
            if runs[holder] == 2:
                raise RuntimeError("a failed round is logged; the job goes on")

        return scheduler.LeasedJob(db, name, 0.01, work, holder=holder, ttl=0.6)

    a = job("a")
    await asyncio.sleep(0.1)
    b = job("b")
    await asyncio.sleep(0.3)
    assert a.held and not b.held
    assert runs["a"] > 3 and runs["b"] == 0
    await a.stop()  # gives the lease up: b takes it at its next attempt (ttl / 3)
    for _ in range(100):
        if b.held:
            break
        await asyncio.sleep(0.02)
    assert b.held
    await asyncio.sleep(0.1)
    assert runs["b"] > 2
    await b.stop()
    assert await leases.current(db, name) is None
