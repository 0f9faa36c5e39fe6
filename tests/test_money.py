"""Money parsing: exact minor units per ISO 4217 currency, or a clear refusal."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ledger.errors import BadInput
from app.ledger.money import MAX_MINOR, check_currency, format_minor, from_minor, to_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("10.50", "EUR", 1050),
        ("10.5", "EUR", 1050),
        ("1000", "JPY", 1000),
        ("1.234", "BHD", 1234),
        (Decimal("0.1"), "USD", 10),
        (7, "USD", 700),
        ("92233720368547758.07", "EUR", MAX_MINOR),
    ],
)
def test_to_minor_exact(value: object, currency: str, minor: int) -> None:
    assert to_minor(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("3.005", "USD", "more decimals than USD allows (2)"),
        ("1.5", "JPY", "more decimals than JPY allows (0)"),
        ("1.2345", "BHD", "more decimals than BHD allows (3)"),
        ("-1.00", "USD", "greater than zero"),
        ("0", "USD", "greater than zero"),
        ("NaN", "USD", "not a plain decimal"),
        ("Infinity", "USD", "not a plain decimal"),
        ("1e3", "USD", "not a plain decimal"),
        ("12abc", "USD", "not a plain decimal"),
        ("", "USD", "not a plain decimal"),
        (0.1, "USD", "not a float"),
        (True, "USD", "not a float"),
        ("92233720368547758.08", "EUR", "too large"),
        (str(2**64), "JPY", "too large"),
        ("1" * 61, "USD", "too long"),
        (None, "USD", "decimal string"),
        ("\u0663", "USD", "not a plain decimal"),  # Arabic-Indic 3
        ("\uff11\uff10", "JPY", "not a plain decimal"),  # fullwidth 10
        ("1\u0660.00", "USD", "not a plain decimal"),
        ("1\u00a0", "USD", "not a plain decimal"),  # a no-break space is not stripped
        ("1\n2", "USD", "not a plain decimal"),
    ],
)
def test_to_minor_refuses(value: object, currency: str, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        to_minor(value, currency)


@pytest.mark.parametrize("code", ["XXX1", "usd", "ABC", "XAU", ""])
def test_unknown_or_unitless_currency(code: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_currency(code)
    assert caught.value.field == "currency"


def test_format_minor_uses_currency_exponent() -> None:
    assert format_minor(100000, "EUR") == "1000.00"
    assert format_minor(5, "JPY") == "5"
    assert format_minor(1, "BHD") == "0.001"
    assert format_minor(-250, "USD") == "-2.50"


@given(
    minor=st.integers(min_value=1, max_value=MAX_MINOR),
    currency=st.sampled_from(["EUR", "JPY", "BHD", "USD"]),
)
def test_round_trip(minor: int, currency: str) -> None:
    assert to_minor(format_minor(minor, currency), currency) == minor
    assert to_minor(from_minor(minor, currency), currency) == minor
