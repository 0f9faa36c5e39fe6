"""Pismo seeds 000 and 001: the documented examples, statuses and response schemas.

Also the shared pieces of the Pismo tests: the seeds' schemas, a validator for the
part of OpenAPI 3.1 they use, and the reference data a Pismo client starts from.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import TRIAL_BALANCE

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
ENTRY_SEED = SEEDS / "000_d5968204d498b8cf.txt"
SCRIPT_SEED = SEEDS / "001_861971c0d95e9038.txt"
ENTRIES = "/accounting/v1/accounting-entries"
SCRIPTS = "/accounting/v1/accounting-scripts"

# The seeds' component schemas, without their descriptions (kept here so the tests run
# where the seeds are not checked out; test_embedded_schemas_are_the_seeds' compares).
COMPONENTS: dict[str, dict[str, Any]] = {
    "AccountingEntryPost": {
        "required": ["event_date", "program_id", "entry_type_id", "amount"],
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "entry_type_id": {"type": "integer", "format": "int64"},
            "event_date": {"type": "string", "format": "date"},
            "program_id": {"type": "integer", "format": "int64"},
            "account_id": {"type": "integer", "format": "int64"},
            "credit_accounting_account": {"type": "string"},
            "debit_accounting_account": {"type": "string"},
            "tracking_id": {"type": "string", "maximum": 50},
            "transaction_id": {"type": "integer", "format": "int64"},
        },
    },
    "AccountingAccount": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "description": {"type": "string", "maximum": 100},
            "account": {"type": "string", "maximum": 50},
            "program_id": {"type": "integer", "format": "int64"},
            "created_at": {"type": "string", "format": "date-time"},
            "deactivated_at": {"type": "string", "format": "date-time"},
        },
    },
    "AccountingScript": {
        "type": "object",
        "properties": {
            "credit_accounting": {"$ref": "#/components/schemas/AccountingAccount"},
            "cost_center": {"$ref": "#/components/schemas/CostCenter"},
            "debit_accounting": {"$ref": "#/components/schemas/AccountingAccount"},
            "entry_name": {"type": "string"},
            "entry_type_id": {"type": "integer", "format": "int64"},
            "event_type_id": {"type": "integer", "format": "int64"},
            "id": {"type": "integer", "format": "int64"},
            "processing_code": {"type": "string"},
            "program_id": {"type": "integer", "format": "int64"},
        },
    },
    "CostCenter": {
        "required": ["debit_org", "credit_org", "debit_cost", "credit_cost"],
        "type": "object",
        "properties": {
            "debit_org": {"type": "string", "maximum": 50},
            "credit_org": {"type": "string", "maximum": 50},
            "debit_cost": {"type": "string", "maximum": 50},
            "credit_cost": {"type": "string", "maximum": 50},
            "deactivated_at": {"type": "string", "format": "date-time"},
        },
    },
}
# The 400 body of seed 001 (inline in its responses).
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
# AccountingEntryPost.example from seed 000, verbatim.
SEED_ENTRY_EXAMPLE: dict[str, Any] = {
    "amount": 10,
    "entry_type_id": 2100,
    "event_date": "2021-02-01T00:00:00.000Z",
    "program_id": 12,
    "account_id": 21,
    "credit_accounting_account": "0",
    "debit_accounting_account": "0",
    "tracking_id": "c5f2f677-d9aa-4285-8a08-d297a72d8949",
    "transaction_id": 12342,
}
SEED_COST_CENTER: dict[str, Any] = {
    "debit_org": "999999",
    "credit_org": "999999",
    "debit_cost": "999999",
    "credit_cost": "999999",
    "deactivated_at": "2021-10-10T10:10:00.000Z",
}

# ---------------------------------------------------------------- schema validation

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def _format_ok(value: Any, fmt: str) -> bool:
    try:
        if fmt == "int64":
            return bool(-(2**63) <= value < 2**63)
        if fmt == "date":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(
                dt.date.fromisoformat(value)
            )
        if fmt == "date-time":
            return bool(_DATE_TIME.match(value)) and bool(
                dt.datetime.fromisoformat(value.replace("z", "Z"))
            )
    except ValueError:
        return False
    return True


def schema_errors(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What makes ``instance`` invalid against ``schema`` (types, formats, required)."""
    if "$ref" in schema:
        return schema_errors(instance, COMPONENTS[schema["$ref"].rsplit("/", 1)[1]], path)
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float | Decimal) and not isinstance(v, bool),
    }
    if kind is not None and not checks[kind](instance):
        return [f"{path}: {instance!r} is not of type {kind}"]
    errors: list[str] = []
    if "format" in schema and not _format_ok(instance, schema["format"]):
        errors.append(f"{path}: {instance!r} is not a valid {schema['format']}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of the enum")
    if kind == "object":
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{path}: {name} is required")
        for name, value in instance.items():
            if name in schema.get("properties", {}):
                errors += schema_errors(value, schema["properties"][name], f"{path}.{name}")
    return errors


def body_of(response: httpx.Response) -> Any:
    """The JSON body, numbers kept exact; the content type must say JSON."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return json.loads(response.content, parse_float=Decimal)


def assert_valid(response: httpx.Response, schema: dict[str, Any]) -> Any:
    body = body_of(response)
    assert schema_errors(body, schema) == [], body
    return body


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    """A Pismo error response: ``status``, ``{"error": message}`` naming ``words``."""
    assert response.status_code == status, response.text
    message: str = assert_valid(response, ERROR_BODY)["error"]
    for word in words:
        assert word in message, (word, message)
    return message


# ---------------------------------------------------------------- reference data

CREATE_PROGRAM = """
mutation($input: CreateProgramInput!) {
  createProgram(input: $input) { program { id name currency createdAt } errors { code field message } }
}"""
CREATE_ENTRY_TYPE = """
mutation($input: CreateEntryTypeInput!) {
  createEntryType(input: $input) { entryType { id description } errors { code field message } }
}"""
CREATE_EVENT_TYPE = """
mutation($input: CreateEventTypeInput!) {
  createEventType(input: $input) { eventType { id description } errors { code field message } }
}"""
CREATE_ACCOUNTING_ACCOUNT = """
mutation($input: CreateAccountingAccountInput!) {
  createAccountingAccount(input: $input) {
    accountingAccount {
      id account description programId createdAt deactivatedAt
      ledgerAccount { code name type currency }
    }
    errors { code field message }
  }
}"""
CREATE_SCRIPT = """
mutation($input: CreateAccountingScriptInput!) {
  createAccountingScript(input: $input) {
    script {
      id programId eventTypeId entryTypeId entryName processingCode
      debitAccounting { id account } creditAccounting { id account }
      costCenter { debitOrg creditOrg debitCost creditCost deactivatedAt }
    }
    errors { code field message }
  }
}"""
CREATE_ENTRY = """
mutation($input: CreateAccountingEntryInput!) {
  createAccountingEntry(input: $input) {
    accountingEntry {
      id programId entryTypeId eventDate amount currency accountId transactionId trackingId
      debitAccountingAccount creditAccountingAccount scriptIds
      debitAccounting { account } creditAccounting { account }
    }
    journalEntry { id date memo currency source lines { accountCode debit credit } }
    errors { code field message }
  }
}"""
DEACTIVATE = """
mutation($code: String!) { deactivateAccount(code: $code) { errors { code message } } }"""
COUNTS = """
{ journalEntries(first: 500) { nodes { id } } events(first: 500) { nodes { id } } }"""


@dataclass
class Books:
    """Program 12 (BRL), entry type 2100, event type 1 and four accounting accounts."""

    program_id: int
    cash: int  # "1.1.01", ASSET
    receivable: int  # "1.1.02", ASSET
    payable: int  # "2.1.01", LIABILITY
    revenue: int  # "4.1.01", INCOME


async def ok(gql: GraphQLClient, document: str, field: str, input: dict[str, Any]) -> Any:
    """The payload of a mutation that must succeed."""
    payload = (await gql(document, {"input": input}))[field]
    assert payload["errors"] == [], payload
    return payload


async def accounting_account(
    gql: GraphQLClient, number: str, kind: str, program_id: int = 12
) -> int:
    payload = await ok(
        gql,
        CREATE_ACCOUNTING_ACCOUNT,
        "createAccountingAccount",
        {
            "programId": program_id,
            "account": number,
            "description": f"Account {number}",
            "type": kind,
        },
    )
    return int(payload["accountingAccount"]["id"])


async def pismo_books(gql: GraphQLClient, *, currency: str = "BRL", program_id: int = 12) -> Books:
    await ok(
        gql,
        CREATE_PROGRAM,
        "createProgram",
        {"id": program_id, "name": "Credit card", "currency": currency},
    )
    await ok(gql, CREATE_ENTRY_TYPE, "createEntryType", {"id": 2100, "description": "Purchase"})
    await ok(gql, CREATE_EVENT_TYPE, "createEventType", {"id": 1, "description": "Authorization"})
    return Books(
        program_id=program_id,
        cash=await accounting_account(gql, "1.1.01", "ASSET", program_id),
        receivable=await accounting_account(gql, "1.1.02", "ASSET", program_id),
        payable=await accounting_account(gql, "2.1.01", "LIABILITY", program_id),
        revenue=await accounting_account(gql, "4.1.01", "INCOME", program_id),
    )


def script_body(books: Books, **changes: Any) -> dict[str, Any]:
    """A valid AccountingScriptPost: receivable debited, payable credited, on 2100."""
    body: dict[str, Any] = {
        "program_id": books.program_id,
        "event_type_id": 1,
        "entry_type_id": 2100,
        "debit_accounting_account_id": books.receivable,
        "credit_accounting_account_id": books.payable,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def entry_body(**changes: Any) -> dict[str, Any]:
    """A valid AccountingEntryPost on program 12, entry type 2100, accounts from the script."""
    body: dict[str, Any] = {
        "amount": 10,
        "entry_type_id": 2100,
        "event_date": "2021-02-01",
        "program_id": 12,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


async def rest(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    path: str,
    body: Any = None,
    *,
    content: bytes | None = None,
) -> httpx.Response:
    """POST to a Pismo endpoint as ``tenant``; ``content`` sends raw bytes."""
    headers = {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"}
    if content is None:
        content = json.dumps(body).encode()
    return await client.post(path, content=content, headers=headers)


async def counts(gql: GraphQLClient) -> tuple[int, int]:
    """(journal entries, events) of the tenant: both unchanged when nothing was written."""
    data = await gql(COUNTS)
    return len(data["journalEntries"]["nodes"]), len(data["events"]["nodes"])


async def totals(gql: GraphQLClient) -> dict[str, tuple[str, str]]:
    """Trial balance rows as {account code: (debit, credit)}; asserts it balances."""
    report = (await gql(TRIAL_BALANCE))["trialBalance"]
    assert report["balanced"] is True
    return {row["account"]["code"]: (row["debit"], row["credit"]) for row in report["rows"]}


# ---------------------------------------------------------------- the seeds themselves


def seed_components(path: Path) -> dict[str, Any]:
    text = path.read_text()
    start = text.index("```json") + len("```json")
    document = json.loads(text[start : text.index("```", start)])
    components: dict[str, Any] = document["components"]["schemas"]
    return components


def _is_schema(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value


def _without_descriptions(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_descriptions(v)
            for k, v in value.items()
            # Annotations, not a property named "description" (whose value is a schema).
            if not (k in {"description", "example", "default", "enum"} and not _is_schema(v))
        }
    return value


@pytest.mark.skipif(not SEEDS.exists(), reason=f"the seeds are not checked out at {SEEDS}")
def test_embedded_schemas_are_the_seeds() -> None:
    seeds = {**seed_components(ENTRY_SEED), **seed_components(SCRIPT_SEED)}
    for name, schema in COMPONENTS.items():
        assert _without_descriptions(seeds[name]) == schema, name
    assert seed_components(ENTRY_SEED)["AccountingEntryPost"]["example"] == SEED_ENTRY_EXAMPLE
    assert seed_components(SCRIPT_SEED)["CostCenter"]["example"] == SEED_COST_CENTER


def test_the_validator_rejects_what_the_schemas_forbid() -> None:
    entry = COMPONENTS["AccountingEntryPost"]
    assert schema_errors(SEED_ENTRY_EXAMPLE | {"event_date": "2021-02-01"}, entry) == []
    assert schema_errors({"amount": "10"}, entry) != []
    assert schema_errors(SEED_ENTRY_EXAMPLE | {"program_id": True}, entry) != []
    assert schema_errors(SEED_ENTRY_EXAMPLE | {"program_id": 2**63}, entry) != []
    assert schema_errors(SEED_ENTRY_EXAMPLE | {"tracking_id": None}, entry) != []
    account = {"$ref": "#/components/schemas/AccountingAccount"}
    assert schema_errors({"id": 1, "created_at": "2021-10-10"}, account) != []


async def test_seed_000_example_is_accepted_once(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)
    assert (await rest(client, tenant, SCRIPTS, script_body(books))).status_code == 201

    response = await rest(client, tenant, ENTRIES, SEED_ENTRY_EXAMPLE)

    assert response.status_code == 202, response.text
    echo = assert_valid(response, COMPONENTS["AccountingEntryPost"])
    assert echo == SEED_ENTRY_EXAMPLE | {"amount": Decimal("10.00"), "event_date": "2021-02-01"}
    assert await totals(gql) == {"1.1.02": ("10.00", "0.00"), "2.1.01": ("0.00", "10.00")}
    assert await counts(gql) == (1, 1)

    again = await rest(client, tenant, ENTRIES, SEED_ENTRY_EXAMPLE)

    assert_error(again, 409, SEED_ENTRY_EXAMPLE["tracking_id"])
    assert await counts(gql) == (1, 1)
    assert await totals(gql) == {"1.1.02": ("10.00", "0.00"), "2.1.01": ("0.00", "10.00")}


async def test_seed_001_script_with_the_seed_cost_center(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)
    body = script_body(books, cost_center=SEED_COST_CENTER, processing_code="003000")

    response = await rest(client, tenant, SCRIPTS, body)

    assert response.status_code == 201, response.text
    script = assert_valid(response, COMPONENTS["AccountingScript"])
    assert isinstance(script["id"], int)
    assert {k: script[k] for k in ("program_id", "event_type_id", "entry_type_id")} == {
        "program_id": 12,
        "event_type_id": 1,
        "entry_type_id": 2100,
    }
    assert script["entry_name"] == "amount"
    assert script["processing_code"] == "003000"
    assert script["cost_center"] == SEED_COST_CENTER
    assert script["debit_accounting"]["id"] == books.receivable
    assert script["debit_accounting"]["account"] == "1.1.02"
    assert script["debit_accounting"]["description"] == "Account 1.1.02"
    assert script["debit_accounting"]["program_id"] == 12
    assert "deactivated_at" not in script["debit_accounting"]
    assert script["credit_accounting"]["account"] == "2.1.01"

    assert_error(await rest(client, tenant, SCRIPTS, body), 409, "already exists")


async def test_seed_001_documented_400(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)

    response = await rest(client, tenant, SCRIPTS, script_body(books, entry_type_id=2999))

    assert_error(response, 400, "Validation error", "entry type 2999 does not exist")


async def test_both_endpoints_refuse_a_missing_key(client: httpx.AsyncClient) -> None:
    for path, body in ((ENTRIES, SEED_ENTRY_EXAMPLE), (SCRIPTS, {"program_id": 12})):
        response = await client.post(path, json=body)
        assert_error(response, 401, "API key")
        assert response.headers["www-authenticate"] == "Bearer"
        bad = await client.post(path, json=body, headers={"Authorization": "Bearer lq_x_y"})
        assert_error(bad, 401, "not valid")
