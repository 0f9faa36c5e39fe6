"""A posting refused by an account's balance limits, in each REST dialect: the vendor's
documented client error (Pennylane 422; Pismo, journal-entry and Bookeeping 400), its
message naming the account, and nothing written. On both engines."""

from __future__ import annotations

import json
from typing import Any

import httpx

from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts
from tests.test_pennylane_entries import account_ids, entry_count, journal_id
from tests.test_pismo_seeds import (
    ENTRIES,
    SCRIPTS,
    counts,
    entry_body,
    pismo_books,
    rest,
    script_body,
)
from tests.test_rest_bookeeping import body, categories, posted_total
from tests.test_rest_bookeeping import post as bookeeping_post
from tests.test_rest_journal_entries import books_of, create, entries_of, seed_body

SET_LIMITS = """
mutation($input: SetAccountLimitsInput!) {
  setAccountLimits(input: $input) { errors { code field message } }
}"""


async def set_limits(gql: GraphQLClient, code: str, **settings: Any) -> None:
    data = await gql(SET_LIMITS, {"input": {"accountCode": code, **settings}})
    assert data["setAccountLimits"]["errors"] == []


def cap(currency: str, amount: str) -> list[dict[str, str]]:
    return [{"currency": currency, "amount": amount}]


async def test_journal_entries_answer_400_naming_the_account(
    db: Database, client: httpx.AsyncClient
) -> None:
    books = await books_of(db, client)
    await set_limits(books.gql, "2100", maxBalances=cap("SGD", "999.99"))
    response = await create(client, books.key, seed_body(books.slug))
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["status"], error["status_code"]) == ("error", 400)
    assert "account 2100" in error["message"] and "999.99" in error["message"], error
    assert await entries_of(books.gql) == []


async def test_pennylane_answers_422_naming_the_account(
    db: Database, client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    bank, revenue = await account_ids(gql)
    await set_limits(gql, "512", noOverdraft=True)
    # The bank is credited: it would go below zero.
    entry = {
        "date": "2023-08-30",
        "label": "Refund",
        "journal_id": await journal_id(db, tenant),
        "currency": "EUR",
        "ledger_entry_lines": [
            {"debit": "100.00", "credit": "0.00", "ledger_account_id": revenue, "label": "Sale"},
            {"debit": "0.00", "credit": "100.00", "ledger_account_id": bank, "label": "Bank"},
        ],
    }
    headers = {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"}
    response = await client.post(
        "/api/external/v2/ledger_entries", content=json.dumps(entry), headers=headers
    )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "unprocessable_entity", error
    assert "insufficient funds on account 512" in error["message"], error
    assert await entry_count(db, tenant) == 0


async def test_pismo_answers_400_naming_the_account(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)
    assert (await rest(client, tenant, SCRIPTS, script_body(books))).status_code == 201
    for code in ("1.1.01", "1.1.02", "2.1.01", "4.1.01"):
        await set_limits(gql, code, maxBalances=cap("BRL", "5"))
    response = await rest(client, tenant, ENTRIES, entry_body())
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    assert "past its max BRL balance of 5.00" in message and "account 1.1.0" in message, message
    entries, events = await counts(gql)
    assert (entries, events) == (0, 4)  # the four limits_changed events only


async def test_bookeeping_answers_400_naming_the_account(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    ids = await categories(client, tenant)
    await set_limits(gql, "1000", maxBalances=cap("USD", "50"))
    response = await bookeeping_post(client, tenant, body(ids["Cash"], ids["Sales"], 100))
    assert response.status_code == 400, response.text
    assert "account 1000" in response.json()["message"], response.text
    assert await posted_total(gql) == 0
