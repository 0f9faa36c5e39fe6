"""Pismo (seeds 000, 001): every bad entry and script, its status and the field it names.

Pismo's error body is ``{"error": "Validation error, <field>: <what>"}`` (or
``<field> is required`` / ``<field> must be ...``): the field follows the prefix. Nothing
is written. On both engines.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, TenantFixture
from tests.test_pismo_scripts import script_ids
from tests.test_pismo_seeds import (
    ENTRIES,
    SCRIPTS,
    Books,
    assert_error,
    counts,
    entry_body,
    pismo_books,
    rest,
    script_body,
)

# The field named after the prefix, up to ": " or " is" / " must" / " has".
NAMED = re.compile(r"Validation error, ([A-Za-z_.\[\]0-9]+)(?::| is | must | has )")
SEED_COST_CENTER = {
    "debit_org": "org-1",
    "credit_org": "org-2",
    "debit_cost": "cost-1",
    "credit_cost": "cost-2",
}


def named_field(message: str) -> str:
    match = NAMED.match(message)
    assert match is not None, message
    return match.group(1)


# (what is wrong, changes to the entry body (... drops a field), the field, words)
ENTRY_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("amount missing", {"amount": ...}, "amount", "is required"),
    ("amount null", {"amount": None}, "amount", "is required"),
    ("amount a string", {"amount": "10.00"}, "amount", "must be a number"),
    ("amount zero", {"amount": 0}, "amount", "greater than zero"),
    ("amount negative", {"amount": -5}, "amount", "greater than zero"),
    ("amount too precise for BRL", {"amount": 10.001}, "amount", "more decimals than BRL"),
    ("amount past 2^63 cents", {"amount": 2**63}, "amount", "too large"),
    ("amount past the transport bound", {"amount": 10**30}, "amount", "too large"),
    ("program_id missing", {"program_id": ...}, "program_id", "is required"),
    ("program_id a string", {"program_id": "12"}, "program_id", "must be an integer"),
    ("program_id unknown", {"program_id": 13}, "program_id", "program 13 does not exist"),
    ("program_id zero", {"program_id": 0}, "program_id", "out of range"),
    ("program_id past int64", {"program_id": 2**63}, "program_id", "out of range"),
    ("entry_type_id unknown", {"entry_type_id": 2200}, "entry_type_id", "2200 does not exist"),
    ("entry_type_id a boolean", {"entry_type_id": True}, "entry_type_id", "must be an integer"),
    ("event_date missing", {"event_date": ...}, "event_date", "is required"),
    ("event_date not in the calendar", {"event_date": "2021-02-30"}, "event_date", "not a date"),
    ("event_date before 1900", {"event_date": "1899-12-31"}, "event_date", "1900-01-01"),
    ("event_date a number", {"event_date": 20210201}, "event_date", "must be a string"),
    (
        "debit account unknown",
        {"debit_accounting_account": "8.8.88"},
        "debit_accounting_account",
        "8.8.88 does not exist",
    ),
    (
        "credit account too long",
        {"credit_accounting_account": "x" * 51},
        "credit_accounting_account",
        "longer than 50",
    ),
    (
        "same account on both sides",
        {"debit_accounting_account": "1.1.01", "credit_accounting_account": "1.1.01"},
        "credit_accounting_account",
        "1.1.01",
    ),
    ("transaction without account", {"transaction_id": 1}, "account_id", "required"),
    ("account_id a number with decimals", {"account_id": 21.5}, "account_id", "integer"),
    ("tracking_id too long", {"tracking_id": "t" * 51}, "tracking_id", "longer than 50"),
    ("tracking_id a control character", {"tracking_id": "a\u0000b"}, "tracking_id", "control"),
    ("tracking_id a number", {"tracking_id": 7}, "tracking_id", "must be a string"),
]


# The same for scripts; RECEIVABLE stands for that account's id, known once it is made.
RECEIVABLE = "<the receivable account's id>"
SCRIPT_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("program_id missing", {"program_id": ...}, "program_id", "is required"),
    ("program_id unknown", {"program_id": 13}, "program_id", "program 13 does not exist"),
    ("event_type_id unknown", {"event_type_id": 9}, "event_type_id", "9 does not exist"),
    ("event_type_id a string", {"event_type_id": "1"}, "event_type_id", "must be an integer"),
    ("entry_type_id missing", {"entry_type_id": ...}, "entry_type_id", "is required"),
    (
        "debit account unknown",
        {"debit_accounting_account_id": 987654321},
        "debit_accounting_account_id",
        "987654321",
    ),
    (
        "credit account negative",
        {"credit_accounting_account_id": -1},
        "credit_accounting_account_id",
        "out of range",
    ),
    (
        "same account on both sides",
        {"credit_accounting_account_id": RECEIVABLE},
        "credit_accounting_account_id",
        "differ",
    ),
    ("entry_name unknown", {"entry_name": "bogus"}, "entry_name", "bogus"),
    ("processing_code too long", {"processing_code": "1234567"}, "processing_code", "6"),
    ("cost_center not an object", {"cost_center": "x"}, "cost_center", "must be an object"),
    (
        "cost_center without debit_org",
        {"cost_center": {k: v for k, v in SEED_COST_CENTER.items() if k != "debit_org"}},
        "cost_center.debit_org",
        "is required",
    ),
    (
        "cost_center deactivated_at not a date-time",
        {"cost_center": {**SEED_COST_CENTER, "deactivated_at": "yesterday"}},
        "cost_center.deactivated_at",
        "ISO 8601",
    ),
]


@pytest.fixture
async def books(client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient) -> Books:
    """Program 12 (BRL), entry type 2100, event type 1, four accounts and one script."""
    books = await pismo_books(gql)
    assert (await rest(client, tenant, SCRIPTS, script_body(books))).status_code == 201
    return books


async def test_the_valid_bodies_are_accepted(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    # The tables' bodies differ from these by their one fault only.
    books = await pismo_books(gql)
    script = await rest(client, tenant, SCRIPTS, script_body(books, entry_name="amount"))
    assert script.status_code == 201, script.text
    entry = await rest(client, tenant, ENTRIES, entry_body())
    assert entry.status_code == 202, entry.text


@pytest.mark.parametrize(
    ("change", "field", "words"), [pytest.param(*case[1:], id=case[0]) for case in ENTRY_CASES]
)
async def test_each_bad_entry_names_its_field(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    gql: GraphQLClient,
    books: Books,
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    message = assert_error(await rest(client, tenant, ENTRIES, entry_body(**change)), 400)
    assert named_field(message) == field, message
    assert words in message, (words, message)
    assert await counts(gql) == (0, 0)


@pytest.mark.parametrize(
    ("change", "field", "words"), [pytest.param(*case[1:], id=case[0]) for case in SCRIPT_CASES]
)
async def test_each_bad_script_names_its_field(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    gql: GraphQLClient,
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    books = await pismo_books(gql)
    change = {k: books.receivable if v == RECEIVABLE else v for k, v in change.items()}
    message = assert_error(await rest(client, tenant, SCRIPTS, script_body(books, **change)), 400)
    assert named_field(message) == field, message
    assert words in message, (words, message)
    assert await script_ids(gql) == []
