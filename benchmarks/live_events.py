"""Benchmark: live event delivery over graphql-transport-ws (fan-out, catch-up, server CPU).

    .venv/bin/python -m benchmarks.live_events [--engine sqlite|postgres|both]
        [--subscribers 100] [--entries 200] [--rate 20] [--stored 20000] [--json FILE]

Cases: each engine with one server process; PostgreSQL also with two, the subscribers
on process 1 and the postings through process 2 (the cross-process wake-up, LISTEN/
NOTIFY). Each case has a fresh database with two tenants (EUR, two accounts each) and
servers (``app.main:create_app``, one uvicorn worker each, on 127.0.0.1) with
``LEDGERQL_EVENTS_POLL_SECONDS=60``: an event delivered in time came from a wake-up.

1. Fan-out: ``--subscribers`` WebSocket connections of the first tenant, each
   subscribed to ``events``; one warm-up entry posted and received by all (so every
   subscription is live), then ``--entries`` single ``postJournalEntry`` requests at
   ``--rate`` a second, one at a time on one keep-alive HTTP connection. Latency of each
   (subscriber, event) pair: receive time minus the POST's response time (the commit was
   acknowledged then; negative when the event overtakes the response) and minus its send
   time. Server CPU (utime + stime of /proc/PID/stat) over the phase, per delivered
   message; the benchmark process's own CPU too, since it shares the machine; on
   PostgreSQL the database's transactions over the phase, per delivered message (each
   subscriber read is one; ``--no-db-transactions`` skips the 2 x 11 s this waits for the
   statistics). The connections are then closed and the server left SETTLE_S to end them.
2. Catch-up: ``--stored`` events for the second tenant (``postJournalEntries``,
   ``--batch`` entries a request), then one subscriber without ``after``: the time until
   it has received them all.

Checked, else exit status 1: every POST succeeds; every subscriber gets every event of
its tenant exactly once, in id order, each the event of the entry posted in that order;
the catch-up subscriber gets exactly the stored events, in order. No targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection

from app.ledger.accounts import AccountInput, create_account
from app.ledger.tenants import create_tenant
from benchmarks import harness
from benchmarks.harness import HOST, BenchmarkFailed, Target, percentile
from db.engine import Database
from db.migrate import upgrade

PROTOCOL = "graphql-transport-ws"
POLL_SECONDS = "60"  # the fallback poll: longer than any phase, so wake-ups deliver
KEY_CHECK_SECONDS = "3600"  # no subscriber re-checks its key during a phase
SUBSCRIPTION = "subscription { events { cursor node { id entryId createdAt } } }"
POST_ONE = (
    "mutation($input: PostJournalEntryInput!) "
    "{ postJournalEntry(input: $input) { entry { id } errors { code message } } }"
)
POST_MANY = (
    "mutation($inputs: [PostJournalEntryInput!]!) "
    "{ postJournalEntries(inputs: $inputs) { entry { id } errors { code message } } }"
)
CONNECT_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 60.0  # after the last POST, for the last event to reach everyone
STATS_DELAY_S = 11.0
SETTLE_S = 3.0  # after closing the fan-out connections, before the catch-up
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def entry(memo: str) -> dict[str, Any]:
    return {
        "date": "2026-01-15",
        "memo": memo,
        "lines": [
            {"accountCode": "1000", "debit": "1.00"},
            {"accountCode": "4000", "credit": "1.00"},
        ],
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class FanOut:
    subscribers: int
    entries: int
    rate_per_s: float  # achieved: the POSTs' intervals over the time from first to last send
    messages: int  # delivered (subscriber, event) pairs, measured ones
    after_ack_p50_ms: float
    after_ack_p99_ms: float
    after_ack_max_ms: float
    after_send_p50_ms: float
    after_send_p99_ms: float
    after_send_max_ms: float
    post_p50_ms: float  # the POSTs' own latency
    post_p99_ms: float
    elapsed_s: float  # first POST to last delivery
    server_cpu_s: float  # the subscribers' server process
    server_cpu_us_per_message: float
    poster_cpu_s: float | None  # the posting process, when it is another one
    client_cpu_s: float  # this benchmark process (subscribers and poster)
    teardown_cpu_s: float  # the server's, from closing the connections to SETTLE_S after
    # PostgreSQL: transactions (commits and rollbacks) in the database over the phase
    # (pg_stat_database, every process: the POSTs, each subscriber's reads), per message.
    db_transactions_per_message: float | None


@dataclass(frozen=True)
class CatchUp:
    events: int
    first_ms: float  # subscribe to the first event
    elapsed_s: float  # subscribe to the last
    events_per_s: float
    server_cpu_s: float


@dataclass(frozen=True)
class Case:
    name: str
    processes: int
    fan_out: FanOut
    catch_up: CatchUp


@dataclass
class LiveResult:
    engine: str
    settings: dict[str, Any]
    cases: list[Case]
    targets: list[Target] = field(default_factory=list)


# ---------------------------------------------------------------- clients


class Listener:
    """One graphql-transport-ws connection with one ``events`` subscription: every
    ``next`` is kept as (event id, entry id, receive time)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[tuple[int, int | None, float]] = []
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, stack: AsyncExitStack, url: str, key: str) -> Listener:
        ws = await stack.enter_async_context(
            websockets.connect(url, subprotocols=[PROTOCOL], open_timeout=CONNECT_TIMEOUT_S)  # type: ignore[list-item]
        )
        payload = {"Authorization": f"Bearer {key}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        if ack.get("type") != "connection_ack":
            raise BenchmarkFailed(f"no connection_ack: {ack}")
        listener = cls(ws)
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await ws.send(json.dumps(subscribe))
        listener.task = asyncio.create_task(listener._receive())
        return listener

    async def _receive(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                at = time.monotonic()  # first: the parse below is the client's cost
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif kind == "next" and "errors" not in message["payload"]:
                    node = message["payload"]["data"]["events"]["node"]
                    entry_id = node["entryId"]
                    self.received.append(
                        (int(node["id"]), None if entry_id is None else int(entry_id), at)
                    )
                elif kind != "pong":
                    raise BenchmarkFailed(f"unexpected message: {message}")

    def check_alive(self) -> None:
        if self.task is not None and self.task.done() and self.task.exception():
            raise BenchmarkFailed(f"a subscriber failed: {self.task.exception()!r}")


async def wait_for_count(listeners: list[Listener], count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while min(len(listener.received) for listener in listeners) < count:
        for listener in listeners:
            listener.check_alive()
        if time.monotonic() > deadline:
            short = sum(1 for listener in listeners if len(listener.received) < count)
            raise BenchmarkFailed(f"{short} subscriber(s) short of {count} events after {within} s")
        await asyncio.sleep(0.005)


async def post(http: httpx.AsyncClient, key: str, document: str, variables: Any) -> list[int]:
    """The ids of the entries a successful POST acknowledged."""
    response = await http.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise BenchmarkFailed(f"POST failed ({response.status_code}): {response.text[:500]}")
    data = next(iter(body["data"].values()))
    payloads = data if isinstance(data, list) else [data]
    if any(p["errors"] or p["entry"] is None for p in payloads):
        raise BenchmarkFailed(f"POST refused: {response.text[:500]}")
    return [int(p["entry"]["id"]) for p in payloads]


def check_sequence(received: list[tuple[int, int | None, float]], entries: list[int]) -> None:
    """Every event exactly once, in id order, each that of the entry posted at its place."""
    ids = [event for event, _, _ in received]
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise BenchmarkFailed("a subscriber received events out of order or twice")
    got = [entry_id for _, entry_id, _ in received]
    if got != entries:
        differs = next(
            (i for i, (a, b) in enumerate(zip(got, entries, strict=False)) if a != b),
            min(len(got), len(entries)),
        )
        raise BenchmarkFailed(
            f"a subscriber received {len(got)} events, expected {len(entries)}; "
            f"the first difference is at event {differs}"
        )


# ---------------------------------------------------------------- phases


@dataclass(frozen=True)
class Servers:
    ws_url: str  # the subscribers' process
    http_url: str  # the posting process
    listener_pid: int
    poster_pid: int | None  # when it is another process
    database_url: str


async def transactions(url: str, wanted: bool) -> int | None:
    """PostgreSQL: the transactions ended in the database so far (None on SQLite): reads
    end in a rollback (db.engine.Database.read), writes in a commit.

    A backend left idle (a pooled connection) reports its counts to the statistics only
    after 10 s (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): the wait lets those of the phase
    before arrive.
    """
    if url.startswith("sqlite") or not wanted:
        return None
    await asyncio.sleep(STATS_DELAY_S)
    conn = await asyncpg.connect(harness.asyncpg_dsn(url), timeout=5)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return int(value)


async def fan_out(servers: Servers, key: str, args: argparse.Namespace) -> FanOut:
    async with (
        AsyncExitStack() as stack,
        httpx.AsyncClient(base_url=servers.http_url, timeout=30) as http,
    ):
        listeners = list(
            await asyncio.gather(
                *(Listener.open(stack, servers.ws_url, key) for _ in range(args.subscribers))
            )
        )
        try:
            # The warm-up entry: once everyone has it, every subscription waits for wake-ups.
            posted = await post(http, key, POST_ONE, {"input": entry("warm-up")})
            await wait_for_count(listeners, 1, CONNECT_TIMEOUT_S)
            transactions_before = await transactions(servers.database_url, args.db_transactions)
            cpu_before = cpu_seconds(servers.listener_pid)
            poster_before = cpu_seconds(servers.poster_pid) if servers.poster_pid else 0.0
            client_before = time.process_time()
            sends: list[float] = []
            acks: list[float] = []
            started = time.monotonic()
            for number in range(args.entries):
                # A steady schedule; a late POST is followed at once, not skipped.
                await asyncio.sleep(max(0.0, started + number / args.rate - time.monotonic()))
                sends.append(time.monotonic())
                posted += await post(http, key, POST_ONE, {"input": entry(f"live {number}")})
                acks.append(time.monotonic())
            sending_s = sends[-1] - sends[0]
            await wait_for_count(listeners, args.entries + 1, DRAIN_TIMEOUT_S)
            done = max(listener.received[-1][2] for listener in listeners)
            server_cpu = cpu_seconds(servers.listener_pid) - cpu_before
            poster_cpu = (
                cpu_seconds(servers.poster_pid) - poster_before if servers.poster_pid else None
            )
            client_cpu = time.process_time() - client_before
            await asyncio.sleep(0.2)  # anything sent twice or extra arrives in this time
            transactions_after = await transactions(servers.database_url, args.db_transactions)
        finally:
            for listener in listeners:
                if listener.task is not None:
                    listener.task.cancel()
            closing = cpu_seconds(servers.listener_pid)
    # The server ends the subscriptions of the closed connections: its cost, apart.
    await asyncio.sleep(SETTLE_S)
    teardown_cpu = cpu_seconds(servers.listener_pid) - closing
    after_ack: list[float] = []
    after_send: list[float] = []
    for listener in listeners:
        check_sequence(listener.received, posted)
        for (_, _, at), sent, acked in zip(listener.received[1:], sends, acks, strict=True):
            after_ack.append((at - acked) * 1000)
            after_send.append((at - sent) * 1000)
    post_ms = [(a - s) * 1000 for s, a in zip(sends, acks, strict=True)]
    messages = len(after_ack)
    return FanOut(
        subscribers=args.subscribers,
        entries=args.entries,
        rate_per_s=(args.entries - 1) / sending_s if sending_s else 0.0,
        messages=messages,
        after_ack_p50_ms=percentile(after_ack, 0.50),
        after_ack_p99_ms=percentile(after_ack, 0.99),
        after_ack_max_ms=max(after_ack),
        after_send_p50_ms=percentile(after_send, 0.50),
        after_send_p99_ms=percentile(after_send, 0.99),
        after_send_max_ms=max(after_send),
        post_p50_ms=percentile(post_ms, 0.50),
        post_p99_ms=percentile(post_ms, 0.99),
        elapsed_s=done - started,
        server_cpu_s=server_cpu,
        server_cpu_us_per_message=server_cpu / messages * 1e6,
        poster_cpu_s=poster_cpu,
        client_cpu_s=client_cpu,
        teardown_cpu_s=teardown_cpu,
        db_transactions_per_message=(
            None
            if transactions_before is None or transactions_after is None
            else (transactions_after - transactions_before) / messages
        ),
    )


async def catch_up(servers: Servers, key: str, args: argparse.Namespace) -> CatchUp:
    entries: list[int] = []
    async with httpx.AsyncClient(base_url=servers.http_url, timeout=120) as http:
        for start in range(0, args.stored, args.batch):
            inputs = [
                entry(f"stored {i}") for i in range(start, min(args.stored, start + args.batch))
            ]
            entries += await post(http, key, POST_MANY, {"inputs": inputs})
    async with AsyncExitStack() as stack:
        cpu_before = cpu_seconds(servers.listener_pid)
        started = time.monotonic()
        listener = await Listener.open(stack, servers.ws_url, key)
        try:
            await wait_for_count([listener], args.stored, args.max_seconds)
            cpu = cpu_seconds(servers.listener_pid) - cpu_before
            await asyncio.sleep(0.2)
        finally:
            if listener.task is not None:
                listener.task.cancel()
    check_sequence(listener.received, entries)
    elapsed = listener.received[-1][2] - started
    return CatchUp(
        events=len(listener.received),
        first_ms=(listener.received[0][2] - started) * 1000,
        elapsed_s=elapsed,
        events_per_s=len(listener.received) / elapsed,
        server_cpu_s=cpu,
    )


# ---------------------------------------------------------------- cases


async def tenants(url: str) -> tuple[str, str]:
    """The API keys of two new tenants (fan-out, catch-up), each with the accounts."""
    db = Database(url)
    keys: list[str] = []
    try:
        for slug in ("live", "stored"):
            tenant, issued = await create_tenant(db, slug=slug, name=slug, currency="EUR")
            assert tenant.id is not None
            for code, name, kind in harness.ACCOUNTS:
                await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
            keys.append(issued.key)
        return keys[0], keys[1]
    finally:
        await db.dispose()


async def stored_events(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return int(await session.scalar(text("SELECT count(*) FROM events")) or 0)
    finally:
        await db.dispose()


@contextlib.contextmanager
def running(engine: str, processes: int) -> Iterator[tuple[str, Servers]]:
    with ExitStack() as stack:
        url = stack.enter_context(harness.fresh_database(engine))
        upgrade(url)
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LEDGERQL_EVENTS_POLL_SECONDS": POLL_SECONDS,
            "LEDGERQL_EVENTS_KEY_CHECK_SECONDS": KEY_CHECK_SECONDS,
        }
        started = [
            stack.enter_context(harness.serve(f"live-{n}", "app.main:create_app", env, logs))
            for n in range(1, processes + 1)
        ]
        (port, process), (post_port, post_process) = started[0], started[-1]
        yield (
            url,
            Servers(
                ws_url=f"ws://{HOST}:{port}/graphql",
                http_url=f"http://{HOST}:{post_port}",
                listener_pid=process.pid,
                poster_pid=post_process.pid if processes > 1 else None,
                database_url=url,
            ),
        )


async def measure(url: str, servers: Servers, args: argparse.Namespace) -> tuple[FanOut, CatchUp]:
    live_key, stored_key = await tenants(url)
    measured = await fan_out(servers, live_key, args)
    caught = await catch_up(servers, stored_key, args)
    expected = 1 + args.entries + args.stored
    if (stored := await stored_events(url)) != expected:
        raise BenchmarkFailed(f"{stored} events stored, expected {expected}")
    return measured, caught


def case(engine: str, processes: int, args: argparse.Namespace) -> Case:
    name = f"{engine}, {processes} process" + ("es" if processes > 1 else "")
    print(f"{name}:", flush=True)
    with running(engine, processes) as (url, servers):
        measured, caught = asyncio.run(measure(url, servers, args))
    result = Case(name=name, processes=processes, fan_out=measured, catch_up=caught)
    for line in lines(result):
        print(line, flush=True)
    return result


def lines(found: Case) -> list[str]:
    f, c = found.fan_out, found.catch_up
    poster = "" if f.poster_cpu_s is None else f", posting process {f.poster_cpu_s:.2f} s"
    reads = (
        ""
        if f.db_transactions_per_message is None
        else f"; database transactions {f.db_transactions_per_message:.2f}/message"
    )
    return [
        f"  fan-out   {f.subscribers} subscribers x {f.entries} events at {f.rate_per_s:.1f}/s "
        f"({f.messages} messages, {f.elapsed_s:.1f} s)",
        f"    after POST response  p50 {f.after_ack_p50_ms:7.1f} ms  p99 "
        f"{f.after_ack_p99_ms:7.1f} ms  max {f.after_ack_max_ms:7.1f} ms",
        f"    after POST send      p50 {f.after_send_p50_ms:7.1f} ms  p99 "
        f"{f.after_send_p99_ms:7.1f} ms  max {f.after_send_max_ms:7.1f} ms",
        f"    POST itself          p50 {f.post_p50_ms:7.1f} ms  p99 {f.post_p99_ms:7.1f} ms",
        f"    server CPU {f.server_cpu_s:.2f} s = {f.server_cpu_us_per_message:.0f} us/message"
        f"{poster}; this client {f.client_cpu_s:.2f} s{reads}",
        f"    closing the {f.subscribers} connections: server CPU {f.teardown_cpu_s:.2f} s",
        f"  catch-up  {c.events} stored events in {c.elapsed_s:.2f} s = "
        f"{c.events_per_s:,.0f} events/s (first after {c.first_ms:.0f} ms; "
        f"server CPU {c.server_cpu_s:.2f} s)",
        "  checked: every subscriber got every event once, in order",
    ]


def bench_engine(engine: str, args: argparse.Namespace) -> LiveResult:
    cases = [case(engine, 1, args)]
    if engine == "postgres":
        cases.append(case(engine, 2, args))
    settings = {
        key: getattr(args, key)
        for key in (
            "subscribers",
            "entries",
            "rate",
            "stored",
            "batch",
            "max_seconds",
            "db_transactions",
        )
    }
    return LiveResult(engine=engine, settings=settings, cases=cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--subscribers", type=int, default=100, help="fan-out connections")
    parser.add_argument("--entries", type=int, default=200, help="entries posted in fan-out")
    parser.add_argument("--rate", type=float, default=20.0, help="entries a second in fan-out")
    parser.add_argument("--stored", type=int, default=20_000, help="events to catch up on")
    parser.add_argument("--batch", type=int, default=1000, help="entries a request, catch-up")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="cap of the catch-up")
    parser.add_argument(
        "--db-transactions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="PostgreSQL: count the database's transactions over the fan-out (waits "
        f"{STATS_DELAY_S:.0f} s twice for the statistics)",
    )
    args = parser.parse_args(argv)
    if min(args.subscribers, args.entries, args.stored, args.batch, args.rate) <= 0:
        parser.error("--subscribers, --entries, --rate, --stored and --batch must be positive")
    if args.batch > 1000:
        parser.error("--batch is at most 1000 (the server's limit)")
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
