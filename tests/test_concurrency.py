"""Concurrent writers on both engines: no lost update, no duplicate entry.

The SQLite run uses a writer pool of five connections, so the BEGIN IMMEDIATE
locking is really contended rather than queued in a pool of one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from app.ledger import accounts, balances, posting
from app.ledger.errors import Conflict, LedgerError
from db.engine import Database
from db.tables import JournalEntry
from tests.conftest import make_tenant
from tests.helpers import line_sums


@pytest.fixture
async def busy_db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=5)
    yield database
    await database.dispose()


async def _books(db: Database) -> int:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    return tenant.id


def _entry(key: str | None, amount: str = "1.00") -> posting.EntryInput:
    return posting.EntryInput(
        date=dt.date(2026, 6, 1),
        memo=f"sale {key}",
        idempotency_key=key,
        lines=[
            posting.LineInput(account_code="1000", debit=amount),
            posting.LineInput(account_code="4000", credit=amount),
        ],
    )


async def _count_entries(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).where(col(JournalEntry.tenant_id) == tenant_id)
            )
            or 0
        )


async def _assert_balances_match_lines(db: Database, tenant_id: int) -> None:
    assert await balances.balances_by_account(db, tenant_id) == await line_sums(db, tenant_id)


async def test_fifty_racers_ten_keys_make_ten_entries(busy_db: Database) -> None:
    tenant_id = await _books(busy_db)
    keys = [f"key-{i % 10}" for i in range(50)]
    results = await asyncio.gather(
        *(posting.post_entry(busy_db, tenant_id, _entry(k)) for k in keys)
    )
    assert await _count_entries(busy_db, tenant_id) == 10
    assert sum(not r.replayed for r in results) == 10
    ids_by_key: dict[str, set[int]] = {}
    for key, result in zip(keys, results, strict=True):
        ids_by_key.setdefault(key, set()).add(result.entry.id)
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    await _assert_balances_match_lines(busy_db, tenant_id)
    cash = await balances.balances_by_account(busy_db, tenant_id, currency="USD")
    assert sorted(cash.values()) == [(0, 1000), (1000, 0)]


async def test_concurrent_posts_lose_no_update(busy_db: Database) -> None:
    tenant_id = await _books(busy_db)
    await asyncio.gather(
        *(posting.post_entry(busy_db, tenant_id, _entry(None, "1.01")) for _ in range(50))
    )
    assert await _count_entries(busy_db, tenant_id) == 50
    totals = await balances.balances_by_account(busy_db, tenant_id)
    assert sorted(totals.values()) == [(0, 5050), (5050, 0)]
    await _assert_balances_match_lines(busy_db, tenant_id)
    numbers = set()
    async with busy_db.read() as session:
        numbers = set(
            await session.scalars(
                select(col(JournalEntry.number)).where(col(JournalEntry.tenant_id) == tenant_id)
            )
        )
    assert len(numbers) == 50  # journal numbers are unique under concurrency


async def test_concurrent_reversals_reverse_once(busy_db: Database) -> None:
    tenant_id = await _books(busy_db)
    posted = await posting.post_entry(busy_db, tenant_id, _entry(None, "7.00"))
    outcomes = await asyncio.gather(
        *(posting.reverse_entry(busy_db, tenant_id, posted.entry.id) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))
    assert await _count_entries(busy_db, tenant_id) == 2
    totals = await balances.balances_by_account(busy_db, tenant_id)
    assert all(debit == credit for debit, credit in totals.values())


async def test_conflicting_bodies_on_one_key_post_once(busy_db: Database) -> None:
    tenant_id = await _books(busy_db)
    amounts = [f"{i}.00" for i in range(1, 21)]
    outcomes = await asyncio.gather(
        *(posting.post_entry(busy_db, tenant_id, _entry("same", a)) for a in amounts),
        return_exceptions=True,
    )
    posted = [o for o in outcomes if isinstance(o, posting.PostResult)]
    assert len(posted) == 1 and not posted[0].replayed
    assert all(
        isinstance(o, LedgerError) and o.code == "CONFLICT" for o in outcomes if o not in posted
    )
    assert await _count_entries(busy_db, tenant_id) == 1
