"""Benchmark: what group commit adds to one posting when nobody else is posting.

    .venv/bin/python -m benchmarks.group_commit_latency [--engine sqlite|postgres|both]
        [--posts 300] [--rounds 7]

In-process, one client, sequential single posts on a fresh database: rounds
alternate between ``post_entry`` (through the group committer) and the same
``write_batch`` called directly in its own transaction (``Database.run_write``).
The figure is the median latency of each and their difference; every post is
checked, and the entry count must equal the posts made.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
import uuid
from dataclasses import dataclass

from app.ledger.batch import write_batch
from app.ledger.entries import EntryInput, LineInput, Request
from app.ledger.posting import post_entry
from benchmarks.harness import BenchmarkFailed, count_entries, fresh_database, seed
from db.engine import Database
from db.migrate import upgrade


@dataclass(frozen=True)
class Latency:
    engine: str
    group_commit_us: float
    direct_us: float

    @property
    def added_us(self) -> float:
        return self.group_commit_us - self.direct_us


def _entry() -> EntryInput:
    return EntryInput(
        date=dt.date(2026, 1, 15),
        memo="latency",
        lines=[
            LineInput(account_code="1000", debit="10.00"),
            LineInput(account_code="4000", credit="10.00"),
        ],
        idempotency_key=uuid.uuid4().hex,
    )


async def _grouped(db: Database, tenant_id: int) -> float:
    started = time.perf_counter()
    await post_entry(db, tenant_id, _entry())
    return time.perf_counter() - started


async def _direct(db: Database, tenant_id: int) -> float:
    request = Request(tenant_id, [_entry()])
    started = time.perf_counter()
    (items,) = await db.run_write(lambda conn: write_batch(conn, [request]))
    elapsed = time.perf_counter() - started
    if items[0].error is not None:
        raise BenchmarkFailed(items[0].error.message)
    return elapsed


async def _measure(url: str, engine: str, posts: int, rounds: int) -> Latency:
    db = Database(url)
    try:
        tenant_id, _ = await seed(db)
        samples: dict[str, list[float]] = {"grouped": [], "direct": []}
        for _ in range(rounds):
            for name, post in (("grouped", _grouped), ("direct", _direct)):
                samples[name].extend([await post(db, tenant_id) for _ in range(posts)])
        made = sum(len(found) for found in samples.values())
        if await count_entries(db, tenant_id) != made:
            raise BenchmarkFailed("the entries in the database are not the posts made")
        return Latency(
            engine,
            statistics.median(samples["grouped"]) * 1e6,
            statistics.median(samples["direct"]) * 1e6,
        )
    finally:
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--posts", type=int, default=300, help="posts per round and path")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    engines = ("sqlite", "postgres") if args.engine == "both" else (args.engine,)
    for engine in engines:
        with fresh_database(engine) as url:
            upgrade(url)
            found = asyncio.run(_measure(url, engine, args.posts, args.rounds))
        print(
            f"{engine:10s} median latency: group commit {found.group_commit_us:7.0f} us, "
            f"direct {found.direct_us:7.0f} us, added {found.added_us:+6.0f} us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
