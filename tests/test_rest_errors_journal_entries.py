"""Journal-entry API (seed 002): every bad entry, its status and the field its error names.

The error envelope is ``{"status": "error", "status_code", "message", "errors": [{"field",
"message"}]}``; the first of ``errors`` names the seed's field and ``message`` starts with
it. Nothing is written. On both engines.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from db.engine import Database
from tests.test_rest_journal_entries import (
    Books,
    _set,
    _without,
    assert_error,
    books_of,
    create,
    entries_of,
    seed_body,
)

Change = Callable[[dict[str, Any]], None]


def _entries(count: int) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["entries"] = body["entries"][:count]

    return change


def _amount(value: str) -> Change:
    def change(body: dict[str, Any]) -> None:
        body["entries"][0]["debit"] = value
        body["entries"][1]["credit"] = value

    return change


# (what is wrong, the change, status, the field named first, words of its message)
CASES: list[tuple[str, Change, int, str, str]] = [
    ("domain_url missing", _without("domain_url"), 400, "domain_url", "is required"),
    ("domain_url not a host", _set("domain_url", "acme corp"), 400, "domain_url", "'acme corp'"),
    (
        "domain_url unknown",
        _set("domain_url", "no-such-tenant-x"),
        404,
        "domain_url",
        "'no-such-tenant-x'",
    ),
    ("date missing", _without("date"), 400, "date", "is required"),
    ("date not in the calendar", _set("date", "2026-02-30"), 400, "date", "'2026-02-30'"),
    ("date a date-time", _set("date", "2026-06-03T00:00:00"), 400, "date", "YYYY-MM-DD"),
    ("date out of range", _set("date", "1899-12-31"), 400, "date", "1900-01-01"),
    ("memo blank", _set("memo", " "), 400, "memo", "cannot be blank"),
    ("memo a number", _set("memo", 12), 400, "memo", "must be a string"),
    (
        "transactionCurrency unknown",
        _set("transactionCurrency", "XXY"),
        400,
        "transactionCurrency",
        "'XXY'",
    ),
    (
        "transactionCurrency lower case",
        _set("transactionCurrency", "sgd"),
        400,
        "transactionCurrency",
        "'sgd'",
    ),
    (
        "reportingCurrency missing",
        _without("reportingCurrency"),
        400,
        "reportingCurrency",
        "is required",
    ),
    (
        "reportingCurrency unknown",
        _set("reportingCurrency", "US"),
        400,
        "reportingCurrency",
        "'US'",
    ),
    ("entries missing", _without("entries"), 400, "entries", "is required"),
    ("entries empty", _entries(0), 400, "entries", "at least 2"),
    ("one entry", _entries(1), 400, "entries", "at least 2"),
    ("unbalanced", _set("entries.1.credit", "999.00"), 400, "entries", "does not balance"),
    ("account unknown", _set("entries.0.account", "9999"), 400, "entries[0].account", "9999"),
    ("account blank", _set("entries.1.account", " "), 400, "entries[1].account", "cannot be blank"),
    ("debit with an exponent", _set("entries.0.debit", "1e3"), 400, "entries[0].debit", "'1e3'"),
    ("debit negative", _set("entries.0.debit", "-1000.00"), 400, "entries[0].debit", "'-1000.00'"),
    (
        "credit a JSON number",
        _set("entries.1.credit", 1000),
        400,
        "entries[1].credit",
        "must be a string",
    ),
    (
        "debit too precise",
        _set("entries.0.debit", "1000.001"),
        400,
        "entries[0].debit",
        "more decimals than SGD",
    ),
    ("amounts too large", _amount("9" * 25), 400, "entries[0].debit", "too large"),
    (
        "both sides on a line",
        _set("entries.0.credit", "5.00"),
        400,
        "entries[0]",
        "one of the two must be absent",
    ),
    (
        "no side on a line",
        _set("entries.0.debit", "0.00"),
        400,
        "entries[0]",
        "give one of the two",
    ),
    (
        "unknown field on a line",
        _set("entries.0.amount", "5.00"),
        400,
        "entries[0].amount",
        "is not a field",
    ),
    ("unknown field", _set("accrualDate", "2026-07-01"), 400, "accrualDate", "is not a field"),
    (
        "accrual_date not a date",
        _set("accrual_date", "tomorrow"),
        400,
        "accrual_date",
        "'tomorrow'",
    ),
    ("external_id blank", _set("external_id", ""), 400, "external_id", "cannot be blank"),
    ("external_id a number", _set("external_id", 912), 400, "external_id", "must be a string"),
]


@pytest.fixture
async def books(db: Database, client: httpx.AsyncClient) -> Books:
    """An SGD tenant with the seed's accounts 5010 and 2100."""
    return await books_of(db, client)


async def test_the_valid_body_is_created(books: Books, client: httpx.AsyncClient) -> None:
    # The table's bodies differ from this one by their one fault only.
    response = await create(client, books.key, seed_body(books.slug))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_each_bad_entry_names_its_field(
    books: Books,
    client: httpx.AsyncClient,
    change: Change,
    status: int,
    field: str,
    words: str,
) -> None:
    body = copy.deepcopy(seed_body(books.slug))
    change(body)
    error = assert_error(await create(client, books.key, body), status, field)
    assert error["errors"][0]["field"] == field, error
    assert error["message"].startswith(f"{field}: "), error
    assert words in error["errors"][0]["message"], error
    assert await entries_of(books.gql) == []
