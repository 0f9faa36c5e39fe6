"""``Account.parentCode``: the parent's code, null for a top-level account, whether or not
anything is posted to it; read for a page of accounts in one batch. Through GraphQL, on both
engines."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.helpers import CREATE_ACCOUNT, entry

CHART = [
    ("1000", "Current assets", None),
    ("1010", "Cash", "1000"),
    ("1011", "Till", "1010"),
    ("1030", "Petty cash", "1000"),
    ("2000", "Payables", None),
]
ACCOUNTS = "{ accounts { nodes { code parentCode } } }"
POST = """mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } errors { code message } } }"""


async def test_each_account_gives_its_parents_code(gql: GraphQLClient) -> None:
    for code, name, parent in CHART:
        kind = "LIABILITY" if code.startswith("2") else "ASSET"
        data = {"code": code, "name": name, "type": kind, "parentCode": parent}
        result = await gql(CREATE_ACCOUNT, {"input": data})
        assert result["createAccount"]["errors"] == [], result
    nodes = (await gql(ACCOUNTS))["accounts"]["nodes"]
    assert [(n["code"], n["parentCode"]) for n in nodes] == [(c, p) for c, _, p in CHART]
    one = await gql('{ account(code: "1011") { parentCode } }')
    assert one["account"] == {"parentCode": "1010"}


async def test_the_trial_balance_reports_accounts_carry_it_too(gql: GraphQLClient) -> None:
    for code, name, parent in [CHART[0], CHART[1], CHART[4]]:
        kind = "LIABILITY" if code.startswith("2") else "ASSET"
        data = {"code": code, "name": name, "type": kind, "parentCode": parent}
        assert (await gql(CREATE_ACCOUNT, {"input": data}))["createAccount"]["errors"] == []
    result = await gql(POST, {"input": entry("1010", "2000", "3.00")})
    assert result["postJournalEntry"]["errors"] == [], result
    report = await gql("{ trialBalanceReport { rows { account { code parentCode } } } }")
    assert [r["account"] for r in report["trialBalanceReport"]["rows"]] == [
        {"code": "1000", "parentCode": None},
        {"code": "1010", "parentCode": "1000"},
        {"code": "2000", "parentCode": None},
    ]
