"""Valuing a statement's figures in one currency, for a balance sheet or an income
statement asked ``valuation``: each column's balance at the rate of the column's end
(END), or each day's movement at that day's rate (THEN); the valuation currency's own
figures stay as they are. ``app.ledger.valuation`` resolves the rates and converts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select as select_columns
from sqlmodel import col

from app.ledger import valuation as fxv
from app.ledger.fx import Rate
from app.ledger.period_sums import Key, Range
from db.engine import Database
from db.tables import BalanceDay


async def day_nets(
    db: Database,
    tenant_id: int,
    span: Range,
    currency: str | None,
    valuation_currency: str,
) -> dict[tuple[int, str, dt.date], int]:
    """Debit - credit per account, currency and day, of currencies other than the
    valuation currency (those need a rate per day)."""
    day = col(BalanceDay.day)
    query = select_columns(
        col(BalanceDay.account_id),
        col(BalanceDay.currency),
        day,
        col(BalanceDay.debit_minor),
        col(BalanceDay.credit_minor),
    ).where(col(BalanceDay.tenant_id) == tenant_id, col(BalanceDay.currency) != valuation_currency)
    start, end = span
    if start is not None:
        query = query.where(day >= start)
    if end is not None:
        query = query.where(day <= end)
    if currency is not None:
        query = query.where(col(BalanceDay.currency) == currency)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return {(r[0], r[1], r[2]): int(r[3] or 0) - int(r[4] or 0) for r in rows}


def _split(nets: dict[int, list[int]], currency: str) -> dict[Key, list[int]]:
    """Net (debit-positive) amounts per column as the [debit, credit] pairs of a statement."""
    return {
        (account_id, currency): [part for net in row for part in (max(net, 0), max(-net, 0))]
        for account_id, row in nets.items()
    }


def rate_list(rates: Sequence[Rate]) -> list[Rate]:
    unique = {(r.base, r.quote, r.effective, r.value, r.source): r for r in rates}
    return [unique[key] for key in sorted(unique)]


async def value_end(
    db: Database, tenant_id: int, own: dict[Key, list[int]], ends: Sequence[dt.date], to: str
) -> tuple[dict[Key, list[int]], list[Rate]]:
    """Each column's balance of each account converted at the rate of the column's end."""
    pairs = {(cur, end) for (_, cur) in own for end in ends}
    rates = await fxv.resolve_rates(db, tenant_id, to, pairs)
    nets: dict[int, list[int]] = defaultdict(lambda: [0] * len(ends))
    for (account_id, cur), figures in own.items():
        for index, end in enumerate(ends):
            net = figures[2 * index] - figures[2 * index + 1]
            nets[account_id][index] += fxv.convert(net, cur, rates[(cur, end)])
    used = [rates[pair] for pair in pairs if pair[0] != to]
    return _split(nets, to), used


async def value_then(
    db: Database,
    tenant_id: int,
    own: dict[Key, list[int]],
    ranges: Sequence[Range],
    days: dict[tuple[int, str, dt.date], int],
    to: str,
) -> tuple[dict[Key, list[int]], list[Rate]]:
    """Each day's movement converted at that day's rate, summed per column; the
    valuation currency's own figures as they are."""
    rates = await fxv.resolve_rates(db, tenant_id, to, {(cur, day) for (_, cur, day) in days})
    nets: dict[int, list[int]] = defaultdict(lambda: [0] * len(ranges))
    for (account_id, cur), figures in own.items():
        if cur == to:
            for index in range(len(ranges)):
                nets[account_id][index] += figures[2 * index] - figures[2 * index + 1]
    for (account_id, cur, day), net in days.items():
        if not net:
            continue
        converted = fxv.convert(net, cur, rates[(cur, day)])
        for index, (start, end) in enumerate(ranges):
            if (start is None or day >= start) and (end is None or day <= end):
                nets[account_id][index] += converted
    return _split(nets, to), list(rates.values())
