"""Rates for valuing a report in one currency, many (currency, day) pairs at once.

The same rule as ``fx.resolve_rate`` (same currency, then the tenant's direct or inverse
rate, the later effective date winning, then the ECB), but the tenant's rates into and
out of the valuation currency are read in one query and looked up in memory: a THEN
valuation needs a rate per day moved, and a query per day would not scale.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Connection, and_, or_, select

from app.ledger import fx
from app.ledger.errors import BadInput
from app.ledger.money import check_currency
from app.ledger.reporting_currency import convert_minor
from db.engine import Database
from db.fx_tables import ExchangeRate

FIELD = "valuation"


class Method(StrEnum):
    END = "END"  # every balance at the rate of the report date (hledger --value=end)
    THEN = "THEN"  # each day's movement at that day's rate (hledger --value=then)


RULES = {
    Method.END: "each balance converted at the rate of the report date",
    Method.THEN: "each day's movement converted at that day's rate, then summed",
}


@dataclass(frozen=True)
class Valuation:
    currency: str
    method: Method

    def checked(self) -> Valuation:
        check_currency(self.currency, field=FIELD)
        return self


Pair = tuple[str, dt.date]  # (currency, day)
_table = ExchangeRate.__table__  # type: ignore[attr-defined]


class _TenantRates:
    """The tenant's rates between the valuation currency and others, by pair, sorted."""

    def __init__(self, rows: Iterable[tuple[str, str, dt.date, Decimal]]) -> None:
        self._dates: dict[tuple[str, str], list[dt.date]] = {}
        self._values: dict[tuple[str, str], list[Decimal]] = {}
        for base, quote, day, value in rows:  # ordered by effective date
            self._dates.setdefault((base, quote), []).append(day)
            self._values.setdefault((base, quote), []).append(value)

    def latest(self, base: str, quote: str, on: dt.date) -> tuple[dt.date, Decimal] | None:
        dates = self._dates.get((base, quote))
        if not dates:
            return None
        index = bisect.bisect_right(dates, on) - 1
        return None if index < 0 else (dates[index], self._values[(base, quote)][index])


def _resolve(tenant: _TenantRates, base: str, quote: str, on: dt.date) -> fx.Rate:
    if base == quote:
        return fx.Rate(base, quote, Decimal(1), on, "same-currency")
    direct = tenant.latest(base, quote, on)
    inverse = tenant.latest(quote, base, on)
    if direct is not None and (inverse is None or direct[0] >= inverse[0]):
        return fx.Rate(base, quote, direct[1], direct[0], "tenant")
    if inverse is not None:
        value = fx._inverse(inverse[1])  # fx's own rounding of an inverse
        return fx.Rate(base, quote, value, inverse[0], "tenant-inverse")
    return fx._ecb_rate(base, quote, on)  # fx's own ECB stepping and crossing


def _resolve_all(
    conn: Connection, tenant_id: int, quote: str, pairs: set[Pair]
) -> dict[Pair, fx.Rate]:
    others = sorted({currency for currency, _ in pairs if currency != quote})
    tenant = _TenantRates([])
    if others:
        until = max(day for _, day in pairs)
        rows = conn.execute(
            select(_table.c.base, _table.c.quote, _table.c.effective_date, _table.c.rate)
            .where(
                _table.c.tenant_id == tenant_id,
                _table.c.effective_date <= until,
                or_(
                    and_(_table.c.base.in_(others), _table.c.quote == quote),
                    and_(_table.c.base == quote, _table.c.quote.in_(others)),
                ),
            )
            .order_by(_table.c.effective_date)
        ).all()
        tenant = _TenantRates((r[0], r[1], r[2], r[3]) for r in rows)
    rates: dict[Pair, fx.Rate] = {}
    for currency, day in sorted(pairs):
        try:
            rates[(currency, day)] = _resolve(tenant, currency, quote, day)
        except BadInput as error:  # the same message, on the argument that asked for it
            raise BadInput(error.message, field=FIELD) from None
    return rates


async def resolve_rates(
    db: Database, tenant_id: int, quote: str, pairs: set[Pair]
) -> dict[Pair, fx.Rate]:
    """The rate of each (currency, day) in ``quote``; BadInput naming the first pair and
    date without one."""
    if any(currency != quote for currency, _ in pairs):
        await fx.preload_ecb()
    return await db.run_read(lambda conn: _resolve_all(conn, tenant_id, quote, pairs))


def convert(minor: int, currency: str, rate: fx.Rate) -> int:
    """Half-even to the minor unit of the rate's quote currency; same currency: as is."""
    if currency == rate.quote:
        return minor
    return convert_minor(minor, currency, rate.value, rate.quote)
