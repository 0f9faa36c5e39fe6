"""Tenants named by domain: settings, resolution of domain_url, and who may reach what."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from click.testing import CliRunner

from app.cli.main import main
from app.ledger.errors import BadInput, Conflict, Forbidden, NotFound, Unauthenticated
from app.ledger.tenants import (
    authenticate_domain,
    check_domain,
    check_journal_prefix,
    create_key,
    domain_host,
    get_tenant,
    resolve_domain,
    revoke_key,
    set_journal_prefix,
    set_tenant_domain,
)
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts, entry, post

TENANT = "{ tenant { slug name baseCurrency domain journalPrefix lockDate } }"
UPDATE = """
mutation($input: UpdateTenantInput!) {
  updateTenant(input: $input) {
    tenant { slug domain journalPrefix }
    errors { code field message }
  }
}"""


def _domain() -> str:
    return f"d{uuid.uuid4().hex[:10]}.example.com"


# ---------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("acme-corp.example.com", "acme-corp.example.com"),
        ("ACME-Corp.Example.COM", "acme-corp.example.com"),
        ("acme-corp.example.com.", "acme-corp.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a." + "b" * 63 + ".co", "a." + "b" * 63 + ".co"),
    ],
)
def test_domains_are_stored_lower_case(given: str, stored: str) -> None:
    assert check_domain(given) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "acme-corp",  # a slug, not a full domain
        "",
        "-acme.example.com",
        "acme-.example.com",
        "acme..example.com",
        "acme_corp.example.com",
        "b" * 64 + ".example.com",
        ".".join(["abcdefghi"] * 26),  # 259 characters
        "10.0.0.1",
        "bücher.example",
        "https://acme-corp.example.com/",
        "acme-corp.example.com:8443",
        "acme corp.example.com",
    ],
)
def test_what_is_not_a_domain_is_refused(bad: str) -> None:
    with pytest.raises(BadInput) as refused:
        check_domain(bad)
    assert refused.value.field == "domain"


@pytest.mark.parametrize(
    ("domain_url", "host"),
    [
        ("acme-corp", "acme-corp"),
        ("Acme-Corp", "acme-corp"),
        ("acme-corp.example.com", "acme-corp.example.com"),
        ("https://acme-corp.example.com/", "acme-corp.example.com"),
        ("http://acme-corp.example.com", "acme-corp.example.com"),
    ],
)
def test_domain_url_forms(domain_url: str, host: str) -> None:
    assert domain_host(domain_url) == host


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "  ",
        "acme corp",
        "https://acme-corp.example.com/books",
        "https://acme-corp.example.com:8443/",
        "https://user@acme-corp.example.com/",
        "https://acme-corp.example.com/?tenant=x",
        "ftp://acme-corp.example.com/",
        "acme-corp.example.com/",
    ],
)
def test_bad_domain_urls_name_the_field(bad: str) -> None:
    with pytest.raises(BadInput) as refused:
        domain_host(bad)
    assert refused.value.field == "domain_url"


@pytest.mark.parametrize(
    ("given", "stored"), [("DEP", "DEP"), ("dep", "DEP"), ("A1" * 10, "A1" * 10)]
)
def test_journal_prefixes(given: str, stored: str) -> None:
    assert check_journal_prefix(given) == stored


@pytest.mark.parametrize("bad", ["", "DE-P", "DÉP", "A" * 21, "J E"])
def test_bad_journal_prefixes(bad: str) -> None:
    with pytest.raises(BadInput):
        check_journal_prefix(bad)


# ---------------------------------------------------------------- settings


async def test_a_domain_is_recorded_cleared_and_unique(db: Database) -> None:
    first, second = await make_tenant(db), await make_tenant(db)
    domain = _domain()

    assert (await set_tenant_domain(db, first.slug, domain.upper())).domain == domain
    with pytest.raises(Conflict):
        await set_tenant_domain(db, second.slug, domain)
    assert (await get_tenant(db, second.id)).domain is None
    assert (await set_tenant_domain(db, first.slug, None)).domain is None
    assert (await set_tenant_domain(db, second.slug, domain)).domain == domain
    with pytest.raises(NotFound):
        await set_tenant_domain(db, "no-such-tenant", _domain())


async def test_concurrent_claims_of_one_domain_make_one_owner(db: Database) -> None:
    tenants = [await make_tenant(db) for _ in range(4)]
    domain = _domain()
    results = await asyncio.gather(
        *(set_tenant_domain(db, t.slug, domain) for t in tenants), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_the_prefix_numbers_new_entries(db: Database, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(db)
    gql = GraphQLClient(client, tenant.key)
    await create_accounts(gql)
    before = await post(gql, entry("1000", "3000", "1.00", date="2026-06-03"))

    assert (await set_journal_prefix(db, tenant.slug, "dep")).journal_prefix == "DEP"
    after = await post(gql, entry("1000", "3000", "1.00", date="2026-06-03"))

    assert before["entry"]["number"] == "JE-2026-06-03-0001"
    assert after["entry"]["number"] == "DEP-2026-06-03-0002"


# ---------------------------------------------------------------- resolution and access


async def test_resolve_by_slug_domain_and_first_label(db: Database) -> None:
    plain, recorded, other = await make_tenant(db), await make_tenant(db), await make_tenant(db)
    domain = _domain()
    await set_tenant_domain(db, recorded.slug, domain)

    assert await resolve_domain(db, plain.slug) == plain.slug
    assert await resolve_domain(db, f"https://{domain}/") == recorded.slug
    assert await resolve_domain(db, f"{plain.slug}.example.com") == plain.slug
    # A tenant that records its domain is reached by that domain, not by another one.
    assert await resolve_domain(db, f"{recorded.slug}.example.com") is None
    assert await resolve_domain(db, "nobody.example.com") is None
    # A recorded domain wins over a first label naming another tenant.
    await set_tenant_domain(db, other.slug, f"{plain.slug}.example.org")
    assert await resolve_domain(db, f"{plain.slug}.example.org") == other.slug


async def test_owner_reaches_its_tenants_by_slug_and_domain(db: Database) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    first, second = await make_tenant(db, owner=owner), await make_tenant(db, owner=owner)
    domain = _domain()
    await set_tenant_domain(db, second.slug, domain)

    # One key of the owner reaches both, each named by the body (no X-Tenant).
    assert (await authenticate_domain(db, first.key, first.slug)).tenant_id == first.id
    assert (await authenticate_domain(db, first.key, domain)).tenant_id == second.id
    assert (await authenticate_domain(db, first.key, domain.upper())).tenant_id == second.id


async def test_foreign_restricted_unknown_and_bad_keys(db: Database) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    mine, also_mine = await make_tenant(db, owner=owner), await make_tenant(db, owner=owner)
    foreign, foreign_plain = await make_tenant(db), await make_tenant(db)
    foreign_domain = _domain()
    await set_tenant_domain(db, foreign.slug, foreign_domain)
    restricted = await create_key(db, slug=mine.slug, restrict=True)

    for name in (foreign.slug, foreign_domain, f"{foreign_plain.slug}.example.net"):
        with pytest.raises(Forbidden):
            await authenticate_domain(db, mine.key, name)
    with pytest.raises(Forbidden):
        await authenticate_domain(db, restricted.key, also_mine.slug)
    assert (await authenticate_domain(db, restricted.key, mine.slug)).tenant_id == mine.id
    for unknown in ("no-such-tenant", "no-such-tenant.example.com"):
        with pytest.raises(NotFound):
            await authenticate_domain(db, mine.key, unknown)
    # A bad key learns nothing about tenants: 401 whatever it names.
    for name in (mine.slug, foreign.slug, "no-such-tenant", "not a domain"):
        with pytest.raises(Unauthenticated):
            await authenticate_domain(db, "lq_nope_nope", name)
    await revoke_key(db, restricted.key_id)
    with pytest.raises(Unauthenticated):
        await authenticate_domain(db, restricted.key, mine.slug)


# ---------------------------------------------------------------- GraphQL


async def test_tenant_query_and_update(gql: GraphQLClient, tenant: TenantFixture) -> None:
    domain = _domain()
    data = await gql(UPDATE, {"input": {"domain": domain.upper(), "journalPrefix": "dep"}})
    assert data["updateTenant"] == {
        "tenant": {"slug": tenant.slug, "domain": domain, "journalPrefix": "DEP"},
        "errors": [],
    }
    assert (await gql(TENANT))["tenant"] == {
        "slug": tenant.slug,
        "name": f"Tenant {tenant.slug}",
        "baseCurrency": "USD",
        "domain": domain,
        "journalPrefix": "DEP",
        "lockDate": None,
    }
    # Omitted fields are kept; null clears the domain.
    data = await gql(UPDATE, {"input": {"domain": None}})
    assert data["updateTenant"]["tenant"] == {
        "slug": tenant.slug,
        "domain": None,
        "journalPrefix": "DEP",
    }


async def test_update_is_all_or_nothing(db: Database, client: httpx.AsyncClient) -> None:
    taken = await make_tenant(db)
    domain = _domain()
    await set_tenant_domain(db, taken.slug, domain)
    tenant = await make_tenant(db)
    gql = GraphQLClient(client, tenant.key)

    conflict = await gql(UPDATE, {"input": {"domain": domain, "journalPrefix": "NEW"}})
    bad = await gql(UPDATE, {"input": {"domain": "not-a-domain", "journalPrefix": "NEW"}})
    null_prefix = await gql(UPDATE, {"input": {"journalPrefix": None}})

    assert conflict["updateTenant"]["errors"][0]["code"] == "CONFLICT"
    assert bad["updateTenant"]["errors"] == [
        {
            "code": "BAD_USER_INPUT",
            "field": "domain",
            "message": bad["updateTenant"]["errors"][0]["message"],
        }
    ]
    assert null_prefix["updateTenant"]["errors"][0]["field"] == "journalPrefix"
    view = await get_tenant(db, tenant.id)
    assert (view.domain, view.journal_prefix) == (None, "JE")


async def test_read_only_key_cannot_update(db: Database, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(db)
    reader = await create_key(db, slug=tenant.slug, read_only=True)
    data = await GraphQLClient(client, reader.key)(UPDATE, {"input": {"journalPrefix": "RO"}})
    assert data["updateTenant"]["errors"][0]["code"] == "FORBIDDEN"
    assert (await get_tenant(db, tenant.id)).journal_prefix == "JE"


# ---------------------------------------------------------------- CLI


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    return result.exit_code, result.output


async def test_cli_set_domain_clear_and_prefix(db_url: str, db: Database) -> None:
    tenant = await make_tenant(db)
    domain = _domain()

    code, output = await asyncio.to_thread(
        _cli, db_url, "tenant", "set-domain", "--tenant", tenant.slug, domain
    )
    assert (code, output.strip()) == (0, f"domain of {tenant.slug}: {domain}")
    code, output = await asyncio.to_thread(
        _cli, db_url, "tenant", "set-prefix", "--tenant", tenant.slug, "dep"
    )
    assert (code, output.strip()) == (0, f"journal prefix of {tenant.slug}: DEP")
    view = await get_tenant(db, tenant.id)
    assert (view.domain, view.journal_prefix) == (domain, "DEP")

    code, output = await asyncio.to_thread(
        _cli, db_url, "tenant", "set-domain", "--tenant", tenant.slug, "--clear"
    )
    assert (code, output.strip()) == (0, f"domain of {tenant.slug}: none")
    assert (await get_tenant(db, tenant.id)).domain is None

    for args in (
        ("set-domain", "--tenant", tenant.slug),
        ("set-domain", "--tenant", tenant.slug, domain, "--clear"),
    ):
        code, _ = await asyncio.to_thread(_cli, db_url, "tenant", *args)
        assert code == 2  # usage error
    code, output = await asyncio.to_thread(
        _cli, db_url, "tenant", "set-prefix", "--tenant", tenant.slug, "D-P"
    )
    assert code == 1 and "journal prefix" in output
