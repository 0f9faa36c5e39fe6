"""Benchmark: posting to accounts with balance limits against the same load without.

    .venv/bin/python -m benchmarks.account_limits [--engine sqlite|postgres|both]
        [--rounds 5] [--single-requests 1000] [--single-warmup 200]
        [--batch-requests 10] [--batch 1000] [--warmup 2]

Issue 19's "no slower": every posting is checked against the limits of the accounts it
touches, under the tenant's lock (app/ledger/posting_rules.py). Per engine (see
``benchmarks.harness.run_http``): a fresh database whose tenant has the pair 1000 Cash /
4000 Sales without limits and the pair 1100 / 4100 with limits on both accounts (no
overdraft, a maximum balance far above what a run posts: nothing is refused, every
line is checked); one single-worker uvicorn server; two phases, each alternating its
two loads round by round:

- single entries, 64 clients: ``postJournalEntry`` of one two-line entry to the plain
  pair (``post``) and to the limited pair (``limited``);
- bulk, 2 clients: ``postJournalEntries`` of 1,000 two-line entries a request, atomic,
  to the plain pair (``batch``) and to the limited pair (``batch-limited``).

Targets: ``limited/post`` and ``batch-limited/batch`` at least TARGET_RATIO.
Every phase is checked as in the other benchmarks (each request a success, the
acknowledged entries stored); otherwise exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from benchmarks import harness, post_batch, post_entry
from benchmarks.harness import HttpResult, Load, Ratio, Server, Summary, Target

TARGET_RATIO = 0.9
SERVERS = (Server("ledgerql", "app.main:create_app"),)


def _to(entry: dict[str, Any], debit: str, credit: str) -> dict[str, Any]:
    """``entry`` with its two lines on ``debit`` and ``credit``."""
    first, second = entry["lines"]
    return {
        **entry,
        "lines": [{**first, "accountCode": debit}, {**second, "accountCode": credit}],
    }


def single_loads(key: str) -> list[Load]:
    document = post_entry.POST_ENTRY % post_entry.SELECTION
    plain = {"input": post_entry.ENTRY}
    limited = {"input": _to(post_entry.ENTRY, "1100", "4100")}
    return [
        harness.graphql_load("post", document, plain, key),
        harness.graphql_load("limited", document, limited, key),
    ]


def batch_loads(key: str, size: int) -> list[Load]:
    document = post_batch.DOCUMENT % "postJournalEntries"
    plain = post_batch.entries(size)
    limited = [_to(entry, "1100", "4100") for entry in plain]
    return [
        harness.graphql_load("batch", document, {"inputs": plain}, key),
        harness.graphql_load("batch-limited", document, {"inputs": limited}, key),
    ]


def targets(_summaries: dict[str, Summary], ratios: dict[str, Ratio]) -> list[Target]:
    return [Target(name, found.median, TARGET_RATIO, "") for name, found in ratios.items()]


@dataclass(frozen=True)
class LimitsResult:
    """Both phases of one engine."""

    engine: str
    single: HttpResult
    batch: HttpResult
    targets: list[Target] = field(default_factory=list)


def _phase_args(
    args: argparse.Namespace, requests: int, concurrency: int, warmup: int
) -> argparse.Namespace:
    """``args`` for one phase: its requests per round, clients and warm-up requests."""
    changed = {"requests": requests, "concurrency": concurrency, "warmup": warmup}
    return argparse.Namespace(**{**vars(args), **changed})


def bench_engine(engine: str, args: argparse.Namespace) -> LimitsResult:
    single_args = _phase_args(args, args.single_requests, 64, args.single_warmup)
    print(f"{engine}: single entries, {args.single_requests} requests per round, 64 clients")
    rounds = harness.run_http(engine, single_args, SERVERS, single_loads)
    single = harness.report_http(
        engine, {"requests": args.single_requests}, rounds, [("limited", "post")], targets
    )
    batch_args = _phase_args(args, args.batch_requests, 2, args.warmup)
    print(f"{engine}: batches of {args.batch} entries, {args.batch_requests} requests a round")
    rounds = harness.run_http(engine, batch_args, SERVERS, lambda key: batch_loads(key, args.batch))
    batch = harness.report_http(
        engine, {"requests": args.batch_requests}, rounds, [("batch-limited", "batch")], targets
    )
    return LimitsResult(engine, single, batch, [*single.targets, *batch.targets])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.http_arguments(parser, requests=1, concurrency=1, warmup=2)
    parser.add_argument("--single-requests", type=int, default=1000)
    parser.add_argument("--single-warmup", type=int, default=200)
    parser.add_argument("--batch-requests", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000, help="entries per bulk request")
    args = parser.parse_args(argv)
    harness.check_http_arguments(parser, args)
    if min(args.single_requests, args.single_warmup, args.batch_requests, args.batch) < 1:
        parser.error("--single-requests, --single-warmup, --batch-requests, --batch: positive")
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
