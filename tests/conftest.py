"""Fixtures: real databases (a SQLite file and PostgreSQL), tenants, HTTP clients.

Every test that takes ``db`` runs once per engine. The PostgreSQL run uses a
fresh database created for this test session and dropped after it; where no
PostgreSQL answers, those runs skip with the reason, except when
LEDGERQL_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.ledger.tenants import create_tenant
from app.main import create_app
from db.engine import Database
from db.migrate import upgrade

POSTGRES_ADMIN_DSN = os.environ.get(
    "LEDGERQL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LEDGERQL_REQUIRE_POSTGRES") == "1"
REQUIRE_HLEDGER = os.environ.get("LEDGERQL_REQUIRE_HLEDGER") == "1"


def _asyncpg_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "ledgerql-test.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    yield url


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database named ``prefix_<random>``, dropped afterwards;
    skips (or fails, with LEDGERQL_REQUIRE_POSTGRES=1) where no PostgreSQL answers."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (LEDGERQL_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    url = _asyncpg_url(POSTGRES_ADMIN_DSN, name)
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database("ledgerql_test") as url:
        yield url


@pytest.fixture(scope="session")
def hledger() -> str:
    """The hledger executable, the reference for journal files (Debian's package).

    Skips where it is missing, except with LEDGERQL_REQUIRE_HLEDGER=1 (CI), where it fails.
    """
    path = shutil.which("hledger")
    if path is None:
        message = "hledger is not on PATH (apt-get install hledger)"
        if REQUIRE_HLEDGER:
            pytest.fail(message + " and LEDGERQL_REQUIRE_HLEDGER=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database, once per engine."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@dataclass
class TenantFixture:
    id: int
    slug: str
    key: str
    key_id: str


async def make_tenant(
    db: Database, currency: str = "USD", owner: str | None = None
) -> TenantFixture:
    """A new tenant with a unique slug: tests share a database and never see each other."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    tenant, issued = await create_tenant(
        db, slug=slug, name=f"Tenant {slug}", currency=currency, owner=owner
    )
    assert tenant.id is not None
    return TenantFixture(id=tenant.id, slug=slug, key=issued.key, key_id=issued.key_id)


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real ASGI app, sharing the test database."""
    app = create_app(db=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ledgerql.test") as http:
        yield http


class GraphQLClient:
    """Posts GraphQL documents to /graphql with one tenant's key."""

    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http = http
        self.key = key

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.key}"},
        )

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a successful operation; fails the test on top-level errors."""
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("errors") is None, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def gql(client: httpx.AsyncClient, tenant: TenantFixture) -> GraphQLClient:
    return GraphQLClient(client, tenant.key)
