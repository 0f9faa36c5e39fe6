"""Bookeeping.ai's REST dialect (seed 004) through the ASGI app, on both engines."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import TRIAL_BALANCE, create_accounts

TRANSACTIONS = "/public-api/v1/transactions"
RATE_HEADERS = (
    "x-rate-limiter-daily-limit",
    "x-rate-limiter-minutely-limit",
    "x-rate-limiter-daily-usage",
    "x-rate-limiter-minutely-usage",
    "x-rate-limiter-operation-type",
)
REQUIRED = (
    "_id",
    "projectId",
    "currency",
    "totalAmount",
    "transactionDate",
    "paymentMethod",
    "source",
    "isReconciled",
    "nonProfitAllocations",
    "entries",
    "classes",
    "attachmentsIds",
    "createdAt",
    "updatedAt",
)
CREATE_COUNTERPARTY = """
mutation($input: CreateCounterpartyInput!) {
  createCounterparty(input: $input) { counterparty { id } errors { code field message } }
}"""


def auth(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


async def categories(http: httpx.AsyncClient, tenant: TenantFixture) -> dict[str, str]:
    """Category (account) name -> its 24-hex id, as a client finds them."""
    response = await http.get("/public-api/v1/categories?limit=250", headers=auth(tenant))
    assert response.status_code == 200, response.text
    return {c["name"]: c["_id"] for c in response.json()["data"]["categories"]}


def body(cash: str, sales: str, amount: Any = 100, **extra: Any) -> dict[str, Any]:
    return {
        "refNo": "INV-1",
        "totalAmount": amount,
        "transactionDate": "2026-01-15T10:30:00Z",
        "paymentMethod": "CARD",
        "isReconciled": False,
        "entries": [
            {"id": "1", "amount": amount, "type": "DEBIT", "category": cash},
            {"id": "2", "amount": amount, "type": "CREDIT", "category": sales},
        ],
        **extra,
    }


async def post(
    http: httpx.AsyncClient, tenant: TenantFixture, payload: Any, query: str = ""
) -> httpx.Response:
    return await http.post(
        TRANSACTIONS + query,
        content=payload if isinstance(payload, str) else json.dumps(payload),
        headers={**auth(tenant), "Content-Type": "application/json"},
    )


def assert_error(response: httpx.Response, status: int, name: str) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error", "message"}, payload
    assert payload["error"] == name
    assert isinstance(payload["message"], str) and payload["message"]
    message: str = payload["message"]
    return message


@pytest.fixture
async def chart(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> dict[str, str]:
    await create_accounts(gql)
    return await categories(client, tenant)


async def posted_total(gql: GraphQLClient) -> Decimal:
    data = await gql(TRIAL_BALANCE, {})
    totals = data["trialBalance"]["totals"]
    return sum((Decimal(str(t["debit"])) for t in totals), Decimal(0))


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer lq_nope_nope"}])
async def test_without_a_valid_key_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(TRANSACTIONS, json={}, headers=headers)
    assert_error(response, 401, "UnauthorizedError")
    response = await client.get("/public-api/v1/categories", headers=headers)
    assert_error(response, 401, "UnauthorizedError")


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(memo="x"), "memo"),  # unknown field, top level
        (lambda b: b["entries"][0].update(debit=1), "entries[0].debit"),  # unknown, in an entry
        (lambda b: b["entries"][1].update(amount=-1), "entries[1].amount"),  # minimum: 0
        (lambda b: b["entries"][0].update(amount="100"), "entries[0].amount"),  # a string
        (lambda b: b["entries"][0].update(type="DR"), "entries[0].type"),
        (lambda b: b["entries"][0].update(parentCategory="ASSET"), "entries[0].parentCategory"),
        (lambda b: b.update(paymentMethod="WIRE"), "paymentMethod"),
        (lambda b: b.update(isReconciled="false"), "isReconciled"),
        (lambda b: b.update(counterParty="66666666666666666666666"), "counterParty"),
        (lambda b: b.update(account="zz6666666666666666666666"), "account"),
        (lambda b: b.update(transactionDate="2026-01-15"), "transactionDate"),
        (lambda b: b.update(transactionDate="2026-02-30T00:00:00Z"), "transactionDate"),
        (lambda b: b.pop("totalAmount"), "totalAmount"),
        (lambda b: b["entries"][0].pop("category"), "entries[0].category"),
        (lambda b: b.update(totalAmount=True), "totalAmount"),
    ],
)
async def test_every_documented_rule_is_a_400(
    client: httpx.AsyncClient, tenant: TenantFixture, change: Any, field: str
) -> None:
    payload = body("a" * 24, "b" * 24)
    change(payload)
    response = await post(client, tenant, payload)
    message = assert_error(response, 400, "BadRequestError")
    assert field in message
    # The five headers on errors too: the request counted against the key's writes.
    assert response.headers["x-rate-limiter-operation-type"] == "write"
    assert all(name in response.headers for name in RATE_HEADERS)


@pytest.mark.parametrize(
    "raw", ["[]", "{", '{"totalAmount": NaN}', "", '{"totalAmount": 1e999999999}']
)
async def test_a_body_that_is_no_transaction_is_a_400(
    client: httpx.AsyncClient, tenant: TenantFixture, raw: str
) -> None:
    assert_error(await post(client, tenant, raw), 400, "BadRequestError")


async def test_an_undocumented_status_is_never_answered(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    # 415 and 413 are not in the seed: both are a BadRequestError.
    response = await client.post(
        TRANSACTIONS, content=b"{}", headers={**auth(tenant), "Content-Type": "text/plain"}
    )
    assert_error(response, 400, "BadRequestError")


# ---------------------------------------------------------------- transactions


async def test_transaction_duplicate_and_forced_twin(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture, chart: dict[str, str]
) -> None:
    payload = body(chart["Cash"], chart["Sales"], 100)
    first = await post(client, tenant, payload)
    assert first.status_code == 200, first.text
    assert all(name in first.headers for name in RATE_HEADERS)
    created = first.json()
    assert set(created) == {"message", "metaData", "data"}
    assert created["data"]["action"] == "CREATED"
    transaction = created["data"]["transaction"]
    assert all(name in transaction for name in REQUIRED), transaction
    assert transaction["totalAmount"] == 100
    assert transaction["paymentMethod"] == "CARD"
    assert transaction["currency"] == "USD"
    assert transaction["transactionDate"].startswith("2026-01-15T10:30:00")
    assert {e["category"]["_id"] for e in transaction["entries"]} == {
        chart["Cash"],
        chart["Sales"],
    }
    assert await posted_total(gql) == 100

    again = await post(client, tenant, payload)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["action"] == "ALREADY_EXISTS"
    assert again.json()["data"]["transaction"]["_id"] == transaction["_id"]
    assert await posted_total(gql) == 100  # nothing posted

    forced = await post(client, tenant, payload, "?force=true")
    assert forced.status_code == 200, forced.text
    assert forced.json()["data"]["action"] == "CREATED"
    assert forced.json()["data"]["transaction"]["_id"] != transaction["_id"]
    assert await posted_total(gql) == 200


async def test_decimal_amounts_stay_exact(
    client: httpx.AsyncClient, tenant: TenantFixture, chart: dict[str, str]
) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point: the total would not match.
    raw = (
        '{"totalAmount": 0.3, "transactionDate": "2026-01-16T00:00:00+02:00",'
        ' "paymentMethod": "CASH", "isReconciled": true, "entries": ['
        f'{{"id": "a", "amount": 0.1, "type": "DEBIT", "category": "{chart["Cash"]}"}},'
        f'{{"id": "b", "amount": 0.2, "type": "DEBIT", "category": "{chart["Cash"]}"}},'
        f'{{"id": "c", "amount": 0.3, "type": "CREDIT", "category": "{chart["Sales"]}"}}]}}'
    )
    response = await post(client, tenant, raw)
    assert response.status_code == 200, response.text
    transaction = response.json(parse_float=Decimal)["data"]["transaction"]
    assert transaction["totalAmount"] == Decimal("0.3")
    assert [e["amount"] for e in transaction["entries"]] == [
        Decimal("0.1"),
        Decimal("0.2"),
        Decimal("0.3"),
    ]
    assert "0.30000000000000004" not in response.text
    # In the offset sent: the day it is booked on shows.
    assert transaction["transactionDate"] == "2026-01-16T00:00:00+02:00"


async def test_unbalanced_or_unknown_category_is_a_400(
    client: httpx.AsyncClient, tenant: TenantFixture, chart: dict[str, str]
) -> None:
    unbalanced = body(chart["Cash"], chart["Sales"], 100)
    unbalanced["entries"][1]["amount"] = 99
    assert_error(await post(client, tenant, unbalanced), 400, "BadRequestError")
    # Not 404: the seed documents none for this operation.
    unknown = body(chart["Cash"], "0" * 24, 100)
    assert_error(await post(client, tenant, unknown), 400, "BadRequestError")
    unknown_party = body(chart["Cash"], chart["Sales"], 100, counterParty="f" * 24)
    assert_error(await post(client, tenant, unknown_party), 400, "BadRequestError")


async def test_the_26th_write_in_a_minute_is_a_429_with_headers(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for _ in range(25):
        assert (await post(client, tenant, {})).status_code == 400
    response = await post(client, tenant, {})
    assert_error(response, 429, "TooManyRequestsError")
    assert response.headers["x-rate-limiter-minutely-limit"] == "25"
    assert response.headers["x-rate-limiter-minutely-usage"] == "25"
    assert response.headers["x-rate-limiter-operation-type"] == "write"
    # Reads have their own counters.
    read = await client.get("/public-api/v1/categories", headers=auth(tenant))
    assert read.status_code == 200
    assert read.headers["x-rate-limiter-operation-type"] == "read"
    assert read.headers["x-rate-limiter-minutely-limit"] == "100"


# ---------------------------------------------------------------- lists


async def test_list_endpoints_page_limit_and_count(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture, chart: dict[str, str]
) -> None:
    ids = []
    for number in range(3):
        data = await gql(CREATE_COUNTERPARTY, {"input": {"accountName": f"Vendor {number}"}})
        assert data["createCounterparty"]["errors"] == [], data
        ids.append(data["createCounterparty"]["counterparty"]["id"])
    headers = auth(tenant)

    page = await client.get("/public-api/v1/counterparties?page=2&limit=2", headers=headers)
    assert page.status_code == 200, page.text
    assert page.json()["data"]["count"] == 3
    assert len(page.json()["data"]["counterparts"]) == 1
    assert page.headers["x-rate-limiter-operation-type"] == "read"

    one = await client.get(f"/public-api/v1/counterparties/{ids[0]}", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["data"]["counterparts"][0]["_id"] == ids[0]
    assert one.json()["data"]["counterparts"][0]["accountName"] == "Vendor 0"
    missing = await client.get(f"/public-api/v1/counterparties/{'0' * 24}", headers=headers)
    assert_error(missing, 404, "NotFoundError")

    listed = await client.get("/public-api/v1/categories", headers=headers)
    assert listed.json()["data"]["count"] == len(chart) >= 6
    assert len(listed.json()["data"]["categories"]) == min(10, len(chart))  # default limit
    assert_error(
        await client.get("/public-api/v1/categories?limit=251", headers=headers),
        400,
        "BadRequestError",
    )
    assert_error(
        await client.get("/public-api/v1/categories?accounts=NOPE", headers=headers),
        400,
        "BadRequestError",
    )

    accounts = await client.get(
        "/public-api/v1/accounts?sortKey=name&sortOrder=-1", headers=headers
    )
    assert accounts.status_code == 200, accounts.text
    assert accounts.json()["data"] == {"accounts": [], "count": 0}
