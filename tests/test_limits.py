"""The limits on one request: each abusive document of the audit is refused before it
runs (naming the limit, writing nothing, quickly), real documents pass, verdicts are
cached, and the entries one request may post are bounded whatever its shape."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from graphql import get_introspection_query
from sqlalchemy import func, select

from db.engine import Database
from db.tables import JournalEntry
from graphql_schema import document_limits
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry

# Generous: a shared, noisy machine. Today these documents take 4 to 38 seconds.
FAST_S = 1.0

POST_ONE = "postJournalEntry(input: {input}) {{ entry {{ id }} errors {{ code message }} }}"
POST_LIGHT = "postJournalEntry(input: $input) { replayed }"
LITERAL_ENTRY = (
    '{date: "2026-01-15", memo: "m", lines: [{accountCode: "1000", debit: "1.00"}, '
    '{accountCode: "4000", credit: "1.00"}]}'
)


async def entries_of(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(JournalEntry)
        total = await session.scalar(query.where(JournalEntry.tenant_id == tenant_id))  # type: ignore[arg-type]
    return int(total or 0)


async def refused(
    gql: GraphQLClient, db: Database, tenant: TenantFixture, document: str, limit: str, **kw: Any
) -> dict[str, Any]:
    """Sends ``document``: refused by ``limit``, no data, nothing written, fast."""
    before = await entries_of(db, tenant.id)
    start = time.perf_counter()
    response = await gql.raw(document, kw.get("variables"))
    elapsed = time.perf_counter() - start
    body: dict[str, Any] = response.json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limit": limit}, error
    assert f"LEDGERQL_MAX_{limit.upper()}" in error["message"]
    assert await entries_of(db, tenant.id) == before
    assert elapsed < kw.get("fast_s", FAST_S), f"refused in {elapsed:.2f} s"
    return body


def unique(document: str) -> str:
    """A text never sent before, so no cached verdict answers it."""
    return f"# {uuid.uuid4()}\n{document}"


async def test_4000_aliased_trial_balances_are_refused(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    document = "{" + " ".join(f"a{i}: trialBalance {{ balanced }}" for i in range(4000)) + "}"
    # 4,000 aliases take 45,000 tokens: the token limit stops the parser first.
    # The document is about 150 KB, lexed up to the limit: allow it a little more time.
    await refused(gql, db, tenant, unique(document), "tokens", fast_s=2.0)
    fewer = "{" + " ".join(f"a{i}: trialBalance {{ balanced }}" for i in range(150)) + "}"
    await refused(gql, db, tenant, unique(fewer), "aliases")


async def test_1000_repeated_fields_skip_the_quadratic_validation(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    document = "{" + " trialBalance { balanced }" * 1000 + "}"
    await refused(gql, db, tenant, unique(document), "cost")
    scalars = '{ account(code: "1000") {' + " code" * 1000 + "} }"
    await refused(gql, db, tenant, unique(scalars), "cost")


async def test_600_aliased_post_journal_entry_are_refused(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    literal = (
        "mutation {"
        + " ".join(f"a{i}: " + POST_ONE.format(input=LITERAL_ENTRY) for i in range(600))
        + "}"
    )
    await refused(gql, db, tenant, unique(literal), "tokens")
    with_variables = (
        "mutation($input: PostJournalEntryInput!) {"
        + " ".join(f"a{i}: {POST_LIGHT}" for i in range(600))
        + "}"
    )
    await refused(
        gql,
        db,
        tenant,
        unique(with_variables),
        "aliases",
        variables={"input": entry("1000", "4000", "1.00")},
    )


async def test_1000_aliased_mutations_are_refused_before_execution(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    """graphql-core chains serial mutation fields into nested awaits: 1,000 of them
    passed the recursion limit ("maximum recursion depth exceeded")."""
    document = "mutation {" + " ".join(f"m{i}: __typename" for i in range(1000)) + "}"
    await refused(gql, db, tenant, unique(document), "aliases")
    posts = "mutation {" + " ".join(f"m{i}: {POST_LIGHT}" for i in range(1000)) + "}"
    await refused(gql, db, tenant, unique(posts.replace("$input", LITERAL_ENTRY)), "tokens")


async def test_as_many_aliased_mutations_as_allowed_run(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    count = 100
    document = (
        "mutation($input: PostJournalEntryInput!) {"
        + " ".join(f"m{i}: " + POST_ONE.format(input="$input") for i in range(count))
        + "}"
    )
    before = await entries_of(db, tenant.id)
    data = await gql(document, {"input": entry("1000", "4000", "1.00")})
    assert all(payload["errors"] == [] for payload in data.values())
    assert await entries_of(db, tenant.id) == before + count


async def test_too_deep_and_too_many_tokens_are_refused(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    deep = "{ __schema { types {" + " fields { type {" * 10 + " name" + " } }" * 10 + " } } }"
    await refused(gql, db, tenant, unique(deep), "depth")
    nested = "{" + " a {" * 500 + " b" + " }" * 500 + " }"
    await refused(gql, db, tenant, unique(nested), "depth")
    await refused(gql, db, tenant, unique("{" + " __typename" * 20_000 + " }"), "tokens")


async def test_fragments_cannot_multiply_past_the_limits(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    doubling = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    document = (
        f"query {{ ...F0 }} {doubling} fragment F30 on Query {{ trialBalance {{ balanced }} }}"
    )
    await refused(gql, db, tenant, unique(document), "cost")


async def test_graphiql_introspection_passes(gql: GraphQLClient) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    data = await gql(query)
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_a_large_page_with_balances_passes(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    data = await gql(
        "query($n: Int!) { accounts(first: $n) { nodes { code balances { currency net } }"
        " pageInfo { hasNextPage } } trialBalance { balanced rows { account { code } net } } }",
        {"n": 500},
    )
    assert len(data["accounts"]["nodes"]) == 6


async def test_the_verdict_is_cached_per_document(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    analyse = document_limits.analyse

    def counted(*args: Any) -> Any:
        calls.append(1)
        return analyse(*args)

    monkeypatch.setattr(document_limits, "analyse", counted)
    allowed = unique("{ trialBalance { balanced } }")
    abusive = unique("{" + " __typename" * 1000 + " }")
    for _ in range(3):
        await gql(allowed)
        response = await gql.raw(abusive)
        assert response.json()["errors"][0]["extensions"]["limit"] == "cost"
    assert len(calls) == 2


async def test_one_request_posts_no_more_than_one_batch_call(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    """Two postJournalEntries of 600 entries, or a batch then one more entry, in one
    request: what passes the request's budget of 1,000 entries is refused, unwritten."""
    await create_accounts(gql)
    batch = [entry("1000", "4000", "1.00", memo=f"e{i}") for i in range(600)]
    document = """
    mutation($a: [PostJournalEntryInput!]!, $b: [PostJournalEntryInput!]!,
             $one: PostJournalEntryInput!) {
      a: postJournalEntries(inputs: $a) { entry { id } errors { code message } }
      b: postJournalEntries(inputs: $b) { entry { id } errors { code field message } }
      c: postJournalEntry(input: $one) { entry { id } errors { code field message } }
    }"""
    before = await entries_of(db, tenant.id)
    data = await gql(
        document,
        {"a": batch, "b": batch[:400] + batch[:201], "one": entry("1000", "4000", "2.00")},
    )
    assert all(payload["errors"] == [] for payload in data["a"])
    [b] = data["b"]
    assert b["entry"] is None
    assert b["errors"][0]["code"] == "BAD_USER_INPUT"
    assert "MAX_REQUEST_ENTRIES" in b["errors"][0]["message"]
    # The budget left (400 entries) still takes a single entry.
    assert data["c"]["errors"] == []
    assert await entries_of(db, tenant.id) == before + 601


async def test_one_request_posts_no_more_lines_than_one_batch_call(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    wide = entry("1000", "4000", "1.00")
    wide["lines"] = [{"accountCode": "1000", "debit": "1.00"}] * 500 + [
        {"accountCode": "4000", "credit": "500.00"}
    ]
    document = (
        "mutation($input: PostJournalEntryInput!) {"
        + " ".join(f"m{i}: " + POST_ONE.format(input="$input") for i in range(40))
        + "}"
    )
    before = await entries_of(db, tenant.id)
    data = await gql(document, {"input": wide})
    # 39 entries of 501 lines fit in 20,000 lines; the 40th does not.
    assert [p["errors"] == [] for p in data.values()] == [True] * 39 + [False]
    assert "MAX_REQUEST_LINES" in data["m39"]["errors"][0]["message"]
    assert await entries_of(db, tenant.id) == before + 39
