"""The in-process cache of verified API keys: hits cost no query, revocations are honoured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.ledger.errors import BadInput, Forbidden, Unauthenticated
from app.ledger.keycache import KeyCache
from app.ledger.tenants import Principal, auth_cache, authenticate, create_key, revoke_key
from app.main import create_app
from app.runtime.settings import Settings
from db.engine import Database
from tests.conftest import TenantFixture, make_tenant

QUERY = {"query": "{ accounts { nodes { code } } }"}
LONG = 600.0  # seconds: an entry cannot expire during a test, however slow the machine
DEADLINE = 15.0  # seconds: how long a poll may wait before the test fails

OpenDatabase = Callable[[float], Database]


@contextmanager
def key_lookups(db: Database) -> Iterator[list[str]]:
    """The SQL statements reading ``api_keys`` sent to ``db`` while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_keys" in statement:
            seen.append(statement)

    engines = {id(e): e for e in (db.read_engine.sync_engine, db.write_engine.sync_engine)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
async def open_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OpenDatabase]:
    """Opens another Database on the same URL (another process's view) with its own cache."""
    opened: list[Database] = []

    def open_(cache_seconds: float) -> Database:
        monkeypatch.setenv("LEDGERQL_AUTH_CACHE_SECONDS", str(cache_seconds))
        database = Database(db.url)
        opened.append(database)
        assert auth_cache(database).ttl == cache_seconds  # made now, from the setting
        return database

    yield open_
    for database in opened:
        await database.dispose()


async def until_unauthenticated(db: Database, key: str) -> None:
    """Polls ``authenticate`` until it refuses ``key``; fails after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            await authenticate(db, key, None)
        except Unauthenticated:
            return
        assert time.monotonic() < deadline, "the revocation was never seen"
        await asyncio.sleep(0.02)


async def test_a_cache_hit_costs_no_query(open_db: OpenDatabase, tenant: TenantFixture) -> None:
    db = open_db(LONG)
    with key_lookups(db) as first:
        principal = await authenticate(db, tenant.key, None)
    assert len(first) == 1
    with key_lookups(db) as again:
        for _ in range(5):
            assert await authenticate(db, tenant.key, None) == principal
    assert again == []
    assert principal.tenant_id == tenant.id and principal.key_id == tenant.key_id


async def test_a_hit_answers_after_a_revocation_elsewhere_until_the_bound(
    open_db: OpenDatabase, tenant: TenantFixture
) -> None:
    """Proof the hit never asks the database: the key is revoked behind the cache's back."""
    here, elsewhere = open_db(LONG), open_db(LONG)
    principal = await authenticate(here, tenant.key, None)
    await revoke_key(elsewhere, tenant.key_id)
    assert await authenticate(here, tenant.key, None) == principal
    with pytest.raises(Unauthenticated):
        await authenticate(elsewhere, tenant.key, None)


async def test_a_revocation_elsewhere_is_seen_within_the_bound(
    open_db: OpenDatabase, tenant: TenantFixture
) -> None:
    here, elsewhere = open_db(0.2), open_db(LONG)
    await authenticate(here, tenant.key, None)
    await revoke_key(elsewhere, tenant.key_id)
    await until_unauthenticated(here, tenant.key)
    with pytest.raises(Unauthenticated):  # and it stays refused
        await authenticate(here, tenant.key, None)


async def test_revoking_in_this_process_is_immediate(
    open_db: OpenDatabase, tenant: TenantFixture
) -> None:
    db = open_db(LONG)
    headers = {"X-API-Key": tenant.key}
    transport = httpx.ASGITransport(app=create_app(db=db))
    async with httpx.AsyncClient(transport=transport, base_url="http://ledgerql.test") as http:
        for _ in range(2):
            assert (await http.post("/graphql", json=QUERY, headers=headers)).status_code == 200
        assert len(auth_cache(db)) == 1
        await revoke_key(db, tenant.key_id)
        response = await http.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_and_wrong_keys_stay_401_and_are_not_cached(
    open_db: OpenDatabase, tenant: TenantFixture
) -> None:
    db = open_db(LONG)
    await authenticate(db, tenant.key, None)  # the right key is cached
    wrong_secret = tenant.key[:-4] + ("aaaa" if not tenant.key.endswith("aaaa") else "bbbb")
    for key in (wrong_secret, "lq_000000000000_nope", "garbage", tenant.key + "x"):
        for _ in range(2):
            with key_lookups(db) as lookups, pytest.raises(Unauthenticated):
                await authenticate(db, key, None)
            if key != "garbage":  # a malformed key is refused before any query
                assert len(lookups) == 1, key  # a failure is verified again every time
    assert len(auth_cache(db)) == 1


async def test_x_tenant_selection_and_refusals_with_the_cache(
    db: Database, open_db: OpenDatabase
) -> None:
    cached = open_db(LONG)
    owner = f"cache-owner-{time.monotonic_ns()}-{db.dialect}"
    first = await make_tenant(db, owner=owner)
    second = await make_tenant(db, owner=owner, currency="EUR")
    stranger = await make_tenant(db)
    restricted = await create_key(db, slug=first.slug, restrict=True)
    for round_ in range(2):  # the second round answers the successes from the cache
        with key_lookups(cached) as lookups:
            one = await authenticate(cached, first.key, first.slug)
            two = await authenticate(cached, first.key, second.slug)
            only = await authenticate(cached, restricted.key, first.slug)
        assert (one.tenant_id, one.base_currency) == (first.id, "USD")
        assert (two.tenant_id, two.base_currency) == (second.id, "EUR")
        assert only.tenant_id == first.id
        assert len(lookups) == (3 if round_ == 0 else 0)
        with pytest.raises(BadInput, match="X-Tenant"):
            await authenticate(cached, first.key, None)
        with pytest.raises(Forbidden):
            await authenticate(cached, first.key, stranger.slug)
        with pytest.raises(Forbidden):
            await authenticate(cached, restricted.key, second.slug)


async def test_a_new_tenant_of_the_owner_is_seen_at_once(db: Database) -> None:
    """A key that reached one tenant without X-Tenant must ask for one when there are two."""
    owner = f"cache-grow-{time.monotonic_ns()}-{db.dialect}"
    first = await make_tenant(db, owner=owner)
    assert (await authenticate(db, first.key, None)).tenant_id == first.id
    await make_tenant(db, owner=owner)
    with pytest.raises(BadInput, match="X-Tenant"):
        await authenticate(db, first.key, None)


async def test_each_database_has_its_own_cache(db: Database, open_db: OpenDatabase) -> None:
    other = open_db(LONG)
    assert auth_cache(other) is not auth_cache(db)
    assert auth_cache(other) is auth_cache(other)


# The cache itself, on a fake clock: exact bounds without timing anything.


def principal(key_id: str, user_id: int = 1) -> Principal:
    return Principal(
        user_id=user_id,
        key_id=key_id,
        tenant_id=1,
        tenant_slug="t",
        base_currency="USD",
        read_only=False,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_ttl_seconds_from_the_start_of_its_verification() -> None:
    clock = FakeClock()
    cache: KeyCache[Principal] = KeyCache(2.0, clock=clock)
    ticket = cache.ticket()
    clock.now += 0.5  # the verification query took 0.5 s
    cache.put("k", principal("a"), ticket)
    clock.now += 1.49
    assert cache.get("k") == principal("a")
    clock.now += 0.01  # 2 s after the query started
    assert cache.get("k") is None
    assert len(cache) == 0


def test_the_cache_is_a_bounded_lru() -> None:
    cache: KeyCache[Principal] = KeyCache(60.0, max_entries=3)
    for name in "abc":
        cache.put(name, principal(name), cache.ticket())
    assert cache.get("a") is not None  # now the most recently used
    for name in "de":
        cache.put(name, principal(name), cache.ticket())
    assert len(cache) == 3
    assert [cache.get(name) is not None for name in "abcde"] == [True, False, False, True, True]


def test_a_verification_started_before_an_invalidation_is_not_stored() -> None:
    cache: KeyCache[Principal] = KeyCache(60.0)
    ticket = cache.ticket()  # the query reads the key, then the key is revoked
    assert cache.drop(lambda p: p.key_id == "a") == 0
    cache.put("k", principal("a"), ticket)
    assert cache.get("k") is None
    cache.put("k", principal("a"), cache.ticket())
    assert cache.get("k") is not None


def test_drop_removes_only_the_matching_entries() -> None:
    cache: KeyCache[Principal] = KeyCache(60.0)
    cache.put(("x", None), principal("a"), cache.ticket())
    cache.put(("x", "t"), principal("a"), cache.ticket())
    cache.put(("y", None), principal("b"), cache.ticket())
    assert cache.drop(lambda p: p.key_id == "a") == 2
    assert cache.get(("y", None)) == principal("b")


def test_zero_seconds_turns_the_cache_off() -> None:
    cache: KeyCache[Principal] = KeyCache(0.0)
    cache.put("k", principal("a"), cache.ticket())
    assert cache.get("k") is None


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGERQL_AUTH_CACHE_SECONDS", raising=False)
    assert Settings.from_env().auth_cache_seconds == 2.0
    monkeypatch.setenv("LEDGERQL_AUTH_CACHE_SECONDS", "0.5")
    assert Settings.from_env().auth_cache_seconds == 0.5
    for bad in ("-1", "nan", "inf"):
        monkeypatch.setenv("LEDGERQL_AUTH_CACHE_SECONDS", bad)
        with pytest.raises(ValueError, match="LEDGERQL_AUTH_CACHE_SECONDS"):
            Settings.from_env()
