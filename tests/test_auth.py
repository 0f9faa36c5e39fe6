"""Authentication and tenancy on /graphql: keys, X-Tenant, read-only, isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.ledger.tenants import create_key, create_tenant, revoke_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import TRIAL_BALANCE, create_accounts, entry, post

QUERY = {"query": "{ accounts { nodes { code } } }"}


async def test_missing_unknown_and_malformed_keys_are_401(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer lq_000000000000_nope"},
        {"Authorization": "Bearer garbage"},
        {"X-API-Key": tenant.key[:-2] + "xx"},
    ):
        response = await client.post("/graphql", json=QUERY, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_both_header_forms_work(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    for headers in ({"Authorization": f"Bearer {tenant.key}"}, {"X-API-Key": tenant.key}):
        response = await client.post("/graphql", json=QUERY, headers=headers)
        assert response.status_code == 200
        assert response.json() == {"data": {"accounts": {"nodes": []}}}


async def test_revoked_key_is_401(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await revoke_key(db, tenant.key_id)
    response = await client.post("/graphql", json=QUERY, headers={"X-API-Key": tenant.key})
    assert response.status_code == 401


async def test_other_tenant_sees_nothing(db: Database, client: httpx.AsyncClient) -> None:
    alice, bob = await make_tenant(db), await make_tenant(db)
    alice_gql, bob_gql = GraphQLClient(client, alice.key), GraphQLClient(client, bob.key)
    await create_accounts(alice_gql)
    posted = await post(alice_gql, entry("1000", "4000", "9.00"))
    entry_id = posted["entry"]["id"]
    assert (await bob_gql("{ accounts { nodes { code } } }"))["accounts"]["nodes"] == []
    assert (await bob_gql(f'{{ journalEntry(id: "{entry_id}") {{ id }} }}'))["journalEntry"] is None
    assert (await bob_gql(TRIAL_BALANCE))["trialBalance"]["rows"] == []
    reversed_ = await bob_gql(
        f'mutation {{ reverseJournalEntry(id: "{entry_id}") {{ entry {{ id }} errors {{ code }} }} }}'
    )
    assert reversed_["reverseJournalEntry"]["errors"][0]["code"] == "NOT_FOUND"
    # Bob cannot post to Alice's accounts either: they do not exist for him.
    stolen = await post(bob_gql, entry("1000", "4000", "1.00"))
    assert stolen["errors"][0]["field"] == "lines.0.accountCode"
    # Nor select Alice's tenant with X-Tenant.
    response = await client.post(
        "/graphql", json=QUERY, headers={"X-API-Key": bob.key, "X-Tenant": alice.slug}
    )
    assert response.status_code == 403


async def test_x_tenant_selects_among_owned_tenants(
    db: Database, client: httpx.AsyncClient
) -> None:
    owner = f"owner-{id(client)}-{db.dialect}"
    first = await make_tenant(db, owner=owner)
    second = await make_tenant(db, owner=owner, currency="EUR")
    both = {"X-API-Key": first.key}
    ambiguous = await client.post("/graphql", json=QUERY, headers=both)
    assert ambiguous.status_code == 400
    assert "X-Tenant" in ambiguous.json()["errors"][0]["message"]
    response = await client.post(
        "/graphql",
        json={
            "query": 'mutation { createAccount(input: {code: "1", name: "a", type: ASSET}) { errors { code } } }'
        },
        headers={**both, "X-Tenant": second.slug},
    )
    assert response.json()["data"]["createAccount"]["errors"] == []
    listed = await client.post("/graphql", json=QUERY, headers={**both, "X-Tenant": second.slug})
    assert listed.json()["data"]["accounts"]["nodes"] == [{"code": "1"}]
    listed = await client.post("/graphql", json=QUERY, headers={**both, "X-Tenant": first.slug})
    assert listed.json()["data"]["accounts"]["nodes"] == []
    restricted = await create_key(db, slug=first.slug, restrict=True)
    only_first = await client.post("/graphql", json=QUERY, headers={"X-API-Key": restricted.key})
    assert only_first.status_code == 200
    refused = await client.post(
        "/graphql", json=QUERY, headers={"X-API-Key": restricted.key, "X-Tenant": second.slug}
    )
    assert refused.status_code == 403


async def test_read_only_key_cannot_write(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    reader = await create_key(db, slug=tenant.slug, read_only=True)
    gql = GraphQLClient(client, reader.key)
    data = await gql(
        'mutation { createAccount(input: {code: "1", name: "a", type: ASSET}) { account { id } errors { code } } }'
    )
    assert data["createAccount"] == {"account": None, "errors": [{"code": "FORBIDDEN"}]}
    assert (await gql("{ accounts { nodes { code } } }"))["accounts"]["nodes"] == []


async def test_graphiql_page_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_duplicate_tenant_slug_is_a_conflict(db: Database, tenant: TenantFixture) -> None:
    from app.ledger.errors import Conflict

    with pytest.raises(Conflict):
        await create_tenant(db, slug=tenant.slug, name="again", currency="USD")


async def test_oversized_body_is_413(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    from app.http.graphql_endpoint import MAX_BODY_BYTES

    padding = "#" + "x" * (MAX_BODY_BYTES + 10) + "\n"
    headers = {"X-API-Key": tenant.key, "content-type": "application/json"}
    body = (
        '{"query": "' + padding.replace("\n", "\\n") + '{ accounts { nodes { code } } }"}'
    ).encode()
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: the cap counts the streamed bytes
        for _ in range(9):
            yield b" " * (1 << 20)

    streamed = await client.post("/graphql", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    fine = await client.post(
        "/graphql", json={"query": "{ accounts { nodes { code } } }"}, headers=headers
    )
    assert fine.status_code == 200


async def test_concurrent_tenant_creation_with_one_slug_makes_one(db: Database) -> None:
    import asyncio
    import uuid

    from app.ledger.errors import Conflict

    slug = f"race-{uuid.uuid4().hex[:8]}"
    outcomes = await asyncio.gather(
        *(create_tenant(db, slug=slug, name="Race", currency="EUR") for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))
