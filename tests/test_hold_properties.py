"""Holds as invariants, checked by hypothesis on both engines: random holds, posts (in
full or in part), voids and plain spends against a no-overdraft wallet funded once.

A model predicts each outcome (a hold or a spend is refused when it takes more than the
available balance: net less what open holds take; a post takes at most what its hold
held, with that hold's amount given back first); the ledger must agree, and its net,
pending debits and available balance must equal the model's after every step.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ledger import accounts, balances, posting
from app.ledger.errors import LedgerError
from app.ledger.limits import LimitsChange
from db.engine import Database
from tests.conftest import make_tenant

FUNDS = 10_000  # minor units in the wallet at the start

# ("hold" | "spend", amount) or ("post" | "void", which open hold, part of it in percent).
operation = st.one_of(
    st.tuples(st.sampled_from(["hold", "spend"]), st.integers(1, 6_000)),
    st.tuples(st.sampled_from(["post", "void"]), st.integers(0, 20), st.integers(1, 100)),
)


def _text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _input(minor: int) -> posting.EntryInput:
    return posting.EntryInput(
        date=dt.date(2026, 3, 1),
        memo="holds property",
        lines=[
            posting.LineInput(account_code="2100", debit=_text(minor)),
            posting.LineInput(account_code="4000", credit=_text(minor)),
        ],
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=15))
async def test_holds_agree_with_the_model(
    db: Database, operations: list[tuple[str, int] | tuple[str, int, int]]
) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("2100", "LIABILITY"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    await accounts.set_account_limits(db, tenant.id, "2100", LimitsChange(no_overdraft=True))
    await posting.post_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=dt.date(2026, 3, 1),
            memo="fund",
            lines=[
                posting.LineInput(account_code="1000", debit=_text(FUNDS)),
                posting.LineInput(account_code="2100", credit=_text(FUNDS)),
            ],
        ),
    )
    found = await accounts.get_account(db, tenant.id, "2100")
    assert found is not None and found.id is not None
    wallet = found.id
    net = FUNDS
    open_holds: dict[int, int] = {}  # entry id -> held minor units
    for op in operations:
        kind = op[0]
        available = net - sum(open_holds.values())
        if kind in ("hold", "spend"):
            minor = op[1]
            try:
                if kind == "hold":
                    result = await posting.hold_entry(db, tenant.id, _input(minor))
                else:
                    result = await posting.post_entry(db, tenant.id, _input(minor))
            except LedgerError as error:
                assert minor > available and error.code == "INSUFFICIENT_FUNDS", error
            else:
                assert minor <= available
                if kind == "hold":
                    open_holds[result.entry.id] = minor
                else:
                    net -= minor
        elif open_holds and len(op) == 3:
            entry_id = sorted(open_holds)[op[1] % len(open_holds)]
            held = open_holds.pop(entry_id)
            if kind == "void":
                await posting.void_hold(db, tenant.id, entry_id, None)
            else:
                part = max(1, held * op[2] // 100)
                result = await posting.post_hold(db, tenant.id, entry_id, amount=_text(part))
                assert result.entry.status == "POSTED"
                net -= part
        now = await balances.current_balances(db, tenant.id, account_ids=[wallet])
        debit, credit, pending_debit, pending_credit = now.get((wallet, "USD"), (0, 0, 0, 0))
        assert (credit - debit, pending_debit, pending_credit) == (
            net,
            sum(open_holds.values()),
            0,
        )
        assert net - pending_debit >= 0  # the wallet never overdraws, holds included
