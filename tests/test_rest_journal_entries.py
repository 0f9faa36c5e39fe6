"""The journal-entry API (seed 002): POST /external/v1/journal_entries/create/ over HTTP."""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.ledger.tenants import create_key, set_journal_prefix, set_tenant_domain
from app.rest.journal_entries import seed_field
from db.engine import Database
from tests.conftest import GraphQLClient, make_tenant
from tests.helpers import BALANCE, create_accounts

PATH = "/external/v1/journal_entries/create/"
ENTRIES = "{ journalEntries(first: 50) { nodes { id number status } } }"


@dataclass
class Books:
    slug: str
    key: str
    gql: GraphQLClient


async def books_of(db: Database, client: httpx.AsyncClient, owner: str | None = None) -> Books:
    """An SGD tenant, slug acme-corp style, prefix DEP, with the seed's accounts 5010 and 2100."""
    tenant = await make_tenant(db, currency="SGD", owner=owner)
    await set_journal_prefix(db, tenant.slug, "DEP")
    # GraphQL through a key restricted to the tenant: an owner of several needs no X-Tenant.
    gql = GraphQLClient(client, (await create_key(db, slug=tenant.slug, restrict=True)).key)
    await create_accounts(gql, [("5010", "Rent", "EXPENSE"), ("2100", "Payables", "LIABILITY")])
    return Books(tenant.slug, tenant.key, gql)


@pytest.fixture
async def books(db: Database, client: httpx.AsyncClient) -> Books:
    return await books_of(db, client)


def seed_body(domain_url: str, **changes: Any) -> dict[str, Any]:
    """The seed's curl body, with ``changes``."""
    body: dict[str, Any] = {
        "domain_url": domain_url,
        "date": "2026-06-03",
        "memo": "API posted accrual",
        "transactionCurrency": "SGD",
        "reportingCurrency": "SGD",
        "external_id": f"ext-inv-{uuid.uuid4().hex[:8]}",
        "entries": [
            {"account": "5010", "debit": "1000.00", "credit": "0.00", "description": "Rent"},
            {"account": "2100", "debit": "0.00", "credit": "1000.00", "description": "Payable"},
        ],
    }
    body.update(changes)
    return body


async def create(
    client: httpx.AsyncClient, key: str | None, body: Any, **headers: str
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["X-API-Key"] = key
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(PATH, content=content, headers=sent)


async def entries_of(gql: GraphQLClient) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql(ENTRIES))["journalEntries"]["nodes"]
    return nodes


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The seed's envelope with ``status`` in both places, naming ``field`` when given."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "status_code", "message", "errors"}, body
    assert (body["status"], body["status_code"]) == ("error", status)
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body


# ---------------------------------------------------------------- the seed's example


async def test_seed_example_and_its_replay(books: Books, client: httpx.AsyncClient) -> None:
    body = seed_body(books.slug, external_id="ext-inv-00912")
    response = await create(client, books.key, body)

    assert response.status_code == 200, response.text
    answer = response.json()
    (entry,) = await entries_of(books.gql)
    data = answer["data"]
    assert set(data) == {
        "journal_entry_id", "journal_number", "date", "memo", "entry_type",
        "transaction_currency", "transaction_amount", "reporting_currency",
        "reporting_amount", "exchange_rate", "transactions", "bank_reconciliation_id",
        "status", "accrual_date", "external_id", "rate_source", "rate_date",
    }  # fmt: skip
    assert answer == {
        "status": "success",
        "status_code": 200,
        "data": {
            **data,
            "journal_entry_id": f"JE{int(entry['id']):08d}",
            "journal_number": "DEP-2026-06-03-0001",
            "date": "2026-06-03",
            "memo": "API posted accrual",
            "entry_type": "Manual Journal",
            "transaction_currency": "SGD",
            "transaction_amount": "1000.00",
            "reporting_currency": "SGD",
            "reporting_amount": "1000.00",
            "exchange_rate": "1.00000000000",
            "transactions": [
                {
                    "account": "5010",
                    "debit": "1000.00",
                    "credit": "0.00",
                    "description": "Rent",
                    "reporting_debit": "1000.00",
                    "reporting_credit": "0.00",
                },
                {
                    "account": "2100",
                    "debit": "0.00",
                    "credit": "1000.00",
                    "description": "Payable",
                    "reporting_debit": "0.00",
                    "reporting_credit": "1000.00",
                },
            ],
            "bank_reconciliation_id": None,
            "status": "POSTED",
            "accrual_date": None,
            "external_id": "ext-inv-00912",
        },
    }
    assert re.fullmatch(r"JE[0-9]{8}", data["journal_entry_id"])

    replay = await create(client, books.key, body)
    assert replay.status_code == 200, replay.text
    assert replay.json() == answer
    assert len(await entries_of(books.gql)) == 1

    changed = await create(client, books.key, {**body, "memo": "another memo"})
    assert_error(changed, 409)
    assert len(await entries_of(books.gql)) == 1


async def test_bearer_full_domain_and_url_forms(
    db: Database, books: Books, client: httpx.AsyncClient
) -> None:
    domain = f"{books.slug}.example.com"
    await set_tenant_domain(db, books.slug, domain)
    for domain_url in (domain, f"https://{domain}/", books.slug.upper()):
        response = await client.post(
            PATH,
            json=seed_body(domain_url),
            headers={"Authorization": f"Bearer {books.key}"},
        )
        assert response.status_code == 200, (domain_url, response.text)
    assert len(await entries_of(books.gql)) == 3


async def test_numbers_follow_each_other(books: Books, client: httpx.AsyncClient) -> None:
    first = await create(client, books.key, seed_body(books.slug))
    second = await create(client, books.key, seed_body(books.slug))
    numbers = [r.json()["data"]["journal_number"] for r in (first, second)]
    ids = [int(r.json()["data"]["journal_entry_id"][2:]) for r in (first, second)]
    assert numbers == ["DEP-2026-06-03-0001", "DEP-2026-06-03-0002"]
    assert ids[1] > ids[0]


# ---------------------------------------------------------------- who may post where


async def test_foreign_tenant_is_403_and_nothing_is_written(
    db: Database, books: Books, client: httpx.AsyncClient
) -> None:
    other = await books_of(db, client)
    domain = f"{other.slug}.example.com"
    await set_tenant_domain(db, other.slug, domain)

    for domain_url in (other.slug, domain):
        assert_error(await create(client, books.key, seed_body(domain_url)), 403, "domain_url")
    assert await entries_of(other.gql) == []
    assert await entries_of(books.gql) == []


async def test_restricted_key_reaches_only_its_tenant(
    db: Database, client: httpx.AsyncClient
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    first, second = await books_of(db, client, owner), await books_of(db, client, owner)
    restricted = await create_key(db, slug=first.slug, restrict=True)

    assert (await create(client, first.key, seed_body(second.slug))).status_code == 200
    assert_error(await create(client, restricted.key, seed_body(second.slug)), 403)
    assert (await create(client, restricted.key, seed_body(first.slug))).status_code == 200
    assert len(await entries_of(second.gql)) == 1


async def test_read_only_key_is_403(db: Database, books: Books, client: httpx.AsyncClient) -> None:
    reader = await create_key(db, slug=books.slug, read_only=True)
    assert_error(await create(client, reader.key, seed_body(books.slug)), 403)
    assert await entries_of(books.gql) == []


async def test_unknown_tenant_is_404(books: Books, client: httpx.AsyncClient) -> None:
    for domain_url in ("no-such-tenant", "no-such-tenant.example.com"):
        assert_error(await create(client, books.key, seed_body(domain_url)), 404, "domain_url")


@pytest.mark.parametrize("key", [None, "", "lq_nope_nope", "not-a-key"])
async def test_missing_or_bad_key_is_401_whatever_the_body(
    books: Books, client: httpx.AsyncClient, key: str | None
) -> None:
    for body in (seed_body(books.slug), seed_body("no-such-tenant"), {"memo": 1}, b"{not json"):
        response = await create(client, key, body)
        assert_error(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert await entries_of(books.gql) == []


# ---------------------------------------------------------------- validation


def _without(name: str) -> Any:
    def change(body: dict[str, Any]) -> None:
        del body[name]

    return change


def _set(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        target: Any = body
        *steps, last = re.findall(r"\w+", path)
        for step in steps:
            target = target[int(step)] if step.isdigit() else target[step]
        target[int(last) if last.isdigit() else last] = value

    return change


INVALID = [
    *[
        (_without(name), name)
        for name in (
            "domain_url",
            "date",
            "memo",
            "transactionCurrency",
            "reportingCurrency",
            "entries",
        )
    ],
    (_set("memo", "   "), "memo"),
    (_set("memo", None), "memo"),
    (_set("memo", 12), "memo"),
    (_set("transactionCurrency", "XXY"), "transactionCurrency"),
    (_set("transactionCurrency", "sgd"), "transactionCurrency"),
    (_set("reportingCurrency", "US"), "reportingCurrency"),
    (_set("date", "2026-13-01"), "date"),
    (_set("date", "03/06/2026"), "date"),
    (_set("date", "2026-06-03T00:00:00"), "date"),
    (_set("date", 20260603), "date"),
    (_set("accrual_date", "tomorrow"), "accrual_date"),
    (_set("external_id", ""), "external_id"),
    (_set("external_id", 912), "external_id"),
    (_set("domain_url", "acme corp"), "domain_url"),
    (_set("domain_url", "https://acme.example.com/books"), "domain_url"),
    (_set("entries.0.debit", "1e3"), "entries[0].debit"),
    (_set("entries.0.debit", "1,000.00"), "entries[0].debit"),
    (_set("entries.0.debit", "-1000.00"), "entries[0].debit"),
    (_set("entries.0.debit", " 1000.00"), "entries[0].debit"),
    (_set("entries.0.debit", "NaN"), "entries[0].debit"),
    (_set("entries.1.credit", 1000.0), "entries[1].credit"),
    (_set("entries.1.credit", 1000), "entries[1].credit"),
    (_set("entries.0.debit", "1000.001"), "entries[0].debit"),
    (_set("entries.1.credit", "999.00"), "entries"),
    (_set("entries.0.account", "9999"), "entries[0].account"),
    (_set("entries.0.account", " "), "entries[0].account"),
    (_set("entries.0.credit", "5.00"), "entries[0]"),
    (_set("entries.0.debit", "0.00"), "entries[0]"),
    (_set("entries.0.amount", "5.00"), "entries[0].amount"),
    (_set("entries.0", "5010"), "entries[0]"),
    (_set("entries", {"account": "5010"}), "entries"),
    (_set("entries", [{"account": "5010", "debit": "1.00"}]), "entries"),
    (_set("accrualDate", "2026-07-01"), "accrualDate"),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
async def test_invalid_field_is_400_naming_it(
    books: Books, client: httpx.AsyncClient, change: Any, field: str
) -> None:
    body = copy.deepcopy(seed_body(books.slug))
    change(body)
    assert_error(await create(client, books.key, body), 400, field)
    assert await entries_of(books.gql) == []


async def test_every_invalid_field_is_listed(books: Books, client: httpx.AsyncClient) -> None:
    body = seed_body(books.slug, memo="", date="June 3", transactionCurrency="ZZZ")
    error = assert_error(await create(client, books.key, body), 400)
    assert [e["field"] for e in error["errors"]] == ["date", "memo", "transactionCurrency"]


async def test_bodies_that_are_not_json_objects(books: Books, client: httpx.AsyncClient) -> None:
    for raw in (b"{not json", b"[]", b'{"memo": NaN}', b"\xff\xfe", b"[" * 100_000):
        assert_error(await create(client, books.key, raw), 400)
    assert_error(await create(client, books.key, b"x" * (2 << 20)), 413)
    text = await client.post(
        PATH,
        content=json.dumps(seed_body(books.slug)),
        headers={"X-API-Key": books.key, "Content-Type": "text/plain"},
    )
    assert_error(text, 415)
    assert await entries_of(books.gql) == []


@pytest.mark.parametrize(
    ("graphql", "seed"),
    [
        ("lines.1.debit", "entries[1].debit"),
        ("input.lines.0.accountCode", "entries[0].account"),
        ("lines", "entries"),
        ("lines.2", "entries[2]"),
        ("currency", "transactionCurrency"),
        ("reportingCurrency", "reportingCurrency"),
        ("accrualDate", "accrual_date"),
        ("externalId", "external_id"),
        ("input", None),
        (None, None),
    ],
)
def test_graphql_paths_in_the_seeds_names(graphql: str | None, seed: str | None) -> None:
    assert seed_field(graphql) == seed


# ---------------------------------------------------------------- reporting and schedules


async def test_reporting_currency_uses_a_server_side_rate(
    books: Books, client: httpx.AsyncClient
) -> None:
    body = seed_body(books.slug, date="2024-06-03", reportingCurrency="USD")
    response = await create(client, books.key, body)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["reporting_currency"] == "USD"
    assert re.fullmatch(r"[0-9]+\.[0-9]{11}", data["exchange_rate"])
    assert data["exchange_rate"] != "1.00000000000"
    assert data["rate_source"]
    lines = data["transactions"]
    debits = sum(Decimal(line["reporting_debit"]) for line in lines)
    credits = sum(Decimal(line["reporting_credit"]) for line in lines)
    assert debits == credits == Decimal(data["reporting_amount"])
    expected = Decimal("1000.00") * Decimal(data["exchange_rate"])
    assert abs(Decimal(data["reporting_amount"]) - expected) <= Decimal("0.01")


async def test_accrual_is_scheduled_and_moves_no_balance_yet(
    books: Books, client: httpx.AsyncClient
) -> None:
    body = seed_body(books.slug, accrual_date="2199-01-01")
    response = await create(client, books.key, body)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["status"], data["accrual_date"]) == ("SCHEDULED", "2199-01-01")
    balance = await books.gql(BALANCE, {"code": "5010", "currency": "SGD"})
    assert Decimal(balance["account"]["balance"]["debit"]) == 0
    replay = await create(client, books.key, body)
    assert replay.json() == response.json()
