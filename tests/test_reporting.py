"""Lines as accountants write them (a zero side), and reporting amounts, through /graphql."""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from app.ledger import batch, fx
from app.ledger.entries import EntryInput, LineInput
from app.ledger.errors import BadInput
from app.ledger.fx import Rate
from app.ledger.money import MAX_MINOR, exponent
from app.ledger.reporting_currency import report_lines
from app.ledger.validation import request_hash
from tests.conftest import GraphQLClient
from tests.helpers import create_accounts

POST = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry {
      id number date currency status reportingCurrency exchangeRate rateSource rateDate
      lines { accountCode currency debit credit reportingDebit reportingCredit }
    }
    replayed
    errors { code field message }
  }
}"""
POST_MANY = """
mutation($inputs: [PostJournalEntryInput!]!) {
  postJournalEntries(inputs: $inputs) { entry { id } errors { code field message } }
}"""
REVERSE = """
mutation($id: ID!) {
  reverseJournalEntry(id: $id) {
    entry { reportingCurrency exchangeRate lines { debit credit reportingDebit reportingCredit } }
    errors { code field message }
  }
}"""
ENTRY = """
query($id: ID!) {
  journalEntry(id: $id) {
    reportingCurrency exchangeRate rateSource rateDate
    lines { reportingDebit reportingCredit }
  }
}"""

FX_IS_A_STUB = "raise NotImplementedError" in inspect.getsource(fx.resolve_rate)
needs_fx = pytest.mark.skipif(FX_IS_A_STUB, reason="app/ledger/fx.py is not implemented yet")


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    await create_accounts(gql)
    return gql


async def _post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


def _entry(lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"date": "2026-06-03", "memo": "reported", "lines": lines, **extra}


# ---------------------------------------------------------------- lines with a zero side


async def test_a_line_may_carry_a_zero_other_side(books: GraphQLClient) -> None:
    result = await _post(
        books,
        _entry(
            [
                {"accountCode": "5000", "debit": "1000.00", "credit": "0.00"},
                {"accountCode": "2000", "debit": "0", "credit": "1000.00"},
            ]
        ),
    )
    assert result["errors"] == []
    lines = result["entry"]["lines"]
    assert [(line["debit"], line["credit"]) for line in lines] == [
        ("1000.00", "0.00"),
        ("0.00", "1000.00"),
    ]


@pytest.mark.parametrize(
    ("debit", "credit", "message"),
    [
        ("1000.00", "1000.00", "one of the two must be absent or zero"),
        ("0.00", "0", "greater than zero"),
        ("0.00", None, "greater than zero"),
    ],
)
async def test_a_line_needs_exactly_one_non_zero_side(
    books: GraphQLClient, debit: str, credit: str | None, message: str
) -> None:
    result = await _post(
        books,
        _entry(
            [
                {"accountCode": "1000", "debit": "1000.00"},
                {"accountCode": "4000", "debit": debit, "credit": credit},
            ]
        ),
    )
    assert result["entry"] is None
    [error] = result["errors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "lines.1")
    assert message in error["message"]


def test_the_request_hash_of_inputs_valid_before_is_unchanged() -> None:
    """Stored hashes decide replays: the hash of a valid input must not move, and a zero
    side hashes as an absent one."""
    lines = [LineInput("5010", debit="1000.00", description="Rent")]
    lines.append(LineInput("2100", credit="1000.00", description="Payable"))
    plain = EntryInput(
        date=dt.date(2026, 6, 3), memo="API posted accrual", currency="SGD", lines=lines
    )
    # The digest HEAD's request_hash gave before zero sides were taken.
    assert request_hash(plain) == (
        "e779759525d047bdfa444a5413b95c44b30ebb3592964c75016a772cebf2f617"
    )
    zeros = EntryInput(
        date=dt.date(2026, 6, 3),
        memo="API posted accrual",
        currency="SGD",
        lines=[
            LineInput("5010", debit="1000.00", credit="0.00", description="Rent"),
            LineInput("2100", debit="0", credit="1000.00", description="Payable"),
        ],
    )
    assert request_hash(zeros) == request_hash(plain)
    assert request_hash(EntryInput(**{**plain.__dict__, "reporting_currency": "USD"})) != (
        request_hash(plain)
    )


async def test_a_zero_side_replays_the_entry_posted_without_it(books: GraphQLClient) -> None:
    first = await _post(
        books,
        _entry(
            [{"accountCode": "1000", "debit": "5.00"}, {"accountCode": "4000", "credit": "5.00"}],
            idempotencyKey="zero-side",
        ),
    )
    again = await _post(
        books,
        _entry(
            [
                {"accountCode": "1000", "debit": "5.00", "credit": "0.00"},
                {"accountCode": "4000", "debit": "0", "credit": "5"},
            ],
            idempotencyKey="zero-side",
        ),
    )
    assert again["replayed"] is True
    assert again["entry"]["id"] == first["entry"]["id"]


# ---------------------------------------------------------------- reporting amounts


async def test_no_reporting_currency_no_reporting_amounts(books: GraphQLClient) -> None:
    result = await _post(
        books,
        _entry(
            [{"accountCode": "1000", "debit": "5.00"}, {"accountCode": "4000", "credit": "5.00"}]
        ),
    )
    entry = result["entry"]
    assert [entry[k] for k in ("reportingCurrency", "exchangeRate", "rateSource", "rateDate")] == [
        None
    ] * 4
    assert {line["reportingDebit"] for line in entry["lines"]} == {None}


async def test_same_currency_reports_at_rate_one(books: GraphQLClient) -> None:
    result = await _post(
        books,
        _entry(
            [
                {"accountCode": "5000", "debit": "1000.00", "credit": "0.00"},
                {"accountCode": "2000", "debit": "0.00", "credit": "1000.00"},
            ],
            reportingCurrency="USD",
        ),
    )
    assert result["errors"] == []
    entry = result["entry"]
    assert entry["reportingCurrency"] == "USD"
    assert entry["exchangeRate"] == "1.00000000000"
    assert entry["rateSource"] == "same-currency"
    assert entry["rateDate"] == "2026-06-03"
    assert [(line["reportingDebit"], line["reportingCredit"]) for line in entry["lines"]] == [
        ("1000.00", "0.00"),
        ("0.00", "1000.00"),
    ]
    stored = (await books(ENTRY, {"id": entry["id"]}))["journalEntry"]
    assert stored["exchangeRate"] == "1.00000000000"
    assert stored["lines"] == [
        {"reportingDebit": "1000.00", "reportingCredit": "0.00"},
        {"reportingDebit": "0.00", "reportingCredit": "1000.00"},
    ]


async def test_an_unknown_reporting_currency_is_refused(books: GraphQLClient) -> None:
    result = await _post(
        books,
        _entry(
            [{"accountCode": "1000", "debit": "5.00"}, {"accountCode": "4000", "credit": "5.00"}],
            reportingCurrency="ZZZ",
        ),
    )
    assert result["entry"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("BAD_USER_INPUT", "reportingCurrency")
    ]


class FakeRates:
    """Stands in for fx.resolve_rate: fixed rates, and a count of the lookups."""

    def __init__(self, rates: dict[tuple[str, str], str]) -> None:
        self.rates = rates
        self.calls: list[tuple[str, str, dt.date]] = []

    def __call__(
        self, conn: Connection, tenant_id: int, base: str, quote: str, on: dt.date
    ) -> Rate:
        self.calls.append((base, quote, on))
        if (base, quote) not in self.rates:
            raise BadInput(
                f"no rate for {base}/{quote} on {on.isoformat()}", field="reportingCurrency"
            )
        return Rate(base, quote, Decimal(self.rates[(base, quote)]), on, "tenant")


async def test_rounding_goes_to_the_largest_line_of_the_smaller_side(
    books: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = FakeRates({("EUR", "USD"): "1.08333333333"})
    monkeypatch.setattr(batch, "resolve_rate", rates)
    result = await _post(
        books,
        _entry(
            [
                {"accountCode": "5000", "debit": "1.00"},
                {"accountCode": "1100", "debit": "1.00"},
                {"accountCode": "1000", "debit": "1.00"},
                {"accountCode": "4000", "credit": "3.00"},
            ],
            currency="EUR",
            reportingCurrency="USD",
        ),
    )
    assert result["errors"] == []
    entry = result["entry"]
    assert (entry["exchangeRate"], entry["rateSource"]) == ("1.08333333333", "tenant")
    # 1.0833.. -> 1.08 three times is 3.24 against 3.25: the first of the equal debits takes 0.01.
    assert [(line["reportingDebit"], line["reportingCredit"]) for line in entry["lines"]] == [
        ("1.09", "0.00"),
        ("1.08", "0.00"),
        ("1.08", "0.00"),
        ("0.00", "3.25"),
    ]
    reversal = (await books(REVERSE, {"id": entry["id"]}))["reverseJournalEntry"]
    assert reversal["errors"] == []
    assert reversal["entry"]["exchangeRate"] == "1.08333333333"
    assert [
        (line["reportingDebit"], line["reportingCredit"]) for line in reversal["entry"]["lines"]
    ] == [
        ("0.00", "1.09"),
        ("0.00", "1.08"),
        ("0.00", "1.08"),
        ("3.25", "0.00"),
    ]


async def test_rates_are_looked_up_once_per_currency_pair_and_date(
    books: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = FakeRates({("EUR", "USD"): "1.1", ("JPY", "USD"): "0.0067"})
    monkeypatch.setattr(batch, "resolve_rate", rates)

    def one(date: str, amount: str) -> dict[str, Any]:
        return {
            "date": date,
            "memo": "bulk",
            "currency": "EUR",
            "reportingCurrency": "USD",
            "lines": [
                {"accountCode": "1000", "debit": amount},
                {"accountCode": "4000", "credit": amount},
                {"accountCode": "1100", "debit": "150", "currency": "JPY"},
                {"accountCode": "4000", "credit": "150", "currency": "JPY"},
            ],
        }

    inputs = [one("2026-06-03", f"{i}.00") for i in range(1, 6)] + [one("2026-06-04", "7.00")]
    results = (await books(POST_MANY, {"inputs": inputs}))["postJournalEntries"]
    assert all(result["errors"] == [] for result in results), results
    assert sorted(rates.calls) == sorted(
        (base, "USD", dt.date(2026, 6, day)) for base in ("EUR", "JPY") for day in (3, 4)
    )


async def test_no_rate_refuses_the_entry_naming_the_reporting_currency(
    books: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "resolve_rate", FakeRates({}))
    result = await _post(
        books,
        _entry(
            [{"accountCode": "1000", "debit": "5.00"}, {"accountCode": "4000", "credit": "5.00"}],
            currency="SGD",
            reportingCurrency="USD",
        ),
    )
    assert result["entry"] is None
    [error] = result["errors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "reportingCurrency")
    assert "SGD/USD" in error["message"]


@needs_fx
async def test_a_foreign_entry_reports_at_the_resolved_rate(books: GraphQLClient) -> None:
    """Runs once app/ledger/fx.py resolves rates (the ECB's where the tenant has none)."""
    result = await _post(
        books,
        _entry(
            [
                {"accountCode": "5000", "debit": "1000.00", "credit": "0.00"},
                {"accountCode": "2000", "debit": "0.00", "credit": "1000.00"},
            ],
            currency="SGD",
            reportingCurrency="USD",
        ),
    )
    assert result["errors"] == []
    entry = result["entry"]
    assert entry["rateSource"] in {"ecb", "tenant", "tenant-inverse"}
    rate = Decimal(entry["exchangeRate"])
    assert len(entry["exchangeRate"].split(".")[1]) == 11 and rate > 0
    expected = (Decimal("1000.00") * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert [(line["reportingDebit"], line["reportingCredit"]) for line in entry["lines"]] == [
        (str(expected), "0.00"),
        ("0.00", str(expected)),
    ]


# ---------------------------------------------------------------- the rounding rule


CURRENCIES = ["USD", "JPY", "BHD", "EUR"]


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """Lines balanced per currency, in up to three currencies."""
    lines: list[tuple[str, int, int]] = []
    for currency in draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=3)):
        debits = draw(st.lists(st.integers(1, 10**12), min_size=1, max_size=5))
        total = sum(debits)
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=4))) if total > 1 else []
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        lines += [(currency, amount, 0) for amount in debits]
        lines += [(currency, 0, amount) for amount in credits]
    order = draw(st.permutations(range(len(lines))))
    return [lines[i] for i in order]


RATES = st.decimals(min_value=Decimal("0.00000000001"), max_value=Decimal("100000"), places=11)


@settings(max_examples=300, deadline=None)
@given(
    lines=balanced_lines(),
    reporting=st.sampled_from(CURRENCIES),
    rates=st.fixed_dictionaries({currency: RATES for currency in CURRENCIES}),
)
def test_reporting_amounts_balance_and_stay_near_the_exact_conversion(
    lines: list[tuple[str, int, int]], reporting: str, rates: dict[str, Decimal]
) -> None:
    rates = {**rates, reporting: Decimal(1)}
    scale = {c: Decimal(10) ** (exponent(reporting) - exponent(c)) for c in CURRENCIES}
    exact = [
        (Decimal(d) * rates[c] * scale[c], Decimal(k) * rates[c] * scale[c]) for c, d, k in lines
    ]
    try:
        reported = report_lines(lines, reporting, rates)
    except BadInput as error:  # refused only past 2^63-1 minor units of the reporting currency
        assert error.field == "reportingCurrency"
        assert sum(d for d, _ in exact) > MAX_MINOR - len(lines)
        return
    assert sum(d for d, _ in reported) == sum(c for _, c in reported)
    adjusted = [
        i
        for i, ((d, k), (ed, ek)) in enumerate(zip(reported, exact, strict=True))
        if abs(d - ed) > Decimal("0.5") or abs(k - ek) > Decimal("0.5")
    ]
    assert len(adjusted) <= 1  # one line takes the rounding difference, the others are rounded
    for i, ((currency, debit, credit), (r_debit, r_credit)) in enumerate(
        zip(lines, reported, strict=True)
    ):
        assert r_debit >= 0 and r_credit >= 0
        # A line keeps its side: a debit never takes a reporting credit, nor the reverse.
        assert (debit == 0) <= (r_debit == 0) and (credit == 0) <= (r_credit == 0)
        if currency == reporting and i not in adjusted:
            assert (r_debit, r_credit) == (debit, credit)
