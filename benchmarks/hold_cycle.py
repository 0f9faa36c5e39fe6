"""Benchmark: a hold then its postHold (issue 19), 64 clients, against two plain posts.

    .venv/bin/python -m benchmarks.hold_cycle [--engine sqlite|postgres|both]
        [--pairs 2000] [--concurrency 64] [--rounds 3] [--warmup 200]
        [--partial-every 4] [--max-seconds 60] [--py-spy DIR] [--json FILE]

Per engine: a fresh database (a SQLite file, or a new PostgreSQL database), migrated,
with the benchmark tenant (``harness.seed``) and two more accounts: a customer wallet
2100 (LIABILITY, ``noOverdraft``) funded with FUNDING from 1000 Cash, and a card
clearing account 2900 (LIABILITY). One uvicorn worker (``app.main:create_app``) on
127.0.0.1 and a free port takes two loads, each of ``--concurrency`` keep-alive
clients in a load generator of its own process (benchmarks/hold_loadgen.py):

- ``cycle``: a pair is ``holdJournalEntry`` (debit the wallet, credit clearing, 1.00
  to 50.99, ``expiresAt`` a week ahead) then, once answered, ``postHold`` of that hold:
  in full, or by ``amount`` (half) for every ``--partial-every``-th pair;
- ``posts``: a pair is two ``postJournalEntry`` of the same entry (the held amount,
  then the amount the cycle would post): the same clients writing twice without holds.

Every request has an idempotency key of its own. ``--warmup`` pairs of each load, then
``--rounds`` rounds of ``--pairs`` pairs, the loads alternating (cycle, posts, cycle,
...); a round stops taking pairs after ``--max-seconds`` (the pairs under way finish).
Figures: pairs/s (acknowledged pairs over the round's wall time), the pair's latency
(hold sent to postHold answered), the medians over the rounds, and cycle/posts.
Target: ``cycle`` at least TARGET_PAIRS_PER_S.

Checked, else exit status 1: every response is a success with the entry, status and
amounts asked; after each phase the database gained exactly the acknowledged entries
(one per cycle pair, two per posts pair) and every new hold is POSTED; at the end,
every hold of the tenant is POSTED, the wallet's and clearing's pending totals are
back to 0, and their posted balances, both the running totals and the sums of their
lines, equal what the responses acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.ledger.accounts import AccountInput, create_account
from app.ledger.balances import balances_by_account, current_balances
from app.ledger.limits import LimitsChange
from app.ledger.posting import EntryInput, LineInput, post_entry
from benchmarks import harness
from benchmarks.harness import BenchmarkFailed, Target, percentile
from benchmarks.hold_loadgen import text
from db.engine import Database
from db.migrate import upgrade
from db.tables import Account, Hold

TARGET_PAIRS_PER_S = 500.0
LOADS = ("cycle", "posts")
WALLET = AccountInput(
    code="2100", name="Customer wallet", type="LIABILITY", limits=LimitsChange(no_overdraft=True)
)
CLEARING = AccountInput(code="2900", name="Card clearing", type="LIABILITY")
FUNDING_MINOR = 10_000_000_000  # 100,000,000.00 EUR: far more than a run spends
CURRENCY = "EUR"


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Phase:
    load: str
    pairs: int  # acknowledged
    partial: int  # of them, posted in part (cycle) or with a smaller second post (posts)
    elapsed_s: float
    pairs_per_s: float
    pair_p50_ms: float
    pair_p99_ms: float
    first_p50_ms: float  # hold / first post
    second_p50_ms: float  # postHold / second post
    held_minor: int
    posted_minor: int


@dataclass(frozen=True)
class Median:
    load: str
    pairs_per_s: float
    pair_p50_ms: float
    pair_p99_ms: float


@dataclass(frozen=True)
class Verified:
    holds: int
    holds_posted: int
    holds_partial: int
    entries: int
    wallet_debit_minor: int  # = what the postHolds posted + both posts of every posts pair
    clearing_credit_minor: int
    pending_minor: int  # pending debit + credit left on the wallet and clearing: 0


@dataclass
class CycleResult:
    engine: str
    settings: dict[str, Any]
    rounds: list[Phase]
    medians: list[Median]
    ratio: float  # median pairs/s of cycle over that of posts
    ratio_per_round: list[float]
    verified: Verified | None = None
    targets: list[Target] = field(default_factory=list)


def phase_line(label: str, phase: Phase) -> str:
    first, second = ("hold", "postHold") if phase.load == "cycle" else ("post 1", "post 2")
    return (
        f"  {label:<9} {phase.load:<6} {phase.pairs_per_s:8.1f} pairs/s"
        f"  pair p50 {phase.pair_p50_ms:6.1f} ms p99 {phase.pair_p99_ms:6.1f} ms"
        f"  ({first} p50 {phase.first_p50_ms:.1f} ms, {second} p50 {phase.second_p50_ms:.1f} ms;"
        f" {phase.pairs} pairs, {phase.partial} partial, {phase.elapsed_s:.1f} s)"
    )


# ---------------------------------------------------------------- database


async def prepare(db: Database) -> tuple[int, str]:
    """The benchmark tenant with the wallet (funded) and the clearing account."""
    tenant_id, key = await harness.seed(db)
    for account in (WALLET, CLEARING):
        await create_account(db, tenant_id, account)
    funding = EntryInput(
        date=dt.date.today(),
        memo="wallet top-up",
        lines=[
            LineInput(account_code="1000", debit=text(FUNDING_MINOR)),
            LineInput(account_code=WALLET.code, credit=text(FUNDING_MINOR)),
        ],
    )
    await post_entry(db, tenant_id, funding)
    return tenant_id, key


async def counts(db: Database, tenant_id: int) -> tuple[int, Counter[str]]:
    """The tenant's journal entries, and its holds by status."""
    entries = await harness.count_entries(db, tenant_id)
    holds: Any = Hold
    async with db.read() as session:
        query = select(holds.status, func.count()).where(holds.tenant_id == tenant_id)
        rows = (await session.execute(query.group_by(holds.status))).all()
    return entries, Counter({str(status): int(count) for status, count in rows})


async def account_ids(db: Database, tenant_id: int) -> dict[str, int]:
    table: Any = Account
    async with db.read() as session:
        query = select(table.code, table.id).where(
            table.tenant_id == tenant_id, table.code.in_([WALLET.code, CLEARING.code])
        )
        return {str(code): int(ident) for code, ident in (await session.execute(query)).all()}


async def verify(db: Database, tenant_id: int, phases: list[Phase], entries: int) -> Verified:
    """Every hold POSTED, pending back to 0, and the balances equal to the acknowledged sums."""
    stored, holds = await counts(db, tenant_id)
    cycles = [p for p in phases if p.load == "cycle"]
    made = sum(p.pairs for p in cycles)
    if holds != Counter({"POSTED": made}):
        raise BenchmarkFailed(f"expected {made} holds, all POSTED; found {dict(holds)}")
    if stored != entries:
        raise BenchmarkFailed(f"expected {entries} journal entries, found {stored}")
    spent = sum(p.posted_minor for p in cycles) + sum(
        p.held_minor + p.posted_minor for p in phases if p.load == "posts"
    )
    ids = await account_ids(db, tenant_id)
    wallet, clearing = ids[WALLET.code], ids[CLEARING.code]
    running = await current_balances(db, tenant_id, currency=CURRENCY, account_ids=[*ids.values()])
    expected = {
        (wallet, CURRENCY): (spent, FUNDING_MINOR, 0, 0),
        (clearing, CURRENCY): (0, spent, 0, 0),
    }
    if running != expected:
        raise BenchmarkFailed(
            f"running balances (debit, credit, pending debit, pending credit) {running}, "
            f"expected {expected}"
        )
    lines = await balances_by_account(db, tenant_id, currency=CURRENCY)
    for account in (wallet, clearing):
        if lines.get((account, CURRENCY)) != running[(account, CURRENCY)][:2]:
            raise BenchmarkFailed(
                f"account {account}: its lines sum to {lines.get((account, CURRENCY))}, "
                f"its running balance is {running[(account, CURRENCY)][:2]}"
            )
    return Verified(
        holds=made,
        holds_posted=holds["POSTED"],
        holds_partial=sum(p.partial for p in cycles),
        entries=stored,
        wallet_debit_minor=spent,
        clearing_credit_minor=spent,
        pending_minor=0,
    )


# ---------------------------------------------------------------- load


@dataclass
class Bench:
    runner: asyncio.Runner
    db: Database
    tenant_id: int
    port: int
    key: str
    concurrency: int
    max_seconds: float
    partial_every: int
    phases: list[Phase] = field(default_factory=list)  # every phase, warm-up included

    def drive(self, load: str, pairs: int) -> dict[str, Any]:
        today = dt.date.today()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
        job = {
            "port": self.port,
            "key": self.key,
            "kind": load,
            "pairs": pairs,
            "concurrency": self.concurrency,
            "max_seconds": self.max_seconds,
            "prefix": uuid.uuid4().hex[:12],
            "date": today.isoformat(),
            "expires_at": expires.isoformat(),
            "wallet": WALLET.code,
            "clearing": CLEARING.code,
            "partial_every": self.partial_every,
        }
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.hold_loadgen"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=self.max_seconds + 60,  # the generator stops itself; this is the backstop
            check=False,
        )
        if done.returncode != 0:
            raise BenchmarkFailed(f"load generator failed:\n{done.stderr}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def phase(self, load: str, pairs: int) -> Phase:
        """Drives ``pairs`` of ``load``; every pair must succeed and the database agree."""
        entries, holds = self.runner.run(counts(self.db, self.tenant_id))
        report = self.drive(load, pairs)
        entries_after, holds_after = self.runner.run(counts(self.db, self.tenant_id))
        if report["failed"]:
            raise BenchmarkFailed(
                f"{load}: {report['failed']} of {report['pairs_sent']} pairs failed, e.g. "
                + "; ".join(report["failures"])
            )
        done = report["pairs_ok"]
        written = entries_after - entries
        expected = done if load == "cycle" else 2 * done
        if written != expected:
            raise BenchmarkFailed(
                f"{load}: {done} pairs acknowledged, {written} new journal entries "
                f"(expected {expected})"
            )
        new_holds = holds_after - holds
        if new_holds != Counter({"POSTED": done} if load == "cycle" and done else {}):
            raise BenchmarkFailed(f"{load}: {done} pairs, new holds by status {dict(new_holds)}")
        if report["timed_out"]:
            print(f"  note: {load} hit the {self.max_seconds:.0f} s cap after {done} pairs")
        elapsed = report["elapsed_s"]
        found = Phase(
            load=load,
            pairs=done,
            partial=report["partial"],
            elapsed_s=elapsed,
            pairs_per_s=done / elapsed if elapsed else 0.0,
            pair_p50_ms=percentile(report["pair_ms"], 0.50),
            pair_p99_ms=percentile(report["pair_ms"], 0.99),
            first_p50_ms=percentile(report["first_ms"], 0.50),
            second_p50_ms=percentile(report["second_ms"], 0.50),
            held_minor=report["held_minor"],
            posted_minor=report["posted_minor"],
        )
        self.phases.append(found)
        return found


def bench_engine(engine: str, args: argparse.Namespace) -> CycleResult:
    every = args.partial_every
    partial = f"1 postHold in {every} partial" if every else "every postHold in full"
    print(
        f"{engine}: {args.pairs} pairs per round and load, {args.rounds} rounds, "
        f"{args.concurrency} concurrent clients, {partial}, "
        f"{args.workers} server worker{'s' if args.workers > 1 else ''}",
        flush=True,
    )
    with ExitStack() as stack:
        url = stack.enter_context(harness.fresh_database(engine))
        upgrade(url)
        runner = stack.enter_context(asyncio.Runner())
        db = Database(url)
        stack.callback(lambda: runner.run(db.dispose()))
        tenant_id, key = runner.run(prepare(db))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        env = {**os.environ, "DATABASE_URL": url}
        port, process = stack.enter_context(
            harness.serve("ledgerql", "app.main:create_app", env, logs, args.workers)
        )
        bench = Bench(
            runner, db, tenant_id, port, key, args.concurrency, args.max_seconds, args.partial_every
        )
        for load in LOADS:
            print(phase_line("warm-up", bench.phase(load, args.warmup)), flush=True)
        if args.py_spy:
            stack.enter_context(harness.sampled(process.pid, args.py_spy / f"{engine}-hold.txt"))
        measured: list[Phase] = []
        for number in range(1, args.rounds + 1):
            for load in LOADS:
                measured.append(bench.phase(load, args.pairs))
                print(phase_line(f"round {number}", measured[-1]), flush=True)
        made = 1 + sum(p.pairs * (1 if p.load == "cycle" else 2) for p in bench.phases)
        verified = runner.run(verify(db, tenant_id, bench.phases, made))
    print(
        f"  check: {verified.holds} holds, every one POSTED ({verified.holds_partial} in part); "
        f"pending back to 0 on wallet and clearing; balances equal the sums: wallet debit = "
        f"clearing credit = {text(verified.wallet_debit_minor)} {CURRENCY} acknowledged "
        f"(running totals and line sums); {verified.entries} entries"
    )
    return report(engine, args, measured, verified)


def report(
    engine: str, args: argparse.Namespace, measured: list[Phase], verified: Verified
) -> CycleResult:
    medians = []
    for load in LOADS:
        mine = [p for p in measured if p.load == load]
        medians.append(
            Median(
                load=load,
                pairs_per_s=statistics.median(p.pairs_per_s for p in mine),
                pair_p50_ms=statistics.median(p.pair_p50_ms for p in mine),
                pair_p99_ms=statistics.median(p.pair_p99_ms for p in mine),
            )
        )
        print(
            f"  median    {load:<6} {medians[-1].pairs_per_s:8.1f} pairs/s"
            f"  pair p50 {medians[-1].pair_p50_ms:6.1f} ms p99 {medians[-1].pair_p99_ms:6.1f} ms"
        )
    cycle, posts = medians
    tops = [p.pairs_per_s for p in measured if p.load == "cycle"]
    bottoms = [p.pairs_per_s for p in measured if p.load == "posts"]
    per_round = [a / b for a, b in zip(tops, bottoms, strict=True)]
    ratio = cycle.pairs_per_s / posts.pairs_per_s
    print(f"  ratio cycle/posts {ratio:.2f}; per round " + " ".join(f"{r:.2f}" for r in per_round))
    target = Target("cycle", cycle.pairs_per_s, TARGET_PAIRS_PER_S, "pairs/s")
    print(target.line(), flush=True)
    settings = {
        "pairs": args.pairs,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "partial_every": args.partial_every,
    }
    return CycleResult(engine, settings, measured, medians, ratio, per_round, verified, [target])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--pairs", type=int, default=2000, help="pairs per round and load")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (ledgerql serve --workers)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per load (median taken)")
    parser.add_argument("--warmup", type=int, default=200, help="pairs per load first")
    parser.add_argument(
        "--partial-every",
        type=int,
        default=4,
        help="every n-th postHold posts half the hold (0: every hold in full)",
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per round")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during the rounds (collapsed stacks in DIR; "
        "pip install py-spy); the figures are then perturbed by the sampler",
    )
    args = parser.parse_args(argv)
    if min(args.pairs, args.rounds, args.concurrency, args.warmup) < 1:
        parser.error("--pairs, --rounds, --concurrency and --warmup must be positive")
    if args.partial_every < 0:
        parser.error("--partial-every must be 0 or more")
    return harness.main(args, lambda engine: bench_engine(engine, args))


if __name__ == "__main__":
    sys.exit(main())
