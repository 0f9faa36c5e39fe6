"""Balance conditions and dry runs as invariants, checked by hypothesis on both engines.

Random spends, funds and holds on a wallet, each with a random condition on its posted
or available balance. A model keeps the wallet's posted net and pending debits and
predicts each outcome: refused (CONDITION_FAILED, with the model's value as ``actual``)
exactly when the balance the entry would leave is outside the bounds. Before each real
call a dry run of the same input must give the same outcome, its preview showing the
balance the real call then leaves, and must itself change nothing.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, balances, posting
from app.ledger.entries import ConditionInput
from app.ledger.errors import ConditionFailed, LedgerError
from db.engine import Database
from tests.conftest import make_tenant

FUNDS = 10_000  # minor units in the wallet at the start

bound = st.one_of(st.none(), st.integers(-15_000, 15_000))
operation = st.tuples(
    st.sampled_from(["spend", "fund", "hold"]),
    st.integers(1, 6_000),
    st.sampled_from(["POSTED", "AVAILABLE"]),
    bound,
    bound,
)


def _text(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _input(kind: str, minor: int, condition: ConditionInput) -> posting.EntryInput:
    # A spend debits the credit-normal wallet; funding credits it.
    debit, credit = ("1000", "2100") if kind == "fund" else ("2100", "4000")
    return posting.EntryInput(
        date=dt.date(2026, 3, 1),
        memo="conditions property",
        lines=[
            posting.LineInput(account_code=debit, debit=_text(minor)),
            posting.LineInput(account_code=credit, credit=_text(minor)),
        ],
        conditions=[condition],
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=12))
async def test_conditions_and_dry_runs_agree_with_the_model(
    db: Database, operations: list[tuple[str, int, str, int | None, int | None]]
) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("2100", "LIABILITY"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    fund = _input("fund", FUNDS, ConditionInput("2100", "USD", "POSTED", at_least="-1000000"))
    await posting.post_entry(db, tenant.id, fund)
    found = await accounts.get_account(db, tenant.id, "2100")
    assert found is not None and found.id is not None
    wallet = found.id
    net, pending = FUNDS, 0
    for kind, minor, layer, low, high in operations:
        if low is None and high is None:
            low = 0
        if low is not None and high is not None and low > high:
            low, high = high, low
        condition = ConditionInput(
            "2100",
            "USD",
            layer,
            at_least=None if low is None else _text(low),
            at_most=None if high is None else _text(high),
        )
        data = _input(kind, minor, condition)
        after_net = net + minor if kind == "fund" else net - (0 if kind == "hold" else minor)
        after_pending = pending + (minor if kind == "hold" else 0)
        value = after_net if layer == "POSTED" else after_net - after_pending
        holds = (low is None or value >= low) and (high is None or value <= high)

        (dry,) = await posting.preview_entries(db, tenant.id, [data], hold=kind == "hold")
        if holds:
            assert dry.error is None and dry.preview is not None, dry.error
            (row,) = [b for b in dry.preview.balances if b.account_code == "2100"]
            assert (row.net_minor, row.pending_debit_minor) == (after_net, after_pending)
            assert row.available_minor == after_net - after_pending
        else:
            assert isinstance(dry.error, ConditionFailed), dry.error
            assert dry.error.failure.actual_minor == value

        try:
            if kind == "hold":
                await posting.hold_entry(db, tenant.id, data)
            else:
                await posting.post_entry(db, tenant.id, data)
        except LedgerError as error:
            assert not holds and isinstance(error, ConditionFailed), error
            assert error.failure.actual_minor == value
            assert error.field == "conditions.0"
        else:
            assert holds, (kind, minor, layer, low, high, value)
            net, pending = after_net, after_pending
        now = await balances.current_balances(db, tenant.id, account_ids=[wallet])
        debit, credit, pending_debit, _ = now.get((wallet, "USD"), (0, 0, 0, 0))
        assert (credit - debit, pending_debit) == (net, pending)
