"""The pending layers in the trial balances (issue 19, docs/holds.md): pendingDebit,
pendingCredit and available per row (and pending totals), current, read only when
selected; the posted figures stay as they were. Through GraphQL on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from app.ledger import balances
from tests.conftest import GraphQLClient
from tests.helpers import entry
from tests.test_holds import hold, post, post_hold, void_hold

# code, name, type, parent: a wallet under a parent, to see the report's subtrees.
CHART = [
    ("1000", "Cash", "ASSET", None),
    ("2000", "Wallets", "LIABILITY", None),
    ("2100", "Wallet", "LIABILITY", "2000"),
    ("4000", "Revenue", "INCOME", None),
]
CREATE = """mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { code } errors { code field message } } }"""
POSTED = """{ trialBalance { balanced totals { currency debit credit }
  rows { account { code } currency debit credit net } } }"""
LAYERS = """query($asOf: Date) { trialBalance(asOf: $asOf) {
  balanced totals { currency debit credit pendingDebit pendingCredit }
  rows { account { code } currency debit credit net pendingDebit pendingCredit available } } }"""
BALANCE = """query($code: String!) { account(code: $code) {
  balance(currency: "USD") { net pendingDebit pendingCredit available } } }"""
REPORT_POSTED = """query($depth: Int) { trialBalanceReport(depth: $depth) { balanced
  rows { account { code } level currency openingBalance debit credit closingBalance }
  totals { currency openingBalance debit credit closingBalance balanced } } }"""
REPORT = """query($to: Date, $journal: String, $depth: Int) {
  trialBalanceReport(to: $to, journalCode: $journal, depth: $depth) {
    rows { account { code } level closingBalance pendingDebit pendingCredit available }
    totals { currency closingBalance pendingDebit pendingCredit } } }"""


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    """A wallet (credit-normal, under 2000) funded with 100.00."""
    for code, name, kind, parent in CHART:
        account = {"code": code, "name": name, "type": kind, "parentCode": parent}
        data = await gql(CREATE, {"input": account})
        assert data["createAccount"]["errors"] == [], data
    assert (await post(gql, entry("1000", "2100", "100.00")))["errors"] == []
    return gql


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The currency filters of every read of the current balances (the pending layers'
    query), counted."""
    calls: list[str | None] = []
    original = balances.current_balances

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("currency"))
        return await original(*args, **kwargs)

    monkeypatch.setattr(balances, "current_balances", counted)
    return calls


def spend(amount: str) -> dict[str, Any]:
    return entry("2100", "4000", amount, memo="card auth")


async def trial(gql: GraphQLClient, as_of: str | None = None) -> dict[str, Any]:
    report: dict[str, Any] = (await gql(LAYERS, {"asOf": as_of}))["trialBalance"]
    return report


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["account"]["code"]: row for row in rows}


def layers(row: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return row["pendingDebit"], row["pendingCredit"], row["available"]


def posted_part(report: dict[str, Any]) -> dict[str, Any]:
    """The trial balance with its pending fields left out: what POSTED asks."""
    pending = {"pendingDebit", "pendingCredit", "available"}
    return {
        "balanced": report["balanced"],
        "totals": [{k: v for k, v in t.items() if k not in pending} for t in report["totals"]],
        "rows": [{k: v for k, v in r.items() if k not in pending} for r in report["rows"]],
    }


async def test_a_hold_shows_in_the_trial_balance_layers_and_goes_back(
    books: GraphQLClient, reads: list[str | None]
) -> None:
    before = await books(POSTED)
    made = await hold(books, spend("30.00"))
    assert made["errors"] == []

    # Not selected: the same answer as before the hold, and no read of pending amounts.
    assert await books(POSTED) == before
    assert reads == []

    report = await trial(books)
    assert reads == [None]  # one read for every row and total
    assert {"trialBalance": posted_part(report)} == before  # posted figures unchanged
    rows = by_code(report["rows"])
    assert set(rows) == {"1000", "2100"}  # rows stay posted: 4000 only has a pending credit
    assert rows["2100"]["net"] == "100.00"
    assert layers(rows["2100"]) == ("30.00", "0.00", "70.00")
    assert layers(rows["1000"]) == ("0.00", "0.00", "100.00")
    # Totals: every open hold, 4000's pending credit included; a hold balances.
    (usd,) = report["totals"]
    assert (usd["pendingDebit"], usd["pendingCredit"]) == ("30.00", "30.00")
    # The same figures as Balance.
    wallet = (await books(BALANCE, {"code": "2100"}))["account"]["balance"]
    assert (wallet["pendingDebit"], wallet["pendingCredit"], wallet["available"]) == layers(
        rows["2100"]
    )
    reads.clear()  # Balance read them too, through its own loader

    # As of a date, as Balance with asOf: nothing pending, available is the row's net;
    # nothing read.
    past = await trial(books, as_of="2026-12-31")
    assert posted_part(past)["rows"] == posted_part(report)["rows"]
    assert layers(by_code(past["rows"])["2100"]) == ("0.00", "0.00", "100.00")
    assert (past["totals"][0]["pendingDebit"], past["totals"][0]["pendingCredit"]) == (
        "0.00",
        "0.00",
    )
    assert reads == []

    # Captured for 27.50: posted now, the rest released.
    posted = await post_hold(books, made["entry"]["id"], amount="27.50", date="2026-02-01")
    assert posted["errors"] == []
    rows = by_code((await trial(books))["rows"])
    assert (rows["2100"]["net"], *layers(rows["2100"])) == ("72.50", "0.00", "0.00", "72.50")
    assert (rows["4000"]["net"], *layers(rows["4000"])) == ("27.50", "0.00", "0.00", "27.50")

    # Another hold, voided: back to where it was.
    other = await hold(books, spend("10.00"))
    assert other["errors"] == []
    assert layers(by_code((await trial(books))["rows"])["2100"]) == ("10.00", "0.00", "62.50")
    assert (await void_hold(books, other["entry"]["id"]))["errors"] == []
    after = await trial(books)
    assert layers(by_code(after["rows"])["2100"]) == ("0.00", "0.00", "72.50")
    assert (after["totals"][0]["pendingDebit"], after["totals"][0]["pendingCredit"]) == (
        "0.00",
        "0.00",
    )


async def test_the_layers_in_the_hierarchical_trial_balance(
    books: GraphQLClient, reads: list[str | None]
) -> None:
    before = await books(REPORT_POSTED)
    made = await hold(books, spend("30.00"))
    assert made["errors"] == []
    assert await books(REPORT_POSTED) == before  # not selected: unchanged, nothing read
    assert reads == []

    report = (await books(REPORT))["trialBalanceReport"]
    assert reads == [None]
    rows = by_code(report["rows"])
    # Balances are debit - credit here; available is on the normal side, like Balance's.
    assert rows["2100"]["closingBalance"] == "-100.00"
    assert layers(rows["2100"]) == ("30.00", "0.00", "70.00")
    assert (rows["2000"]["level"], *layers(rows["2000"])) == (0, "30.00", "0.00", "70.00")
    assert layers(rows["1000"]) == ("0.00", "0.00", "100.00")
    (usd,) = report["totals"]
    assert (usd["pendingDebit"], usd["pendingCredit"]) == ("30.00", "30.00")
    # Folded into the parent at depth 1: its subtree's layers.
    folded = by_code((await books(REPORT, {"depth": 1}))["trialBalanceReport"]["rows"])
    assert set(folded) == {"1000", "2000"}
    assert layers(folded["2000"]) == ("30.00", "0.00", "70.00")

    # With `to`: nothing pending, available is the closing balance on the normal side.
    dated = (await books(REPORT, {"to": "2026-12-31"}))["trialBalanceReport"]
    assert layers(by_code(dated["rows"])["2000"]) == ("0.00", "0.00", "100.00")
    assert (dated["totals"][0]["pendingDebit"], dated["totals"][0]["pendingCredit"]) == (
        "0.00",
        "0.00",
    )
    # A journal's lines alone have no pending layers.
    journal = (await books(REPORT, {"journal": "GENERAL"}))["trialBalanceReport"]
    assert layers(by_code(journal["rows"])["2100"]) == (None, None, None)
    assert (journal["totals"][0]["pendingDebit"], journal["totals"][0]["pendingCredit"]) == (
        None,
        None,
    )
    assert len(reads) == 2  # the depth-1 report; not the dated nor the journal one

    assert (await void_hold(books, made["entry"]["id"]))["errors"] == []
    rows = by_code((await books(REPORT))["trialBalanceReport"]["rows"])
    assert layers(rows["2000"]) == ("0.00", "0.00", "100.00")
    assert layers(rows["2100"]) == ("0.00", "0.00", "100.00")
    assert await books(REPORT_POSTED) == before
