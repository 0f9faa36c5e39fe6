"""Benchmark: one metadata lookup over HTTP among 10,000 and 1,000,000 journal entries.

    .venv/bin/python -m benchmarks.metadata_lookup [--engine sqlite|postgres|both]
        [--entries 1000000] [--small 10000] [--rounds 5] [--lookups 250]
        [--json FILE] [--require-targets]

Issue 20's "fast and flat". Per engine: two fresh databases, migrated, a tenant
``bench`` (EUR) with the harness's accounts, filled in process through the core's
bulk write path (``app.ledger.posting.post_entries``, atomic batches of BATCH
two-line entries, two batches in flight as ``ledgerql import`` does): ``--small``
entries in one and ``--entries`` in the other, dated evenly over two years. In both,
the same TAGGED entries (spread evenly through the ledger) carry metadata
``{"order_id": "A-<n>"}`` for ORDERS orders, ENTRIES_PER_ORDER entries each (an
order's entries are a quarter of the ledger apart); no other entry has metadata. The
build's time is printed. **No ANALYZE** on PostgreSQL (autovacuum is off here), as
after a bulk load.

One uvicorn worker serves each database (both running at once). In ``--rounds``
rounds, ``--lookups`` different orders (shuffled, a new order each round) are looked
up on both sizes in alternation (small, large, large, small, ...), one request at a
time on one keep-alive connection per server::

    query($m: JSON!) { journalEntries(metadata: $m) { nodes { id } pageInfo { hasNextPage } } }

Every answer must be exactly the ids of that order's entries (the ids the build got
back), in date order, with no next page; otherwise exit status 1. Figures per size:
median and p95 of all lookups, the median per round, and large/small of the medians.
Targets: the large size's median at most TARGET_MS; large/small at most TARGET_GROWTH.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from app.ledger.posting import EntryInput, LineInput, post_entries
from benchmarks import harness
from benchmarks.harness import BenchmarkFailed, Target
from db.engine import Database
from db.migrate import upgrade

TARGET_MS = 20.0
TARGET_GROWTH = 1.5
ORDERS = 250
ENTRIES_PER_ORDER = 4
TAGGED = ORDERS * ENTRIES_PER_ORDER  # 1,000
BATCH = 1000
IN_FLIGHT = 2
START = dt.date(2025, 1, 1)
DAYS = 730
REQUEST_TIMEOUT_S = 30.0
LOOKUP = (
    "query($m: JSON!) { journalEntries(metadata: $m) { nodes { id } pageInfo { hasNextPage } } }"
)


def order_id(order: int) -> str:
    return f"A-{order + 1}"


def tagged_positions(count: int) -> dict[int, int]:
    """Entry position -> order of the TAGGED entries among ``count``: spread evenly, the
    k-th tagged entry of order k % ORDERS (an order's entries a quarter of the ledger apart)."""
    if count < TAGGED:
        raise ValueError(f"at least {TAGGED} entries")
    step = count // TAGGED
    return {k * step + step // 2: k % ORDERS for k in range(TAGGED)}


def batches(count: int, tagged: dict[int, int]) -> Iterator[tuple[list[int], list[EntryInput]]]:
    """The entries of a ledger of ``count``, BATCH at a time, with their positions."""
    for first in range(0, count, BATCH):
        positions = list(range(first, min(first + BATCH, count)))
        inputs = []
        for index in positions:
            amount = f"{index % 100 + 1}.00"
            order = tagged.get(index)
            inputs.append(
                EntryInput(
                    date=START + dt.timedelta(days=index * DAYS // count),
                    memo=f"entry {index}",
                    lines=[
                        LineInput(account_code="1000", debit=amount),
                        LineInput(account_code="4000", credit=amount),
                    ],
                    metadata=None if order is None else {"order_id": order_id(order)},
                )
            )
        yield positions, inputs


async def build(db: Database, tenant_id: int, count: int) -> dict[str, list[int]]:
    """Posts the ledger of ``count`` entries; the entry ids of each order id."""
    tagged = tagged_positions(count)
    found: dict[str, list[int]] = {order_id(order): [] for order in range(ORDERS)}

    async def post(positions: list[int], inputs: list[EntryInput]) -> None:
        items = await post_entries(db, tenant_id, inputs, atomic=True)
        for index, item in zip(positions, items, strict=True):
            if item.error is not None or item.result is None:
                raise BenchmarkFailed(f"entry {index} refused: {item.error}")
            order = tagged.get(index)
            if order is not None:
                found[order_id(order)].append(int(item.result.entry.id))

    in_flight: deque[asyncio.Task[None]] = deque()
    try:
        for positions, inputs in batches(count, tagged):
            while len(in_flight) >= IN_FLIGHT:
                await in_flight.popleft()
            in_flight.append(asyncio.create_task(post(positions, inputs)))
        while in_flight:
            await in_flight.popleft()
    finally:
        if in_flight:
            await asyncio.wait(in_flight)
    return found


@dataclass
class Ledger:
    entries: int
    build_s: float
    port: int
    key: str
    orders: dict[str, list[int]]
    latencies_ms: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)


def prepare(engine: str, count: int, stack: ExitStack, logs: Path) -> Ledger:
    """A database of ``count`` entries, built and served; gone when ``stack`` closes."""
    url = stack.enter_context(harness.fresh_database(engine))
    upgrade(url)

    async def fill() -> tuple[str, dict[str, list[int]]]:
        db = Database(url)
        try:
            tenant_id, key = await harness.seed(db)
            orders = await build(db, tenant_id, count)
            stored = await harness.count_entries(db, tenant_id)
        finally:
            await db.dispose()
        if stored != count:
            raise BenchmarkFailed(f"{stored} entries stored, {count} posted")
        return key, orders

    started = time.perf_counter()
    gc.collect()
    key, orders = asyncio.run(fill())
    build_s = time.perf_counter() - started
    print(
        f"  {engine}: built {count:,} entries ({TAGGED} tagged, {ORDERS} orders) "
        f"in {build_s:.1f} s ({count / build_s:,.0f} entries/s)",
        flush=True,
    )
    env = {**os.environ, "DATABASE_URL": url}
    port, _ = stack.enter_context(
        harness.serve(f"ledgerql-{count}", "app.main:create_app", env, logs)
    )
    return Ledger(count, build_s, port, key, orders)


def lookup(connection: http.client.HTTPConnection, ledger: Ledger, order: str) -> float:
    """Milliseconds of one lookup; BenchmarkFailed unless it answers exactly the order's ids."""
    body = json.dumps({"query": LOOKUP, "variables": {"m": {"order_id": order}}})
    headers = {"Authorization": f"Bearer {ledger.key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    connection.request("POST", "/graphql", body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    document = json.loads(payload)
    if response.status != 200 or document.get("errors") or not document.get("data"):
        raise BenchmarkFailed(f"lookup {order}: HTTP {response.status}: {payload[:500]!r}")
    listing = document["data"]["journalEntries"]
    got = [int(node["id"]) for node in listing["nodes"]]
    if got != ledger.orders[order] or listing["pageInfo"]["hasNextPage"]:
        raise BenchmarkFailed(
            f"lookup {order} among {ledger.entries:,}: got {got}, expected {ledger.orders[order]}"
        )
    return elapsed


@dataclass
class SizeFigures:
    entries: int
    build_s: float
    lookups: int
    median_ms: float
    p95_ms: float
    round_medians_ms: list[float]


@dataclass
class EngineResult:
    engine: str
    sizes: list[SizeFigures]
    targets: list[Target] = field(default_factory=list)


def figures(ledger: Ledger) -> SizeFigures:
    return SizeFigures(
        entries=ledger.entries,
        build_s=ledger.build_s,
        lookups=len(ledger.latencies_ms),
        median_ms=statistics.median(ledger.latencies_ms),
        p95_ms=harness.percentile(ledger.latencies_ms, 0.95),
        round_medians_ms=ledger.round_medians_ms,
    )


def bench_engine(engine: str, args: argparse.Namespace) -> EngineResult:
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        small = prepare(engine, args.small, stack, logs)
        large = prepare(engine, args.entries, stack, logs)
        ledgers = (small, large)
        connections = {}
        for ledger in ledgers:
            connection = http.client.HTTPConnection(
                harness.HOST, ledger.port, timeout=REQUEST_TIMEOUT_S
            )
            stack.callback(connection.close)
            connections[ledger.entries] = connection
        orders = list(small.orders)
        for order in orders[: args.warmup]:  # warm-up, unmeasured (and checked)
            for ledger in ledgers:
                lookup(connections[ledger.entries], ledger, order)
        rng = random.Random(args.seed)
        for number in range(1, args.rounds + 1):
            chosen = rng.sample(orders, min(args.lookups, len(orders)))
            times: dict[int, list[float]] = {small.entries: [], large.entries: []}
            for index, order in enumerate(chosen):
                for ledger in ledgers if index % 2 == 0 else ledgers[::-1]:
                    times[ledger.entries].append(lookup(connections[ledger.entries], ledger, order))
            for ledger in ledgers:
                ledger.latencies_ms += times[ledger.entries]
                ledger.round_medians_ms.append(statistics.median(times[ledger.entries]))
            print(
                f"  round {number}: {len(chosen)} lookups each, median "
                + ", ".join(
                    f"{ledger.entries:,}: {ledger.round_medians_ms[-1]:.2f} ms"
                    for ledger in ledgers
                ),
                flush=True,
            )
    sizes = [figures(ledger) for ledger in ledgers]
    print(f"  {engine}: every answer was exactly its order's {ENTRIES_PER_ORDER} entries")
    print(f"  {'entries':>10} {'build s':>8} {'lookups':>8} {'median ms':>10} {'p95 ms':>8}")
    for size in sizes:
        print(
            f"  {size.entries:>10,} {size.build_s:8.1f} {size.lookups:8d} "
            f"{size.median_ms:10.2f} {size.p95_ms:8.2f}"
        )
    growth = sizes[1].median_ms / sizes[0].median_ms
    print(
        f"  ratio large/small {growth:.2f}; per round "
        + " ".join(
            f"{b / a:.2f}"
            for a, b in zip(sizes[0].round_medians_ms, sizes[1].round_medians_ms, strict=True)
        )
    )
    result = EngineResult(
        engine,
        sizes,
        [
            Target(f"lookup at {args.entries:,}", sizes[1].median_ms, TARGET_MS, "ms", True),
            Target(f"lookup {args.entries:,}/{args.small:,}", growth, TARGET_GROWTH, "", True),
        ],
    )
    for target in result.targets:
        print(target.line())
    sys.stdout.flush()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries, large ledger")
    parser.add_argument("--small", type=int, default=10_000, help="entries, small ledger")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=ORDERS, help="orders per round and size")
    parser.add_argument("--warmup", type=int, default=20, help="lookups per size first")
    parser.add_argument("--seed", type=int, default=1, help="of the orders' shuffle")
    args = parser.parse_args(argv)
    if min(args.entries, args.small) < TAGGED:
        parser.error(f"--entries and --small: at least {TAGGED}")
    if min(args.rounds, args.lookups) < 1 or args.warmup < 0:
        parser.error("--rounds and --lookups must be positive, --warmup not negative")
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
