"""Hold transitions are group-committed (app/ledger/group_commit.py): concurrent posts and
voids of holds share transactions with each other and with postings, a refused one leaves
nothing behind while its neighbours commit, and a batch with several tenants locks them in
id order. On both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from sqlmodel import col, func, select

from app.ledger import accounts, balances, posting
from app.ledger.entries import EntryInput, LineInput
from app.ledger.errors import LedgerError
from app.ledger.group_commit import committer
from db.engine import Database
from db.tables import Event
from tests.conftest import make_tenant
from tests.helpers import line_sums

HOLDS = 30


def _spend(minor: int, memo: str = "group commit") -> EntryInput:
    amount = f"{minor // 100}.{minor % 100:02d}"
    return EntryInput(
        date=dt.date(2026, 6, 1),
        memo=memo,
        lines=[
            LineInput(account_code="2100", debit=amount),
            LineInput(account_code="4000", credit=amount),
        ],
    )


async def _books(db: Database) -> int:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("2100", "LIABILITY"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    fund = EntryInput(
        date=dt.date(2026, 6, 1),
        memo="fund",
        lines=[
            LineInput(account_code="1000", debit="1000.00"),
            LineInput(account_code="2100", credit="1000.00"),
        ],
    )
    await posting.post_entry(db, tenant.id, fund)
    return tenant.id


async def _wallet(db: Database, tenant_id: int) -> tuple[int, int, int, int]:
    """The wallet's posted and pending (debit, credit) totals in USD."""
    found = await accounts.get_account(db, tenant_id, "2100")
    assert found is not None and found.id is not None
    now = await balances.current_balances(db, tenant_id, account_ids=[found.id])
    return now[(found.id, "USD")]


async def _outcome(work: object) -> str:
    try:
        await work  # type: ignore[misc]
    except LedgerError as error:
        return error.code
    return "ok"


async def test_concurrent_posts_and_voids_share_transactions(db: Database) -> None:
    tenant_id = await _books(db)
    ids = [(await posting.hold_entry(db, tenant_id, _spend(300))).entry.id for _ in range(HOLDS)]
    group = committer(db)
    before, transitions_before = group.batches, group.transitions
    # Each hold: a post and a void at once (one wins, the other is CONFLICT), and plain
    # postings in the same queue.
    work = [
        posting.post_hold(db, tenant_id, entry_id, amount="1.00" if i % 2 else None)
        for i, entry_id in enumerate(ids)
    ]
    work += [posting.void_hold(db, tenant_id, entry_id, "race") for entry_id in ids]
    work += [posting.post_entry(db, tenant_id, _spend(100, "plain")) for _ in range(10)]
    outcomes = await asyncio.gather(*(_outcome(w) for w in work))
    batches = group.batches - before
    assert group.transitions - transitions_before == 2 * HOLDS  # all went through the queue
    assert batches < len(work) / 2, batches  # shared, not one transaction each
    assert Counter(outcomes) == {"ok": HOLDS + 10, "CONFLICT": HOLDS}
    for index, _ in enumerate(ids):
        # The post (queued first) wins every race: each hold's void is refused.
        assert (outcomes[index], outcomes[HOLDS + index]) == ("ok", "CONFLICT")
    # Posted: 15 holds in full (3.00), 15 by 1.00, 10 plain spends of 1.00.
    debit, credit, pending_debit, _ = await _wallet(db, tenant_id)
    assert (credit - debit, pending_debit) == (100_000 - 15 * 300 - 15 * 100 - 10 * 100, 0)
    maintained = await balances.balances_by_account(db, tenant_id)
    assert {pair: total for pair, total in maintained.items() if any(total)} == await line_sums(
        db, tenant_id
    )
    async with db.read() as session:
        closing = (
            await session.execute(
                select(col(Event.type), func.count())
                .where(col(Event.tenant_id) == tenant_id, col(Event.type).like("hold.%"))
                .group_by(col(Event.type))
            )
        ).all()
    assert dict(closing) == {"hold.created": HOLDS, "hold.posted": HOLDS}


async def test_a_refused_transition_leaves_nothing_behind(db: Database) -> None:
    tenant_id = await _books(db)
    ids = [(await posting.hold_entry(db, tenant_id, _spend(200))).entry.id for _ in range(6)]
    # Too much for every odd hold: refused after its reads, before any write.
    work = [
        posting.post_hold(db, tenant_id, entry_id, amount="9.99" if i % 2 else "2.00")
        for i, entry_id in enumerate(ids)
    ]
    outcomes = await asyncio.gather(*(_outcome(w) for w in work))
    assert outcomes == ["ok", "BAD_USER_INPUT"] * 3
    states = [(await posting.load_hold(db, tenant_id, entry_id)).status for entry_id in ids]
    assert states == ["POSTED", "PENDING"] * 3
    assert (await _wallet(db, tenant_id))[2] == 600  # three holds of 2.00 still pending


async def test_two_tenants_in_one_batch(db: Database) -> None:
    first, second = await _books(db), await _books(db)
    holds_of = {
        tenant: [(await posting.hold_entry(db, tenant, _spend(100))).entry.id for _ in range(5)]
        for tenant in (first, second)
    }
    # Interleaved, so each batch has both tenants' transitions and postings.
    work = []
    for index in range(5):
        for tenant in (second, first):
            work.append(posting.post_hold(db, tenant, holds_of[tenant][index]))
            work.append(posting.post_entry(db, tenant, _spend(100, "plain")))
    assert set(await asyncio.gather(*(_outcome(w) for w in work))) == {"ok"}
    for tenant in (first, second):
        maintained = await balances.balances_by_account(db, tenant)
        assert {pair: total for pair, total in maintained.items() if any(total)} == await line_sums(
            db, tenant
        )
