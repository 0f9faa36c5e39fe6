"""Invariants of the ledger, checked by hypothesis on both engines.

- every posted entry balances per currency;
- the trial balance always balances;
- the maintained balances (now and as of any date) equal the sums of the lines;
- a reversal restores every balance;
- a refused entry writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, balances, listings, posting
from app.ledger.errors import LedgerError
from app.ledger.money import to_minor
from db.engine import Database
from tests.conftest import make_tenant
from tests.helpers import line_sums

CHART = [
    ("1000", "ASSET"),
    ("1100", "ASSET"),
    ("2000", "LIABILITY"),
    ("3000", "EQUITY"),
    ("4000", "INCOME"),
    ("5000", "EXPENSE"),
]
CURRENCIES = {"USD": 2, "JPY": 0, "BHD": 3}
START = dt.date(2026, 1, 1)

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def balanced_entry(draw: st.DrawFn) -> posting.EntryInput:
    """1-3 currencies; in each, debits on some accounts and credits summing to the same."""
    lines: list[posting.LineInput] = []
    for currency in draw(
        st.lists(st.sampled_from(sorted(CURRENCIES)), min_size=1, max_size=3, unique=True)
    ):
        scale = 10 ** CURRENCIES[currency]
        debits = draw(st.lists(st.integers(1, 10**9), min_size=1, max_size=3))
        total = sum(debits)
        cuts = (
            sorted(set(draw(st.lists(st.integers(1, total - 1), max_size=2)))) if total > 1 else []
        )
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True) if b > a]
        for minor in debits:
            code = draw(st.sampled_from(CHART))[0]
            lines.append(
                posting.LineInput(account_code=code, debit=_text(minor, scale), currency=currency)
            )
        for minor in credits:
            code = draw(st.sampled_from(CHART))[0]
            lines.append(
                posting.LineInput(account_code=code, credit=_text(minor, scale), currency=currency)
            )
    order = draw(st.permutations(range(len(lines))))
    return posting.EntryInput(
        date=START + dt.timedelta(days=draw(st.integers(0, 60))),
        memo="property",
        lines=[lines[i] for i in order],
        currency="USD",
    )


def _text(minor: int, scale: int) -> str:
    if scale == 1:
        return str(minor)
    digits = len(str(scale)) - 1
    return f"{minor // scale}.{minor % scale:0{digits}d}"


async def _new_books(db: Database) -> int:
    tenant = await make_tenant(db)
    for code, kind in CHART:
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    return tenant.id


def _nonzero(
    totals: dict[tuple[int, str], tuple[int, int]],
) -> dict[tuple[int, str], tuple[int, int]]:
    return {key: value for key, value in totals.items() if value != (0, 0)}


def _nets(totals: dict[tuple[int, str], tuple[int, int]]) -> dict[tuple[int, str], int]:
    """Debit-minus-credit per (account, currency), leaving out zero balances."""
    return {key: debit - credit for key, (debit, credit) in totals.items() if debit != credit}


@PROPERTY_SETTINGS
@given(entries=st.lists(balanced_entry(), min_size=1, max_size=6), probe=st.integers(0, 70))
async def test_balances_equal_line_sums_and_trial_balance_balances(
    db: Database, entries: list[posting.EntryInput], probe: int
) -> None:
    tenant_id = await _new_books(db)
    for data in entries:
        result = await posting.post_entry(db, tenant_id, data)
        per_currency: dict[str, int] = defaultdict(int)
        for line in result.entry.lines:
            per_currency[line.currency] += line.debit_minor - line.credit_minor
        assert set(per_currency.values()) == {0}
    maintained = await balances.balances_by_account(db, tenant_id)
    assert _nonzero(maintained) == await line_sums(db, tenant_id)
    as_of = START + dt.timedelta(days=probe)
    historical = await balances.balances_by_account(db, tenant_id, as_of=as_of)
    assert _nonzero(historical) == await line_sums(db, tenant_id, as_of)
    report = await balances.trial_balance(db, tenant_id)
    assert report.balanced
    assert report.totals and all(t.debit_minor == t.credit_minor for t in report.totals)


@PROPERTY_SETTINGS
@given(entries=st.lists(balanced_entry(), min_size=1, max_size=5), data=st.data())
async def test_reversal_restores_every_balance(
    db: Database, entries: list[posting.EntryInput], data: st.DataObject
) -> None:
    tenant_id = await _new_books(db)
    before = await balances.balances_by_account(db, tenant_id)
    kept: list[posting.EntryInput] = data.draw(st.lists(balanced_entry(), max_size=2))
    for entry in kept:
        await posting.post_entry(db, tenant_id, entry)
    expected = _nets(await balances.balances_by_account(db, tenant_id))
    posted = [await posting.post_entry(db, tenant_id, entry) for entry in entries]
    for result in posted:
        await posting.reverse_entry(db, tenant_id, result.entry.id, date=dt.date(2026, 12, 31))
    assert _nets(await balances.balances_by_account(db, tenant_id)) == expected
    assert before == {}
    assert (await balances.trial_balance(db, tenant_id)).balanced


@PROPERTY_SETTINGS
@given(entry=balanced_entry(), skew=st.integers(1, 10**6))
async def test_unbalanced_entry_writes_nothing(
    db: Database, entry: posting.EntryInput, skew: int
) -> None:
    tenant_id = await _new_books(db)
    first = entry.lines[0]
    amount = first.debit if first.debit is not None else first.credit
    scale = 10 ** CURRENCIES[first.currency or "USD"]
    minor = to_minor(amount, first.currency or "USD")
    skewed = posting.LineInput(
        account_code=first.account_code,
        debit=_text(minor + skew, scale) if first.debit is not None else None,
        credit=_text(minor + skew, scale) if first.credit is not None else None,
        currency=first.currency,
    )
    bad = posting.EntryInput(
        date=entry.date, memo="bad", lines=[skewed, *entry.lines[1:]], currency="USD"
    )
    try:
        await posting.post_entry(db, tenant_id, bad)
    except LedgerError as error:
        assert "does not balance" in error.message
    else:
        raise AssertionError("an unbalanced entry was posted")
    assert await balances.balances_by_account(db, tenant_id) == {}
    assert (await listings.list_events(db, tenant_id)).items == []
