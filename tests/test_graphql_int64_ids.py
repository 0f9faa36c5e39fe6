"""64-bit ids in GraphQL: Pismo objects at 2^63-1, written through REST, read back through
GraphQL (issue 17). GraphQL's Int is 32 bits, so every id travels as an ID (a string)."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from graphql_schema.schema import build_schema
from tests.conftest import GraphQLClient, TenantFixture
from tests.test_pismo_seeds import (
    CREATE_ENTRY_TYPE,
    CREATE_EVENT_TYPE,
    CREATE_PROGRAM,
    ENTRIES,
    SCRIPTS,
    accounting_account,
    ok,
    rest,
)

MAX = 2**63 - 1
READ_BACK = """
query($program: ID!) {
  accounts(first: 10) { nodes { code programId } }
  program(id: $program) { id }
  entryTypes { id }
  eventTypes { id }
  accountingAccounts(programId: $program) { nodes { id programId } }
  accountingScripts(programId: $program, eventTypeId: $program, entryTypeId: $program) {
    nodes { id programId eventTypeId entryTypeId }
  }
  events(first: 10) {
    nodes { type pismo { programId entryTypeId accountId transactionId } }
  }
}"""


async def test_ids_at_two_to_the_63_minus_one_round_trip(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    big = str(MAX)
    program = {"id": MAX, "name": "Big", "currency": "USD"}
    await ok(gql, CREATE_PROGRAM, "createProgram", program)
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": MAX, "description": "Purchase"})
    await ok(gql, CREATE_EVENT_TYPE, "createEventType", {"id": MAX, "description": "Auth"})
    debit = await accounting_account(gql, "1.1.02", "ASSET", MAX)
    credit = await accounting_account(gql, "2.1.01", "LIABILITY", MAX)
    script: dict[str, Any] = {
        "program_id": MAX,
        "event_type_id": MAX,
        "entry_type_id": MAX,
        "debit_accounting_account_id": debit,
        "credit_accounting_account_id": credit,
    }
    created = await rest(client, tenant, SCRIPTS, script)
    assert created.status_code == 201, created.text
    assert created.json()["program_id"] == MAX
    entry = {
        "amount": 10,
        "entry_type_id": MAX,
        "event_date": "2021-02-01",
        "program_id": MAX,
        "account_id": MAX,
        "transaction_id": MAX,
    }
    posted = await rest(client, tenant, ENTRIES, entry)
    assert posted.status_code == 202, posted.text

    data = await gql(READ_BACK, {"program": big})

    assert {n["code"]: n["programId"] for n in data["accounts"]["nodes"]} == {
        "1.1.02": big,
        "2.1.01": big,
    }
    assert data["program"] == {"id": big}
    assert data["entryTypes"] == [{"id": big}]
    assert data["eventTypes"] == [{"id": big}]
    assert [n["programId"] for n in data["accountingAccounts"]["nodes"]] == [big, big]
    [node] = data["accountingScripts"]["nodes"]
    assert (node["programId"], node["eventTypeId"], node["entryTypeId"]) == (big, big, big)
    pismo = [n["pismo"] for n in data["events"]["nodes"] if n["pismo"] is not None]
    assert pismo == [{"programId": big, "entryTypeId": big, "accountId": big, "transactionId": big}]


async def test_a_program_id_past_32_bits_is_read_by_every_account_query(
    gql: GraphQLClient,
) -> None:
    # The finding as filed: accounts/account failed once one account had program 5000000000.
    await ok(
        gql, CREATE_PROGRAM, "createProgram", {"id": 5_000_000_000, "name": "P", "currency": "USD"}
    )
    await accounting_account(gql, "1.1.09", "ASSET", 5_000_000_000)

    data = await gql('{ accounts { nodes { programId } } account(code: "1.1.09") { programId } }')

    assert data == {
        "accounts": {"nodes": [{"programId": "5000000000"}]},
        "account": {"programId": "5000000000"},
    }


def _named(kind: Any) -> Any:
    while hasattr(kind, "of_type"):
        kind = kind.of_type
    return kind


def test_every_id_in_the_schema_is_an_id() -> None:
    """No field or argument named id/...Id/...Ids is an Int: each is an ID, or a String
    where the vendor's ids are text (Bookeeping's 24-hex ids, tracking and external ids)."""
    schema = build_schema()._schema
    wrong: list[str] = []

    def check(where: str, name: str, kind: Any) -> None:
        if (name == "id" or name.endswith(("Id", "Ids"))) and _named(kind).name not in (
            "ID",
            "String",
        ):
            wrong.append(f"{where}.{name}: {kind}")

    for type_name, named in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                check(type_name, field_name, field.type)
                for arg_name, arg in getattr(field, "args", {}).items():
                    check(f"{type_name}.{field_name}", arg_name, arg.type)

    assert wrong == [], "\n".join(wrong)
