"""Balance limits as invariants, checked by hypothesis on both engines: random postings
(single, and non-atomic batches) and reversals against accounts with random limits.

A model predicts each outcome from the rule (a movement towards a limit is refused when
it would pass it; docs/holds.md); the ledger must agree, every limited account must stay
within its limits, and its available balance must equal the formula recomputed from
the journal lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, balances, posting
from app.ledger.accounts import net_of
from app.ledger.errors import LedgerError
from app.ledger.limits import Limits, LimitsChange, available_minor
from db.engine import Database
from tests.conftest import make_tenant
from tests.helpers import line_sums

CHART = {"1000": "ASSET", "2100": "LIABILITY", "4000": "INCOME", "5000": "EXPENSE"}
CURRENCIES = ("USD", "EUR")

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

amounts = st.integers(0, 5_000)  # minor units


@st.composite
def limits(draw: st.DrawFn) -> Limits:
    return Limits(
        no_overdraft=draw(st.booleans()),
        overdraft=draw(st.dictionaries(st.sampled_from(CURRENCIES), amounts, max_size=2)),
        max_balance=draw(st.dictionaries(st.sampled_from(CURRENCIES), amounts, max_size=2)),
    )


@dataclass(frozen=True)
class Move:
    debit: str
    credit: str
    minor: int
    currency: str


@st.composite
def moves(draw: st.DrawFn) -> Move:
    debit, credit = draw(st.permutations(sorted(CHART)))[:2]
    return Move(debit, credit, draw(st.integers(1, 3_000)), draw(st.sampled_from(CURRENCIES)))


# An operation: a batch of moves posted non-atomically, or the reversal of the n-th
# posted entry (modulo how many there are).
operation = st.one_of(st.lists(moves(), min_size=1, max_size=3), st.integers(0, 50))


def _input(move: Move) -> posting.EntryInput:
    text = f"{move.minor // 100}.{move.minor % 100:02d}"
    return posting.EntryInput(
        date=dt.date(2026, 3, 1),
        memo="limits property",
        currency=move.currency,
        lines=[
            posting.LineInput(account_code=move.debit, debit=text, currency=move.currency),
            posting.LineInput(account_code=move.credit, credit=text, currency=move.currency),
        ],
    )


class Model:
    """Normal-side balances per (account code, currency), and the rule that refuses."""

    def __init__(self, chart_limits: dict[str, Limits]) -> None:
        self.limits = chart_limits
        self.balance: dict[tuple[str, str], int] = defaultdict(int)

    def changes(self, move: Move) -> dict[str, int]:
        return {
            move.debit: net_of(CHART[move.debit], move.minor, 0),
            move.credit: net_of(CHART[move.credit], 0, move.minor),
        }

    def allows(self, move: Move) -> bool:
        for code, change in self.changes(move).items():
            limit = self.limits[code]
            after = self.balance[(code, move.currency)] + change
            floor = limit.floor(move.currency)
            ceiling = limit.max_balance.get(move.currency)
            if change < 0 and floor is not None and after < floor:
                return False
            if change > 0 and ceiling is not None and after > ceiling:
                return False
        return True

    def apply(self, move: Move) -> None:
        for code, change in self.changes(move).items():
            self.balance[(code, move.currency)] += change

    def within(self, code: str, currency: str, balance: int) -> bool:
        limit = self.limits[code]
        floor = limit.floor(currency)
        ceiling = limit.max_balance.get(currency)
        return (floor is None or balance >= floor) and (ceiling is None or balance <= ceiling)


@PROPERTY_SETTINGS
@given(
    chart_limits=st.fixed_dictionaries({code: limits() for code in CHART}),
    operations=st.lists(operation, min_size=1, max_size=12),
)
async def test_limited_accounts_stay_within_their_limits(
    db: Database, chart_limits: dict[str, Limits], operations: list[list[Move] | int]
) -> None:
    tenant = await make_tenant(db)
    for code, kind in CHART.items():
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
        limit = chart_limits[code]
        change = LimitsChange(
            limit.no_overdraft,
            [(c, f"{m // 100}.{m % 100:02d}") for c, m in limit.overdraft.items()],
            [(c, f"{m // 100}.{m % 100:02d}") for c, m in limit.max_balance.items()],
        )
        await accounts.set_account_limits(db, tenant.id, code, change)
    model = Model(chart_limits)
    posted: list[tuple[int, Move]] = []  # entries not yet reversed
    for op in operations:
        if isinstance(op, int):
            if not posted:
                continue
            entry_id, move = posted[op % len(posted)]
            mirror = Move(move.credit, move.debit, move.minor, move.currency)
            expected = model.allows(mirror)
            try:
                await posting.reverse_entry(db, tenant.id, entry_id, date=dt.date(2026, 3, 2))
            except LedgerError as error:
                assert not expected, error.message
                assert error.code == "INSUFFICIENT_FUNDS" or error.code == "LIMIT_EXCEEDED"
            else:
                assert expected
                model.apply(mirror)
                posted.remove((entry_id, move))
            continue
        items = await posting.post_entries(db, tenant.id, [_input(m) for m in op], atomic=False)
        for move, item in zip(op, items, strict=True):
            expected = model.allows(move)  # in order: the earlier entries of the batch count
            if item.error is not None:
                assert not expected, item.error.message
                assert item.error.code in {"INSUFFICIENT_FUNDS", "LIMIT_EXCEEDED"}
            else:
                assert expected, move
                assert item.result is not None
                model.apply(move)
                posted.append((item.result.entry.id, move))

    maintained = await balances.balances_by_account(db, tenant.id)
    assert {k: v for k, v in maintained.items() if any(v)} == await line_sums(db, tenant.id)
    ids = {code: await _account_id(db, tenant.id, code) for code in CHART}
    sums = await line_sums(db, tenant.id)
    for code, kind in CHART.items():
        for currency in CURRENCIES:
            debit, credit = sums.get((ids[code], currency), (0, 0))
            available = available_minor(net_of(kind, debit, credit))
            assert available == model.balance[(code, currency)]
            assert model.within(code, currency, available), (code, currency, available)


async def _account_id(db: Database, tenant_id: int, code: str) -> int:
    account = await accounts.get_account(db, tenant_id, code)
    assert account is not None and account.id is not None
    return account.id
