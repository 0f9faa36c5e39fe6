"""Bookeeping.ai through GraphQL: categories, counterparties, bank accounts, transactions
and duplicate detection, on both engines through the ASGI app."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select

from db.engine import Database
from db.tables import JournalEntry
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts

HEX24 = re.compile(r"[0-9a-f]{24}")

CATEGORIES = """
query($accounts: String, $page: Int, $limit: Int) {
  categories(accounts: $accounts, page: $page, limit: $limit) {
    count items { id name number emoji parentCategory group accountType }
  }
}"""

UPDATE_CATEGORY = """
mutation($code: String!, $emoji: String, $group: String, $parent: ParentCategory) {
  updateAccountCategory(code: $code, emoji: $emoji, group: $group, parentCategory: $parent) {
    category { id emoji group parentCategory } errors { code field message }
  }
}"""

CREATE_COUNTERPARTY = """
mutation($input: CreateCounterpartyInput!) {
  createCounterparty(input: $input) {
    counterparty { id projectId accountName email otherEmails type createdAt updatedAt }
    errors { code field message }
  }
}"""

COUNTERPARTIES = """
query($page: Int, $limit: Int, $sortKey: String, $sortOrder: Int) {
  counterparties(page: $page, limit: $limit, sortKey: $sortKey, sortOrder: $sortOrder) {
    count items { id accountName }
  }
}"""

CREATE_BANK_ACCOUNT = """
mutation($input: CreateBankAccountInput!) {
  createBankAccount(input: $input) {
    bankAccount { id accountType nickName accountName accountNumber createdAt updatedAt }
    errors { code field message }
  }
}"""

BANK_ACCOUNTS = """
query($page: Int, $limit: Int) { bankAccounts(page: $page, limit: $limit) { count items { id } } }
"""

TRANSACTION_FIELDS = """
  id projectId refNo currency totalAmount transactionDate paymentMethod source
  originalAmount originalCurrency isReconciled nonProfitAllocations { percentage }
  counterParty { id accountName accountNumber email phone type }
  account { id accountName accountNumber accountType }
  entries { id amount type parentCategory isMain note
            category { id name emoji parentCategory number group } }
  classes { id name } attachmentsIds nonProfitGrantId attachedTransactionId
  createdAt updatedAt
"""

CREATE_TRANSACTION = f"""
mutation($input: CreateTransactionInput!, $force: Boolean) {{
  createTransaction(input: $input, force: $force) {{
    transaction {{ {TRANSACTION_FIELDS} }}
    action warnings errors {{ code field message }}
  }}
}}"""

# A literal page size: the cost limit assumes 100 entries per transaction.
TRANSACTIONS = """
query($after: String) {
  transactions(first: 2, after: $after) {
    nodes { id totalAmount entries { id amount category { id } } } hasNextPage endCursor
  }
}"""


async def _categories(gql: GraphQLClient) -> dict[str, dict[str, Any]]:
    data = await gql(CATEGORIES, {"limit": 250})
    return {item["number"]: item for item in data["categories"]["items"]}


async def _setup(gql: GraphQLClient) -> dict[str, str]:
    """The standard chart; the category id of each account code."""
    await create_accounts(gql)
    return {code: item["id"] for code, item in (await _categories(gql)).items()}


def _transaction(ids: dict[str, str], amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {
        "totalAmount": amount,
        "transactionDate": "2026-03-10T09:30:00Z",
        "paymentMethod": "CARD",
        "isReconciled": False,
        "refNo": "INV-1",
        "entries": [
            {"id": "e1", "amount": amount, "type": "DEBIT", "category": ids["5000"]},
            {"id": "e2", "amount": amount, "type": "CREDIT", "category": ids["1000"]},
        ],
        **extra,
    }


async def _entries(db: Database, tenant: TenantFixture) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(col(JournalEntry.tenant_id) == tenant.id)
        )
        return int(count or 0)


async def _create(gql: GraphQLClient, data: dict[str, Any], force: bool = False) -> dict[str, Any]:
    result = await gql(CREATE_TRANSACTION, {"input": data, "force": force})
    payload: dict[str, Any] = result["createTransaction"]
    return payload


async def test_categories_have_public_ids_and_derived_parent_categories(
    gql: GraphQLClient,
) -> None:
    ids = await _setup(gql)
    assert all(HEX24.fullmatch(i) for i in ids.values())
    assert len(set(ids.values())) == len(ids)
    cats = await _categories(gql)
    assert cats["1000"]["parentCategory"] == "CURRENT_ASSET"
    assert cats["2000"]["parentCategory"] == "CURRENT_LIABILITY"
    assert cats["4000"]["parentCategory"] == "INCOME"
    assert cats["5000"]["parentCategory"] == "EXPENSE"

    updated = await gql(
        UPDATE_CATEGORY, {"code": "5000", "emoji": "🏠", "group": "Office", "parent": "OVERHEAD"}
    )
    assert updated["updateAccountCategory"]["errors"] == []
    assert updated["updateAccountCategory"]["category"] == {
        "id": ids["5000"],
        "emoji": "🏠",
        "group": "Office",
        "parentCategory": "OVERHEAD",
    }
    wrong = await gql(UPDATE_CATEGORY, {"code": "5000", "parent": "FIXED_ASSET"})
    assert wrong["updateAccountCategory"]["errors"][0]["field"] == "parentCategory"

    filtered = await gql(CATEGORIES, {"accounts": "OVERHEAD,INCOME"})
    assert filtered["categories"]["count"] == 2
    assert {c["number"] for c in filtered["categories"]["items"]} == {"4000", "5000"}
    paged = await gql(CATEGORIES, {"page": 2, "limit": 4})
    assert paged["categories"]["count"] == 6
    assert len(paged["categories"]["items"]) == 2


async def test_counterparties_and_bank_accounts_create_list_page_count(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    for n in range(3):
        made = await gql(
            CREATE_COUNTERPARTY,
            {"input": {"accountName": f"Vendor {n}", "email": f"v{n}@example.com",
                       "otherEmails": ["a@example.com"], "type": "vendor"}},
        )  # fmt: skip
        assert made["createCounterparty"]["errors"] == []
        assert HEX24.fullmatch(made["createCounterparty"]["counterparty"]["id"])
    bad = await gql(CREATE_COUNTERPARTY, {"input": {"type": "friend"}})
    assert bad["createCounterparty"]["errors"][0]["field"] == "type"

    listed = await gql(COUNTERPARTIES, {"page": 1, "limit": 2, "sortKey": "name", "sortOrder": -1})
    assert listed["counterparties"]["count"] == 3
    assert [c["accountName"] for c in listed["counterparties"]["items"]] == ["Vendor 2", "Vendor 1"]
    over = await gql.raw(COUNTERPARTIES, {"limit": 251})
    assert over.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    made = await gql(
        CREATE_BANK_ACCOUNT,
        {"input": {"accountType": "Depository", "nickName": "Main", "accountNumber": "123"}},
    )
    assert made["createBankAccount"]["bankAccount"]["accountType"] == "Depository"
    bad = await gql(CREATE_BANK_ACCOUNT, {"input": {"accountType": "Savings"}})
    assert bad["createBankAccount"]["errors"][0]["field"] == "accountType"
    listed = await gql(BANK_ACCOUNTS, {"page": 1, "limit": 10})
    assert listed["bankAccounts"]["count"] == 1

    # Another tenant sees none of them.
    other = await make_tenant(db)
    theirs = await GraphQLClient(client, other.key)(COUNTERPARTIES, {})
    assert theirs["counterparties"]["count"] == 0


async def test_a_transaction_is_posted_with_every_required_field(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    party = (await gql(CREATE_COUNTERPARTY, {"input": {"accountName": "ACME"}}))[
        "createCounterparty"
    ]["counterparty"]["id"]
    bank = (await gql(CREATE_BANK_ACCOUNT, {"input": {"accountType": "Credit"}}))[
        "createBankAccount"
    ]["bankAccount"]["id"]
    payload = await _create(gql, _transaction(ids, counterParty=party, account=bank.upper()))
    assert payload["errors"] == [] and payload["action"] == "CREATED"
    t = payload["transaction"]
    assert HEX24.fullmatch(t["id"])
    assert t["projectId"] == tenant.slug
    assert t["currency"] == "USD"
    assert t["totalAmount"] == "100.00"
    assert t["transactionDate"].startswith("2026-03-10T09:30:00")
    assert (t["paymentMethod"], t["source"], t["isReconciled"]) == ("CARD", "API_HOOK", False)
    assert t["nonProfitAllocations"] == [] and t["classes"] == [] and t["attachmentsIds"] == []
    assert t["counterParty"]["id"] == party and t["counterParty"]["accountName"] == "ACME"
    assert t["account"] == {
        "id": bank, "accountName": None, "accountNumber": None, "accountType": "Credit"
    }  # fmt: skip
    assert [(e["id"], e["type"], e["amount"]) for e in t["entries"]] == [
        ("e1", "DEBIT", "100.00"),
        ("e2", "CREDIT", "100.00"),
    ]
    assert t["entries"][0]["category"]["id"] == ids["5000"]
    assert t["entries"][0]["category"]["number"] == "5000"
    assert t["entries"][0]["parentCategory"] == "EXPENSE"
    assert t["createdAt"] and t["updatedAt"]
    assert await _entries(db, tenant) == 1

    listed = await gql(TRANSACTIONS, {})
    assert [n["id"] for n in listed["transactions"]["nodes"]] == [t["id"]]
    assert listed["transactions"]["hasNextPage"] is False


async def test_total_amount_must_equal_each_side(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    data = _transaction(ids)
    data["totalAmount"] = "99.99"
    payload = await _create(gql, data)
    assert payload["transaction"] is None
    assert payload["errors"][0]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["field"] == "totalAmount"
    data = _transaction(ids)
    data["entries"][1]["amount"] = "90.00"
    payload = await _create(gql, data)
    assert payload["errors"][0]["field"] == "totalAmount"
    assert await _entries(db, tenant) == 0


async def test_unknown_and_foreign_ids_are_not_found(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    other = await make_tenant(db)
    theirs = GraphQLClient(client, other.key)
    foreign = await _setup(theirs)
    their_party = (await theirs(CREATE_COUNTERPARTY, {"input": {"accountName": "X"}}))[
        "createCounterparty"
    ]["counterparty"]["id"]
    their_bank = (await theirs(CREATE_BANK_ACCOUNT, {"input": {"accountType": "Loan"}}))[
        "createBankAccount"
    ]["bankAccount"]["id"]
    cases = [
        ({"entries": [
            {"id": "a", "amount": "1", "type": "DEBIT", "category": foreign["5000"]},
            {"id": "b", "amount": "1", "type": "CREDIT", "category": ids["1000"]},
        ], "totalAmount": "1"}, "entries.0.category"),
        ({"counterParty": their_party}, "counterParty"),
        ({"counterParty": "666666666666666666666666"}, "counterParty"),
        ({"account": their_bank}, "account"),
    ]  # fmt: skip
    for change, field in cases:
        payload = await _create(gql, {**_transaction(ids), **change})
        assert payload["errors"][0]["code"] == "NOT_FOUND", payload
        assert payload["errors"][0]["field"] == field
    assert await _entries(db, tenant) == 0


async def test_a_duplicate_is_not_posted_and_force_posts_it(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    first = await _create(gql, _transaction(ids))
    assert first["action"] == "CREATED"
    # Same money movement: line ids, notes, order and payment method do not matter.
    twin = _transaction(ids, paymentMethod="CASH")
    twin["entries"] = [
        {**twin["entries"][1], "id": "x"},
        {**twin["entries"][0], "note": "another note"},
    ]
    again = await _create(gql, twin)
    assert again["action"] == "ALREADY_EXISTS"
    assert again["transaction"]["id"] == first["transaction"]["id"]
    assert again["transaction"]["paymentMethod"] == "CARD"
    assert await _entries(db, tenant) == 1

    # Another day, reference or amount is another transaction.
    other_ref = await _create(gql, _transaction(ids, refNo="INV-2"))
    assert other_ref["action"] == "CREATED"
    assert await _entries(db, tenant) == 2

    forced = await _create(gql, _transaction(ids), force=True)
    assert forced["action"] == "CREATED"
    assert forced["transaction"]["id"] != first["transaction"]["id"]
    assert await _entries(db, tenant) == 3
    # The original still answers later duplicates.
    later = await _create(gql, _transaction(ids))
    assert later["action"] == "ALREADY_EXISTS"
    assert later["transaction"]["id"] == first["transaction"]["id"]
    assert await _entries(db, tenant) == 3

    page = (await gql(TRANSACTIONS, {}))["transactions"]
    assert page["hasNextPage"] is True
    rest = (await gql(TRANSACTIONS, {"after": page["endCursor"]}))["transactions"]
    assert [n["id"] for n in page["nodes"] + rest["nodes"]] == [
        forced["transaction"]["id"], other_ref["transaction"]["id"], first["transaction"]["id"]
    ]  # fmt: skip


async def test_a_forced_first_transaction_makes_later_ones_duplicates(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    forced = await _create(gql, _transaction(ids), force=True)
    assert forced["action"] == "CREATED"
    later = await _create(gql, _transaction(ids))
    assert later["action"] == "ALREADY_EXISTS"
    assert later["transaction"]["id"] == forced["transaction"]["id"]
    assert await _entries(db, tenant) == 1


async def test_twenty_concurrent_identical_requests_post_one(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    ids = await _setup(gql)
    payloads = await asyncio.gather(*(_create(gql, _transaction(ids)) for _ in range(20)))
    actions = sorted(p["action"] for p in payloads)
    assert actions == ["ALREADY_EXISTS"] * 19 + ["CREATED"], payloads
    assert len({p["transaction"]["id"] for p in payloads}) == 1
    assert await _entries(db, tenant) == 1


async def test_amounts_stay_exact(gql: GraphQLClient, db: Database, tenant: TenantFixture) -> None:
    ids = await _setup(gql)
    data = _transaction(ids, amount="0.3")
    data["entries"] = [
        {"id": "a", "amount": "0.1", "type": "DEBIT", "category": ids["5000"]},
        {"id": "b", "amount": "0.2", "type": "DEBIT", "category": ids["5000"]},
        {"id": "c", "amount": "0.3", "type": "CREDIT", "category": ids["1000"]},
        {"id": "z", "amount": "0", "type": "CREDIT", "category": ids["2000"]},
    ]
    payload = await _create(gql, data)
    assert payload["errors"] == [], payload
    t = payload["transaction"]
    assert t["totalAmount"] == "0.30"
    assert [e["amount"] for e in t["entries"]] == ["0.10", "0.20", "0.30", "0.00"]
    too_fine = await _create(gql, _transaction(ids, amount="0.001", refNo="x"))
    assert too_fine["errors"][0]["field"] == "totalAmount"
    assert await _entries(db, tenant) == 1
