"""Valued statements: END and THEN valuation, the rates used, the unrealised difference.

A small USD and EUR ledger with tenant USD->EUR rates of 0.9 (from 2026-01-01) and 0.8
(from 2026-02-01); every expected figure is worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.ledger import fx
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry, post

SHEET = """
query($asOf: Date, $currency: String, $valuation: ValuationInput) {
  balanceSheet(asOf: $asOf, currency: $currency, valuation: $valuation) {
    currency
    assets { total groups { rows { account { code } amount } } }
    liabilities { total }
    equity { total }
    currentEarnings
    difference
    valuation {
      currency method rule unrealisedDifference
      rates { base quote date rate source }
    }
  }
}"""

INCOME = """
query($from: Date!, $to: Date!, $compare: StatementCompare, $valuation: ValuationInput) {
  incomeStatement(from: $from, to: $to, compare: $compare, valuation: $valuation) {
    currency
    income { totals }
    expenses { totals }
    netIncome
    valuation { currency method rates { date rate } unrealisedDifference }
  }
}"""

RATES = [
    {"base": "USD", "quote": "EUR", "date": "2026-01-01", "rate": "0.9", "source": "tenant"},
    {"base": "USD", "quote": "EUR", "date": "2026-02-01", "rate": "0.8", "source": "tenant"},
]


async def _ledger(gql: GraphQLClient, db: Database, tenant: TenantFixture) -> None:
    await create_accounts(gql)  # 1000 cash, 2000 payables, 3000 equity, 4000 sales, 5000 rent
    await fx.set_rate(db, tenant.id, "USD", "EUR", dt.date(2026, 1, 1), "0.9")
    await fx.set_rate(db, tenant.id, "USD", "EUR", dt.date(2026, 2, 1), "0.8")
    for item in (
        entry("1000", "3000", "100.00", date="2026-01-10", currency="USD"),
        entry("1000", "2000", "10.00", date="2026-01-15", currency="USD"),
        entry("1000", "4000", "50.00", date="2026-01-20", currency="USD"),
        entry("5000", "1000", "20.00", date="2026-02-10", currency="USD"),
        entry("1000", "2000", "30.00", date="2026-02-15", currency="EUR"),
    ):
        assert (await post(gql, item))["errors"] == []


async def _valued(gql: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    data = await gql(query, variables)
    *native, valued = next(iter(data.values()))
    assert all(report["valuation"] is None for report in native)
    assert valued["valuation"] is not None
    result: dict[str, Any] = valued
    return result


async def test_balance_sheet_end_then_and_unrealised_difference(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await _ledger(gql, db, tenant)
    as_of = "2026-02-28"

    # END, everything at 0.8. Cash: 140 USD -> 112 + 30 EUR = 142; payables 10 USD -> 8
    # + 30 = 38; equity 100 USD -> 80; earnings (50 - 20) USD -> 40 - 16 = 24.
    end = await _valued(
        gql, SHEET, {"asOf": as_of, "valuation": {"currency": "EUR", "method": "END"}}
    )
    assert end["currency"] == "EUR"
    assert (end["assets"]["total"], end["liabilities"]["total"]) == ("142.00", "38.00")
    assert (end["equity"]["total"], end["currentEarnings"]) == ("80.00", "24.00")
    assert end["difference"] == "0.00"

    # THEN: cash 100*0.9 + 10*0.9 + 50*0.9 - 20*0.8 = 128, + 30 EUR = 158; payables
    # 9 + 30 = 39; equity 90; earnings 45 - 16 = 29.
    then = await _valued(
        gql, SHEET, {"asOf": as_of, "valuation": {"currency": "EUR", "method": "THEN"}}
    )
    assert (then["assets"]["total"], then["liabilities"]["total"]) == ("158.00", "39.00")
    assert (then["equity"]["total"], then["currentEarnings"]) == ("90.00", "29.00")
    assert then["difference"] == "0.00"

    # Unrealised: (assets - liabilities) END - THEN = (142 - 38) - (158 - 39) = -15, i.e.
    # the 130 USD net monetary balance at 0.8 (104) against its history (119).
    for sheet in (end, then):
        assert sheet["valuation"]["unrealisedDifference"] == "-15.00"
        assert sheet["valuation"]["rates"] == RATES
    assert end["valuation"]["method"] == "END" and "report date" in end["valuation"]["rule"]
    assert then["valuation"]["method"] == "THEN" and "day" in then["valuation"]["rule"]

    # Before the second rate, END and THEN agree: no unrealised difference.
    jan = await _valued(
        gql, SHEET, {"asOf": "2026-01-31", "valuation": {"currency": "EUR", "method": "END"}}
    )
    assert jan["assets"]["total"] == "144.00"  # 160 USD * 0.9
    assert jan["valuation"]["unrealisedDifference"] == "0.00"


async def test_income_statement_end_and_then(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await _ledger(gql, db, tenant)
    period = {"from": "2026-01-01", "to": "2026-02-28"}
    end = await _valued(gql, INCOME, {**period, "valuation": {"currency": "EUR", "method": "END"}})
    # Sales 50 USD and rent 20 USD, both at the 0.8 of 2026-02-28.
    assert (end["income"]["totals"], end["expenses"]["totals"]) == (["40.00"], ["16.00"])
    assert end["netIncome"] == ["24.00"]
    assert end["valuation"]["rates"] == [{"date": "2026-02-01", "rate": "0.8"}]
    assert end["valuation"]["unrealisedDifference"] is None

    then = await _valued(
        gql, INCOME, {**period, "valuation": {"currency": "EUR", "method": "THEN"}}
    )
    # Sales on 2026-01-20 at 0.9, rent on 2026-02-10 at 0.8.
    assert (then["income"]["totals"], then["expenses"]["totals"]) == (["45.00"], ["16.00"])
    assert then["netIncome"] == ["29.00"]

    monthly = await _valued(
        gql,
        INCOME,
        {**period, "compare": "MONTHLY", "valuation": {"currency": "EUR", "method": "END"}},
    )
    # Each column at the rate of its own end: January 0.9, February 0.8.
    assert monthly["netIncome"] == ["45.00", "-16.00"]


async def test_same_currency_is_identity(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await _ledger(gql, db, tenant)
    for method in ("END", "THEN"):
        (native, valued) = (
            await gql(
                SHEET,
                {"currency": "USD", "valuation": {"currency": "USD", "method": method}},
            )
        )["balanceSheet"]
        assert valued["valuation"]["rates"] == []
        assert valued["valuation"]["unrealisedDifference"] == "0.00"
        for field in ("assets", "liabilities", "equity"):
            assert valued[field]["total"] == native[field]["total"]
        assert valued["currentEarnings"] == native["currentEarnings"] == "30.00"
        assert valued["assets"]["groups"] == native["assets"]["groups"]


async def test_half_even_to_the_minor_unit(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    await fx.set_rate(db, tenant.id, "USD", "EUR", dt.date(2026, 1, 1), "0.5")
    # 0.05 USD on each of two days; at 0.5 each is 0.025 EUR: half-even 0.02 (half-up: 0.03).
    for day in ("2026-01-10", "2026-01-11"):
        item = entry("1000", "3000", "0.05", date=day, currency="USD")
        assert (await post(gql, item))["errors"] == []
    end = await _valued(
        gql, SHEET, {"asOf": "2026-01-31", "valuation": {"currency": "EUR", "method": "END"}}
    )
    assert end["assets"]["total"] == "0.05"  # one balance, 0.10 USD * 0.5
    then = await _valued(
        gql, SHEET, {"asOf": "2026-01-31", "valuation": {"currency": "EUR", "method": "THEN"}}
    )
    assert then["assets"]["total"] == "0.04"  # two days, each rounded: 0.02 + 0.02
    assert then["valuation"]["unrealisedDifference"] == "0.01"


async def test_missing_rate_is_bad_user_input(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    item = entry("1000", "4000", "100.00", date="2026-01-10", currency="ARS")
    assert (await post(gql, item))["errors"] == []
    for query, variables in (
        (SHEET, {"asOf": "2026-01-31"}),
        (INCOME, {"from": "2026-01-01", "to": "2026-01-31"}),
    ):
        for method in ("END", "THEN"):
            valuation = {"currency": "EUR", "method": method}
            response = await gql.raw(query, {**variables, "valuation": valuation})
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert error["extensions"]["field"] == "valuation"
            assert "from ARS to EUR on or before 2026-01" in error["message"], error
    response = await gql.raw(SHEET, {"valuation": {"currency": "XYZ", "method": "END"}})
    (error,) = response.json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "valuation",
    )
