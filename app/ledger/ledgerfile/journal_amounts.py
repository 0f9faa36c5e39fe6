"""Amounts and commodities of an hledger journal, and the ``commodity`` directives.

ledgerql keeps ISO 4217 codes; a journal may write currency symbols instead
(``$10.00``, ``10,00 €`` is refused: decimal comma). A symbol becomes a code through
the journal's own ``commodity`` directive when it carries an ``iso:`` tag
(``commodity $1,000.00  ; iso: CAD``: hledger reads the tag as a comment), else
through DEFAULT_SYMBOLS. A directive applies to the entries after it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from app.ledger.errors import LedgerError
from app.ledger.ledgerfile.model import FileError, check_amount
from app.ledger.money import check_currency

# The symbols a journal may write without declaring them. Each is the currency most
# books mean by it; a journal meaning another one says so on its commodity directive
# (``commodity $1,000.00  ; iso: CAD``, ``commodity ¥1000.  ; iso: CNY``). Symbols
# shared by several currencies without a usual default (kr, R, Fr) are left out.
DEFAULT_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {
        "$": "USD",
        "US$": "USD",
        "€": "EUR",
        "£": "GBP",
        "¥": "JPY",
        "C$": "CAD",
        "CA$": "CAD",
        "A$": "AUD",
        "AU$": "AUD",
        "NZ$": "NZD",
        "HK$": "HKD",
        "S$": "SGD",
        "R$": "BRL",
        "₹": "INR",
        "₩": "KRW",
        "₽": "RUB",
        "₺": "TRY",
        "₪": "ILS",
        "₴": "UAH",
        "₱": "PHP",
        "฿": "THB",
        "₫": "VND",
        "₦": "NGN",
        "zł": "PLN",
        "Kč": "CZK",
    }
)

# What a commodity's symbol may hold (journal_plain reads amounts with it too).
SYMBOL = r"[^-+\d\s.,;@=(){}\"]+"
_AMOUNT = re.compile(
    rf"^(?P<sign>[-+]?)\s*(?:(?P<left>{SYMBOL})\s*(?P<sign2>[-+]?)\s*)?"
    rf"(?P<number>[\d.,]+)(?:\s*(?P<right>{SYMBOL}))?$"
)
# Digit groups hledger reads the same way whatever the commodity: commas every three
# digits before a decimal point (1,000.00). A lone comma (1,000) is hledger's decimal
# comma and a decimal comma is not supported, so those stay refused.
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+\.\d*$")
_ISO = re.compile(r"^[A-Z]{3}$")
# The common spellings (EUR 10.00, EUR -10.00, 10.00 EUR, -10.00 EUR), read without
# the general pattern's checks: a plain number needs none.
# (journal._PLAIN_POSTING reads a whole posting with it.)
PLAIN_AMOUNT = (
    r"(?:([A-Z]{3}) ?(-?)(\d{1,30}(?:\.\d{1,30})?)|(-?)(\d{1,30}(?:\.\d{1,30})?) ?([A-Z]{3}))"
)
_PLAIN_AMOUNT = re.compile(f"^{PLAIN_AMOUNT}$")
# The tag naming a symbol's ISO code, on a commodity directive or a comment under it.
_ISO_TAG = re.compile(r"(?:^|[\s,;])iso:\s*([^\s,;]*)")
# A commodity directive's sample: a symbol alone, or an amount whose marks show the
# decimal mark (hledger asks for one).
_SAMPLE_NUMBER = re.compile(r"[\d][\d., ]*")


class Refused(Exception):
    """A line the journal reader cannot take; becomes a FileError."""

    def __init__(self, line: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error = FileError(line, message, field)


@functools.cache
def _iso_currency(symbol: str) -> str:
    return check_currency(symbol)


class Commodities:
    """The symbol -> ISO code map of one journal: the defaults, then its directives."""

    def __init__(self) -> None:
        self.declared: dict[str, str] = {}
        # Each ISO code met, once checked: a journal writes a few, a million times.
        self.checked: dict[str, str] = {}

    def code(self, symbol: str, line: int) -> str:
        """The ISO 4217 code an amount's commodity stands for."""
        mapped = self.declared.get(symbol) or DEFAULT_SYMBOLS.get(symbol)
        if mapped is not None:
            return mapped
        checked = self.checked.get(symbol)
        if checked is not None:
            return checked
        self.checked[symbol] = self._iso(symbol, line)
        return self.checked[symbol]

    def _iso(self, symbol: str, line: int) -> str:
        if not _ISO.match(symbol):
            raise Refused(
                line,
                f"commodity {symbol!r} is not an ISO 4217 currency code such as EUR nor a "
                "known symbol: name its code on a commodity directive before it "
                f"(commodity {symbol}1000.00  ; iso: XXX)",
                "amount",
            )
        try:
            return _iso_currency(symbol)
        except LedgerError as error:
            raise Refused(line, error.message, "amount") from None

    def directive(self, line: int, symbol: str | None, comment: str) -> FileError | None:
        """Takes the ``iso:`` tag of a commodity directive (or a comment line under it)."""
        tag = _ISO_TAG.search(comment)
        if tag is None or symbol is None:
            return None
        try:
            code = _iso_currency(tag.group(1))
        except LedgerError as error:
            return FileError(line, f"iso: {error.message}", "commodity")
        if _ISO.match(symbol) and symbol != code:
            return FileError(
                line, f"{symbol} is an ISO code: it cannot stand for {code}", "commodity"
            )
        self.declared[symbol] = code
        return None


def commodity_sample(text: str, line: int) -> str | None:
    """The symbol of a commodity directive's sample (``$1,000.00``, ``1.000,00 EUR``,
    ``EUR``); Refused when its decimal mark is a comma (amounts would read otherwise)."""
    sample = text.strip()
    number = _SAMPLE_NUMBER.search(sample)
    if number is None:
        return sample.strip('"') or None
    digits = number.group().strip()
    if "," in digits and digits.rfind(",") > digits.rfind("."):
        raise Refused(line, "commodity formats with a decimal comma are not supported")
    symbol = (sample[: number.start()] + sample[number.end() :]).strip().lstrip("-+").strip()
    return symbol.strip('"') or None


def parse_amount(text: str, line: int, commodities: Commodities) -> tuple[Decimal, str | None]:
    """The signed amount and ISO commodity of a posting's amount text."""
    plain = _PLAIN_AMOUNT.match(text)
    if plain is not None:
        left, sign, number, sign2, number2, right = plain.groups()
        amount = Decimal(number or number2)
        return (-amount if (sign or sign2) else amount), commodities.code(left or right, line)
    for mark, what in (
        ("@", "prices (@) are not supported"),
        ("=", "balance assertions and assignments (=) are not supported"),
        ("{", "lot prices ({}) are not supported"),
        ("(", "amount expressions are not supported"),
    ):
        if mark in text:
            raise Refused(line, what, "amount")
    match = _AMOUNT.match(text)
    if not match:
        raise Refused(line, f"cannot read the amount {text!r}", "amount")
    if match["left"] and match["right"]:
        raise Refused(line, f"the amount {text!r} has two commodities", "amount")
    if match["sign"] and match["sign2"]:
        raise Refused(line, f"the amount {text!r} has two signs", "amount")
    number = match["number"]
    if "," in number:
        if not _GROUPED.match(number):
            raise Refused(
                line,
                f"cannot read {number!r}: write amounts with a decimal point, digit groups "
                "only as 1,000.00",
                "amount",
            )
        number = number.replace(",", "")
    try:
        amount = check_amount(number, "amount")
    except LedgerError as error:
        raise Refused(line, error.message, error.field) from None
    symbol = match["left"] or match["right"]
    commodity = commodities.code(symbol, line) if symbol else None
    negative = "-" in (match["sign"], match["sign2"])
    return (-amount if negative else amount), commodity
