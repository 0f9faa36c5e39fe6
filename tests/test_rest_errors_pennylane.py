"""Pennylane (seed 003): every bad ledger entry, its status and the field its error names.

Each error is Pennylane's documented body ``{"error", "message", "details": {"field",
"issue"}}`` (shared/VENDOR_NOTES.md): one field and its issue, never a list, an empty
body included. Nothing is written. On both engines.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.test_pennylane_entries import account_ids, entry_count, journal_id
from tests.test_rest_journal_entries import _set, _without

ENTRIES = "/api/external/v2/ledger_entries"
JOURNALS = "/api/external/v2/journals"
MISSING_ID = 987_654_321

Change = Callable[[dict[str, Any]], object]


def _lines(count: int) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["ledger_entry_lines"] = body["ledger_entry_lines"][:count]

    return change


# (what is wrong, the change, status, the field details names, words of the issue)
CASES: list[tuple[str, Change, int, str, str]] = [
    ("date missing", _without("date"), 422, "date", "is required"),
    ("date not a date", _set("date", "30/08/2023"), 422, "date", "YYYY-MM-DD"),
    ("date not in the calendar", _set("date", "2023-02-30"), 422, "date", "2023-02-30"),
    ("label missing", _without("label"), 422, "label", "is required"),
    ("label null", _set("label", None), 422, "label", "is required"),
    ("label blank", _set("label", "  "), 422, "label", "cannot be blank"),
    ("journal_id a string", _set("journal_id", "12"), 422, "journal_id", "must be an integer"),
    ("journal_id past int64", _set("journal_id", 2**70), 422, "journal_id", "out of range"),
    ("journal_id unknown", _set("journal_id", MISSING_ID), 404, "journal_id", "does not exist"),
    (
        "ledger_attachment_id unknown",
        _set("ledger_attachment_id", MISSING_ID),
        404,
        "ledger_attachment_id",
        "does not exist",
    ),
    ("currency unknown", _set("currency", "XYZ"), 422, "currency", "'XYZ' is not a currency"),
    ("currency lower case", _set("currency", "eur"), 422, "currency", "'eur' is not a currency"),
    ("currency a number", _set("currency", 978), 422, "currency", "must be a string"),
    ("currency null", _set("currency", None), 422, "currency", "must be a string"),
    ("currency withdrawn (BYR)", _set("currency", "BYR"), 422, "currency", "BYR"),
    ("an unknown field", _set("memo", "x"), 422, "memo", "is not a field of this request"),
    ("lines missing", _without("ledger_entry_lines"), 422, "ledger_entry_lines", "is required"),
    ("lines an object", _set("ledger_entry_lines", {}), 422, "ledger_entry_lines", "array"),
    ("lines empty", _lines(0), 422, "ledger_entry_lines", "at least two lines"),
    ("one line", _lines(1), 422, "ledger_entry_lines", "at least two lines"),
    (
        "unbalanced",
        _set("ledger_entry_lines.1.credit", "99.99"),
        422,
        "ledger_entry_lines",
        "does not balance",
    ),
    (
        "line account missing",
        lambda body: body["ledger_entry_lines"][0].pop("ledger_account_id"),
        422,
        "ledger_entry_lines[0].ledger_account_id",
        "is required",
    ),
    (
        "line account unknown",
        _set("ledger_entry_lines.1.ledger_account_id", MISSING_ID),
        404,
        "ledger_entry_lines[1].ledger_account_id",
        "does not exist",
    ),
    (
        "line account a string",
        _set("ledger_entry_lines.0.ledger_account_id", "512"),
        422,
        "ledger_entry_lines[0].ledger_account_id",
        "must be an integer",
    ),
    (
        "debit a JSON number",
        _set("ledger_entry_lines.0.debit", 100),
        422,
        "ledger_entry_lines[0].debit",
        "must be a string",
    ),
    (
        "debit with an exponent",
        _set("ledger_entry_lines.0.debit", "1e2"),
        422,
        "ledger_entry_lines[0].debit",
        "'1e2' is not an amount",
    ),
    (
        "debit negative",
        _set("ledger_entry_lines.0.debit", "-100.00"),
        422,
        "ledger_entry_lines[0].debit",
        "is not an amount",
    ),
    (
        "debit too precise",
        _set("ledger_entry_lines.0.debit", "100.001"),
        422,
        "ledger_entry_lines[0].debit",
        "more decimals than EUR",
    ),
    (
        "credit too large",
        _set("ledger_entry_lines.1.credit", "9" * 25),
        422,
        "ledger_entry_lines[1].credit",
        "too large",
    ),
    (
        "both sides on one line",
        _set("ledger_entry_lines.0.credit", "100.00"),
        422,
        "ledger_entry_lines[0]",
        "either a debit or a credit",
    ),
    (
        "unknown field on a line",
        _set("ledger_entry_lines.0.amount", "100.00"),
        422,
        "ledger_entry_lines[0].amount",
        "is not a field of this request",
    ),
]


def auth(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"}


def assert_pennylane_error(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    """The documented body, ``status``, and ``details`` naming exactly ``field``."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    assert set(error) == {"error", "message", "details"}, error
    assert error["error"] == ("not_found" if status == 404 else "unprocessable_entity"), error
    assert set(error["details"]) == {"field", "issue"}, error
    assert error["details"]["field"] == field, error
    assert isinstance(error["details"]["issue"], str) and error["details"]["issue"], error
    assert "\n" not in error["message"], error
    return error


@pytest.fixture
async def books(db: Database, gql: GraphQLClient, tenant: TenantFixture) -> dict[str, Any]:
    """The seed's example made postable: the tenant's journal and accounts, two lines."""
    bank, revenue = await account_ids(gql)
    return {
        "date": "2023-08-30",
        "label": "Payment for Services",
        "journal_id": await journal_id(db, tenant),
        "currency": "EUR",
        "ledger_entry_lines": [
            {"debit": "100.00", "credit": "0.00", "ledger_account_id": bank, "label": "Bank"},
            {"debit": "0.00", "credit": "100.00", "ledger_account_id": revenue, "label": "Sale"},
        ],
    }


async def test_the_valid_body_is_created(
    client: httpx.AsyncClient, tenant: TenantFixture, books: dict[str, Any]
) -> None:
    # The table's bodies differ from this one by their one fault only.
    response = await client.post(ENTRIES, content=json.dumps(books), headers=auth(tenant))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("change", "status", "field", "issue"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_each_bad_entry_names_its_field(
    db: Database,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    books: dict[str, Any],
    change: Change,
    status: int,
    field: str,
    issue: str,
) -> None:
    body = copy.deepcopy(books)
    change(body)
    response = await client.post(ENTRIES, content=json.dumps(body), headers=auth(tenant))
    error = assert_pennylane_error(response, status, field)
    assert issue in error["details"]["issue"], error
    if status == 422:
        assert error["message"].startswith(f"{field}: "), error
    assert await entry_count(db, tenant) == 0


@pytest.mark.parametrize("raw", [b"{}", b"", b"  \n"], ids=["{}", "no bytes", "whitespace"])
async def test_an_empty_body_names_the_first_missing_field(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture, raw: bytes
) -> None:
    response = await client.post(ENTRIES, content=raw, headers=auth(tenant))
    error = assert_pennylane_error(response, 422, "date")
    assert error["details"] == {"field": "date", "issue": "is required"}
    assert error["message"] == "date: is required (and 3 more)"
    journal = await client.post(JOURNALS, content=raw, headers=auth(tenant))
    assert_pennylane_error(journal, 422, "code")
    assert await entry_count(db, tenant) == 0


async def test_a_bad_currency_is_one_line_not_the_list_of_codes(
    client: httpx.AsyncClient, tenant: TenantFixture, books: dict[str, Any]
) -> None:
    response = await client.post(
        ENTRIES, content=json.dumps({**books, "currency": "XYZ"}), headers=auth(tenant)
    )
    error = assert_pennylane_error(response, 422, "currency")
    assert error["message"] == (
        "currency: 'XYZ' is not a currency Pennylane accepts: an ISO 4217 code such as EUR"
    )
    assert "GBP" not in response.text


async def test_the_seeds_own_example_is_refused_for_its_single_line(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture, books: dict[str, Any]
) -> None:
    # Seed 003's example has one line, debit 100.00: unbalanced, which its own text
    # ("The entry lines must be balanced") forbids. Its ids made the tenant's:
    example = {
        "date": "2023-08-30",
        "label": "Payment for Services",
        "journal_id": books["journal_id"],
        "currency": "EUR",
        "ledger_entry_lines": [
            {
                "debit": "100.00",
                "credit": "0.00",
                "ledger_account_id": books["ledger_entry_lines"][0]["ledger_account_id"],
                "label": "Transaction label",
            }
        ],
    }
    response = await client.post(ENTRIES, content=json.dumps(example), headers=auth(tenant))
    error = assert_pennylane_error(response, 422, "ledger_entry_lines")
    assert error["message"] == "ledger_entry_lines: an entry needs at least two lines"
    assert await entry_count(db, tenant) == 0


async def test_several_bad_fields_still_give_one_field_and_issue(
    client: httpx.AsyncClient, tenant: TenantFixture, books: dict[str, Any]
) -> None:
    body = {**books, "label": "", "currency": "XYZ", "journal_id": "1"}
    response = await client.post(ENTRIES, content=json.dumps(body), headers=auth(tenant))
    error = assert_pennylane_error(response, 422, "label")
    assert error["message"] == "label: cannot be blank (and 2 more)"
