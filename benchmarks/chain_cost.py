"""Benchmark: what the hash chain costs the write path, against the commit before it.

    .venv/bin/python -m benchmarks.chain_cost [--load single|bulk] [--base REV]
        [--engine sqlite|postgres|both] [--requests N] [--concurrency N] [--rounds 5]

Issue 21's cost: every event a link, its SHA-256 computed in the writing transaction and
the tenant's head read and moved once per transaction (app/ledger/audit_chain.py). Two
single-worker uvicorn servers share one fresh database (migrated at this tree's head):

- ``chain``: this tree;
- ``base``: the same app from a git worktree of ``--base`` (default BASE, the commit
  before the chain), which writes its events without links (the columns are nullable).

Both take the same load in alternating rounds (see ``benchmarks.harness.run_http``):
``single`` posts one two-line entry per ``postJournalEntry`` (benchmarks/post_entry.py's
entry and selection; 64 clients), ``bulk`` 1,000 per ``postJournalEntries(atomic: true)``
(benchmarks/post_batch.py's; 2 clients). Target: ``chain/base`` (median entries/s) at
least TARGET_RATIO. Every phase is checked as in the other benchmarks.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from benchmarks import harness, post_batch, post_entry
from benchmarks.harness import HttpResult, Load, Ratio, Server, Summary, Target

TARGET_RATIO = 0.95
BASE = "3348105^"
DEFAULTS = {"single": (1000, 64, 200), "bulk": (10, 2, 2)}  # requests, concurrency, warm-up


def loads(kind: str, key: str) -> list[Load]:
    if kind == "single":
        document = post_entry.POST_ENTRY % post_entry.SELECTION
        load = harness.graphql_load("chain", document, {"input": post_entry.ENTRY}, key)
    else:
        document = post_batch.DOCUMENT % "postJournalEntries"
        load = harness.graphql_load("chain", document, {"inputs": post_batch.entries(1000)}, key)
    return [replace(load, server="chain"), replace(load, name="base", server="base")]


def targets(_summaries: dict[str, Summary], ratios: dict[str, Ratio]) -> list[Target]:
    return [Target(name, found.median, TARGET_RATIO, "") for name, found in ratios.items()]


@contextmanager
def checkout(revision: str) -> Iterator[str]:
    """A detached git worktree of ``revision`` (this repository's), removed afterwards."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="ledgerql-base-") as parent:
        path = str(Path(parent) / "tree")
        git = ["git", "-C", str(root)]
        subprocess.run([*git, "worktree", "add", "--detach", path, revision], check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield path
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", path], check=False,
                           capture_output=True)  # fmt: skip


def bench_engine(engine: str, args: argparse.Namespace, base: str) -> HttpResult:
    print(
        f"{engine}: {args.load}, {args.requests} requests per round and server, "
        f"{args.rounds} rounds, {args.concurrency} concurrent clients; base {args.base}",
        flush=True,
    )
    servers = (Server("chain", "app.main:create_app"), Server("base", "app.main:create_app", base))
    rounds = harness.run_http(engine, args, servers, lambda key: loads(args.load, key))
    return harness.report_http(
        engine,
        {
            "load": args.load,
            "base": args.base,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
        },
        rounds,
        [("chain", "base")],
        targets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--load", choices=sorted(DEFAULTS), default="single")
    parser.add_argument("--base", default=BASE, help="the git revision to compare with")
    known, _ = parser.parse_known_args(argv)
    requests, concurrency, warmup = DEFAULTS[known.load]
    harness.http_arguments(parser, requests=requests, concurrency=concurrency, warmup=warmup)
    args = parser.parse_args(argv)
    harness.check_http_arguments(parser, args)
    with checkout(args.base) as base:
        return harness.main(args, lambda engine: bench_engine(engine, args, base))


if __name__ == "__main__":
    sys.exit(main())
