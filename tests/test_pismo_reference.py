"""Pismo reference data in GraphQL: programs, entry and event types, accounting accounts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command

from db.engine import Database
from db.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_ADMIN_DSN, GraphQLClient, _asyncpg_url, make_tenant
from tests.test_pismo_seeds import (
    CREATE_ACCOUNTING_ACCOUNT,
    CREATE_ENTRY_TYPE,
    CREATE_EVENT_TYPE,
    CREATE_PROGRAM,
    ok,
    pismo_books,
)

REFERENCE = """
{
  programs { id name currency }
  entryTypes { id description }
  eventTypes { id description }
}"""
ACCOUNTS = """
query($program: ID, $first: Int!, $after: String) {
  accountingAccounts(programId: $program, first: $first, after: $after) {
    nodes { account programId ledgerAccount { balance { currency net } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
PROGRAM = "query($id: ID!) { program(id: $id) { id name currency } }"
BIG = 2**63 - 1


async def errors_of(
    gql: GraphQLClient, document: str, field: str, input: object
) -> list[tuple[str, str | None, str]]:
    payload = (await gql(document, {"input": input}))[field]
    return [(e["code"], e["field"], e["message"]) for e in payload["errors"]]


async def test_programs_and_types_with_chosen_or_next_ids(gql: GraphQLClient) -> None:
    await ok(gql, CREATE_PROGRAM, "createProgram", {"id": 12, "name": "Card", "currency": "BRL"})
    await ok(
        gql, CREATE_PROGRAM, "createProgram", {"id": str(BIG), "name": "Big", "currency": "USD"}
    )
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2100, "description": "Purchase"})
    next_type = await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"description": "Refund"})
    first_event = await ok(gql, CREATE_EVENT_TYPE, "createEventType", {"description": "Auth"})

    assert next_type["entryType"] == {"id": "2101", "description": "Refund"}
    assert first_event["eventType"] == {"id": "1", "description": "Auth"}
    assert await gql(REFERENCE) == {
        "programs": [
            {"id": "12", "name": "Card", "currency": "BRL"},
            {"id": str(BIG), "name": "Big", "currency": "USD"},
        ],
        "entryTypes": [
            {"id": "2100", "description": "Purchase"},
            {"id": "2101", "description": "Refund"},
        ],
        "eventTypes": [{"id": "1", "description": "Auth"}],
    }
    assert (await gql(PROGRAM, {"id": 12}))["program"]["name"] == "Card"
    assert (await gql(PROGRAM, {"id": "13"}))["program"] is None
    # The highest id is taken: no next one.
    assert await errors_of(
        gql, CREATE_PROGRAM, "createProgram", {"name": "X", "currency": "EUR"}
    ) == [("BAD_USER_INPUT", "id", "no program id is left: give one explicitly")]


@pytest.mark.parametrize(
    ("input", "error"),
    [
        (
            {"id": 12, "name": "Again", "currency": "BRL"},
            ("CONFLICT", "id", "program 12 already exists"),
        ),
        (
            {"id": 14, "name": " ", "currency": "BRL"},
            ("BAD_USER_INPUT", "name", "name must not be empty"),
        ),
        ({"id": 14, "name": "X", "currency": "XYZ"}, ("BAD_USER_INPUT", "currency", None)),
        ({"id": 14, "name": "X", "currency": "brl"}, ("BAD_USER_INPUT", "currency", None)),
        ({"id": "2x", "name": "X", "currency": "BRL"}, ("BAD_USER_INPUT", "id", None)),
        ({"id": 0, "name": "X", "currency": "BRL"}, ("BAD_USER_INPUT", "id", None)),
        ({"id": str(2**63), "name": "X", "currency": "BRL"}, ("BAD_USER_INPUT", "id", None)),
        ({"id": "9" * 400, "name": "X", "currency": "BRL"}, ("BAD_USER_INPUT", "id", None)),
    ],
)
async def test_bad_programs(
    gql: GraphQLClient, input: dict[str, object], error: tuple[str, str, str | None]
) -> None:
    await ok(gql, CREATE_PROGRAM, "createProgram", {"id": 12, "name": "Card", "currency": "BRL"})

    [(code, field, message)] = await errors_of(gql, CREATE_PROGRAM, "createProgram", input)

    assert (code, field) == error[:2]
    assert error[2] is None or message == error[2]
    assert len((await gql(REFERENCE))["programs"]) == 1


async def test_type_conflicts_and_bad_ids(gql: GraphQLClient) -> None:
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2100, "description": "Purchase"})
    await ok(
        gql,
        CREATE_EVENT_TYPE,
        "createEventType",
        {"id": 2100, "description": "Same id, other kind"},
    )

    assert await errors_of(
        gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2100, "description": "Again"}
    ) == [("CONFLICT", "id", "entry type 2100 already exists")]
    assert await errors_of(
        gql, CREATE_EVENT_TYPE, "createEventType", {"id": -1, "description": "Negative"}
    ) == [
        (
            "BAD_USER_INPUT",
            "id",
            "event type id -1 is out of range: ids are positive 64-bit integers (1 to 2^63-1)",
        )
    ]
    long = await errors_of(gql, CREATE_ENTRY_TYPE, "createEntryType", {"description": "d" * 201})
    assert long == [("BAD_USER_INPUT", "description", "description is longer than 200 characters")]
    float_id = await gql.raw(CREATE_ENTRY_TYPE, {"input": {"id": 1.5, "description": "x"}})
    assert float_id.json()["errors"]


async def test_accounting_accounts_are_ledger_accounts_of_the_program(gql: GraphQLClient) -> None:
    books = await pismo_books(gql)
    payload = await ok(
        gql,
        CREATE_ACCOUNTING_ACCOUNT,
        "createAccountingAccount",
        {
            "programId": "12",
            "account": "123123132-x",
            "description": "SAMPLE ACCOUNT",
            "type": "ASSET",
        },
    )

    account = payload["accountingAccount"]
    assert account["account"] == "123123132-x" and account["description"] == "SAMPLE ACCOUNT"
    assert account["programId"] == "12" and account["deactivatedAt"] is None
    assert account["ledgerAccount"] == {
        "code": "123123132-x",
        "name": "SAMPLE ACCOUNT",
        "type": "ASSET",
        "currency": "BRL",
    }
    listed = (await gql(ACCOUNTS, {"program": 12, "first": 3}))["accountingAccounts"]
    assert [node["account"] for node in listed["nodes"]] == ["1.1.01", "1.1.02", "2.1.01"]
    rest_page = await gql(
        ACCOUNTS, {"program": 12, "first": 3, "after": listed["pageInfo"]["endCursor"]}
    )
    assert [n["account"] for n in rest_page["accountingAccounts"]["nodes"]] == [
        "4.1.01",
        "123123132-x",
    ]
    assert (await gql(ACCOUNTS, {"program": 13, "first": 3}))["accountingAccounts"]["nodes"] == []
    assert books.cash < books.revenue


@pytest.mark.parametrize(
    ("input", "error"),
    [
        ({"programId": 13}, ("BAD_USER_INPUT", "programId", "program 13 does not exist")),
        ({"account": "1.1.01"}, ("CONFLICT", "account", "account 1.1.01 already exists")),
        ({"account": "0"}, ("BAD_USER_INPUT", "account", None)),
        ({"account": "a" * 51}, ("BAD_USER_INPUT", "account", None)),
        ({"description": "d" * 101}, ("BAD_USER_INPUT", "description", None)),
        ({"description": ""}, ("BAD_USER_INPUT", "description", None)),
        ({"programId": "twelve"}, ("BAD_USER_INPUT", "programId", None)),
    ],
)
async def test_bad_accounting_accounts(
    gql: GraphQLClient, input: dict[str, object], error: tuple[str, str, str | None]
) -> None:
    await pismo_books(gql)
    valid = {"programId": 12, "account": "5.5.55", "description": "New", "type": "EXPENSE"}

    [(code, field, message)] = await errors_of(
        gql, CREATE_ACCOUNTING_ACCOUNT, "createAccountingAccount", valid | input
    )

    assert (code, field) == error[:2]
    assert error[2] is None or message == error[2]


async def test_reference_data_is_per_tenant(
    client: httpx.AsyncClient, gql: GraphQLClient, db: Database
) -> None:
    await pismo_books(gql)
    other = GraphQLClient(client, (await make_tenant(db)).key)

    assert await other(REFERENCE) == {"programs": [], "entryTypes": [], "eventTypes": []}
    await pismo_books(other)  # the same Pismo ids and account numbers, no conflict
    assert len((await other(REFERENCE))["programs"]) == 1


def _roundtrip(url: str) -> None:
    upgrade(url)
    command.downgrade(alembic_config(url), "0001")
    upgrade(url)


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def test_migration_0002_downgrades_and_upgrades_on_sqlite(tmp_path: Path) -> None:
    _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}")


def test_migration_0002_downgrades_and_upgrades_on_postgres(postgres_url: str) -> None:
    # A database of its own: the session's shared one must stay at head.
    name = f"ledgerql_pismo_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        _roundtrip(_asyncpg_url(POSTGRES_ADMIN_DSN, name))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
