"""Benchmark: bulk posting with metadata against the same batches without.

    .venv/bin/python -m benchmarks.metadata_posting [--engine sqlite|postgres|both]
        [--batch 1000] [--requests 10] [--concurrency 2] [--rounds 5] [--warmup 2]

Issue 20's posting cost: an entry's metadata is checked, hashed with the request,
stored as JSON and written as one ``entry_metadata`` row per key in the same
transaction (app/ledger/batch_store.py). Per engine (see ``benchmarks.harness.run_http``):
a fresh database with one tenant and the accounts 1000 Cash / 4000 Sales, one
single-worker uvicorn server, and two loads in alternating rounds, ``--concurrency``
keep-alive clients each, ``postJournalEntries(inputs: [...], atomic: true)`` of
``--batch`` two-line entries (benchmarks/post_batch.py's entries and selection):

- ``batch``: no metadata;
- ``batch-meta``: the same entries, each with METADATA_KEYS keys: an order id and a
  customer (different per entry), a channel, a number and a boolean
  (``{"order_id": "A-17", "customer": "c-17", "channel": "web", "amount": 17.5,
  "paid": true}``).

Target: ``batch-meta/batch`` (median entries/s) at least TARGET_RATIO. Every phase is
checked as in the other benchmarks; after the rounds, the tenant's ``entry_metadata``
must hold exactly METADATA_KEYS rows per ``batch-meta`` entry (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from benchmarks import harness, post_batch
from benchmarks.harness import HttpResult, Load, Ratio, Server, Summary, Target
from db.engine import Database
from db.tables import EntryMetadata

TARGET_RATIO = 0.9
METADATA_KEYS = 5
SERVERS = (Server("ledgerql", "app.main:create_app"),)


def metadata(index: int) -> dict[str, Any]:
    return {
        "order_id": f"A-{index}",
        "customer": f"c-{index % 500}",
        "channel": ("web", "pos", "api")[index % 3],
        "amount": index % 100 + 0.5,
        "paid": index % 2 == 0,
    }


def loads(key: str, size: int) -> list[Load]:
    document = post_batch.DOCUMENT % "postJournalEntries"
    plain = post_batch.entries(size)
    tagged = [{**entry, "metadata": metadata(index)} for index, entry in enumerate(plain)]
    return [
        harness.graphql_load("batch", document, {"inputs": plain}, key),
        harness.graphql_load("batch-meta", document, {"inputs": tagged}, key),
    ]


def targets(_summaries: dict[str, Summary], ratios: dict[str, Ratio]) -> list[Target]:
    return [Target(name, found.median, TARGET_RATIO, "") for name, found in ratios.items()]


@dataclass(frozen=True)
class PostingResult:
    engine: str
    http: HttpResult
    metadata_rows: int
    targets: list[Target] = field(default_factory=list)


async def metadata_rows(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(EntryMetadata)
        total = await session.scalar(query.where(EntryMetadata.tenant_id == tenant_id))  # type: ignore[arg-type]
    return int(total or 0)


def bench_engine(engine: str, args: argparse.Namespace) -> PostingResult:
    print(
        f"{engine}: {args.requests} requests of {args.batch} entries per round and load, "
        f"{args.rounds} rounds, {args.concurrency} concurrent clients",
        flush=True,
    )
    counted: list[int] = []

    def count_rows(bench: harness.Bench) -> None:
        counted.append(bench.runner.run(metadata_rows(bench.db, bench.tenant_id)))

    rounds = harness.run_http(
        engine, args, SERVERS, lambda key: loads(key, args.batch), check=count_rows
    )
    tagged = sum(p.entries for p in rounds if p.load == "batch-meta")
    tagged += args.warmup * args.batch  # the warm-up's requests of batch-meta
    (rows,) = counted
    if rows != tagged * METADATA_KEYS:
        raise harness.BenchmarkFailed(
            f"entry_metadata holds {rows} rows; {tagged} entries with {METADATA_KEYS} keys "
            f"make {tagged * METADATA_KEYS}"
        )
    print(f"  entry_metadata: {rows} rows, {METADATA_KEYS} per entry with metadata")
    result = harness.report_http(
        engine,
        {
            "batch": args.batch,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
        },
        rounds,
        [("batch-meta", "batch")],
        targets,
    )
    return PostingResult(engine, result, rows, result.targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.http_arguments(parser, requests=10, concurrency=2, warmup=2)
    parser.add_argument("--batch", type=int, default=1000, help="entries per request")
    args = parser.parse_args(argv)
    harness.check_http_arguments(parser, args)
    if args.batch < 1:
        parser.error("--batch must be positive")
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
