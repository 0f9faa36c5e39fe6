"""The first path a new user takes: accounts, a balanced entry, a balanced trial balance."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.helpers import TRIAL_BALANCE, create_accounts, entry, post


async def test_post_and_trial_balance(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    result = await post(gql, entry("1000", "3000", "1000.00"))
    assert result["errors"] == []
    assert result["entry"]["lines"][0]["debit"] == "1000.00"
    result = await post(gql, entry("5000", "1000", "250.50"))
    assert result["errors"] == []
    report = (await gql(TRIAL_BALANCE))["trialBalance"]
    assert report["balanced"] is True
    assert report["totals"] == [{"currency": "USD", "debit": "1250.50", "credit": "1250.50"}]
    rows = {row["account"]["code"]: row for row in report["rows"]}
    assert rows["1000"]["net"] == "749.50"
    assert rows["3000"]["net"] == "1000.00"
