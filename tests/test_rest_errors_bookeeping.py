"""Bookeeping.ai (seed 004): every bad transaction, its status and the field its error names.

The seed's error body is ``{"error", "message"}`` only, so the message itself starts
with the field's path (``entries[0].category: ...``) and, for an id or an amount, says
the value sent. Nothing is posted. On both engines.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts
from tests.test_rest_bookeeping import assert_error, body, categories, post, posted_total
from tests.test_rest_journal_entries import _set

UNKNOWN = "0123456789abcdef01234567"
HUGE = 10**30  # past 2^63-1 cents, below the transport bound (10^40)

Body = dict[str, Any]
Change = Callable[[Body], None]


def _amounts(total: Any, debit: Any, credit: Any) -> Change:
    def change(transaction: dict[str, Any]) -> None:
        transaction["totalAmount"] = total
        transaction["entries"][0]["amount"] = debit
        transaction["entries"][1]["amount"] = credit

    return change


# (what is wrong, the change, the field the message starts with, words it holds)
CASES: list[tuple[str, Change, str, list[str]]] = [
    (
        "category unknown",
        _set("entries.0.category", UNKNOWN),
        "entries[0].category",
        [UNKNOWN, "does not exist"],
    ),
    (
        "category malformed",
        _set("entries.1.category", "Sales"),
        "entries[1].category",
        ["'Sales'", "24 hexadecimal"],
    ),
    ("category empty", _set("entries.0.category", ""), "entries[0].category", ["''"]),
    (
        "category a number",
        _set("entries.0.category", 4000),
        "entries[0].category",
        ["must be a string"],
    ),
    (
        "counterParty unknown",
        _set("counterParty", UNKNOWN),
        "counterParty",
        [UNKNOWN, "does not exist"],
    ),
    (
        "counterParty malformed",
        _set("counterParty", "acme"),
        "counterParty",
        ["'acme'", "24 hexadecimal"],
    ),
    ("account unknown", _set("account", UNKNOWN), "account", [UNKNOWN, "does not exist"]),
    ("account malformed", _set("account", "x" * 24), "account", ["'" + "x" * 24 + "'"]),
    ("totalAmount too large", _amounts(HUGE, HUGE, HUGE), "totalAmount", [str(HUGE), "too large"]),
    (
        "totalAmount alone too large",
        _set("totalAmount", HUGE),
        "totalAmount",
        [str(HUGE), "too large"],
    ),
    ("totalAmount past 10^40", _set("totalAmount", 10**41), "totalAmount", ["out of range"]),
    (
        "totalAmount too precise",
        _amounts(100.001, 100, 100),
        "totalAmount",
        ["100.001", "more decimals than USD"],
    ),
    ("totalAmount a string", _set("totalAmount", "100"), "totalAmount", ["must be a number"]),
    (
        "an entry amount too large",
        _amounts(100, 100, HUGE),
        "entries[1].amount",
        [str(HUGE), "too large"],
    ),
    (
        "an entry amount too precise",
        _amounts(100, 99.999, 100),
        "entries[0].amount",
        ["99.999", "more decimals than USD"],
    ),
    ("an entry amount negative", _amounts(100, -1, 100), "entries[0].amount", ["at least 0"]),
    (
        "unbalanced",
        _amounts(100, 100, 99),
        "totalAmount",
        # The core's message names totalAmount itself: said once after the prefix.
        ["totalAmount: 100.00 must equal", "debit total 100.00", "credit total 99.00"],
    ),
    ("currency empty", _set("currency", ""), "currency", ["''", "ISO 4217"]),
    ("currency unknown", _set("currency", "XXZ"), "currency", ["'XXZ'", "ISO 4217"]),
    ("currency lower case", _set("currency", "usd"), "currency", ["'usd'", "upper-case"]),
    ("currency a number", _set("currency", 840), "currency", ["must be a string"]),
    ("no entries", _set("entries", []), "entries", ["needs entries"]),
    ("entry type unknown", _set("entries.0.type", "DR"), "entries[0].type", ["DEBIT"]),
    ("unknown field", _set("entries.0.debit", 1), "entries[0].debit", ["is not a field"]),
]


@pytest.fixture
async def valid(client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture) -> Body:
    """A postable transaction: 100 USD from the tenant's Sales category to its Cash."""
    await create_accounts(gql)
    ids = await categories(client, tenant)
    return body(ids["Cash"], ids["Sales"], 100)


async def test_the_valid_body_is_created(
    client: httpx.AsyncClient, tenant: TenantFixture, valid: Body
) -> None:
    # The table's bodies differ from this one by their one fault only.
    response = await post(client, tenant, valid)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "field", "words"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
async def test_each_bad_transaction_names_its_field(
    client: httpx.AsyncClient,
    gql: GraphQLClient,
    tenant: TenantFixture,
    valid: Body,
    change: Change,
    field: str,
    words: list[str],
) -> None:
    transaction = copy.deepcopy(valid)
    change(transaction)
    message = assert_error(await post(client, tenant, transaction), 400, "BadRequestError")
    assert message.startswith(f"{field}: "), message
    for word in words:
        assert word in message, (word, message)
    assert await posted_total(gql) == 0
