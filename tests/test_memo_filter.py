"""``journalEntries(memoContains:)``: the entries whose memo holds the text, in any case, with
% and _ matching themselves, combined with the other filters and paged by cursor; longer
than 200 characters is BAD_USER_INPUT on memoContains. Through GraphQL, on both engines."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry
from tests.test_bad_input import assert_bad, top_level_error

CHART = [("1000", "Cash", "ASSET"), ("4000", "Revenue", "INCOME"), ("5000", "Rent", "EXPENSE")]
POST = """mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } errors { code message } } }"""
FIND = """query($text: String, $from: Date, $account: String, $first: Int!, $after: String) {
  journalEntries(memoContains: $text, from: $from, accountCode: $account, first: $first,
      after: $after, order: ID) { nodes { memo } pageInfo { hasNextPage endCursor } } }"""
MEMOS = [
    ("Invoice 42 paid", "1000", "4000", "2026-01-10"),
    ("INVOICE 43 paid", "1000", "4000", "2026-02-10"),
    ("Rent for invoice-less month", "5000", "1000", "2026-02-11"),
    ("Discount 10% off", "1000", "4000", "2026-03-01"),
    ("Discount 100 off", "1000", "4000", "2026-03-02"),
    ("code a_b", "1000", "4000", "2026-03-03"),
    ("code axb", "1000", "4000", "2026-03-04"),
]


async def memos(
    gql: GraphQLClient,
    text: str | None,
    first: int = 100,
    *,
    date_from: str | None = None,
    account: str | None = None,
) -> list[str]:
    """The memos of every match, page by page of ``first``."""
    found: list[str] = []
    after = None
    while True:
        variables = {"text": text, "first": first, "after": after}
        variables |= {"from": date_from, "account": account}
        page = (await gql(FIND, variables))["journalEntries"]
        found += [node["memo"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def seed(gql: GraphQLClient) -> None:
    await create_accounts(gql, CHART)
    for memo, debit, credit, date in MEMOS:
        result = await gql(POST, {"input": entry(debit, credit, "1.00", memo=memo, date=date)})
        assert result["postJournalEntry"]["errors"] == [], result


async def test_memo_contains_matches_in_any_case(gql: GraphQLClient) -> None:
    await seed(gql)
    expected = ["Invoice 42 paid", "INVOICE 43 paid", "Rent for invoice-less month"]
    assert await memos(gql, "invoice") == expected
    assert await memos(gql, "iNvOiCe 4") == expected[:2]
    assert await memos(gql, "invoice", first=1) == expected  # paged by cursor
    assert await memos(gql, "nothing like it") == []


async def test_wildcards_match_themselves(gql: GraphQLClient) -> None:
    await seed(gql)
    assert await memos(gql, "10%") == ["Discount 10% off"]
    assert await memos(gql, "%") == ["Discount 10% off"]
    assert await memos(gql, "a_b") == ["code a_b"]
    assert await memos(gql, "\\") == []


async def test_memo_contains_combines_with_the_other_filters(gql: GraphQLClient) -> None:
    await seed(gql)
    assert await memos(gql, "invoice", date_from="2026-02-01") == [
        "INVOICE 43 paid",
        "Rent for invoice-less month",
    ]
    assert await memos(gql, "invoice", account="5000") == ["Rent for invoice-less month"]


async def test_a_text_longer_than_200_characters_is_bad_user_input(gql: GraphQLClient) -> None:
    error = await top_level_error(gql, FIND, {"text": "x" * 201, "first": 10})
    assert_bad(error, "memoContains")
    assert await memos(gql, "x" * 200) == []
