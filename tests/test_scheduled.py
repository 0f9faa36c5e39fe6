"""Scheduled accruals and external ids: written now, posted on their accrual date, once."""

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
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import col, select

from app.cli.main import main as cli
from app.jobs import scheduled_entries
from app.ledger import accounts, batch, posting
from app.ledger.entries import EntryInput, LineInput
from app.main import create_app
from app.runtime.settings import Settings
from db.engine import Database
from db.tables import AccountBalance, Event, JournalEntry
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import BALANCE, TRIAL_BALANCE, create_accounts, set_lock_date

POST = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry { id number date status accrualDate externalId lines { accountCode debit credit } }
    replayed
    errors { code field message }
  }
}"""
ENTRIES = """
query($status: EntryStatus) {
  journalEntries(status: $status, first: 500) { nodes { id number status accrualDate } }
}"""
ENTRY = "query($id: ID!) { journalEntry(id: $id) { id number status accrualDate externalId } }"
EVENTS = "{ events(first: 500) { nodes { type entryId } } }"
LEDGER = """
query($code: String!) {
  generalLedger(accountCode: $code) { lines { nodes { entryId date debit credit } } closingBalance }
}"""
REVERSE = """
mutation($id: ID!) { reverseJournalEntry(id: $id) { entry { id } errors { code field message } } }
"""

TODAY = dt.date.today()
LATER = TODAY + dt.timedelta(days=10)


def _input(amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {
        "date": TODAY.isoformat(),
        "memo": "rent accrual",
        "lines": [
            {"accountCode": "5000", "debit": amount},
            {"accountCode": "2000", "credit": amount},
        ],
        **extra,
    }


async def _post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


async def _balance(gql: GraphQLClient, code: str, as_of: dt.date | None = None) -> str:
    data = await gql(BALANCE, {"code": code, "asOf": as_of.isoformat() if as_of else None})
    return str(data["account"]["balance"]["net"])


async def test_an_accrual_moves_nothing_until_it_posts_on_its_date(
    gql: GraphQLClient, db: Database
) -> None:
    await create_accounts(gql)
    result = await _post(gql, _input(accrualDate=LATER.isoformat()))
    assert result["errors"] == []
    scheduled = result["entry"]
    assert (scheduled["status"], scheduled["accrualDate"]) == ("SCHEDULED", LATER.isoformat())
    assert scheduled["number"].endswith(f"{TODAY.isoformat()}-0001")
    # No balance, no trial balance row, no ledger line, no event: only the entry itself.
    assert await _balance(gql, "5000") == "0.00"
    assert (await gql(TRIAL_BALANCE))["trialBalance"]["rows"] == []
    assert (await gql(LEDGER, {"code": "5000"}))["generalLedger"]["lines"]["nodes"] == []
    assert (await gql(EVENTS))["events"]["nodes"] == []
    listed = (await gql(ENTRIES, {"status": "SCHEDULED"}))["journalEntries"]["nodes"]
    assert [node["id"] for node in listed] == [scheduled["id"]]
    assert (await gql(ENTRIES, {"status": "POSTED"}))["journalEntries"]["nodes"] == []

    assert await posting.post_due(db, LATER - dt.timedelta(days=1)) >= 0
    assert (await gql(ENTRY, {"id": scheduled["id"]}))["journalEntry"]["status"] == "SCHEDULED"

    assert await posting.post_due(db, LATER) >= 1
    posted = (await gql(ENTRY, {"id": scheduled["id"]}))["journalEntry"]
    assert (posted["status"], posted["number"]) == ("POSTED", scheduled["number"])
    assert await _balance(gql, "5000") == "100.00"
    # Balances as of a date see it from its accrual date on.
    assert await _balance(gql, "5000", LATER - dt.timedelta(days=1)) == "0.00"
    assert await _balance(gql, "5000", LATER) == "100.00"
    ledger = (await gql(LEDGER, {"code": "5000"}))["generalLedger"]
    assert [(n["date"], n["debit"]) for n in ledger["lines"]["nodes"]] == [
        (LATER.isoformat(), "100.00")
    ]
    assert (await gql(EVENTS))["events"]["nodes"] == [
        {"type": "journal_entry.posted", "entryId": scheduled["id"]}
    ]
    # Posting what is due again posts nothing twice.
    await posting.post_due(db, LATER)
    assert len((await gql(EVENTS))["events"]["nodes"]) == 1
    assert await _balance(gql, "5000") == "100.00"


async def test_an_accrual_due_already_posts_at_once_on_its_date(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    earlier = TODAY - dt.timedelta(days=3)
    result = await _post(gql, _input(accrualDate=earlier.isoformat()))
    assert (result["entry"]["status"], result["entry"]["accrualDate"]) == (
        "POSTED",
        earlier.isoformat(),
    )
    assert await _balance(gql, "5000", earlier - dt.timedelta(days=1)) == "0.00"
    assert await _balance(gql, "5000", earlier) == "100.00"
    assert len((await gql(EVENTS))["events"]["nodes"]) == 1


async def test_numbers_stay_gap_free_with_scheduled_entries(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    numbers = [
        (await _post(gql, _input(**extra)))["entry"]["number"]
        for extra in ({}, {"accrualDate": LATER.isoformat()}, {})
    ]
    assert [number.rsplit("-", 1)[1] for number in numbers] == ["0001", "0002", "0003"]


async def test_external_id_replays_conflicts_and_follows_the_entry(
    gql: GraphQLClient, db: Database
) -> None:
    await create_accounts(gql)
    first = await _post(gql, _input(externalId="ext-inv-00912", accrualDate=LATER.isoformat()))
    assert first["errors"] == [] and first["entry"]["externalId"] == "ext-inv-00912"
    again = await _post(gql, _input(externalId="ext-inv-00912", accrualDate=LATER.isoformat()))
    assert again["replayed"] is True
    assert again["entry"]["id"] == first["entry"]["id"]
    assert again["entry"]["status"] == "SCHEDULED"
    other = await _post(gql, _input("5.00", externalId="ext-inv-00912"))
    assert other["entry"] is None
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CONFLICT", "externalId")]
    # A replay after the entry posted returns it as it is now.
    await posting.post_due(db, LATER)
    later = await _post(gql, _input(externalId="ext-inv-00912", accrualDate=LATER.isoformat()))
    assert (later["replayed"], later["entry"]["status"]) == (True, "POSTED")
    assert len((await gql(ENTRIES, {"status": None}))["journalEntries"]["nodes"]) == 1
    # The external id and an idempotency key of the same text do not meet.
    keyed = await _post(gql, _input("7.00", idempotencyKey="ext-inv-00912"))
    assert keyed["errors"] == [] and keyed["replayed"] is False


async def test_external_id_and_idempotency_key_together_are_refused(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    result = await _post(gql, _input(externalId="a", idempotencyKey="b"))
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("BAD_USER_INPUT", "externalId")]
    too_long = await _post(gql, _input(externalId="x" * 201))
    assert [(e["code"], e["field"]) for e in too_long["errors"]] == [
        ("BAD_USER_INPUT", "externalId")
    ]
    assert (await gql(ENTRIES, {"status": None}))["journalEntries"]["nodes"] == []


async def test_a_scheduled_entry_cannot_be_reversed_until_it_posts(
    gql: GraphQLClient, db: Database
) -> None:
    await create_accounts(gql)
    entry_id = (await _post(gql, _input(accrualDate=LATER.isoformat())))["entry"]["id"]
    refused = (await gql(REVERSE, {"id": entry_id}))["reverseJournalEntry"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("BAD_USER_INPUT", "id")]
    assert (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"] == "SCHEDULED"
    await posting.post_due(db, LATER)
    reversed_ = (await gql(REVERSE, {"id": entry_id}))["reverseJournalEntry"]
    assert reversed_["errors"] == []
    assert await _balance(gql, "5000") == "0.00"


async def test_scheduling_into_a_closed_period_is_refused(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    await set_lock_date(db, tenant.slug, TODAY - dt.timedelta(days=1))
    closed = await _post(gql, _input(accrualDate=(TODAY - dt.timedelta(days=2)).isoformat()))
    assert [(e["code"], e["field"]) for e in closed["errors"]] == [
        ("BAD_USER_INPUT", "accrualDate")
    ]
    # Locked after it was scheduled: it stays SCHEDULED rather than post into closed books.
    entry_id = (await _post(gql, _input(accrualDate=LATER.isoformat())))["entry"]["id"]
    await set_lock_date(db, tenant.slug, LATER)
    await posting.post_due(db, LATER)
    assert (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"] == "SCHEDULED"
    await set_lock_date(db, tenant.slug, None)
    await posting.post_due(db, LATER)
    assert (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"] == "POSTED"


async def test_the_post_due_command(gql: GraphQLClient, db_url: str) -> None:
    await create_accounts(gql)
    entry_id = (await _post(gql, _input(accrualDate=LATER.isoformat())))["entry"]["id"]

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["post-due", *args], env={"DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return result.output

    assert "posted" in await asyncio.to_thread(run)
    assert (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"] == "SCHEDULED"
    output = await asyncio.to_thread(run, "--today", LATER.isoformat())
    assert output.startswith("posted ")
    assert (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"] == "POSTED"


async def test_the_server_posts_due_entries_in_the_background(
    gql: GraphQLClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_accounts(gql)
    entry_id = (await _post(gql, _input(accrualDate=LATER.isoformat())))["entry"]["id"]
    monkeypatch.setattr(batch, "server_today", lambda: LATER)
    real = posting.post_due
    calls = 0

    async def flaky(db: Database, today: dt.date | None = None) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database is away")  # logged; the next round runs
        return await real(db, today)

    monkeypatch.setattr(scheduled_entries, "post_due", flaky)
    assert scheduled_entries.start(db, 0) is None  # 0 turns it off
    app = create_app(Settings(post_due_seconds=0.02), db=db)
    async with app.router.lifespan_context(app):
        for _ in range(250):
            status = (await gql(ENTRY, {"id": entry_id}))["journalEntry"]["status"]
            if status == "POSTED":
                break
            await asyncio.sleep(0.02)
    assert status == "POSTED"
    assert calls >= 2
    settled = calls
    await asyncio.sleep(0.1)
    assert calls == settled  # stopped with the server


# ---------------------------------------------------------------- several processes

WORKER = textwrap.dedent(
    """
    import asyncio, datetime as dt, os, sys, time
    from pathlib import Path
    from app.ledger.posting import post_due
    from db.engine import Database

    url, go, today = sys.argv[1], Path(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])

    async def main() -> int:
        db = Database(url)
        try:
            await db.run_read(lambda conn: None)  # connected before the start
            while not go.exists():
                time.sleep(0.001)
            return await post_due(db, today)
        finally:
            await db.dispose()

    print(asyncio.run(main()))
    """
)


def _race(db_url: str, go: Path, due: dt.date) -> list[int]:
    """Two processes running post_due at once, released together; what each posted."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, str(go), due.isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)  # both started, connected and waiting
    go.touch()
    posted: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        posted.append(int(out.strip()))
    return posted


async def test_two_processes_post_each_due_entry_exactly_once(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    tenants = [await make_tenant(db) for _ in range(4)]
    per_tenant = 150
    due = TODAY + dt.timedelta(days=20)
    for fixture in tenants:
        for code, kind in (("5000", "EXPENSE"), ("2000", "LIABILITY")):
            await accounts.create_account(
                db, fixture.id, accounts.AccountInput(code=code, name=code, type=kind)
            )
        items = await posting.post_entries(
            db,
            fixture.id,
            [
                EntryInput(
                    date=TODAY,
                    memo=f"accrual {i}",
                    accrual_date=due,
                    lines=[
                        LineInput("5000", debit=f"{i + 1}.00"),
                        LineInput("2000", credit=f"{i + 1}.00"),
                    ],
                )
                for i in range(per_tenant)
            ],
            atomic=True,
        )
        assert all(item.result and item.result.entry.status == "SCHEDULED" for item in items)
    posted = await asyncio.to_thread(_race, db_url, tmp_path / "go", due)
    assert sum(posted) >= len(tenants) * per_tenant

    ids = [fixture.id for fixture in tenants]
    expected_total = sum(range(1, per_tenant + 1)) * 100
    async with db.read() as session:
        statuses = (
            await session.execute(
                select(col(JournalEntry.status), func.count())
                .where(col(JournalEntry.tenant_id).in_(ids))
                .group_by(col(JournalEntry.status))
            )
        ).all()
        events = (
            await session.execute(
                select(col(Event.entry_id), func.count())
                .where(col(Event.tenant_id).in_(ids), col(Event.type) == "journal_entry.posted")
                .group_by(col(Event.entry_id))
            )
        ).all()
        balances = (
            await session.execute(
                select(
                    col(AccountBalance.tenant_id),
                    col(AccountBalance.debit_minor),
                    col(AccountBalance.credit_minor),
                ).where(col(AccountBalance.tenant_id).in_(ids))
            )
        ).all()
    assert dict(statuses) == {"POSTED": len(tenants) * per_tenant}
    assert len(events) == len(tenants) * per_tenant
    assert {count for _, count in events} == {1}
    assert sorted((t, d + c) for t, d, c in balances) == sorted(
        (t, expected_total) for t in ids for _ in range(2)
    )
