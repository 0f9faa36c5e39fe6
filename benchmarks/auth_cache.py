"""Benchmark: ``authenticate`` answered from the key cache (hit) against a database lookup (miss).

    .venv/bin/python -m benchmarks.auth_cache [--engine sqlite|postgres|both]
        [--hits 5000] [--misses 500]

For each engine: a fresh migrated database with one tenant, then ``authenticate``
called sequentially in one process, each call timed on its own; the figures are
the median and p99 wall-clock microseconds per call. Hits use a cache that cannot
expire during the run; misses use a cache turned off (``LEDGERQL_AUTH_CACHE_SECONDS=0``),
which is exactly the lookup every miss and every re-verification pays.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from app.ledger.tenants import auth_cache, authenticate, create_tenant
from benchmarks.harness import fresh_database
from db.engine import Database
from db.migrate import upgrade


def open_database(url: str, cache_seconds: float) -> Database:
    """A Database whose key cache lives ``cache_seconds`` (the setting is read on first use)."""
    os.environ["LEDGERQL_AUTH_CACHE_SECONDS"] = str(cache_seconds)
    db = Database(url)
    auth_cache(db)
    return db


async def timed_calls(db: Database, key: str, count: int) -> list[float]:
    """Microseconds of each of ``count`` calls, after one untimed warm-up call."""
    await authenticate(db, key, None)
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        await authenticate(db, key, None)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def describe(label: str, samples: list[float]) -> str:
    p99 = statistics.quantiles(samples, n=100)[98]
    return f"{label:<5} median {statistics.median(samples):9.1f} us   p99 {p99:9.1f} us"


async def run(url: str, hits: int, misses: int) -> list[str]:
    setup = Database(url)
    try:
        _, issued = await create_tenant(setup, slug="bench", name="Benchmark", currency="EUR")
    finally:
        await setup.dispose()
    lines = []
    for label, cache_seconds, count in (("hit", 3600.0, hits), ("miss", 0.0, misses)):
        db = open_database(url, cache_seconds)
        try:
            lines.append(describe(label, await timed_calls(db, issued.key, count)))
        finally:
            await db.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--hits", type=int, default=5000)
    parser.add_argument("--misses", type=int, default=500)
    args = parser.parse_args()
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    for engine in engines:
        with fresh_database(engine) as url:
            upgrade(url)
            for line in asyncio.run(run(url, args.hits, args.misses)):
                print(f"{engine:<8} {line}")


if __name__ == "__main__":
    main()
