"""Pennylane journals and ledger accounts: the ids a client discovers, over HTTP and GraphQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.ledger.tenants import create_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts

BASE = "/api/external/v2"
CREATE_JOURNAL = """
mutation($input: CreateJournalInput!) {
  createJournal(input: $input) { journal { id code name type } errors { code field message } }
}"""
JOURNALS = """
query($type: [JournalType!], $ids: [ID!], $first: Int!, $after: String) {
  journals(type: $type, ids: $ids, first: $first, after: $after) {
    nodes { id code type } pageInfo { hasNextPage endCursor }
  }
}"""


def auth(tenant: TenantFixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


def flt(*items: tuple[str, str, Any]) -> dict[str, str]:
    return {"filter": json.dumps([{"field": f, "operator": o, "value": v} for f, o, v in items])}


async def create_journal(
    client: httpx.AsyncClient, tenant: TenantFixture, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{BASE}/journals", json=body, headers=auth(tenant))


async def all_pages(
    client: httpx.AsyncClient, tenant: TenantFixture, path: str, **params: str
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, following next_cursor; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{BASE}/{path}", params=query, headers=auth(tenant))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "has_more", "next_cursor"}
        items += body["items"]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return items, pages
        cursor = body["next_cursor"]


async def test_create_get_and_list_journals(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    created = await create_journal(
        client, tenant, {"code": "VT", "label": "Journal de vente", "type": "sales"}
    )
    assert created.status_code == 201, created.text
    sales = created.json()
    assert sales == {"id": sales["id"], "code": "VT", "label": "Journal de vente", "type": "sales"}
    assert isinstance(sales["id"], int)
    bank = (await create_journal(client, tenant, {"code": "BQ", "label": "Banque"})).json()
    assert bank["type"] == "miscellaneous"

    got = await client.get(f"{BASE}/journals/{sales['id']}", headers=auth(tenant))
    assert got.status_code == 200 and got.json() == sales

    items, _ = await all_pages(client, tenant, "journals")
    # The tenant's GENERAL journal, made with the tenant before types existed: miscellaneous.
    assert [(i["code"], i["type"]) for i in items] == [
        ("GENERAL", "miscellaneous"),
        ("VT", "sales"),
        ("BQ", "miscellaneous"),
    ]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)

    only_sales, _ = await all_pages(client, tenant, "journals", **flt(("type", "eq", "sales")))
    assert only_sales == [sales]
    some, _ = await all_pages(
        client, tenant, "journals", **flt(("type", "in", ["sales", "miscellaneous"]))
    )
    assert len(some) == 3
    by_id, _ = await all_pages(client, tenant, "journals", **flt(("id", "in", [bank["id"]])))
    assert by_id == [bank]
    both, _ = await all_pages(
        client,
        tenant,
        "journals",
        **flt(("id", "in", [bank["id"], sales["id"]]), ("type", "eq", "sales")),
    )
    assert both == [sales]


async def test_journal_post_refusals(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    bad_type = await create_journal(client, tenant, {"code": "X", "label": "X", "type": "cash"})
    assert bad_type.status_code == 422
    assert bad_type.json()["error"] == "unprocessable_entity"
    assert bad_type.json()["details"]["field"] == "type"

    blank = await create_journal(client, tenant, {"code": "X", "label": " "})
    assert blank.status_code == 422
    assert blank.json()["details"] == {"field": "label", "issue": "cannot be blank"}

    unknown = await create_journal(client, tenant, {"code": "X", "label": "X", "name": "X"})
    assert unknown.status_code == 422 and unknown.json()["details"]["field"] == "name"

    assert (
        await create_journal(client, tenant, {"code": "AC", "label": "Achats"})
    ).status_code == 201
    duplicate = await create_journal(client, tenant, {"code": "AC", "label": "Again"})
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "error": "conflict",
        "message": "code: journal AC already exists",
        "details": {"field": "code", "issue": "journal AC already exists"},
    }
    items, _ = await all_pages(client, tenant, "journals")
    assert [i["code"] for i in items] == ["GENERAL", "AC"]


async def test_ledger_accounts_by_id_and_number(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    await create_accounts(gql)
    items, _ = await all_pages(client, tenant, "ledger_accounts")
    assert [i["number"] for i in items] == ["1000", "1100", "2000", "3000", "4000", "5000"]
    cash = items[0]
    assert cash == {
        "id": cash["id"],
        "number": "1000",
        "label": "Cash",
        "type": "ASSET",
        "currency": None,
        "active": True,
    }
    got = await client.get(f"{BASE}/ledger_accounts/{cash['id']}", headers=auth(tenant))
    assert got.status_code == 200 and got.json() == cash

    numbered, _ = await all_pages(
        client, tenant, "ledger_accounts", **flt(("number", "in", ["2000", "5000", "9999"]))
    )
    assert [i["number"] for i in numbered] == ["2000", "5000"]
    one, _ = await all_pages(client, tenant, "ledger_accounts", **flt(("id", "eq", items[3]["id"])))
    assert one == [items[3]]


async def test_pages_have_no_duplicate_and_no_gap(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    chart = [(f"{6000 + i}", f"Account {i}", "EXPENSE") for i in range(25)]
    await create_accounts(gql, chart)
    for i in range(11):
        created = await create_journal(client, tenant, {"code": f"J{i:02}", "label": f"J {i}"})
        assert created.status_code == 201

    accounts, pages = await all_pages(client, tenant, "ledger_accounts", limit="4")
    assert pages == 7
    assert [a["number"] for a in accounts] == [code for code, _, _ in chart]
    journals, pages = await all_pages(client, tenant, "journals", limit="5")
    assert pages == 3
    assert [j["code"] for j in journals] == ["GENERAL", *(f"J{i:02}" for i in range(11))]

    # Rows created between two pages are found on a later page, not missed nor repeated.
    first = (await client.get(f"{BASE}/journals?limit=2", headers=auth(tenant))).json()
    late = (await create_journal(client, tenant, {"code": "LATE", "label": "Late"})).json()
    rest, _ = await all_pages(client, tenant, "journals", limit="100", cursor=first["next_cursor"])
    ids = [j["id"] for j in first["items"] + rest]
    assert len(ids) == len(set(ids)) == 13 and ids[-1] == late["id"]


async def test_foreign_and_missing_ids_are_the_same_404(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient, db: Database
) -> None:
    other = await make_tenant(db)
    theirs = (await create_journal(client, other, {"code": "VT", "label": "Ventes"})).json()
    await create_accounts(GraphQLClient(client, other.key), [("1000", "Cash", "ASSET")])
    their_account = (await client.get(f"{BASE}/ledger_accounts", headers=auth(other))).json()[
        "items"
    ][0]

    for model, path, id_ in [
        ("Journal", "journals", theirs["id"]),
        ("Journal", "journals", 999_999_999),
        ("Journal", "journals", "abc"),
        ("LedgerAccount", "ledger_accounts", their_account["id"]),
        ("LedgerAccount", "ledger_accounts", 999_999_999),
    ]:
        response = await client.get(f"{BASE}/{path}/{id_}", headers=auth(tenant))
        assert response.status_code == 404, (path, id_)
        assert response.json() == {
            "error": "not_found",
            "message": f"Couldn't find {model} with 'id'={id_}",
        }
    listed, _ = await all_pages(client, tenant, "journals", **flt(("id", "eq", theirs["id"])))
    assert listed == []


@pytest.mark.parametrize("path", ["journals", "journals/1", "ledger_accounts", "ledger_accounts/1"])
async def test_without_a_key_401(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{BASE}/{path}")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("journals", {"filter": "not json"}, "filter"),
        ("journals", flt(("label", "eq", "x")), "filter[0].field"),
        ("journals", flt(("type", "gt", "sales")), "filter[0].operator"),
        ("journals", flt(("type", "eq", "cash")), "filter[0].value"),
        ("journals", flt(("id", "in", 3)), "filter[0].value"),
        ("journals", flt(("id", "eq", -3)), "filter[0].value"),
        ("journals", {"limit": "101"}, "limit"),
        ("journals", {"cursor": "bm9wZQ=="}, "cursor"),
        ("journals", {"sort": "-id"}, "sort"),
        ("ledger_accounts", flt(("number", "eq", 1000)), "filter[0].value"),
        ("ledger_accounts", {"cursor": "garbage!"}, "cursor"),
    ],
)
async def test_bad_list_parameters_422(
    client: httpx.AsyncClient, tenant: TenantFixture, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(f"{BASE}/{path}", params=params, headers=auth(tenant))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "unprocessable_entity"
    assert body["details"]["field"] == field
    assert set(body) == {"error", "message", "details"}


async def test_graphql_journals_with_types_and_ids(gql: GraphQLClient) -> None:
    made = []
    for code, kind in [("VT", "SALES"), ("HA", "PURCHASES"), ("BQ", "BANK")]:
        payload = (
            await gql(CREATE_JOURNAL, {"input": {"code": code, "name": code, "type": kind}})
        )["createJournal"]
        assert payload["errors"] == []
        made.append(payload["journal"])
    assert made[0]["type"] == "SALES" and made[0]["id"].isdigit()

    one = await gql("query($id: ID!) { journal(id: $id) { code type } }", {"id": made[2]["id"]})
    assert one["journal"] == {"code": "BQ", "type": "BANK"}
    missing = await gql("{ journal(id: 999999999) { code } }")
    assert missing["journal"] is None

    listed = (await gql(JOURNALS, {"type": ["SALES", "BANK"], "first": 1}))["journals"]
    assert [n["code"] for n in listed["nodes"]] == ["VT"] and listed["pageInfo"]["hasNextPage"]
    after = listed["pageInfo"]["endCursor"]
    rest = await gql(JOURNALS, {"type": ["SALES", "BANK"], "first": 5, "after": after})
    assert [n["code"] for n in rest["journals"]["nodes"]] == ["BQ"]
    # A single value for the list argument is a list of one (GraphQL input coercion).
    single = await gql("{ journals(type: PAYROLL) { nodes { code } } }")
    assert single["journals"]["nodes"] == []
    by_ids = (await gql(JOURNALS, {"ids": [made[1]["id"]], "first": 10}))["journals"]["nodes"]
    assert by_ids == [{"id": made[1]["id"], "code": "HA", "type": "PURCHASES"}]


async def test_graphql_accounts_by_id(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    by_code = await gql('{ account(code: "2000") { id code } }')
    account_id = by_code["account"]["id"]
    assert (await gql("query($id: ID!) { account(id: $id) { code } }", {"id": account_id}))[
        "account"
    ] == {"code": "2000"}
    both = await gql.raw('{ account(code: "2000", id: 1) { code } }')
    assert both.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    page = await gql(
        "{ accounts(orderBy: ID, first: 4) { nodes { code } pageInfo { endCursor } } }"
    )
    cursor = page["accounts"]["pageInfo"]["endCursor"]
    rest = await gql(
        "query($after: String) { accounts(orderBy: ID, after: $after) { nodes { code } } }",
        {"after": cursor},
    )
    assert len(page["accounts"]["nodes"]) + len(rest["accounts"]["nodes"]) == 6
    # A cursor of the id order is no good for the code order, nor the reverse.
    wrong = await gql.raw(
        "query($after: String) { accounts(after: $after) { nodes { code } } }", {"after": cursor}
    )
    assert wrong.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    codes = await gql('{ accounts(codes: ["5000", "1000"]) { nodes { code } } }')
    assert [n["code"] for n in codes["accounts"]["nodes"]] == ["1000", "5000"]


async def test_graphql_create_journal_refuses_an_unknown_type(gql: GraphQLClient) -> None:
    response = await gql.raw(CREATE_JOURNAL, {"input": {"code": "X", "name": "X", "type": "cash"}})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.type"


async def test_read_only_key_reads_but_cannot_create(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    reader = await create_key(db, slug=tenant.slug, read_only=True)
    headers = {"Authorization": f"Bearer {reader.key}"}
    refused = await client.post(
        f"{BASE}/journals", json={"code": "VT", "label": "Ventes"}, headers=headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden"
    listed = await client.get(f"{BASE}/journals", headers=headers)
    assert [j["code"] for j in listed.json()["items"]] == ["GENERAL"]
