"""GraphQL over HTTP to the letter: bodies, media types, statuses, headers, request ids, logs.

The last test runs the graphql-http package's own server audits (npm) against a
live server on each engine: every MUST and every SHOULD item must pass.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, text

from app.main import create_app
from benchmarks.harness import serve
from db.engine import Database
from tests.conftest import TenantFixture

GRAPHQL_RESPONSE = "application/graphql-response+json"
AUDIT_DIR = Path(__file__).parent / "graphql_http_audit"
REQUIRE_NODE = os.environ.get("LEDGERQL_REQUIRE_NODE") == "1"


def auth(tenant: TenantFixture, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}", **headers}


async def entry_count(db: Database) -> int:
    """Rows a refused request could have written: entries, journals, accounts."""
    query = text(
        "SELECT (SELECT count(*) FROM journal_entries) + (SELECT count(*) FROM journals)"
        " + (SELECT count(*) FROM accounts)"
    )
    async with db.read() as session:
        return int((await session.execute(query)).scalar_one())


# ---------------------------------------------------------------- bodies


NOT_GRAPHQL_BODIES = {
    "null": b"null",
    "a string": b'"x"',
    "a number": b"42",
    "an array": b"[]",
    "invalid UTF-8": b'{"query": "{ __typename \xff }"}',
    "a lone surrogate": b'{"query": "{ __typename }", "operationName": "\\ud800"}',
    "100k nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "100k nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "a 5,000-digit integer": b'{"query": "{ __typename }", "variables": {"n": '
    + b"9" * 5000
    + b"}}",
    "truncated JSON": b'{"query": "{ __typename }"',
    "query is a number": b'{"query": 1}',
    "query is missing": b'{"variables": {}}',
    "variables is a list": b'{"query": "{ __typename }", "variables": [1]}',
    "operationName is an object": b'{"query": "{ __typename }", "operationName": {}}',
    "extensions is a string": b'{"query": "{ __typename }", "extensions": "x"}',
    "empty": b"",
}


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
@pytest.mark.parametrize("body", NOT_GRAPHQL_BODIES.values(), ids=NOT_GRAPHQL_BODIES.keys())
async def test_a_body_that_is_not_a_graphql_request_is_a_400_before_auth(
    client: httpx.AsyncClient, body: bytes, accept: str, db: Database
) -> None:
    before = await entry_count(db)
    for key in ("lq_nobody_x", None):  # refused as garbage with a bad key and with none
        headers = {"content-type": "application/json", "accept": accept}
        if key:
            headers["authorization"] = f"Bearer {key}"
        response = await client.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(accept)
        document = response.json()
        assert "data" not in document
        assert document["errors"][0]["message"]
        assert "Traceback" not in response.text
    assert await entry_count(db) == before


async def test_post_needs_a_json_content_type(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        response = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers=auth(tenant, **{"content-type": content_type}),
        )
        assert response.status_code == 415, (content_type, response.text)
    latin = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers=auth(tenant, **{"content-type": "application/json; charset=latin-1"}),
    )
    assert latin.status_code == 415
    utf8 = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers=auth(tenant, **{"content-type": "application/json; charset=utf-8"}),
    )
    assert utf8.status_code == 200, utf8.text


# ---------------------------------------------------------------- media types and statuses


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.1, application/json", "application/json"),
    ],
)
async def test_the_response_type_follows_accept(
    client: httpx.AsyncClient, tenant: TenantFixture, accept: str | None, expected: str
) -> None:
    headers = auth(tenant) if accept is None else auth(tenant, accept=accept)
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_an_unacceptable_accept_is_a_406(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=auth(tenant, accept="text/csv")
    )
    assert response.status_code == 406
    assert "application/graphql-response+json" in response.json()["errors"][0]["message"]


# (body, variables, status under application/json): a document the server cannot
# read is a 200 with data null for the legacy type, as the spec asks; a bad input
# value (a BAD_USER_INPUT error) is the client's mistake, a 400 under both types.
REQUEST_ERRORS = {
    "parse": ({"query": "{ trialBalance { "}, None, 200),
    "validate": ({"query": "{ noSuchField }"}, None, 200),
    "coerce variables": (
        {"query": "query($n: Int) { journalEntries(first: $n) { pageInfo { hasNextPage } } }"},
        {"n": "ten"},
        400,
    ),
    "money literal": (
        {
            "query": 'mutation { postJournalEntry(input: {date: "2026-01-01", memo: "m", lines: ['
            '{accountCode: "1000", debit: 1.5}, {accountCode: "4000", credit: "1.5"}]})'
            " { errors { code } } }"
        },
        None,
        400,
    ),
}


@pytest.mark.parametrize("case", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_by_media_type(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    case: tuple[dict[str, Any], Any, int],
    db: Database,
) -> None:
    body, variables, legacy_status = case
    body = {**body, "variables": variables}
    before = await entry_count(db)
    spec = await client.post("/graphql", json=body, headers=auth(tenant, accept=GRAPHQL_RESPONSE))
    assert spec.status_code == 400, spec.text
    assert "data" not in spec.json() and spec.json()["errors"]
    legacy = await client.post("/graphql", json=body, headers=auth(tenant))
    assert legacy.status_code == legacy_status, legacy.text
    assert legacy.json()["data"] is None and legacy.json()["errors"]
    assert await entry_count(db) == before


async def test_a_bad_argument_is_a_4xx_when_nothing_could_be_answered(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    past_64_bits = "OTk5OTk5OTk5OTk5OTk5OTk5OTk="
    query = f'{{ events(after: "{past_64_bits}") {{ edges {{ cursor }} }} }}'
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql", json={"query": query}, headers=auth(tenant, accept=accept)
        )
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    # With data to give (a nullable field answered null), the spec's 200 stands.
    partial = await client.post(
        "/graphql",
        json={"query": '{ journalEntry(id: "x3") { id } }'},
        headers=auth(tenant, accept=GRAPHQL_RESPONSE),
    )
    assert partial.status_code == 200
    assert partial.json()["data"] == {"journalEntry": None}
    assert partial.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_auth_errors_honour_accept(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": "Bearer lq_nope_nope", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_mutation_over_get_is_a_405_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    before = await entry_count(db)
    response = await client.get(
        "/graphql",
        params={
            "query": 'mutation { createJournal(input: {code: "X", name: "X"}) { errors { code } } }'
        },
        headers=auth(tenant),
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await entry_count(db) == before
    query = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int) { journalEntries(first: $n) { pageInfo { hasNextPage } } }",
            "variables": '{"n": 1}',
        },
        headers=auth(tenant),
    )
    assert query.status_code == 200, query.text
    assert query.json() == {"data": {"journalEntries": {"pageInfo": {"hasNextPage": False}}}}


# ---------------------------------------------------------------- headers, request ids, logs


async def test_every_response_carries_safe_headers_and_a_request_id(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    responses = {
        "health": await client.get("/health"),
        "graphql": await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=auth(tenant)
        ),
        "refused": await client.post("/graphql", content=b"null"),
        "pismo": await client.post("/accounting/v1/accounting-entries", json={}),
        "graphiql": await client.get("/graphql", headers={"accept": "text/html"}),
    }
    ids = set()
    for name, response in responses.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["cache-control"] == "no-store", name
        ids.add(response.headers["x-request-id"])
    assert len(ids) == len(responses)
    asset = await client.get("/static/graphiql/README.md")
    assert asset.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in asset.headers.get("cache-control", "")
    echoed = await client.get("/health", headers={"x-request-id": "client-abc.123"})
    assert echoed.headers["x-request-id"] == "client-abc.123"
    forged = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert forged.headers["x-request-id"] != "bad id\twith spaces"


async def test_a_client_leaving_mid_body_is_not_an_error(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(db=db)
    sent: list[dict[str, Any]] = []
    partial: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"query": "{ __ty', "more_body": True},
        {"type": "http.disconnect"},
    ]
    messages = iter(partial)

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"ledgerql.test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": app,
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert any("disconnected" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_error_is_logged_once_with_the_id_the_client_gets(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.http.graphql_endpoint

    async def broken(*_: object) -> None:
        raise RuntimeError("boom with a secret memo")

    monkeypatch.setattr(app.http.graphql_endpoint, "principal_of", broken)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=auth(tenant)
        )
    assert response.status_code == 500
    rid = response.headers["x-request-id"]
    assert response.json()["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": rid,
    }
    assert "secret" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and rid in errors[0].getMessage()


async def test_database_errors_never_carry_their_parameters(db: Database) -> None:
    secret = "memo-with-a-secret-4711"
    with pytest.raises(Exception) as raised:
        async with db.write() as session:
            await session.execute(
                text("INSERT INTO tenants (slug, name, base_currency) VALUES (:s, :s, :c)"),
                {"s": secret, "c": None},
            )
    assert secret not in str(raised.value)

    def insert(conn: Connection) -> None:  # the write path's own engine (a thread on SQLite)
        conn.execute(
            text("INSERT INTO tenants (slug, name, base_currency) VALUES (:s, :s, :c)"),
            {"s": secret, "c": None},
        )

    with pytest.raises(Exception) as raised:
        await db.run_write(insert)
    assert secret not in str(raised.value)


# ---------------------------------------------------------------- the graphql-http audits


@pytest.fixture(scope="module")
def audit_tool() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed for the graphql-http audit"
        if REQUIRE_NODE:
            pytest.fail(message + " (LEDGERQL_REQUIRE_NODE=1)")
        pytest.skip(message)
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=AUDIT_DIR, check=True
        )
    return AUDIT_DIR / "audit.mjs"


@pytest.fixture
async def live_server(db_url: str, tenant: TenantFixture, tmp_path: Path) -> AsyncIterator[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    with serve("audit", "app.main:create_app", env, tmp_path) as (port, _process):
        yield f"http://127.0.0.1:{port}/graphql"


async def test_graphql_http_audits_pass(
    audit_tool: Path, live_server: str, tenant: TenantFixture
) -> None:
    process = await asyncio.create_subprocess_exec(
        "node", str(audit_tool), live_server, tenant.key, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    results = json.loads(stdout)
    failed = [
        f"{r['id']} {r['name']}: {r.get('reason')}"
        for r in results
        if r["status"] != "ok" and not r["name"].startswith("MAY")
    ]
    assert failed == []
    assert sum(r["name"].startswith("MUST") for r in results) == 13
    assert sum(r["name"].startswith("SHOULD") for r in results) == 23


async def test_an_unexpected_resolver_error_carries_the_request_id(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.ledger import balances

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom with a secret memo")

    monkeypatch.setattr(balances, "trial_balance", broken)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/graphql", json={"query": "{ trialBalance { balanced } }"}, headers=auth(tenant)
        )
    assert response.status_code == 200
    rid = response.headers["x-request-id"]
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    assert "secret" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and rid in errors[0].getMessage()
