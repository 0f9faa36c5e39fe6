"""Reporting-currency amounts: each line of an entry also in the entry's reporting currency.

Part of the write path, not of the reports (reports.py, statements.py): the amounts
are computed when the entry is posted and stored with its lines.

A line's amount is converted exactly (Decimal only): minor units to a major
amount, times the rate of the line's currency, rounded half-even to the
reporting currency's minor unit. Rounding each line on its own can leave the
reporting debits and credits a few minor units apart; the difference is added
to one line, chosen so that the rule is deterministic and no amount shrinks:
the largest line (by reporting amount, the first one on a tie) of the side with
the smaller reporting total (a line's side is that of its own amount).
Reporting amounts therefore always balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from app.ledger.errors import BadInput
from app.ledger.fx import Rate
from app.ledger.money import MAX_MINOR, exponent

RATE_DECIMALS = 11
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_DECIMALS)
# Wide enough that no product of a 2^63 amount and a rate is ever rounded before quantize.
_EXACT = Context(prec=120)
ONE = Decimal(1)

RateLookup = Callable[[str, str, dt.date], Rate]


@dataclass(frozen=True)
class Reporting:
    """An entry's reporting currency, the rate of its own currency, and its lines' amounts."""

    currency: str
    rate: Decimal  # quantized to RATE_DECIMALS: the rate stored is the rate used
    source: str
    rate_date: dt.date
    lines: list[tuple[int, int]]  # (debit, credit) per line, minor units of ``currency``

    @property
    def rate_text(self) -> str:
        return format_rate(self.rate)


def format_rate(rate: Decimal) -> str:
    """The rate as stored and shown: plain decimal text with exactly 11 decimals."""
    return f"{rate.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_EXACT):f}"


def same_currency(currency: str, on: dt.date) -> Rate:
    return Rate(currency, currency, ONE, on, "same-currency")


def usable(rate: Rate) -> Rate:
    """``rate`` with its value at 11 decimals (half-even), refused when not positive."""
    value = rate.value.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_EXACT)
    if value <= 0:
        raise BadInput(
            f"the rate of {rate.base} in {rate.quote} on {rate.effective.isoformat()} "
            "is zero at 11 decimals",
            field="reportingCurrency",
        )
    return Rate(rate.base, rate.quote, value, rate.effective, rate.source)


def convert_minor(minor: int, currency: str, rate: Decimal, reporting: str) -> int:
    """``minor`` units of ``currency`` in minor units of ``reporting``, rounded half-even."""
    if minor == 0:
        return 0
    scaled = (Decimal(minor) * rate).scaleb(exponent(reporting) - exponent(currency), _EXACT)
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN, context=_EXACT))


def report_lines(
    lines: Sequence[tuple[str, int, int]], reporting: str, rates: Mapping[str, Decimal]
) -> list[tuple[int, int]]:
    """Reporting (debit, credit) of ``(currency, debit, credit)`` lines, balanced.

    ``rates`` holds the rate of every line currency into ``reporting``.
    """
    converted: list[tuple[int, int]] = []
    for currency, debit, credit in lines:
        if currency == reporting:  # the common case: exact, no Decimal
            converted.append((debit, credit))
            continue
        rate = rates[currency]
        converted.append(
            (
                convert_minor(debit, currency, rate, reporting),
                convert_minor(credit, currency, rate, reporting),
            )
        )
    debits = sum(debit for debit, _ in converted)
    credits = sum(credit for _, credit in converted)
    if debits != credits:
        side = 0 if debits < credits else 1  # the side with the smaller total takes the rest
        # Among the lines of that side in the entry's own amounts: a line rounded to
        # zero is still a debit (or a credit), and never takes the other side.
        candidates = [i for i, (_, d, c) in enumerate(lines) if (c if side else d) > 0]
        index = max(candidates, key=lambda i: (converted[i][side], -i))
        amounts = list(converted[index])
        amounts[side] += abs(debits - credits)
        converted[index] = (amounts[0], amounts[1])
    if max(debits, credits) > MAX_MINOR:
        raise BadInput(
            f"the entry adds up to more than {MAX_MINOR} minor units of {reporting}",
            field="reportingCurrency",
        )
    return converted
