"""Rate limits per key on every surface, the failed-authentication throttle, their settings."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli.main import main
from app.ledger.key_rate_limits import set_key_limits
from app.main import create_app
from app.runtime.settings import RateLimitSettings, Settings, parse_rate_limits
from benchmarks.harness import serve
from db.engine import Database
from tests.conftest import TenantFixture, make_tenant
from tests.test_rest_journal_entries import PATH as JOURNAL_PATH
from tests.test_rest_journal_entries import seed_body

MUTATION = 'mutation { updateTenant(input: {journalPrefix: "RL"}) { errors { code } } }'
QUERY = "{ tenant { slug } }"
PISMO_ENTRIES = "/accounting/v1/accounting-entries"
PENNYLANE_JOURNALS = "/api/external/v2/journals"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _client(app: object, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://ledgerql.test")


@pytest.fixture
async def http(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(create_app(db=db)) as client:
        yield client


def bearer(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


async def graphql(http: httpx.AsyncClient, tenant: TenantFixture, query: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": query}, headers=bearer(tenant))


def assert_retry_after(response: httpx.Response) -> int:
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60, response.headers
    return wait


async def test_graphql_refuses_the_write_past_the_key_limit(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_key_limits(db, tenant.key_id, "graphql", {("write", "minute"): 3})
    for _ in range(3):
        assert (await graphql(http, tenant, MUTATION)).status_code == 200
    refused = await graphql(http, tenant, MUTATION)
    assert refused.status_code == 429, refused.text
    wait = assert_retry_after(refused)
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": wait}
    # Reads are counted apart, and another key of another tenant is not affected.
    assert (await graphql(http, tenant, QUERY)).status_code == 200
    other = await make_tenant(db)
    assert (await graphql(http, other, MUTATION)).status_code == 200
    # In the negotiated media type.
    graphql_json = "application/graphql-response+json"
    again = await http.post(
        "/graphql",
        json={"query": MUTATION},
        headers={**bearer(tenant), "Accept": graphql_json},
    )
    assert again.status_code == 429
    assert again.headers["content-type"].startswith(graphql_json)


async def test_graphql_reads_have_their_own_limit(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_key_limits(db, tenant.key_id, "graphql", {("read", "minute"): 2})
    for _ in range(2):
        assert (await graphql(http, tenant, QUERY)).status_code == 200
    assert (await graphql(http, tenant, QUERY)).status_code == 429
    got = await http.get("/graphql", params={"query": QUERY}, headers=bearer(tenant))
    assert got.status_code == 429
    assert (await graphql(http, tenant, MUTATION)).status_code == 200


async def test_pismo_answers_429_in_its_shape(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_key_limits(db, tenant.key_id, "pismo", {("write", "minute"): 2})
    for _ in range(2):  # counted whatever the body: a refused body is still a request
        response = await http.post(PISMO_ENTRIES, json={}, headers=bearer(tenant))
        assert response.status_code == 400, response.text
    refused = await http.post(PISMO_ENTRIES, json={}, headers=bearer(tenant))
    assert refused.status_code == 429
    assert_retry_after(refused)
    assert set(refused.json()) == {"error"}


async def test_journal_entry_api_answers_429_in_its_envelope(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_key_limits(db, tenant.key_id, "journal_entries", {("write", "minute"): 2})
    headers = {"X-API-Key": tenant.key}
    for _ in range(2):
        response = await http.post(JOURNAL_PATH, json=seed_body(tenant.slug), headers=headers)
        assert response.status_code != 429, response.text
    refused = await http.post(JOURNAL_PATH, json=seed_body(tenant.slug), headers=headers)
    assert refused.status_code == 429
    assert_retry_after(refused)
    body = refused.json()
    assert body["status"] == "error" and body["status_code"] == 429, body


async def test_pennylane_answers_its_documented_429_and_headers(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_key_limits(db, tenant.key_id, "pennylane", {("read", "minute"): 2})
    first = await http.get(PENNYLANE_JOURNALS, headers=bearer(tenant))
    assert first.status_code == 200, first.text
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    reset = int(first.headers["ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    assert (await http.get(PENNYLANE_JOURNALS, headers=bearer(tenant))).status_code == 200
    refused = await http.get(PENNYLANE_JOURNALS, headers=bearer(tenant))
    assert refused.status_code == 429
    wait = assert_retry_after(refused)
    assert refused.text == f"Rate limit exceeded. Please retry in {wait} seconds."
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == "2"
    # Writes are counted apart.
    created = await http.post(
        PENNYLANE_JOURNALS, json={"code": "RL", "label": "Rate"}, headers=bearer(tenant)
    )
    assert created.status_code != 429, created.text


async def test_failed_authentication_is_throttled_per_address(
    db: Database, tenant: TenantFixture
) -> None:
    settings = Settings(rate_limits=RateLimitSettings(auth_failures_per_minute=3))
    app = create_app(settings, db=db)
    bad = {"Authorization": f"Bearer lq_{tenant.key_id}_wrong"}
    async with _client(app, "10.0.0.1") as attacker, _client(app, "10.0.0.2") as neighbour:
        for _ in range(3):
            assert (
                await attacker.post("/graphql", json={"query": QUERY}, headers=bad)
            ).status_code == 401
        # Refused before the key is checked: a good key from that address too, on every surface.
        refused = await attacker.post("/graphql", json={"query": QUERY}, headers=bearer(tenant))
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert_retry_after(refused)
        pismo = await attacker.post(PISMO_ENTRIES, json={}, headers=bearer(tenant))
        assert pismo.status_code == 429 and "error" in pismo.json()
        journal = await attacker.post(
            JOURNAL_PATH, json=seed_body(tenant.slug), headers={"X-API-Key": tenant.key}
        )
        assert journal.status_code == 429
        pennylane = await attacker.get(PENNYLANE_JOURNALS, headers=bearer(tenant))
        assert pennylane.status_code == 429 and pennylane.text.startswith("Rate limit exceeded")
        # Another address is not affected.
        ok = await neighbour.post("/graphql", json={"query": QUERY}, headers=bearer(tenant))
        assert ok.status_code == 200


async def test_requests_without_a_key_are_not_counted_as_failed_checks(
    db: Database, tenant: TenantFixture
) -> None:
    settings = Settings(rate_limits=RateLimitSettings(auth_failures_per_minute=2))
    async with _client(create_app(settings, db=db)) as http:
        for _ in range(5):
            assert (await http.post("/graphql", json={"query": QUERY})).status_code == 401
        assert (await graphql(http, tenant, QUERY)).status_code == 200


async def test_global_limits_from_settings(db: Database, tenant: TenantFixture) -> None:
    limits = parse_rate_limits("*.write=600/minute,graphql.write=2/minute")
    assert limits[("pismo", "write", "minute")] == 600
    assert limits[("bookeeping", "write", "day")] == 1_500
    with pytest.raises(ValueError):
        parse_rate_limits("graphql.write=0/minute")
    settings = Settings(rate_limits=RateLimitSettings(limits=limits))
    async with _client(create_app(settings, db=db)) as http:
        for _ in range(2):
            assert (await graphql(http, tenant, MUTATION)).status_code == 200
        assert (await graphql(http, tenant, MUTATION)).status_code == 429


SET_LIMITS = """
mutation($input: SetRateLimitsInput!) {
  setRateLimits(input: $input) {
    rateLimits { surface readPerMinute readPerDay writePerMinute writePerDay }
    errors { code field message }
  }
}"""


async def test_a_key_lowers_its_own_limits_through_graphql(
    db: Database, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    async def set_limits(**input: object) -> dict[str, object]:
        response = await http.post(
            "/graphql",
            json={"query": SET_LIMITS, "variables": {"input": input}},
            headers=bearer(tenant),
        )
        assert response.status_code == 200, response.text
        payload: dict[str, object] = response.json()["data"]["setRateLimits"]
        return payload

    raised = await set_limits(surface="BOOKEEPING", writePerMinute=26)
    assert raised["rateLimits"] is None
    assert raised["errors"] == [
        {
            "code": "BAD_USER_INPUT",
            "field": "writePerMinute",
            "message": "a key may only lower its own limits: writePerMinute at most 25 on bookeeping",
        }
    ]
    lowered = await set_limits(surface="GRAPHQL", writePerMinute=3)
    assert lowered["errors"] == []
    assert lowered["rateLimits"] == {
        "surface": "GRAPHQL",
        "readPerMinute": 120_000,
        "readPerDay": 10_000_000,
        "writePerMinute": 3,
        "writePerDay": 10_000_000,
    }
    # Applies at once, to the minute's count so far: the two setRateLimits were writes.
    assert (await graphql(http, tenant, MUTATION)).status_code == 200
    assert (await graphql(http, tenant, MUTATION)).status_code == 429
    listed = (await graphql(http, tenant, "{ rateLimits { surface writePerMinute } }")).json()
    assert {"surface": "GRAPHQL", "writePerMinute": 3} in listed["data"]["rateLimits"]


async def test_the_operator_sets_any_limit_through_the_cli(
    db: Database, db_url: str, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    def invoke(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return result.output

    args = ("key", "limits", tenant.key_id, "--surface", "pennylane", "--read-per-minute", "1")
    output = await asyncio.to_thread(invoke, *args)
    assert f"{tenant.key_id} pennylane read: 1/minute 10000000/day" in output
    await asyncio.sleep(Settings.from_env().auth_cache_seconds)  # a cached principal expires
    assert (await http.get(PENNYLANE_JOURNALS, headers=bearer(tenant))).status_code == 200
    assert (await http.get(PENNYLANE_JOURNALS, headers=bearer(tenant))).status_code == 429
    bookeeping = ("--surface", "bookeeping", "--write-per-minute", "5000", "--reset")
    output = await asyncio.to_thread(invoke, "key", "limits", tenant.key_id, *bookeeping)
    assert f"{tenant.key_id} bookeeping write: 5000/minute 1500/day" in output


# ---------------------------------------------------------------- Redis, two processes


def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not _redis_answers():
        message = f"no Redis answers at {REDIS_HOST}:{REDIS_PORT}"
        if os.environ.get("LEDGERQL_REQUIRE_REDIS") == "1":
            pytest.fail(f"{message} (LEDGERQL_REQUIRE_REDIS=1)")
        pytest.skip(f"{message}: the shared-limit tests need it")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/3"


@pytest.fixture
def two_servers(redis_url: str, db_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two uvicorn processes on the test database sharing Redis counters (a fresh prefix)."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LEDGERQL_RATE_LIMIT_STORAGE": redis_url,
        "LEDGERQL_RATE_LIMIT_PREFIX": f"ledgerql-test-{uuid.uuid4().hex}",
        "LEDGERQL_POST_DUE_SECONDS": "0",
    }
    with ExitStack() as servers:
        ports = [
            servers.enter_context(serve(f"server{index}", "app.main:create_app", env, tmp_path))[0]
            for index in range(2)
        ]
        yield [f"http://127.0.0.1:{port}" for port in ports]


async def test_two_processes_share_the_limits_on_redis(
    db: Database, tenant: TenantFixture, two_servers: list[str]
) -> None:
    await set_key_limits(db, tenant.key_id, "graphql", {("write", "minute"): 5})
    statuses = []
    async with httpx.AsyncClient(timeout=10) as http:
        for index in range(7):  # alternating: 3 and 2 allowed, then refused on either
            url = two_servers[index % 2]
            response = await http.post(
                f"{url}/graphql", json={"query": MUTATION}, headers=bearer(tenant)
            )
            statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429, 429], statuses
