"""Holds under real concurrency (docs/holds.md): posts, voids and the expiry job racing on
the same holds end each hold exactly once, never releasing twice, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections import Counter
from typing import Any

from sqlmodel import col, select

from app.ledger import accounts, holds, posting
from app.ledger.entries import EntryInput, LineInput
from app.ledger.errors import LedgerError
from db.engine import Database
from db.tables import AccountBalance, Event, JournalEntry
from tests.conftest import make_tenant

HOLDS = 12


async def _outcome(work: asyncio.Future[object] | object) -> str:
    try:
        await work  # type: ignore[misc]
    except LedgerError as error:
        return error.code
    return "ok"


async def test_posts_voids_and_expiry_racing_end_each_hold_once(db: Database) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("2100", "LIABILITY")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    ids: list[int] = []
    for days in (0, 1):  # half expire a day later than the other half
        items = await posting.hold_entries(
            db,
            tenant.id,
            [
                EntryInput(
                    date=dt.date.today(),
                    memo=f"hold {i}",
                    lines=[LineInput("1000", debit="1.00"), LineInput("2100", credit="1.00")],
                )
                for i in range(HOLDS // 2)
            ],
            atomic=True,
            expires_at=expires + dt.timedelta(days=days),
        )
        ids += [item.result.entry.id for item in items if item.result is not None]
    assert len(ids) == HOLDS
    later = expires + dt.timedelta(seconds=1)  # the first half is due, the second not
    posts = {i: _outcome(posting.post_hold(db, tenant.id, i)) for i in ids}
    voids = {i: _outcome(posting.void_hold(db, tenant.id, i, "race")) for i in ids}
    # The expiry job "a day later" (the posts use the real clock: not expired for them),
    # then the post or the void first by turns.
    # The job's own transaction (holds.expire_in), so it queues with the first writers.
    expire = functools.partial(holds.expire_in, tenant_id=tenant.id, now=later, limit=500)
    races: list[Any] = [db.run_write(expire)]
    for turn, entry_id in enumerate(ids):
        pair = [posts[entry_id], voids[entry_id]]
        races += pair if turn % 2 else pair[::-1]
    done = await asyncio.gather(*races)
    async with db.read() as session:
        statuses: dict[int, str] = dict(
            (
                await session.execute(
                    select(JournalEntry.id, JournalEntry.status).where(
                        col(JournalEntry.id).in_(ids)
                    )
                )
            ).all()
        )
        events = (
            await session.execute(
                select(Event.entry_id, Event.type).where(col(Event.entry_id).in_(ids))
            )
        ).all()
        balances = (
            await session.execute(
                select(
                    AccountBalance.account_id,
                    AccountBalance.debit_minor,
                    AccountBalance.pending_debit_minor,
                    AccountBalance.pending_credit_minor,
                ).where(AccountBalance.tenant_id == tenant.id)
            )
        ).all()
    closing = Counter(entry_id for entry_id, kind in events if kind != "hold.created")
    assert closing == Counter(dict.fromkeys(ids, 1))  # one outcome per hold
    results = [result for result in done[1:]]
    by_hold = iter(results)
    for turn, entry_id in enumerate(ids):
        first, second = next(by_hold), next(by_hold)
        post, void = (first, second) if turn % 2 else (second, first)
        status = statuses[entry_id]
        assert (post == "ok") == (status == "POSTED"), (post, void, status)
        assert (void == "ok") == (status == "VOIDED"), (post, void, status)
        assert {post, void} <= {"ok", "CONFLICT"}
        if status == "EXPIRED":
            assert (post, void) == ("CONFLICT", "CONFLICT")
            assert ids.index(entry_id) < HOLDS // 2  # only those due
    assert all(row[2] == row[3] == 0 for row in balances), balances  # never released twice
    posted = sum(1 for status in statuses.values() if status == "POSTED")
    assert sum(debit for _, debit, _, _ in balances) == posted * 100
