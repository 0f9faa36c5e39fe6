"""Money as integers in a currency's minor units.

Exponents come from the ``iso4217`` package (ISO 4217 data, maintained
upstream): JPY 0, EUR 2, BHD 3. Amounts are parsed from decimal strings and
Decimals, never floats; more decimals than the currency allows is an error,
never a rounding.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation
from functools import cache

from iso4217 import Currency

from app.ledger.errors import BadInput

MAX_MINOR = 2**63 - 1
# Wide enough that no amount that fits in 2^63 minor units is ever rounded while scaling.
_EXACT = Context(prec=80)
_MAX_TEXT = 60
# ASCII digits only: \d and Decimal() would also take Arabic-Indic or fullwidth digits.
_PLAIN_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
# The common case, "1234.50": converted with integer arithmetic; anything else
# (signs, spaces, ".5", errors) takes the exact Decimal path below.
_SIMPLE_AMOUNT = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,20}))?")


@cache
def exponent(code: str) -> int:
    """The number of minor-unit digits of ``code``; raises BadInput if unknown."""
    try:
        currency = Currency(code)
    except ValueError:
        raise BadInput(
            f"unknown currency {code!r}: expected an ISO 4217 code such as EUR"
        ) from None
    if currency.exponent is None:
        raise BadInput(f"currency {code} has no minor unit and cannot hold amounts")
    return int(currency.exponent)


def check_currency(code: str, *, field: str = "currency") -> str:
    """``code`` if it is a supported ISO 4217 currency, else BadInput naming ``field``."""
    if not isinstance(code, str) or code != code.upper():
        raise BadInput(
            f"unknown currency {code!r}: expected an upper-case ISO 4217 code", field=field
        )
    try:
        exponent(code)
    except BadInput as error:
        raise error.at(field) if error.field is None else error from None
    return code


def parse_decimal(value: object) -> Decimal:
    """A finite Decimal from a decimal string, an int or a Decimal; floats are refused."""
    if isinstance(value, bool | float):
        raise BadInput('amount must be a decimal string such as "10.50", not a float')
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BadInput("amount must be a finite number")
        return value
    if isinstance(value, str):
        text = value.strip(" \t\r\n")
        if len(text) > _MAX_TEXT:
            raise BadInput(f"amount is too long ({len(text)} characters)")
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise BadInput(
                f"amount {value!r} is not a plain decimal number (no exponent, NaN or Infinity)"
            )
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already excludes these
            raise BadInput(f"amount {value!r} is not a number") from None
    raise BadInput(f"amount must be a decimal string, not {type(value).__name__}")


def to_minor(value: object, currency: str, *, allow_zero: bool = False) -> int:
    """Minor units of ``value`` in ``currency``: positive, exact, below 2^63."""
    if type(value) is str:
        simple = _SIMPLE_AMOUNT.fullmatch(value)
        if simple is not None:
            minor = _simple_minor(simple.group(1), simple.group(2) or "", exponent(currency))
            if minor is not None and (minor > 0 or allow_zero) and minor <= MAX_MINOR:
                return minor
    return _exact_minor(value, currency, allow_zero=allow_zero)


def _simple_minor(whole: str, fraction: str, digits: int) -> int | None:
    """``whole.fraction`` in minor units, or None when the fraction does not fit ``digits``."""
    if len(fraction) > digits:
        if fraction[digits:].strip("0"):
            return None
        fraction = fraction[:digits]
    scale: int = 10**digits
    return int(whole) * scale + int(fraction.ljust(digits, "0") or "0")


def _exact_minor(value: object, currency: str, *, allow_zero: bool) -> int:
    amount = parse_decimal(value)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise BadInput(f"amount must be greater than zero, got {amount}")
    digits = exponent(currency)
    scaled = amount.scaleb(digits, context=_EXACT)
    if scaled != scaled.to_integral_value():
        raise BadInput(f"amount {amount} has more decimals than {currency} allows ({digits})")
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise BadInput(f"amount {amount} {currency} is too large (at most 2^63-1 minor units)")
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    """The decimal amount of ``minor`` units, with exactly the currency's decimals."""
    # An int's exponent is 0, so scaleb leaves exactly ``digits`` decimals.
    return Decimal(minor).scaleb(-exponent(currency), context=_EXACT)


@cache
def _zero(currency: str) -> str:
    digits = exponent(currency)
    return "0." + "0" * digits if digits else "0"


def format_minor(minor: int, currency: str) -> str:
    """``minor`` as a decimal string with the currency's decimals: 100000 EUR -> "1000.00"."""
    if minor == 0:  # the empty side of every line
        return _zero(currency)
    digits = exponent(currency)
    if digits == 0:
        return str(minor)
    whole, fraction = divmod(abs(minor), 10**digits)
    return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{digits}d}"
