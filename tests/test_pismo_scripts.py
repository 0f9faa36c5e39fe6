"""Accounting scripts: POST /accounting/v1/accounting-scripts and the GraphQL mutation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.ledger.tenants import create_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.test_pismo_seeds import (
    COMPONENTS,
    CREATE_EVENT_TYPE,
    CREATE_PROGRAM,
    CREATE_SCRIPT,
    DEACTIVATE,
    SCRIPT_SEED,
    SCRIPTS,
    SEED_COST_CENTER,
    SEEDS,
    Books,
    accounting_account,
    assert_error,
    assert_valid,
    ok,
    pismo_books,
    rest,
    script_body,
    seed_components,
)

LIST_SCRIPTS = """
query($program: ID, $eventType: ID, $entryType: ID, $first: Int!, $after: String) {
  accountingScripts(programId: $program, eventTypeId: $eventType, entryTypeId: $entryType,
                    first: $first, after: $after) {
    nodes { id entryName processingCode debitAccounting { account } creditAccounting { account } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def books(gql: GraphQLClient) -> Books:
    return await pismo_books(gql)


async def script_ids(gql: GraphQLClient) -> list[str]:
    data = await gql(LIST_SCRIPTS, {"first": 500})
    return [node["id"] for node in data["accountingScripts"]["nodes"]]


# The documented entry names, from seed 001 (AccountingScriptPost.entry_name.enum).
ENTRY_NAMES = [
    "amount",
    "amount-advancement",
    "amount-advancement-dueDate",
    "amount-advancement-shift",
    "amount-advancement-shift-dueDate",
    "amount-anticipation",
    "amount-cancelment-anticipation",
    "amount-clearing",
    "amount-contract",
    "amount-dueDate",
    "amount-dueDate-cancelment",
    "amount-reversal",
    "contractAmount",
    "daily-interest",
    "fine",
    "interest",
    "interest-advancement",
    "interest-advancement-dueDate",
    "interest-anticipation",
    "interest-dueDate",
    "interest-not-appropriated",
    "interest-partial",
    "iof",
    "iof-dueDate",
    "overdue",
]


@pytest.mark.skipif(not SEEDS.exists(), reason=f"the seeds are not checked out at {SEEDS}")
def test_entry_names_are_the_seeds() -> None:
    post = seed_components(SCRIPT_SEED)["AccountingScriptPost"]
    assert post["properties"]["entry_name"]["enum"] == ENTRY_NAMES
    assert post["properties"]["entry_name"]["default"] == "amount"


async def test_every_documented_entry_name_is_accepted(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    for name in ENTRY_NAMES:
        response = await rest(client, tenant, SCRIPTS, script_body(books, entry_name=name))
        assert response.status_code == 201, (name, response.text)
        assert assert_valid(response, COMPONENTS["AccountingScript"])["entry_name"] == name


async def test_the_key_includes_entry_name_and_processing_code(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    variants = [
        script_body(books),
        script_body(books, entry_name="interest"),
        script_body(books, processing_code="003000"),
        script_body(books, processing_code="003001"),
        script_body(books, event_type_id=2),
    ]
    await ok(gql, CREATE_EVENT_TYPE, "createEventType", {"id": 2, "description": "Settlement"})
    for body in variants:
        assert (await rest(client, tenant, SCRIPTS, body)).status_code == 201, body
    # The same key again, even with other accounts or a cost center: 409, nothing written.
    for body in variants:
        duplicate = body | {
            "debit_accounting_account_id": books.cash,
            "cost_center": SEED_COST_CENTER,
        }
        assert_error(await rest(client, tenant, SCRIPTS, duplicate), 409, "already exists")
    # An explicit "amount" is the default one.
    explicit = script_body(books, entry_name="amount")
    assert_error(await rest(client, tenant, SCRIPTS, explicit), 409, "already exists")
    assert len(await script_ids(gql)) == len(variants)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"program_id": 13}, ["program_id", "program 13 does not exist"]),
        ({"event_type_id": 77}, ["event_type_id", "event type 77 does not exist"]),
        ({"entry_type_id": 2101}, ["entry_type_id", "entry type 2101 does not exist"]),
        (
            {"debit_accounting_account_id": 987654},
            ["debit_accounting_account_id", "accounting account 987654 does not exist"],
        ),
        (
            {"credit_accounting_account_id": 987654},
            ["credit_accounting_account_id", "accounting account 987654 does not exist"],
        ),
        ({"entry_name": "principal"}, ["entry_name", "'principal' is not one of"]),
        ({"entry_name": "Amount"}, ["entry_name", "is not one of"]),
        ({"processing_code": "1234567"}, ["processing_code", "longer than 6"]),
        ({"program_id": 0}, ["program_id", "out of range"]),
        ({"entry_type_id": -5}, ["entry_type_id", "out of range"]),
        ({"program_id": 2**63}, ["program_id", "out of range"]),
        ({"event_type_id": 2**64 + 1}, ["event_type_id", "out of range"]),
        ({"program_id": "12"}, ["program_id must be an integer", "string"]),
        ({"program_id": 12.5}, ["program_id must be an integer", "number"]),
        ({"program_id": 12.0}, ["program_id must be an integer"]),
        ({"event_type_id": True}, ["event_type_id must be an integer", "boolean"]),
        ({"entry_type_id": [2100]}, ["entry_type_id must be an integer", "array"]),
        ({"debit_accounting_account_id": {"id": 1}}, ["must be an integer", "object"]),
        ({"program_id": None}, ["program_id is required"]),
        ({"program_id": ...}, ["program_id is required"]),
        ({"event_type_id": ...}, ["event_type_id is required"]),
        ({"entry_type_id": ...}, ["entry_type_id is required"]),
        ({"debit_accounting_account_id": ...}, ["debit_accounting_account_id is required"]),
        ({"credit_accounting_account_id": ...}, ["credit_accounting_account_id is required"]),
        ({"entry_name": 1}, ["entry_name must be a string"]),
        ({"processing_code": 3000}, ["processing_code must be a string"]),
        ({"cost_center": "999999"}, ["cost_center must be an object"]),
        ({"cost_center": {"debit_org": "1"}}, ["cost_center.credit_org is required"]),
        (
            {"cost_center": SEED_COST_CENTER | {"debit_cost": 999999}},
            ["cost_center.debit_cost must be a string"],
        ),
        (
            {"cost_center": SEED_COST_CENTER | {"credit_org": "9" * 51}},
            ["cost_center.credit_org", "longer than 50"],
        ),
        (
            {"cost_center": SEED_COST_CENTER | {"deactivated_at": "yesterday"}},
            ["cost_center.deactivated_at is not an ISO 8601 date-time"],
        ),
    ],
)
async def test_bad_scripts_are_400_naming_the_field(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    books: Books,
    gql: GraphQLClient,
    change: dict[str, Any],
    words: list[str],
) -> None:
    response = await rest(client, tenant, SCRIPTS, script_body(books, **change))

    assert_error(response, 400, "Validation error", *words)
    assert await script_ids(gql) == []


async def test_same_debit_and_credit_account_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    body = script_body(books, credit_accounting_account_id=books.receivable)

    assert_error(
        await rest(client, tenant, SCRIPTS, body), 400, "credit_accounting_account_id", "differ"
    )


async def test_accounts_must_be_active_usable_and_of_the_tenant(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient, db: Database
) -> None:
    await gql(DEACTIVATE, {"code": "1.1.02"})
    response = await rest(client, tenant, SCRIPTS, script_body(books))
    assert_error(response, 400, "debit_accounting_account_id", "1.1.02", "deactivated")

    # An account of another program.
    await ok(gql, CREATE_PROGRAM, "createProgram", {"id": 13, "name": "Debit", "currency": "BRL"})
    other = await accounting_account(gql, "9.9.13", "ASSET", program_id=13)
    response = await rest(
        client, tenant, SCRIPTS, script_body(books, debit_accounting_account_id=other)
    )
    assert_error(response, 400, "debit_accounting_account_id", "belongs to program 13")

    # An account of another tenant is not found, whatever its id.
    stranger = await make_tenant(db)
    stranger_gql = GraphQLClient(client, stranger.key)
    foreign = (await pismo_books(stranger_gql)).cash
    response = await rest(
        client,
        tenant,
        SCRIPTS,
        script_body(
            books, debit_accounting_account_id=books.cash, credit_accounting_account_id=foreign
        ),
    )
    assert_error(response, 400, f"accounting account {foreign} does not exist")
    assert await script_ids(gql) == []


async def test_body_that_is_not_a_json_object(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    for content, words in (
        (b"", ["not valid JSON"]),
        (b"{", ["not valid JSON"]),
        (b"[1, 2]", ["must be a JSON object"]),
        (b'"script"', ["must be a JSON object"]),
        (b"null", ["must be a JSON object"]),
        (b'{"program_id": NaN}', ["not valid JSON"]),
        (b'{"program_id": Infinity}', ["not valid JSON"]),
        (b"\xff\xfe{", ["not"]),
        (b"[" * 50_000, ["nested too deeply"]),
        (b'{"program_id": 1' + b"0" * 5000 + b"}", ["not valid JSON"]),
    ):
        response = await rest(client, tenant, SCRIPTS, content=content)
        assert_error(response, 400, *words)


async def test_a_body_over_one_mebibyte_is_413(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, gql: GraphQLClient
) -> None:
    body = json.dumps(script_body(books, padding="x" * (1 << 20))).encode()

    assert_error(await rest(client, tenant, SCRIPTS, content=body), 413, "larger than")
    assert await script_ids(gql) == []


async def test_unknown_fields_are_ignored(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    body = script_body(books, description="not in the schema", id=999, org_id="abc")

    response = await rest(client, tenant, SCRIPTS, body)

    assert response.status_code == 201, response.text
    assert assert_valid(response, COMPONENTS["AccountingScript"])["id"] != 999


async def test_cost_center_without_deactivation_and_null_optionals(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books
) -> None:
    cost_center = {k: v for k, v in SEED_COST_CENTER.items() if k != "deactivated_at"}
    body = script_body(books, cost_center=cost_center, entry_name=None, processing_code=None)

    response = await rest(client, tenant, SCRIPTS, body)

    assert response.status_code == 201, response.text
    script = assert_valid(response, COMPONENTS["AccountingScript"])
    assert script["cost_center"] == cost_center
    assert script["entry_name"] == "amount"
    assert "processing_code" not in script


async def test_read_only_key_is_forbidden(
    client: httpx.AsyncClient, tenant: TenantFixture, books: Books, db: Database, gql: GraphQLClient
) -> None:
    issued = await create_key(db, slug=tenant.slug, read_only=True)
    response = await client.post(
        SCRIPTS,
        content=json.dumps(script_body(books)),
        headers={"Authorization": f"Bearer {issued.key}"},
    )
    assert_error(response, 403, "read-only")
    assert await script_ids(gql) == []


async def test_graphql_create_and_list_scripts(gql: GraphQLClient, books: Books) -> None:
    payload = await ok(
        gql,
        CREATE_SCRIPT,
        "createAccountingScript",
        {
            "programId": "12",
            "eventTypeId": "1",
            "entryTypeId": "2100",
            "debitAccountingAccountId": str(books.receivable),
            "creditAccountingAccountId": str(books.payable),
            "costCenter": {"debitOrg": "1", "creditOrg": "2", "debitCost": "3", "creditCost": "4"},
        },
    )
    script = payload["script"]
    assert script["entryName"] == "amount" and script["processingCode"] is None
    assert script["debitAccounting"]["account"] == "1.1.02"
    assert script["costCenter"] == {
        "debitOrg": "1",
        "creditOrg": "2",
        "debitCost": "3",
        "creditCost": "4",
        "deactivatedAt": None,
    }
    duplicate = (
        await gql(
            CREATE_SCRIPT,
            {
                "input": {
                    "programId": 12,
                    "eventTypeId": 1,
                    "entryTypeId": 2100,
                    "debitAccountingAccountId": books.cash,
                    "creditAccountingAccountId": books.payable,
                }
            },
        )
    )["createAccountingScript"]
    assert duplicate["script"] is None
    assert duplicate["errors"][0]["code"] == "CONFLICT"
    missing = (
        await gql(
            CREATE_SCRIPT,
            {
                "input": {
                    "programId": 12,
                    "eventTypeId": 1,
                    "entryTypeId": 4242,
                    "debitAccountingAccountId": books.cash,
                    "creditAccountingAccountId": books.payable,
                }
            },
        )
    )["createAccountingScript"]
    assert missing["errors"] == [
        {
            "code": "BAD_USER_INPUT",
            "field": "entryTypeId",
            "message": "entry type 4242 does not exist",
        }
    ]
    for name in ("interest", "fine", "iof"):
        await ok(
            gql,
            CREATE_SCRIPT,
            "createAccountingScript",
            {
                "programId": 12,
                "eventTypeId": 1,
                "entryTypeId": 2100,
                "entryName": name,
                "debitAccountingAccountId": books.cash,
                "creditAccountingAccountId": books.revenue,
            },
        )

    first = (await gql(LIST_SCRIPTS, {"first": 3}))["accountingScripts"]
    assert [n["entryName"] for n in first["nodes"]] == ["amount", "interest", "fine"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest_page = await gql(LIST_SCRIPTS, {"first": 3, "after": first["pageInfo"]["endCursor"]})
    assert [n["entryName"] for n in rest_page["accountingScripts"]["nodes"]] == ["iof"]
    filtered = await gql(LIST_SCRIPTS, {"first": 10, "entryType": "2101", "program": "12"})
    assert filtered["accountingScripts"]["nodes"] == []
    bad = await gql.raw(LIST_SCRIPTS, {"first": 10, "program": "9223372036854775808"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
