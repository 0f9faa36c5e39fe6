"""Benchmark: single-entry ``postJournalEntry`` over HTTP against a no-op and a bare baseline.

    .venv/bin/python -m benchmarks.post_entry [--engine sqlite|postgres|both]
        [--requests 1000] [--concurrency 64] [--rounds 5]

For each engine (see ``benchmarks.harness.run_http``): a fresh database with one
tenant and two accounts, and two single-worker uvicorn servers on 127.0.0.1:

- ``ledgerql`` (``app.main:create_app``, benchmark-only mutations enabled) takes two loads:
  ``post``, the ``postJournalEntry`` mutation, and ``noop``, ``noopJournalEntry`` with
  the same input and selection, which authenticates and converts the input but
  touches no database (graphql_schema/benchmark.py);
- ``bare`` (``benchmarks.bare_app:create_app``) takes the ``bare`` load: the same
  ``post_entry`` call as ``post`` without GraphQL or authentication.

The three loads run in alternating rounds, ``--concurrency`` keep-alive clients
each; the figures are the medians over the rounds. Targets: ``post`` at least
TARGET_ENTRIES_PER_S, and ``post``/``noop`` at least TARGET_NOOP_RATIO.
``post``/``bare`` is printed as a second figure.

Checked after every phase: every response is a success, ``post`` and ``bare``
added exactly the acknowledged entries to the database and ``noop`` added none;
otherwise the benchmark stops with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmarks import harness
from benchmarks.harness import HttpResult, Load, Server, Summary, Target

TARGET_ENTRIES_PER_S = 1000.0
TARGET_NOOP_RATIO = 0.5

SELECTION = """
    entry {
      id number date memo currency status
      lines { accountCode currency debit credit description }
    }
    replayed
    errors { code field message }"""
POST_ENTRY = "mutation($input: PostJournalEntryInput!) { postJournalEntry(input: $input) {%s} }"
NOOP_ENTRY = "mutation($input: PostJournalEntryInput!) { noopJournalEntry(input: $input) {%s} }"

ENTRY: dict[str, Any] = {
    "date": "2026-01-15",
    "memo": "benchmark entry",
    "lines": [
        {"accountCode": "1000", "debit": "10.00"},
        {"accountCode": "4000", "credit": "10.00"},
    ],
}
SERVERS = (
    Server("ledgerql", "app.main:create_app"),
    Server("bare", "benchmarks.bare_app:create_app"),
)


def loads(key: str) -> list[Load]:
    variables = {"input": ENTRY}
    return [
        harness.graphql_load("post", POST_ENTRY % SELECTION, variables, key),
        harness.graphql_load("noop", NOOP_ENTRY % SELECTION, variables, key),
        Load(
            name="bare",
            server="bare",
            path="/entries",
            body=json.dumps(ENTRY),
            headers={},
            kind="bare",
            writes=True,
        ),
    ]


def targets(summaries: dict[str, Summary], ratios: dict[str, harness.Ratio]) -> list[Target]:
    return [
        Target("post", summaries["post"].entries_per_s, TARGET_ENTRIES_PER_S, "entries/s"),
        Target("post/noop", ratios["post/noop"].median, TARGET_NOOP_RATIO, ""),
    ]


def bench_engine(engine: str, args: argparse.Namespace) -> HttpResult:
    print(
        f"{engine}: {args.requests} requests per round, {args.rounds} rounds, "
        f"{args.concurrency} concurrent clients",
        flush=True,
    )
    rounds = harness.run_http(engine, args, SERVERS, loads)
    return harness.report_http(
        engine,
        {"requests": args.requests, "concurrency": args.concurrency, "rounds": args.rounds},
        rounds,
        [("post", "noop"), ("post", "bare")],
        targets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.http_arguments(parser, requests=1000, concurrency=64, warmup=200)
    args = parser.parse_args(argv)
    harness.check_http_arguments(parser, args)
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
