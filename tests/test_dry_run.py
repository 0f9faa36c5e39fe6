"""Dry runs (dryRun: true, docs/holds.md): every check runs, the answer shows the entry
without id or number and the balances it would leave, and nothing is written (no entry,
number, idempotency record, balance or event). Through GraphQL, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry

CHART = [
    ("1000", "Cash", "ASSET"),
    ("2100", "Wallet", "LIABILITY"),
    ("4000", "Revenue", "INCOME"),
]
PREVIEW = """preview { status date accrualDate memo currency journalCode expiresAt replayed
  replayOf lines { accountCode currency debit credit description }
  balances { accountCode balance { currency debit credit net pendingDebit pendingCredit
  available } } }"""
ERRORS = """errors { code field message balanceLimit { available requested limit }
  condition { actual } }"""
POST = f"""mutation($input: PostJournalEntryInput!, $dry: Boolean!) {{
  postJournalEntry(input: $input, dryRun: $dry) {{
    entry {{ id number }} replayed {ERRORS} {PREVIEW} }} }}"""
POST_MANY = f"""mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {{
  postJournalEntries(inputs: $inputs, atomic: $atomic, dryRun: true) {{
    entry {{ id }} {ERRORS} {PREVIEW} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!, $at: DateTime) {{
  holdJournalEntry(input: $input, expiresAt: $at, dryRun: true) {{
    entry {{ id }} hold {{ entryId }} {ERRORS} {PREVIEW} }} }}"""
HOLD_MANY = f"""mutation($inputs: [PostJournalEntryInput!]!) {{
  holdJournalEntries(inputs: $inputs, atomic: false, dryRun: true) {{
    entry {{ id }} {ERRORS} {PREVIEW} }} }}"""
SET_LIMITS = """mutation($input: SetAccountLimitsInput!) {
  setAccountLimits(input: $input) { errors { message } } }"""
BALANCE = """query($code: String!) { account(code: $code) {
  balance(currency: "USD") { net pendingDebit available } } }"""
STATE = """{ journalEntries(first: 100) { nodes { id number } }
  events(first: 100) { nodes { type } } }"""


def spend(amount: str, **extra: Any) -> dict[str, Any]:
    return entry("2100", "4000", amount, memo="purchase", **extra)


async def post(gql: GraphQLClient, input: dict[str, Any], dry: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input, "dry": dry}))["postJournalEntry"]
    return result


async def balance(gql: GraphQLClient, code: str) -> dict[str, str]:
    result: dict[str, str] = (await gql(BALANCE, {"code": code}))["account"]["balance"]
    return result


async def state(gql: GraphQLClient) -> dict[str, Any]:
    return await gql(STATE)


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    """A no-overdraft wallet (credit-normal) funded with 100.00."""
    await create_accounts(gql, CHART)
    data = await gql(SET_LIMITS, {"input": {"accountCode": "2100", "noOverdraft": True}})
    assert data["setAccountLimits"]["errors"] == []
    assert (await post(gql, entry("1000", "2100", "100.00"), dry=False))["errors"] == []
    return gql


def wallet(found: dict[str, Any]) -> dict[str, Any]:
    (row,) = [b for b in found["preview"]["balances"] if b["accountCode"] == "2100"]
    balance: dict[str, Any] = row["balance"]
    return balance


async def test_a_dry_run_shows_the_entry_and_balances_and_writes_nothing(
    books: GraphQLClient,
) -> None:
    before = await state(books)
    found = await post(books, spend("30.00", idempotencyKey="order-1"))
    assert found["errors"] == [] and found["entry"] is None and found["replayed"] is False
    preview = found["preview"]
    assert preview["status"] == "POSTED"
    assert preview["memo"] == "purchase" and preview["journalCode"] == "GENERAL"
    assert [(li["accountCode"], li["debit"], li["credit"]) for li in preview["lines"]] == [
        ("2100", "30.00", "0.00"),
        ("4000", "0.00", "30.00"),
    ]
    assert wallet(found) == {
        "currency": "USD",
        "debit": "30.00",
        "credit": "100.00",
        "net": "70.00",
        "pendingDebit": "0.00",
        "pendingCredit": "0.00",
        "available": "70.00",
    }
    revenue = next(b for b in preview["balances"] if b["accountCode"] == "4000")["balance"]
    assert revenue["net"] == "30.00"
    # Nothing written: the same entries and events, the balance as it was.
    assert await state(books) == before
    assert await balance(books, "2100") == {
        "net": "100.00",
        "pendingDebit": "0.00",
        "available": "100.00",
    }
    # No number was taken and no idempotency record kept: the key is free for another
    # entry, which takes the next number after the funding entry's.
    real = await post(books, spend("5.00", idempotencyKey="order-1"), dry=False)
    assert real["errors"] == [] and real["replayed"] is False
    funding_number = before["journalEntries"]["nodes"][0]["number"]
    assert int(real["entry"]["number"][-4:]) == int(funding_number[-4:]) + 1


async def test_a_dry_run_is_refused_as_the_real_call_would_be(books: GraphQLClient) -> None:
    before = await state(books)
    found = await post(books, spend("130.00"))
    (error,) = found["errors"]
    assert error["code"] == "INSUFFICIENT_FUNDS" and error["field"] == "lines.0"
    assert error["balanceLimit"] == {"available": "100.00", "requested": "130.00", "limit": "0.00"}
    assert found["preview"] is None
    condition = {"accountCode": "2100", "currency": "USD", "layer": "AVAILABLE", "atLeast": "80"}
    (error,) = (await post(books, spend("30.00", conditions=[condition])))["errors"]
    assert error["code"] == "CONDITION_FAILED" and error["condition"]["actual"] == "70.00"
    (error,) = (await post(books, entry("2100", "9999", "1.00")))["errors"]
    assert error["field"] == "lines.1.accountCode"
    assert await state(books) == before


async def test_a_dry_run_replay_names_the_entry_it_would_return(books: GraphQLClient) -> None:
    real = await post(books, spend("10.00", idempotencyKey="k"), dry=False)
    found = await post(books, spend("10.00", idempotencyKey="k"))
    assert found["errors"] == [] and found["replayed"] is True
    assert found["preview"]["replayOf"] == real["entry"]["id"]
    assert found["preview"]["balances"] == []
    (error,) = (await post(books, spend("11.00", idempotencyKey="k")))["errors"]
    assert error["code"] == "CONFLICT"


async def test_a_scheduled_entry_moves_no_balance(books: GraphQLClient) -> None:
    found = await post(books, spend("10.00", accrualDate="2199-01-01"))
    assert found["preview"]["status"] == "SCHEDULED"
    assert found["preview"]["accrualDate"] == "2199-01-01"
    assert wallet(found)["net"] == "100.00"


async def test_a_batch_dry_run_counts_earlier_inputs(books: GraphQLClient) -> None:
    before = await state(books)
    inputs = [spend("60.00"), spend("60.00"), spend("40.00")]
    data = await books(POST_MANY, {"inputs": inputs, "atomic": False})
    first, second, third = data["postJournalEntries"]
    assert wallet(first)["net"] == "40.00"
    (error,) = second["errors"]
    assert error["code"] == "INSUFFICIENT_FUNDS" and error["field"] == "inputs.1.lines.0"
    assert second["preview"] is None
    assert wallet(third)["net"] == "0.00" and wallet(third)["available"] == "0.00"
    data = await books(POST_MANY, {"inputs": inputs, "atomic": True})
    assert all(item["preview"] is None for item in data["postJournalEntries"])
    assert "inputs.1 failed" in data["postJournalEntries"][0]["errors"][0]["message"]
    assert await state(books) == before


async def test_a_hold_dry_run_shows_the_pending_layer(books: GraphQLClient) -> None:
    before = await state(books)
    data = await books(HOLD, {"input": spend("30.00"), "at": "2199-01-01T00:00:00+00:00"})
    found = data["holdJournalEntry"]
    assert found["errors"] == [] and found["entry"] is None and found["hold"] is None
    assert found["preview"]["status"] == "PENDING"
    assert found["preview"]["expiresAt"].startswith("2199-01-01T00:00:00")
    assert wallet(found) == {
        "currency": "USD",
        "debit": "0.00",
        "credit": "100.00",
        "net": "100.00",
        "pendingDebit": "30.00",
        "pendingCredit": "0.00",
        "available": "70.00",
    }
    data = await books(HOLD_MANY, {"inputs": [spend("80.00"), spend("20.00")]})
    first, second = data["holdJournalEntries"]
    assert wallet(first)["available"] == "20.00"
    assert wallet(second)["pendingDebit"] == "100.00" and wallet(second)["available"] == "0.00"
    data = await books(HOLD_MANY, {"inputs": [spend("80.00"), spend("20.01")]})
    (error,) = data["holdJournalEntries"][1]["errors"]
    assert error["code"] == "INSUFFICIENT_FUNDS" and error["field"] == "inputs.1.lines.0"
    assert await state(books) == before
    assert (await balance(books, "2100"))["pendingDebit"] == "0.00"


async def test_an_expiry_in_the_past_is_refused_in_a_dry_run_too(books: GraphQLClient) -> None:
    data = await books(HOLD, {"input": spend("1.00"), "at": "2001-01-01T00:00:00+00:00"})
    (error,) = data["holdJournalEntry"]["errors"]
    assert error["field"] == "expiresAt"
