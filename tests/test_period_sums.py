"""Range sums from the monthly and daily rollups equal sums of the journal lines.

The split of a range into whole months and edge days is checked day by day
against the range itself; the sums against the lines, on both engines, over
entries spread across several months and ranges that start and end anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import col

from app.ledger import accounts, period_sums, posting
from db.engine import Database
from db.tables import BalanceMonth, JournalLine
from tests.conftest import make_tenant

START = dt.date(2025, 11, 20)
SPAN = 130  # days: entries fall in six calendar months
bounds = st.one_of(st.none(), st.integers(-40, SPAN + 40))


def _day(offset: int | None) -> dt.date | None:
    return None if offset is None else START + dt.timedelta(days=offset)


def _days_of(bounds: period_sums.Range, low: dt.date, high: dt.date) -> list[dt.date]:
    start, end = bounds
    first, last = max(start or low, low), min(end or high, high)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@settings(max_examples=300, deadline=None)
@given(start=bounds, end=bounds)
def test_months_and_edge_days_cover_the_range_once(start: int | None, end: int | None) -> None:
    low, high = START - dt.timedelta(days=100), START + dt.timedelta(days=SPAN + 100)
    first, last = _day(start), _day(end)
    parts = period_sums.split(first, last)
    covered: list[dt.date] = [day for days in parts.days for day in _days_of(days, low, high)]
    if parts.months is not None:
        months = {day.replace(day=1) for day in _days_of((low, high), low, high)}
        month_start, month_last = parts.months
        for month in months:
            if (month_start is None or month >= month_start) and (
                month_last is None or month <= month_last
            ):
                assert month_start is None or month_start.day == 1
                covered += [
                    d for d in _days_of((low, high), low, high) if d.replace(day=1) == month
                ]
    assert sorted(covered) == _days_of((first, last), low, high)
    assert len(covered) == len(set(covered))


@settings(max_examples=200, deadline=None)
@given(ranges=st.lists(st.tuples(bounds, bounds), max_size=5))
def test_merge_is_the_disjoint_union(ranges: list[tuple[int | None, int | None]]) -> None:
    low, high = START - dt.timedelta(days=100), START + dt.timedelta(days=SPAN + 100)
    dated = [(_day(a), _day(b)) for a, b in ranges]
    merged = period_sums.merge(dated)
    union = {day for bounds in dated for day in _days_of(bounds, low, high)}
    listed = [day for bounds in merged for day in _days_of(bounds, low, high)]
    assert sorted(listed) == sorted(union)
    assert len(listed) == len(set(listed))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(
        st.tuples(st.integers(0, SPAN), st.integers(1, 10**6), st.sampled_from(["EUR", "USD"])),
        min_size=1,
        max_size=15,
    ),
    ranges=st.lists(st.tuples(bounds, bounds), min_size=1, max_size=4),
)
async def test_range_sums_equal_line_sums(
    db: Database,
    moves: list[tuple[int, int, str]],
    ranges: list[tuple[int | None, int | None]],
) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    for offset, minor, currency in moves:
        amount = f"{minor // 100}.{minor % 100:02d}"
        await posting.post_entry(
            db,
            tenant.id,
            posting.EntryInput(
                date=START + dt.timedelta(days=offset),
                memo="m",
                currency=currency,
                lines=[
                    posting.LineInput(account_code="1000", debit=amount, currency=currency),
                    posting.LineInput(account_code="4000", credit=amount, currency=currency),
                ],
            ),
        )
    dated = [(_day(a), _day(b)) for a, b in ranges]
    found = await period_sums.movements(db, tenant.id, dated, None)

    async with db.read() as session:
        lines = (
            await session.execute(
                select(
                    col(JournalLine.account_id),
                    col(JournalLine.currency),
                    col(JournalLine.date),
                    col(JournalLine.debit_minor),
                    col(JournalLine.credit_minor),
                ).where(col(JournalLine.tenant_id) == tenant.id)
            )
        ).all()
        months = (
            await session.execute(
                select(
                    col(BalanceMonth.account_id),
                    col(BalanceMonth.currency),
                    col(BalanceMonth.month),
                    func.sum(col(BalanceMonth.debit_minor)),
                    func.sum(col(BalanceMonth.credit_minor)),
                )
                .where(col(BalanceMonth.tenant_id) == tenant.id)
                .group_by(
                    col(BalanceMonth.account_id),
                    col(BalanceMonth.currency),
                    col(BalanceMonth.month),
                )
            )
        ).all()
    expected: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0] * (2 * len(dated)))
    per_month: dict[tuple[int, str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    for account_id, currency, day, debit, credit in lines:
        per_month[(account_id, currency, day.replace(day=1))][0] += debit
        per_month[(account_id, currency, day.replace(day=1))][1] += credit
        for index, (start, end) in enumerate(dated):
            if (start is None or day >= start) and (end is None or day <= end):
                expected[(account_id, currency)][2 * index] += debit
                expected[(account_id, currency)][2 * index + 1] += credit
    # The maintained months are the sums of their lines...
    assert {(a, c, m): [int(d), int(k)] for a, c, m, d, k in months} == dict(per_month)
    # ...and every range's sums are those of its lines (pairs no range sees sum to zeros).
    assert {key: sums for key, sums in found.items() if any(sums)} == {
        key: sums for key, sums in expected.items() if any(sums)
    }
