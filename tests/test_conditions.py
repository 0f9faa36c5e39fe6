"""Balance conditions on entries (docs/holds.md): bounds on the posted or available balance
as the entry would leave it, checked under the lock; CONDITION_FAILED with the actual value
and nothing written otherwise. Through GraphQL, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry

CHART = [
    ("1000", "Cash", "ASSET"),
    ("2100", "Wallet", "LIABILITY"),
    ("3000", "Equity", "EQUITY"),
    ("4000", "Revenue", "INCOME"),
]
ERRORS = """errors { code field message
  condition { accountCode currency layer actual atLeast atMost } }"""
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id number }} replayed {ERRORS} }} }}"""
POST_MANY = f"""mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {{
  postJournalEntries(inputs: $inputs, atomic: $atomic) {{ entry {{ id }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ entry {{ id status }} {ERRORS} }} }}"""
BALANCE = """query($code: String!) { account(code: $code) {
  balance(currency: "USD") { net pendingDebit available } } }"""
COUNT = """{ journalEntries(first: 100) { nodes { id } } events(first: 100) { nodes { type } } }"""


def condition(
    code: str = "2100", layer: str = "AVAILABLE", currency: str = "USD", **bounds: str
) -> dict[str, Any]:
    return {"accountCode": code, "currency": currency, "layer": layer, **bounds}


def spend(amount: str, *conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return entry("2100", "4000", amount, memo="purchase", conditions=list(conditions), **extra)


async def post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


async def balance(gql: GraphQLClient, code: str) -> dict[str, str]:
    result: dict[str, str] = (await gql(BALANCE, {"code": code}))["account"]["balance"]
    return result


async def counts(gql: GraphQLClient) -> tuple[int, int]:
    data = await gql(COUNT)
    return len(data["journalEntries"]["nodes"]), len(data["events"]["nodes"])


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    """A wallet (credit-normal, no limits of its own) funded with 100.00."""
    await create_accounts(gql, CHART)
    assert (await post(gql, entry("1000", "2100", "100.00")))["errors"] == []
    return gql


async def test_a_failed_condition_refuses_the_entry_with_the_actual_value(
    books: GraphQLClient,
) -> None:
    before = await counts(books)
    result = await post(books, spend("120.00", condition(atLeast="0")))
    assert result["entry"] is None
    (error,) = result["errors"]
    assert error["code"] == "CONDITION_FAILED"
    assert error["field"] == "conditions.0"
    assert error["condition"] == {
        "accountCode": "2100",
        "currency": "USD",
        "layer": "AVAILABLE",
        "actual": "-20.00",
        "atLeast": "0.00",
        "atMost": None,
    }
    assert "-20.00" in error["message"] and "2100" in error["message"]
    # Nothing written: no entry, no event, the balance as it was.
    assert await counts(books) == before
    assert (await balance(books, "2100"))["net"] == "100.00"


async def test_a_condition_that_holds_lets_the_entry_post(books: GraphQLClient) -> None:
    result = await post(books, spend("100.00", condition(atLeast="0.00", atMost="0.00")))
    assert result["errors"] == [] and result["entry"] is not None
    assert (await balance(books, "2100"))["net"] == "0.00"


async def test_posted_layer_and_an_account_the_entry_does_not_touch(
    books: GraphQLClient,
) -> None:
    # The cash account holds exactly 100.00 (debit-normal); the entry does not touch it,
    # so its condition is on its balance as it is: an optimistic "still 100.00" check.
    still = condition("1000", "POSTED", atLeast="100.00", atMost="100.00")
    assert (await post(books, spend("10.00", still)))["errors"] == []
    moved = condition("1000", "POSTED", atLeast="100.01")
    (error,) = (await post(books, spend("10.00", moved)))["errors"]
    assert error["code"] == "CONDITION_FAILED"
    assert error["condition"]["actual"] == "100.00"
    assert error["condition"]["layer"] == "POSTED"
    # The posted balance after the entry counts the entry itself: 90.00 - 5.00.
    after = condition(layer="POSTED", atMost="85.00", atLeast="85.00")
    assert (await post(books, spend("5.00", after)))["errors"] == []
    assert (await balance(books, "2100"))["net"] == "85.00"


async def test_negative_bounds_allow_an_overdraft_of_that_much(books: GraphQLClient) -> None:
    assert (await post(books, spend("150.00", condition(atLeast="-50.00"))))["errors"] == []
    (error,) = (await post(books, spend("0.01", condition(atLeast="-50.00"))))["errors"]
    assert error["condition"]["actual"] == "-50.01"
    assert error["condition"]["atLeast"] == "-50.00"


async def test_a_hold_counts_in_available_not_in_posted(books: GraphQLClient) -> None:
    data = await books(HOLD, {"input": spend("70.00", condition(atLeast="30.00"))})
    assert data["holdJournalEntry"]["errors"] == []
    assert data["holdJournalEntry"]["entry"]["status"] == "PENDING"
    # Available is 30.00 now: a second hold of 40.00 with the same condition fails...
    data = await books(HOLD, {"input": spend("40.00", condition(atLeast="0"))})
    (error,) = data["holdJournalEntry"]["errors"]
    assert error["code"] == "CONDITION_FAILED" and error["condition"]["actual"] == "-10.00"
    # ...while the posted layer still shows 100.00 (holds do not move it).
    posted = condition(layer="POSTED", atLeast="100.00", atMost="100.00")
    data = await books(HOLD, {"input": spend("1.00", posted)})
    assert data["holdJournalEntry"]["errors"] == []
    assert await balance(books, "2100") == {
        "net": "100.00",
        "pendingDebit": "71.00",
        "available": "29.00",
    }


async def test_in_a_batch_earlier_entries_count(books: GraphQLClient) -> None:
    inputs = [spend("60.00", condition(atLeast="0")) for _ in range(2)]
    data = await books(POST_MANY, {"inputs": inputs, "atomic": False})
    first, second = data["postJournalEntries"]
    assert first["errors"] == [] and first["entry"] is not None
    (error,) = second["errors"]
    assert error["field"] == "inputs.1.conditions.0"
    assert error["condition"]["actual"] == "-20.00"
    assert (await balance(books, "2100"))["net"] == "40.00"
    # Atomic: the whole batch is refused, nothing posts.
    data = await books(POST_MANY, {"inputs": inputs, "atomic": True})
    assert [item["entry"] for item in data["postJournalEntries"]] == [None, None]
    assert (await balance(books, "2100"))["net"] == "40.00"


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (condition("9999", atLeast="0"), "conditions.0.accountCode", "does not exist"),
        (condition(currency="usd", atLeast="0"), "conditions.0.currency", "currency"),
        (condition(currency="XYZ", atLeast="0"), "conditions.0.currency", "XYZ"),
        (condition(atLeast="0.001"), "conditions.0.atLeast", "decimals"),
        (condition(atMost="-1.001"), "conditions.0.atMost", "decimals"),
        (condition(), "conditions.0.atLeast", "atLeast, atMost or both"),
        (condition(atLeast="5", atMost="4"), "conditions.0.atMost", "greater than atMost"),
    ],
)
async def test_bad_conditions_name_their_field(
    books: GraphQLClient, bad: dict[str, Any], field: str, words: str
) -> None:
    (error,) = (await post(books, spend("1.00", bad)))["errors"]
    assert error["code"] == "BAD_USER_INPUT"
    assert error["field"] == field
    assert words in error["message"]


async def test_an_unknown_layer_is_refused_by_the_schema(books: GraphQLClient) -> None:
    response = await books.raw(POST, {"input": spend("1.00", condition("2100", "PENDING"))})
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "layer" in body["errors"][0]["message"]


async def test_a_replay_returns_the_entry_whatever_its_conditions(books: GraphQLClient) -> None:
    first = await post(books, spend("10.00", condition(atLeast="0"), idempotencyKey="k-1"))
    assert first["errors"] == []
    # Conditions are not part of the request a key names: the replay returns the entry.
    again = await post(books, spend("10.00", condition(atLeast="1000"), idempotencyKey="k-1"))
    assert again["errors"] == [] and again["replayed"] is True
    assert again["entry"]["id"] == first["entry"]["id"]
    assert (await balance(books, "2100"))["net"] == "90.00"
