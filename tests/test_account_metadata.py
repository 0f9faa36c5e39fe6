"""Metadata on accounts (docs/metadata.md), on both engines: given at creation, read back,
found by accounts(metadata, metadataHas), changed by setAccountMetadata with an event, and
balanceOf summing the accounts a filter chooses. The issue's case: a wallet per customer,
entries tagged with orders, "entries of order A-17" and "customer 42's available balance"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.helpers import entry

ERRORS = "errors { code field message }"
CREATE = f"""mutation($input: CreateAccountInput!) {{
  createAccount(input: $input) {{ account {{ code metadata }} {ERRORS} }} }}"""
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
ACCOUNTS = """query($m: JSON, $has: [String!], $order: AccountOrder! = CODE) {
  accounts(metadata: $m, metadataHas: $has, orderBy: $order) { nodes { code metadata } } }"""
SET = f"""mutation($code: String!, $m: JSON!) {{
  setAccountMetadata(accountCode: $code, metadata: $m) {{ account {{ code metadata }} {ERRORS} }} }}"""
BALANCE_OF = """query($m: JSON, $has: [String!], $currency: String!) {
  balanceOf(accounts: {metadata: $m, metadataHas: $has}, currency: $currency) {
    currency accounts debit credit net pendingDebit pendingCredit available } }"""
ENTRIES = """query($m: JSON) { journalEntries(metadata: $m) { nodes { memo } } }"""


async def create(gql: GraphQLClient, code: str, type_: str, **metadata: Any) -> dict[str, Any]:
    data = await gql(
        CREATE,
        {"input": {"code": code, "name": code, "type": type_, "metadata": metadata or None}},
    )
    result: dict[str, Any] = data["createAccount"]
    return result


async def codes(gql: GraphQLClient, **variables: Any) -> list[str]:
    data = await gql(ACCOUNTS, variables)
    return [node["code"] for node in data["accounts"]["nodes"]]


@pytest.fixture
async def shop(gql: GraphQLClient) -> GraphQLClient:
    """Cash, sales, and a wallet per customer: 42 has two (main and gift), 43 one."""
    await create(gql, "1000", "ASSET")
    await create(gql, "4000", "INCOME")
    made = await create(gql, "2100-42", "LIABILITY", customer_id=42, kind="main")
    assert made["errors"] == [] and made["account"]["metadata"] == {
        "customer_id": 42,
        "kind": "main",
    }
    await create(gql, "2101-42", "LIABILITY", customer_id=42, kind="gift")
    await create(gql, "2100-43", "LIABILITY", customer_id=43, kind="main")
    for wallet, amount in (("2100-42", "100.00"), ("2101-42", "25.00"), ("2100-43", "60.00")):
        funded = await gql(POST, {"input": entry("1000", wallet, amount, memo=f"fund {wallet}")})
        assert funded["postJournalEntry"]["errors"] == []
    return gql


async def test_accounts_found_by_metadata(shop: GraphQLClient) -> None:
    assert await codes(shop, m={"customer_id": 42}) == ["2100-42", "2101-42"]
    assert await codes(shop, m={"customer_id": 42, "kind": "gift"}) == ["2101-42"]
    assert await codes(shop, m={"customer_id": "42"}) == []  # a string is not the number
    assert await codes(shop, has=["kind"]) == ["2100-42", "2100-43", "2101-42"]
    assert await codes(shop, m={"customer_id": 42}, order="ID") == ["2100-42", "2101-42"]
    assert await codes(shop) == ["1000", "2100-42", "2100-43", "2101-42", "4000"]


async def test_the_issue_case_orders_and_a_customers_available_balance(
    shop: GraphQLClient,
) -> None:
    for wallet, amount, order in (
        ("2100-42", "30.00", "A-17"),
        ("2101-42", "5.00", "A-17"),
        ("2100-43", "10.00", "A-18"),
    ):
        spent = entry(
            wallet, "4000", amount, memo=f"{order} {wallet}", metadata={"order_id": order}
        )
        assert (await shop(POST, {"input": spent}))["postJournalEntry"]["errors"] == []
    held = entry("2100-42", "4000", "20.00", memo="auth", metadata={"order_id": "A-19"})
    assert (await shop(HOLD, {"input": held}))["holdJournalEntry"]["errors"] == []
    found = (await shop(ENTRIES, {"m": {"order_id": "A-17"}}))["journalEntries"]["nodes"]
    assert [n["memo"] for n in found] == ["A-17 2100-42", "A-17 2101-42"]
    balance = (await shop(BALANCE_OF, {"m": {"customer_id": 42}, "currency": "USD"}))["balanceOf"]
    # 2100-42: 100 - 30 posted, 20 held; 2101-42: 25 - 5. By hand: net 90, available 70.
    assert balance == {
        "currency": "USD",
        "accounts": 2,
        "debit": "35.00",
        "credit": "125.00",
        "net": "90.00",
        "pendingDebit": "20.00",
        "pendingCredit": "0.00",
        "available": "70.00",
    }
    other = (await shop(BALANCE_OF, {"m": {"customer_id": 43}, "currency": "USD"}))["balanceOf"]
    assert (other["accounts"], other["net"], other["available"]) == (1, "50.00", "50.00")
    none = (await shop(BALANCE_OF, {"m": {"customer_id": 99}, "currency": "USD"}))["balanceOf"]
    assert (none["accounts"], none["net"]) == (0, "0.00")


async def test_balance_of_needs_a_filter(shop: GraphQLClient) -> None:
    response = await shop.raw(BALANCE_OF, {"currency": "USD"})
    error = response.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "accounts",
    )


async def test_set_account_metadata(shop: GraphQLClient) -> None:
    changed = (await shop(SET, {"code": "2101-42", "m": {"kind": None, "tier": "gold"}}))[
        "setAccountMetadata"
    ]
    assert changed["errors"] == []
    assert changed["account"]["metadata"] == {"customer_id": 42, "tier": "gold"}
    assert await codes(shop, m={"tier": "gold"}) == ["2101-42"]
    assert await codes(shop, m={"kind": "gift"}) == []
    events = (await shop("{ events(first: 100) { nodes { type payload } } }"))["events"]["nodes"]
    (event,) = [e for e in events if e["type"] == "account.metadata_changed"]
    payload = json.loads(event["payload"])
    assert payload["account_code"] == "2101-42"
    assert payload["changes"] == {
        "kind": {"before": "gift", "after": None},
        "tier": {"before": None, "after": "gold"},
    }
    for code, change, field in (
        ("2101-42", {"bad key": 1}, "metadata.bad key"),
        ("9999", {"a": 1}, "accountCode"),
    ):
        (error,) = (await shop(SET, {"code": code, "m": change}))["setAccountMetadata"]["errors"]
        assert error["field"] == field
    bad = await create(shop, "2102-42", "LIABILITY", **{"bad key": 1})
    assert bad["errors"][0]["field"] == "metadata.bad key"
