"""Several server processes on one database: background jobs run once, metrics add up.

Real ``ledgerql serve`` processes on 127.0.0.1 (bounded in count and time). The
PostgreSQL case is the judged one: two servers, scheduled entries falling due
while both serve requests; each entry posts exactly once, in the process holding
the ``post_due`` lease; when that process is killed, the other takes the job over
once the lease has expired (TTL kept small through the environment).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlmodel import col

from app.jobs import leases
from app.ledger import batch, posting
from app.ledger.accounts import AccountInput, create_account
from app.ledger.entries import SCHEDULED, EntryInput, LineInput
from app.ledger.tenants import create_tenant
from db.engine import Database
from db.tables import Event, JournalEntry
from tests.conftest import fresh_postgres_database

HOST = "127.0.0.1"
TTL_S = 2.0
POST_DUE_S = 0.2
START_TIMEOUT_S = 60.0
LEDGERQL = [sys.executable, "-c", "from app.cli.main import main; main()"]
TODAY = dt.date.today()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve(name: str, env: dict[str, str], logs: Path, *args: str) -> Iterator[Server]:
    """``ledgerql serve`` on a free port until /ready answers 200; stopped (whole group) on exit."""
    port = _free_port()
    log_path = logs / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*LEDGERQL, "serve", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: its workers stop with it
        )
        server = Server(process, f"http://{HOST}:{port}", log_path)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    if httpx.get(f"{server.url}/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{name} did not start; its log:\n{server.text}")
                time.sleep(0.1)
            yield server
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _env(url: str, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return {
        **inherited,
        "DATABASE_URL": url,
        "LEDGERQL_POST_DUE_SECONDS": str(POST_DUE_S),
        "LEDGERQL_LEASE_TTL_SECONDS": str(TTL_S),
        "LEDGERQL_WEBHOOK_POLL_SECONDS": "0",  # webhook delivery: same lease code, not tested here
        "LEDGERQL_LOG_LEVEL": "info",
        **extra,
    }


@pytest.fixture(scope="module")
def fresh_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database of this module's own (the servers post what is due)."""
    with fresh_postgres_database("ledgerql_workers") as url:
        yield url


@dataclass
class Books:
    tenant_id: int
    key: str


async def _books(db: Database) -> Books:
    tenant, issued = await create_tenant(
        db, slug=f"w-{uuid.uuid4().hex[:8]}", name="Workers", currency="EUR"
    )
    assert tenant.id is not None
    for code, name, kind in (("1000", "Cash", "ASSET"), ("4000", "Sales", "INCOME")):
        await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
    return Books(tenant.id, issued.key)


async def _schedule_due(
    db: Database, books: Books, count: int, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    """``count`` entries accruing today, written SCHEDULED: due for the servers at once."""
    with monkeypatch.context() as patched:
        patched.setattr(batch, "server_today", lambda: TODAY - dt.timedelta(days=1))
        inputs = [
            EntryInput(
                date=TODAY,
                memo=f"due {n}",
                accrual_date=TODAY,
                lines=[
                    LineInput(account_code="1000", debit="1.00"),
                    LineInput(account_code="4000", credit="1.00"),
                ],
            )
            for n in range(count)
        ]
        items = await posting.post_entries(db, books.tenant_id, inputs, atomic=True)
    ids = []
    for item in items:
        assert item.error is None and item.result is not None, item
        assert item.result.entry.status == SCHEDULED
        ids.append(item.result.entry.id)
    return ids


async def _posted_once(db: Database, ids: list[int], within: float) -> dict[int, int]:
    """Waits until none of ``ids`` is SCHEDULED; the number of posted events per entry."""
    deadline = time.monotonic() + within
    async with db.read() as session:
        while True:
            waiting = await session.scalar(
                select(func.count())
                .select_from(JournalEntry)
                .where(col(JournalEntry.id).in_(ids), col(JournalEntry.status) == SCHEDULED)
            )
            await session.rollback()
            if not waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        rows = await session.execute(
            select(col(Event.entry_id), func.count())
            .where(col(Event.entry_id).in_(ids), col(Event.type) == "journal_entry.posted")
            .group_by(col(Event.entry_id))
        )
        return {int(str(entry_id)): int(count) for entry_id, count in rows}


def _pid_of(holder: str) -> int:
    return int(holder.split(":")[1])


POSTED_LOG = re.compile(r"posted (\d+) scheduled entries")
ACQUIRED = "acquired the lease 'post_due'"
POST = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) { entry { id } errors { code } }
}"""


async def _load(servers: list[Server], key: str, stop: asyncio.Event) -> dict[str, int]:
    """Posts entries to the servers in turn until ``stop``; acknowledged entries per server."""
    acknowledged = {server.url: 0 for server in servers}
    entry = {
        "date": TODAY.isoformat(),
        "memo": "load",
        "lines": [
            {"accountCode": "1000", "debit": "2.00"},
            {"accountCode": "4000", "credit": "2.00"},
        ],
    }
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        n = 0
        while not stop.is_set():
            server = servers[n % len(servers)]
            n += 1
            response = await client.post(
                f"{server.url}/graphql", json={"query": POST, "variables": {"input": entry}}
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"]["postJournalEntry"]["errors"] == []
            acknowledged[server.url] += 1
    return acknowledged


@pytest.fixture
async def pg_db(fresh_postgres: str) -> AsyncIterator[Database]:
    db = Database(fresh_postgres)
    yield db
    await db.dispose()


async def test_post_due_runs_in_one_process_and_moves_when_it_dies(
    fresh_postgres: str, pg_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = pg_db
    books = await _books(db)
    env = _env(fresh_postgres)
    with serve("a", env, tmp_path) as a, serve("b", env, tmp_path) as b:
        servers = {a.process.pid: a, b.process.pid: b}
        lease = await leases.current(db, "post_due")
        assert lease is not None and _pid_of(lease.holder) in servers, lease
        holder = servers[_pid_of(lease.holder)]
        other = b if holder is a else a

        # Under load on both servers, entries fall due in several batches.
        stop = asyncio.Event()
        load = asyncio.create_task(_load([a, b], books.key, stop))
        due: list[int] = []
        for _ in range(5):
            due += await _schedule_due(db, books, 20, monkeypatch)
            await asyncio.sleep(POST_DUE_S)
        events = await _posted_once(db, due, within=30)
        stop.set()
        acknowledged = await load
        assert events == {entry_id: 1 for entry_id in due}  # each posted, exactly once
        assert all(acknowledged.values()), acknowledged  # both servers were serving

        # Only the holder ran post_due: it alone acquired the lease and posted.
        assert holder.text.count(ACQUIRED) == 1, holder.text
        assert ACQUIRED not in other.text, other.text
        assert sum(map(int, POSTED_LOG.findall(holder.text))) == len(due)
        assert POSTED_LOG.findall(other.text) == []
        # Each process's counter: its own requests' entries, plus the due ones in the holder.
        for server in (holder, other):
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"{server.url}/metrics")).text
            expected = acknowledged[server.url] + (len(due) if server is holder else 0)
            assert _sample(text, "ledgerql_posted_entries_total") == expected, server.url

        # The holder dies without a word: the lease stays until it expires.
        holder.process.kill()
        holder.process.wait()
        killed = time.monotonic()
        later = await _schedule_due(db, books, 10, monkeypatch)
        events = await _posted_once(db, later, within=TTL_S * 2 + 20)
        taken = await leases.current(db, "post_due")
        assert taken is not None and _pid_of(taken.holder) == other.process.pid, taken
        took = time.monotonic() - killed
        assert events == {entry_id: 1 for entry_id in later}
        # Renewed at most TTL/3 before the kill, so not taken over before 2/3 of the TTL;
        # asked for every TTL/3, so taken soon after the expiry.
        assert TTL_S * 2 / 3 - 0.2 <= took <= TTL_S * 4 / 3 + 5, took
        assert other.text.count(ACQUIRED) == 1
        assert sum(map(int, POSTED_LOG.findall(other.text))) == len(later)


def test_serve_with_two_workers_answers_and_sums_metrics(tmp_path: Path) -> None:
    """``serve --workers 2`` on SQLite (allowed: the file lock serialises writes)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # an earlier run's: removed
    env = _env(url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    with serve("workers", env, tmp_path, "--workers", "2") as server:
        assert not (metrics_dir / "counter_999999.db").exists()
        before = httpx.get(f"{server.url}/metrics").text
        # New connections until both workers have served (each writes files named by its pid).
        sent = 0
        pids: set[str] = set()
        while len(pids) < 2 and sent < 400:
            for _ in range(20):
                assert httpx.get(f"{server.url}/health").status_code == 200
                sent += 1
            pids = {
                match.group(1)
                for path in metrics_dir.glob("histogram_*.db")
                if (match := re.fullmatch(r"histogram_(\d+)\.db", path.name))
            }
        assert len(pids) == 2, (pids, server.text)
        after = httpx.get(f"{server.url}/metrics").text
        labels = {"route": "/health", "method": "GET", "status": "200", "operation": ""}
        name = "ledgerql_request_duration_seconds_count"
        assert _sample(after, name, **labels) - _sample(before, name, **labels) == sent
        lease = asyncio.run(_lease_of(url))
        assert lease is not None and str(_pid_of(lease.holder)) in pids
        assert server.text.count(ACQUIRED) == 1, server.text
    assert server.process.returncode is not None


async def _lease_of(url: str) -> leases.LeaseRow | None:
    db = Database(url)
    try:
        return await leases.current(db, "post_due")
    finally:
        await db.dispose()
