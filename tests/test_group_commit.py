"""Group commit and the write transaction under failure, on both engines.

- crossed atomic batches from several connections neither deadlock nor duplicate;
- a batch whose transaction fails in the database is rewritten one request at a
  time, so only the request at fault fails;
- ``Database.run_write`` retries deadlocks and serialization failures a bounded
  number of times, then gives up with WriteContention, which posting answers
  as TRY_AGAIN.

Database failures are real: a trigger makes the database refuse entries with a
given memo. The databases are shared by the whole test session, so every
trigger is dropped when its test ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import Connection, func, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.ledger import accounts, balances, batch, posting
from app.ledger.entries import Request
from app.ledger.errors import LedgerError, TryAgain
from app.ledger.group_commit import committer
from db.engine import WRITE_ATTEMPTS, Database, WriteContention
from db.tables import JournalEntry, Tenant
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts, entry, line_sums, post

DAY = dt.date(2026, 6, 1)


async def _books(db: Database) -> int:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("4000", "INCOME"), ("5000", "EXPENSE")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    return tenant.id


def _entry(
    amount: str,
    *,
    key: str | None = None,
    memo: str = "sale",
    debit: str = "1000",
    credit: str = "4000",
) -> posting.EntryInput:
    return posting.EntryInput(
        date=DAY,
        memo=memo,
        idempotency_key=key,
        lines=[
            posting.LineInput(account_code=debit, debit=amount),
            posting.LineInput(account_code=credit, credit=amount),
        ],
    )


async def _entries(db: Database, tenant_id: int) -> list[JournalEntry]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(JournalEntry)
                .where(col(JournalEntry.tenant_id) == tenant_id)
                .order_by(col(JournalEntry.id))
            )
        )


async def _assert_balances_match_lines(db: Database, tenant_id: int) -> None:
    lines = await line_sums(db, tenant_id)
    assert await balances.balances_by_account(db, tenant_id) == lines
    everything = dt.date(2100, 1, 1)
    assert await balances.balances_by_account(db, tenant_id, as_of=everything) == lines


async def _execute(db: Database, statements: list[str]) -> None:
    async with db.write() as session:
        for statement in statements:
            await session.execute(text(statement))


@asynccontextmanager
async def _refused_memo(db: Database, memo: str, *, contended: bool = False) -> AsyncIterator[None]:
    """While open, the database refuses to insert an entry whose memo is ``memo``.

    ``contended``: the refusal is one run_write retries (PostgreSQL: SQLSTATE 40P01,
    deadlock_detected; SQLite: the "database is locked" message of a busy timeout),
    so it looks like contention that never clears.
    """
    name = f"test_refuse_{memo}"
    if db.sqlite:
        message = "database is locked" if contended else "boom"
        create = [
            f"CREATE TRIGGER {name} BEFORE INSERT ON journal_entries "
            f"WHEN NEW.memo = '{memo}' BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ]
        drop = [f"DROP TRIGGER IF EXISTS {name}"]
    else:
        errcode = "40P01" if contended else "P0001"
        create = [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{errcode}'; END $$",
            f"CREATE TRIGGER {name} BEFORE INSERT ON journal_entries FOR EACH ROW "
            f"WHEN (NEW.memo = '{memo}') EXECUTE FUNCTION {name}()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS {name} ON journal_entries",
            f"DROP FUNCTION IF EXISTS {name}()",
        ]
    await _execute(db, create)
    try:
        yield
    finally:
        await _execute(db, drop)


# ---------------------------------------------------------------- 4. crossed batches


async def test_crossed_atomic_batches_from_several_connections(db: Database) -> None:
    tenants = [await _books(db), await _books(db)]
    # One Database's group commit serializes its own writes; separate Database objects
    # are separate connections, like separate processes.
    others = [Database(db.url), Database(db.url)]
    databases = [db, *others]
    pairs = 40
    try:
        calls = []
        for i in range(pairs):
            tenant_id = tenants[i % 2]
            a = _entry(f"{i + 1}.00", key=f"a-{i}", memo=f"a {i}")
            b = _entry(f"{i + 1}.50", key=f"b-{i}", memo=f"b {i}", debit="5000", credit="1000")
            calls.append(posting.post_entries(databases[i % 3], tenant_id, [a, b], atomic=True))
            calls.append(
                posting.post_entries(databases[(i + 1) % 3], tenant_id, [b, a], atomic=True)
            )
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        for other in others:
            await other.dispose()

    raised = [o for o in outcomes if isinstance(o, BaseException)]
    assert raised == []
    answers = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = [item.error for items in answers for item in items if item.error is not None]
    assert [e.code for e in errors if e.code == "TRY_AGAIN"] == []
    assert errors == []
    for i in range(pairs):
        forward, backward = answers[2 * i], answers[2 * i + 1]
        assert all(item.result is not None for item in [*forward, *backward])
        a_first, b_first = (item.result for item in forward)
        b_second, a_second = (item.result for item in backward)
        assert a_first is not None and b_first is not None
        assert a_second is not None and b_second is not None
        assert a_first.entry.id == a_second.entry.id and b_first.entry.id == b_second.entry.id
        # Whichever committed first posted both; the other replayed both.
        flags = {(a_first.replayed, b_first.replayed), (a_second.replayed, b_second.replayed)}
        assert flags == {(False, False), (True, True)}, i
    for tenant_id in tenants:
        keys = [e.idempotency_key for e in await _entries(db, tenant_id)]
        expected = [
            f"{side}-{i}" for i in range(pairs) if tenants[i % 2] == tenant_id for side in "ab"
        ]
        assert sorted(k or "" for k in keys) == sorted(expected)  # one entry per key
        await _assert_balances_match_lines(db, tenant_id)


# ---------------------------------------------------------------- 5. fallback


async def test_a_failing_batch_is_rewritten_one_request_at_a_time(db: Database) -> None:
    tenant_id = await _books(db)
    inputs = [
        _entry(f"{i + 1}.00", memo="explode", key="exploding")
        if i == 4
        else _entry(f"{i + 1}.00", memo=f"sale {i}")
        for i in range(10)
    ]
    group = committer(db)
    async with _refused_memo(db, "explode"):
        before = group.batches
        outcomes = await asyncio.gather(
            *(posting.post_entry(db, tenant_id, data) for data in inputs), return_exceptions=True
        )
        batches = group.batches - before

    exploded = outcomes[4]
    assert isinstance(exploded, DBAPIError), exploded  # an error, not a silent success
    assert "boom" in str(exploded.orig)
    posted = [o for i, o in enumerate(outcomes) if i != 4]
    assert all(isinstance(o, posting.PostResult) and not o.replayed for o in posted), posted
    assert batches == 1 + len(inputs)  # the shared batch failed, then each request alone
    stored = await _entries(db, tenant_id)
    assert sorted(e.memo for e in stored) == sorted(f"sale {i}" for i in range(10) if i != 4)
    # The failed transactions took no journal number.
    assert sorted(int(e.number.rsplit("-", 1)[1]) for e in stored) == list(range(1, 10))
    total = sum((i + 1) * 100 for i in range(10) if i != 4)
    assert sorted((await balances.balances_by_account(db, tenant_id)).values()) == [
        (0, total),
        (total, 0),
    ]
    await _assert_balances_match_lines(db, tenant_id)

    # Nothing of the failed request was kept, not even its idempotency key.
    retried = await posting.post_entry(db, tenant_id, inputs[4])
    assert not retried.replayed and retried.entry.memo == "explode"


# ---------------------------------------------------------------- 7. retries


class _DriverError(Exception):
    """What a driver raises, with the SQLSTATE asyncpg and psycopg attach."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _failure(sqlstate: str | None, message: str = "deadlock detected") -> DBAPIError:
    return DBAPIError("UPDATE tenants SET name = ...", None, _DriverError(message, sqlstate))


async def _rename_until(
    db: Database, tenant: TenantFixture, failures: int, error: Exception
) -> tuple[int, str]:
    """Attempts and result of a work that renames the tenant, raising ``error`` the first
    ``failures`` times."""
    attempts = 0

    def work(conn: Connection) -> str:
        nonlocal attempts
        attempts += 1
        conn.execute(
            update(Tenant).where(col(Tenant.id) == tenant.id).values(name=col(Tenant.name) + "!")
        )
        if attempts <= failures:
            raise error
        return str(
            conn.execute(select(col(Tenant.name)).where(col(Tenant.id) == tenant.id)).scalar_one()
        )

    name = await db.run_write(work)
    return attempts, name


@pytest.mark.parametrize(
    "error",
    [
        _failure("40P01"),
        _failure("40001", "could not serialize access"),
        _failure(None, "database is locked"),
    ],
    ids=["deadlock", "serialization", "sqlite-busy"],
)
async def test_run_write_retries_contention_then_succeeds(db: Database, error: DBAPIError) -> None:
    tenant = await make_tenant(db)
    attempts, name = await _rename_until(db, tenant, 2, error)
    assert attempts == 3
    assert name == f"Tenant {tenant.slug}!"  # the failed attempts were rolled back


async def test_run_write_gives_up_after_its_attempts(db: Database) -> None:
    tenant = await make_tenant(db)
    attempts = 0

    def work(conn: Connection) -> None:
        nonlocal attempts
        attempts += 1
        raise _failure("40P01")

    with pytest.raises(WriteContention):
        await db.run_write(work)
    assert attempts == WRITE_ATTEMPTS
    with pytest.raises(WriteContention):
        await _rename_until(db, tenant, WRITE_ATTEMPTS, _failure("40001"))
    async with db.read() as session:
        name = await session.scalar(select(col(Tenant.name)).where(col(Tenant.id) == tenant.id))
    assert name == f"Tenant {tenant.slug}"


@pytest.mark.parametrize(
    "error",
    [_failure("23505", "duplicate key value"), ValueError("a bug in the work")],
    ids=["unique-violation", "not-a-database-error"],
)
async def test_run_write_raises_other_errors_at_once(db: Database, error: Exception) -> None:
    attempts = 0

    def work(conn: Connection) -> None:
        nonlocal attempts
        attempts += 1
        raise error

    with pytest.raises(type(error)):
        await db.run_write(work)
    assert attempts == 1


async def test_contention_that_never_clears_is_try_again(db: Database) -> None:
    tenant_id = await _books(db)
    async with _refused_memo(db, "stuck", contended=True):
        stuck, neighbour = await asyncio.gather(
            posting.post_entry(db, tenant_id, _entry("1.00", memo="stuck", key="stuck")),
            posting.post_entry(db, tenant_id, _entry("2.00")),
            return_exceptions=True,
        )
        kept = await posting.post_entry(db, tenant_id, _entry("3.00"))
        with pytest.raises(TryAgain) as reversal:
            await posting.reverse_entry(db, tenant_id, kept.entry.id, memo="stuck")

    assert isinstance(stuck, LedgerError) and stuck.code == "TRY_AGAIN", stuck
    assert reversal.value.code == "TRY_AGAIN"
    assert isinstance(neighbour, posting.PostResult) and not neighbour.replayed
    stored = await _entries(db, tenant_id)
    assert [e.memo for e in stored] == ["sale", "sale"]
    assert all(e.status == "POSTED" for e in stored)  # the failed reversal left no mark
    await _assert_balances_match_lines(db, tenant_id)
    # Safe to retry as is: the key was not claimed.
    retried = await posting.post_entry(db, tenant_id, _entry("1.00", memo="stuck", key="stuck"))
    assert not retried.replayed


async def test_try_again_through_graphql_is_a_payload_error(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    async with _refused_memo(db, "busy", contended=True):
        result = await post(gql, entry("1000", "4000", "5.00", memo="busy"))
    assert result["entry"] is None
    assert [e["code"] for e in result["errors"]] == ["TRY_AGAIN"]
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).where(col(JournalEntry.tenant_id) == tenant.id)
        )
    assert count == 0


# ---------------------------------------------------------------- plan, then commit


async def _plan(db: Database, request: Request) -> batch.Plan:
    return await db.run_read(lambda conn: batch.plan_batch(conn, [request]))


async def _commit(db: Database, plan: batch.Plan) -> posting.BulkItem:
    ((item,),) = await db.run_write(lambda conn: batch.commit_batch(conn, plan))
    return item


async def test_batches_planned_together_commit_one_key_once(db: Database) -> None:
    """The pipeline plans a batch while another commits: keys are decided at commit."""
    tenant_id = await _books(db)
    requests = [Request(tenant_id, [_entry("5.00", key="pipelined")]) for _ in range(2)]
    plans = [await _plan(db, request) for request in requests]
    first, second = [await _commit(db, plan) for plan in plans]
    assert first.result is not None and not first.result.replayed
    assert second.result is not None and second.result.replayed
    assert second.result.entry.id == first.result.entry.id
    assert len(await _entries(db, tenant_id)) == 1


async def test_a_lock_date_set_between_plan_and_commit_is_honoured(db: Database) -> None:
    tenant_id = await _books(db)
    request = Request(tenant_id, [_entry("5.00")])
    plan = await _plan(db, request)
    async with db.write() as session:
        await session.execute(
            update(Tenant).where(col(Tenant.id) == tenant_id).values(lock_date=DAY)
        )
    item = await _commit(db, plan)
    assert item.error is not None and item.error.field == "date"
    assert await _entries(db, tenant_id) == []
