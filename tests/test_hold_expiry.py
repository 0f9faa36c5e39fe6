"""Hold expiry (docs/holds.md): a hold past its expiresAt cannot be posted, is released
once (status EXPIRED, a hold.expired event) by the expiry job, by the server under its
lease and by two processes at once, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from app.ledger import accounts, posting
from app.ledger.entries import EntryInput, LineInput
from app.main import create_app
from app.runtime.settings import Settings
from db.engine import Database
from db.tables import AccountBalance, Event
from tests.conftest import GraphQLClient, make_tenant
from tests.helpers import create_accounts, entry
from tests.test_holds import BALANCE, CHART, RESULT, SET_LIMITS, post, post_hold, spend, void_hold

HOLD = f"""mutation($input: PostJournalEntryInput!, $expiresAt: DateTime) {{
  holdJournalEntry(input: $input, expiresAt: $expiresAt) {{ {RESULT} }} }}"""
HOLD_STATE = """query($id: ID!) { hold(entryId: $id) { status expiresAt } }"""
EVENTS = """{ events(first: 100) { nodes { type entryId } } }"""


def soon(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    await create_accounts(gql, CHART)
    data = await gql(SET_LIMITS, {"input": {"accountCode": "2100", "noOverdraft": True}})
    assert data["setAccountLimits"]["errors"] == []
    assert (await post(gql, entry("1000", "2100", "100.00")))["errors"] == []
    return gql


async def hold(gql: GraphQLClient, amount: str, expires_at: str | None) -> dict[str, Any]:
    data = await gql(HOLD, {"input": spend(amount), "expiresAt": expires_at})
    result: dict[str, Any] = data["holdJournalEntry"]
    return result


async def test_expiry_refuses_a_late_post_then_releases_the_hold_once(
    books: GraphQLClient, db: Database
) -> None:
    past = await hold(books, "30.00", soon(-1))
    assert [(e["code"], e["field"]) for e in past["errors"]] == [("BAD_USER_INPUT", "expiresAt")]
    made = await hold(books, "30.00", soon(0.5))
    assert made["errors"] == []
    entry_id = made["entry"]["id"]
    kept_id = (await hold(books, "10.00", soon(3600)))["entry"]["id"]
    assert (await books(HOLD_STATE, {"id": entry_id}))["hold"]["expiresAt"] is not None
    await asyncio.sleep(0.7)
    late = await post_hold(books, entry_id)
    (error,) = late["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "entryId")
    assert "expired" in error["message"]
    # Refused before the job ran: still PENDING, still held.
    assert (await books(HOLD_STATE, {"id": entry_id}))["hold"]["status"] == "PENDING"
    assert (await posting.expire_holds(db)) >= 1
    state = (await books(HOLD_STATE, {"id": entry_id}))["hold"]
    assert state["status"] == "EXPIRED"
    assert (await books(HOLD_STATE, {"id": kept_id}))["hold"]["status"] == "PENDING"
    wallet = (await books(BALANCE, {"code": "2100"}))["account"]["balance"]
    assert (wallet["net"], wallet["pendingDebit"], wallet["available"]) == (
        "100.00",
        "10.00",
        "90.00",
    )
    for again in (await post_hold(books, entry_id), await void_hold(books, entry_id)):
        (error,) = again["errors"]
        assert error["code"] == "CONFLICT" and "EXPIRED" in error["message"]
    nodes = (await books(EVENTS))["events"]["nodes"]
    assert [n["type"] for n in nodes if n["entryId"] == entry_id] == [
        "hold.created",
        "hold.expired",
    ]


async def test_the_server_expires_holds_under_its_lease(books: GraphQLClient, db: Database) -> None:
    entry_id = (await hold(books, "30.00", soon(0.3)))["entry"]["id"]
    app = create_app(Settings(post_due_seconds=0, hold_expiry_seconds=0.1), db=db)
    status = "PENDING"
    async with app.router.lifespan_context(app):
        for _ in range(100):
            status = (await books(HOLD_STATE, {"id": entry_id}))["hold"]["status"]
            if status == "EXPIRED":
                break
            await asyncio.sleep(0.05)
    assert status == "EXPIRED"


WORKER = textwrap.dedent(
    """
    import asyncio, datetime as dt, sys, time
    from pathlib import Path
    from app.ledger.posting import expire_holds
    from db.engine import Database

    url, go, now = sys.argv[1], Path(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3])

    async def main() -> int:
        db = Database(url)
        try:
            await db.run_read(lambda conn: None)  # connected before the start
            while not go.exists():
                time.sleep(0.001)
            return await expire_holds(db, now)
        finally:
            await db.dispose()

    print(asyncio.run(main()))
    """
)


def _race(db_url: str, go: Path, now: dt.datetime) -> list[int]:
    """Two processes running the expiry job at once, released together; what each expired."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, str(go), now.isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)  # both started, connected and waiting
    go.touch()
    expired: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        expired.append(int(out.strip()))
    return expired


async def test_two_processes_expire_each_hold_once(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("2100", "LIABILITY")):
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    items = await posting.hold_entries(
        db,
        tenant.id,
        [
            EntryInput(
                date=dt.date.today(),
                memo=f"hold {i}",
                lines=[
                    LineInput("1000", debit=f"{i + 1}.00"),
                    LineInput("2100", credit=f"{i + 1}.00"),
                ],
            )
            for i in range(20)
        ],
        atomic=True,
        expires_at=expires,
    )
    ids = [item.result.entry.id for item in items if item.result is not None]
    assert len(ids) == 20
    # Both run "a day later": every one of the 20 holds is due (and other tests' too).
    expired = await asyncio.to_thread(_race, db_url, tmp_path / "go", expires)
    assert sum(expired) >= 20
    async with db.read() as session:
        events = (
            await session.execute(
                select(Event.entry_id, Event.type).where(col(Event.entry_id).in_(ids))
            )
        ).all()
        pending = (
            await session.execute(
                select(
                    AccountBalance.pending_debit_minor, AccountBalance.pending_credit_minor
                ).where(AccountBalance.tenant_id == tenant.id)
            )
        ).all()
    expirations = sorted(entry_id for entry_id, kind in events if kind == "hold.expired")
    assert expirations == sorted(ids)  # each once
    assert all(row == (0, 0) for row in pending), pending  # never released twice
