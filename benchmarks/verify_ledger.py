"""Benchmark: ``ledgerql verify`` over 1,000,000 postings on SQLite (issue 21).

    .venv/bin/python -m benchmarks.verify_ledger [--engine sqlite|postgres]
        [--entries 500000] [--cli] [--json FILE] [--require-target]

A fresh database, migrated, the harness's tenant ``bench`` (EUR), filled in process
through the core's bulk write path (``app.ledger.posting.post_entries``, atomic
batches of BATCH two-line entries, two in flight as ``ledgerql import`` does):
``--entries`` entries (500,000 = 1,000,000 postings), dated over two years, one in
METADATA_EVERY with metadata, one in REVERSE_EVERY reversed (a link of its own). The
build's time is printed. Then ``verify`` runs in process (app/ledger/audit_verify.py,
every pass: chain, books, balances) and must find the books untouched; its time and
links, entries and lines per second are printed. ``--cli`` also times ``ledgerql
verify --tenant bench`` once in a subprocess (Python's start-up and the migration check
included). Target: the in-process verify of 1,000,000 postings in at most TARGET_S.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from app.ledger.audit_verify import Verification, verify
from app.ledger.posting import EntryInput, LineInput, post_entries, reverse_entry
from benchmarks import harness
from benchmarks.harness import BenchmarkFailed
from db.engine import Database
from db.migrate import upgrade

TARGET_S = 60.0
TARGET_POSTINGS = 1_000_000
BATCH = 1000
IN_FLIGHT = 2
START = dt.date(2025, 1, 1)
DAYS = 730
METADATA_EVERY = 100
REVERSE_EVERY = 10_000


def batches(count: int) -> Iterator[list[EntryInput]]:
    """The ledger's entries, BATCH at a time."""
    for first in range(0, count, BATCH):
        inputs = []
        for index in range(first, min(first + BATCH, count)):
            amount = f"{index % 100 + 1}.00"
            inputs.append(
                EntryInput(
                    date=START + dt.timedelta(days=index * DAYS // count),
                    memo=f"entry {index}",
                    lines=[
                        LineInput(account_code="1000", debit=amount),
                        LineInput(account_code="4000", credit=amount),
                    ],
                    metadata={"n": index} if index % METADATA_EVERY == 0 else None,
                )
            )
        yield inputs


async def build(db: Database, tenant_id: int, count: int) -> None:
    """Posts ``count`` entries, then reverses one in REVERSE_EVERY."""
    reversible: list[int] = []

    async def post(inputs: list[EntryInput]) -> None:
        for item in await post_entries(db, tenant_id, inputs, atomic=True):
            if item.error is not None or item.result is None:
                raise BenchmarkFailed(f"an entry was refused: {item.error}")
            if item.result.entry.id % REVERSE_EVERY == 0:
                reversible.append(item.result.entry.id)

    in_flight: deque[asyncio.Task[None]] = deque()
    try:
        for inputs in batches(count):
            while len(in_flight) >= IN_FLIGHT:
                await in_flight.popleft()
            in_flight.append(asyncio.create_task(post(inputs)))
        while in_flight:
            await in_flight.popleft()
    finally:
        if in_flight:
            await asyncio.wait(in_flight)
    for entry_id in reversible:
        await reverse_entry(db, tenant_id, entry_id)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


def bench(engine: str, args: argparse.Namespace) -> dict[str, object]:
    with harness.fresh_database(engine) as url:
        upgrade(url)

        async def fill() -> int:
            db = Database(url)
            try:
                tenant_id, _key = await harness.seed(db)
                await build(db, tenant_id, args.entries)
                return tenant_id
            finally:
                await db.dispose()

        started = time.perf_counter()
        tenant_id = asyncio.run(fill())
        build_s = time.perf_counter() - started
        print(f"built {args.entries:,} entries ({2 * args.entries:,} postings) in {build_s:.1f} s")

        async def check() -> Verification:
            db = Database(url)
            try:
                return await verify(db, tenant_id)
            finally:
                await db.dispose()

        gc.collect()
        started = time.perf_counter()
        result = asyncio.run(check())
        verify_s = time.perf_counter() - started
        if not result.ok:
            shown = "\n".join(str(problem) for problem in result.problems)
            raise BenchmarkFailed(f"verify found problems in untouched books:\n{shown}")
        counts = result.counts
        print(f"head: link {result.head.link} sha256 {result.head.hash}")
        print(
            f"verify {verify_s:.1f} s: {counts.links:,} links ({_rate(counts.links, verify_s)}), "
            f"{counts.entries:,} entries ({_rate(counts.entries, verify_s)}), "
            f"{counts.lines:,} lines ({_rate(counts.lines, verify_s)}), "
            f"{counts.balances:,} balance rows"
        )
        figures: dict[str, object] = {
            "engine": engine,
            "entries": args.entries,
            "postings": counts.lines,
            "links": counts.links,
            "build_s": round(build_s, 2),
            "verify_s": round(verify_s, 2),
        }
        if args.cli:
            env = {**os.environ, "DATABASE_URL": url}
            command = [
                str(Path(sys.executable).with_name("ledgerql")),
                "verify",
                "--tenant",
                "bench",
            ]
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            cli_s = time.perf_counter() - started
            if done.returncode != 0 or "verified" not in done.stdout:
                raise BenchmarkFailed(
                    f"ledgerql verify: {done.returncode}\n{done.stdout}{done.stderr}"
                )
            print(f"ledgerql verify --tenant bench: {cli_s:.1f} s, exit 0")
            figures["cli_s"] = round(cli_s, 2)
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--entries", type=int, default=TARGET_POSTINGS // 2)
    parser.add_argument("--cli", action="store_true", help="also time the command once")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--require-target", action="store_true")
    args = parser.parse_args()
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    results = []
    try:
        for engine in engines:
            print(f"== {engine}")
            results.append(bench(engine, args))
    except BenchmarkFailed as error:
        print(f"FAILED: {error}")
        return harness.EXIT_FAILED
    missed = False
    for figures in results:
        postings = int(str(figures["postings"]))
        seconds = float(str(figures["verify_s"]))
        scaled = seconds * TARGET_POSTINGS / max(postings, 1)
        met = scaled <= TARGET_S
        missed |= figures["engine"] == "sqlite" and not met
        verdict = "met" if met else "not met"
        print(
            f"target {figures['engine']} verify of {TARGET_POSTINGS:,} postings "
            f"≤ {TARGET_S:.0f} s: {seconds:.1f} s for {postings:,} "
            f"({scaled:.1f} s scaled): {verdict}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return harness.EXIT_TARGET_MISSED if missed and args.require_target else 0


if __name__ == "__main__":
    sys.exit(main())
