"""Benchmark: bulk ``postJournalEntries`` over HTTP, 1,000 two-line entries a request.

    .venv/bin/python -m benchmarks.post_batch [--engine sqlite|postgres|both]
        [--batch 1000] [--requests 10] [--concurrency 2] [--rounds 5]

For each engine (see ``benchmarks.harness.run_http``): a fresh database with one
tenant and two accounts, and one single-worker uvicorn server on 127.0.0.1
(``app.main:create_app``, benchmark-only mutations enabled) taking two loads in
alternating rounds, ``--concurrency`` keep-alive clients each:

- ``batch``: ``postJournalEntries(inputs: [...], atomic: true)`` with ``--batch``
  balanced two-line entries (EUR, amounts 1.00 to 100.00);
- ``noop``: ``noopJournalEntries`` with the same inputs and selection, which
  authenticates and converts the inputs but touches no database: the ceiling the
  GraphQL layer alone leaves (graphql_schema/benchmark.py).

The selection is what a bulk client needs back: each entry's id and number, and
the errors. Figures: the medians over the rounds of entries/s (acknowledged
entries over the round's wall time) and request latency; ``batch``/``noop``.
Target: ``batch`` at least TARGET_ENTRIES_PER_S.

Checked after every phase: every response is a success with one payload per input,
each with an entry and no errors; ``batch`` added exactly the acknowledged entries
to the database and ``noop`` added none; otherwise exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from benchmarks import harness
from benchmarks.harness import HttpResult, Load, Ratio, Server, Summary, Target

TARGET_ENTRIES_PER_S = 3000.0

SELECTION = "entry { id number } replayed errors { code field message }"
DOCUMENT = (
    "mutation($inputs: [PostJournalEntryInput!]!) "
    "{ %s(inputs: $inputs, atomic: true) { " + SELECTION + " } }"
)
SERVERS = (Server("ledgerql", "app.main:create_app"),)


def entries(count: int) -> list[dict[str, Any]]:
    """``count`` balanced two-line entries, amounts varying so no two requests are trivial."""
    return [
        {
            "date": "2026-01-15",
            "memo": f"batch entry {index}",
            "lines": [
                {"accountCode": "1000", "debit": f"{index % 100 + 1}.00"},
                {"accountCode": "4000", "credit": f"{index % 100 + 1}.00"},
            ],
        }
        for index in range(count)
    ]


def loads(key: str, batch: int) -> list[Load]:
    variables = {"inputs": entries(batch)}
    return [
        harness.graphql_load("batch", DOCUMENT % "postJournalEntries", variables, key),
        harness.graphql_load("noop", DOCUMENT % "noopJournalEntries", variables, key),
    ]


def targets(summaries: dict[str, Summary], _ratios: dict[str, Ratio]) -> list[Target]:
    return [Target("batch", summaries["batch"].entries_per_s, TARGET_ENTRIES_PER_S, "entries/s")]


def bench_engine(engine: str, args: argparse.Namespace) -> HttpResult:
    print(
        f"{engine}: {args.requests} requests of {args.batch} entries per round, "
        f"{args.rounds} rounds, {args.concurrency} concurrent clients",
        flush=True,
    )
    rounds = harness.run_http(engine, args, SERVERS, lambda key: loads(key, args.batch))
    return harness.report_http(
        engine,
        {
            "batch": args.batch,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
        },
        rounds,
        [("batch", "noop")],
        targets,
    )


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
