"""Automatic Pismo ids: concurrent creates without an id all succeed, with distinct ids that
never take one a client chose."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command

from app.ledger import pismo
from app.ledger.tenants import create_tenant
from db.engine import Database
from db.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_ADMIN_DSN, GraphQLClient, _asyncpg_url
from tests.test_pismo_seeds import CREATE_ENTRY_TYPE, CREATE_EVENT_TYPE, CREATE_PROGRAM

CONCURRENT = 20
# (document, mutation field, payload field, extra input) per automatically numbered kind.
KINDS = {
    "entry type": (CREATE_ENTRY_TYPE, "createEntryType", "entryType", {"description": "Purchase"}),
    "event type": (CREATE_EVENT_TYPE, "createEventType", "eventType", {"description": "Auth"}),
    "program": (
        CREATE_PROGRAM,
        "createProgram",
        "program",
        {"name": "Card", "currency": "USD"},
    ),
}


async def _create(gql: GraphQLClient, kind: str, id: int | None = None) -> dict[str, Any]:
    document, field, _, input = KINDS[kind]
    payload: dict[str, Any] = (await gql(document, {"input": {**input, "id": id}}))[field]
    return payload


def _ids(payloads: list[dict[str, Any]], kind: str) -> list[int]:
    key = KINDS[kind][2]
    assert [p["errors"] for p in payloads] == [[]] * len(payloads), payloads
    return [int(p[key]["id"]) for p in payloads]


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_concurrent_creates_without_an_id_all_succeed(gql: GraphQLClient, kind: str) -> None:
    payloads = await asyncio.gather(*(_create(gql, kind) for _ in range(CONCURRENT)))

    assert sorted(_ids(payloads, kind)) == list(range(1, CONCURRENT + 1))


@pytest.mark.parametrize("kind", ["entry type", "program"])
async def test_explicit_and_automatic_ids_never_clash(gql: GraphQLClient, kind: str) -> None:
    # Explicit ids 100 apart: 20 automatic ones after any of them stay below the next.
    explicit = [100, 200, 300, 400, 500]
    payloads = await asyncio.gather(
        *(_create(gql, kind) for _ in range(CONCURRENT)),
        *(_create(gql, kind, id) for id in explicit),
    )

    ids = _ids(payloads, kind)
    assert ids[CONCURRENT:] == explicit
    assert len(set(ids)) == CONCURRENT + len(explicit)
    # The counter is past every id used: the next automatic one is the highest plus one.
    top = max(ids)
    assert _ids([await _create(gql, kind)], kind) == [top + 1]
    # A free explicit id below the counter still works; a taken one is a CONFLICT.
    assert 450 not in ids
    assert _ids([await _create(gql, kind, 450)], kind) == [450]
    taken = await _create(gql, kind, top + 1)
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("CONFLICT", "id")]
    assert _ids([await _create(gql, kind)], kind) == [top + 2]


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to head: the session's shared one must stay there."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'counters.db'}"
        upgrade(url)
        yield url
        return
    request.getfixturevalue("postgres_url")  # skips (or fails) where PostgreSQL is missing
    name = f"ledgerql_ids_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = _asyncpg_url(POSTGRES_ADMIN_DSN, name)
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_migration_starts_the_counters_from_existing_ids(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        tenant, _ = await create_tenant(db, slug="counters", name="Counters", currency="USD")
        assert tenant.id is not None
        await pismo.create_program(db, tenant.id, pismo.ProgramInput("Card", "USD", id=12))
        await pismo.create_entry_type(db, tenant.id, pismo.TypeInput("Purchase", id=2100))
        await pismo.create_entry_type(db, tenant.id, pismo.TypeInput("Refund", id=7))
    finally:
        await db.dispose()
    # Back to the schema without counters, then forward: the counters come from the rows.
    await asyncio.to_thread(command.downgrade, alembic_config(fresh_url), "0002")
    await asyncio.to_thread(upgrade, fresh_url)

    db = Database(fresh_url)
    try:
        program = await pismo.create_program(db, tenant.id, pismo.ProgramInput("Next", "USD"))
        entry_type = await pismo.create_entry_type(db, tenant.id, pismo.TypeInput("Next"))
        event_type = await pismo.create_event_type(db, tenant.id, pismo.TypeInput("First"))
    finally:
        await db.dispose()
    assert (program.program_id, entry_type.entry_type_id, event_type.event_type_id) == (
        13,
        2101,
        1,
    )
