"""Benchmark: the reports over HTTP at ~10,000 and ~1,000,000 journal lines.

    .venv/bin/python -m benchmarks.reports_at_scale [--engine sqlite|postgres|both]
        [--small 2500] [--large 250000] [--rounds 7] [--json FILE] [--require-targets]

Per engine and size: a fresh database, migrated, a tenant ``bench`` (EUR) with a
200-account chart (five tops, five groups under each, 170 leaves: three levels,
parents set), then ``ledgerql import`` of a generated JSON Lines ledger (entries of
2-6 lines, four on average, over the leaves, dated evenly over two years). On
PostgreSQL nothing runs ANALYZE (autovacuum is off here), as after a real bulk load.
One uvicorn worker serves it; every query below is sent once to warm up, then in
``--rounds`` interleaved rounds (q1, q2, ..., q1, q2, ...), one request at a time on
one keep-alive connection; the median per query is reported. Each response must
have data and no errors. Targets at the large size: balance sheet and income
statement at most TARGET_STATEMENT_MS; every report at most TARGET_GROWTH times its
small-size time; a general-ledger page at most TARGET_GL_PAGE_MS at any depth.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from app.ledger.accounts import AccountInput, create_account
from app.ledger.paging import encode_cursor
from app.ledger.tenants import create_tenant
from benchmarks import gen_ledger, harness
from benchmarks.harness import BenchmarkFailed, Target
from db.engine import Database
from db.migrate import upgrade
from db.tables import Account, JournalLine

TARGET_STATEMENT_MS = 50.0
TARGET_GROWTH = 1.5
TARGET_GL_PAGE_MS = 20.0
START = dt.date(2025, 1, 1)
DAYS = 730
REQUEST_TIMEOUT_S = 60.0
IMPORT_TIMEOUT_S = 900.0
TOPS = (
    ("assets", "ASSET"),
    ("liabilities", "LIABILITY"),
    ("equity", "EQUITY"),
    ("income", "INCOME"),
    ("expenses", "EXPENSE"),
)
GROUPS_PER_TOP = 5
LEAVES = 170  # 5 tops + 25 groups + 170 leaves = 200 accounts

BALANCE_SHEET = """query {
  balanceSheet { currency totalAssets totalLiabilitiesAndEquity currentEarnings balanced
    assets { total groups { category total rows { level amount account { code } } } }
    liabilities { total groups { category total rows { level amount account { code } } } }
    equity { total groups { category total rows { level amount account { code } } } } } }"""
INCOME_STATEMENT = """query($compare: StatementCompare!) {
  incomeStatement(from: "2025-01-01", to: "2025-12-31", compare: $compare) {
    currency netIncome columns { from to netIncome }
    income { totals groups { totals rows { level amounts account { code } } } }
    expenses { totals groups { totals rows { level amounts account { code } } } } } }"""
TRIAL_BALANCE_REPORT = """query {
  trialBalanceReport(from: "2025-07-01", to: "2026-06-30") { balanced
    rows { level currency openingBalance debit credit closingBalance account { code } }
    totals { currency debit credit balanced } } }"""
TRIAL_BALANCE = """query {
  trialBalance { balanced rows { currency debit credit net account { code } }
    totals { currency debit credit } } }"""
GENERAL_LEDGER = """query($code: String!, $after: String) {
  generalLedger(accountCode: $code, first: 100, after: $after) { openingBalance closingBalance
    lines { nodes { entryNumber date memo debit credit runningBalance }
      pageInfo { hasNextPage endCursor } } } }"""
JOURNAL_ENTRIES = """query {
  journalEntries(first: 50) { nodes { number date memo currency
    lines { accountCode debit credit } } pageInfo { hasNextPage endCursor } } }"""


@dataclass(frozen=True)
class Query:
    name: str
    document: str
    variables: dict[str, Any]
    kind: str  # "statement", "report" or "gl": which targets apply


@dataclass
class SizeResult:
    lines: int
    entries: int
    import_s: float
    gl_account: str
    gl_lines: int
    median_ms: dict[str, float]
    per_round_ms: dict[str, list[float]]


@dataclass
class EngineResult:
    engine: str
    sizes: list[SizeResult]
    targets: list[Target] = field(default_factory=list)


def chart() -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """(code, type, parent code) of all 200 accounts, parents first; and the leaf codes."""
    accounts: list[tuple[str, str, str | None]] = []
    leaves: list[str] = []
    groups: list[tuple[str, str]] = []
    for top, kind in TOPS:
        accounts.append((top, kind, None))
        for g in range(1, GROUPS_PER_TOP + 1):
            groups.append((f"{top}:g{g}", kind))
            accounts.append((f"{top}:g{g}", kind, top))
    for index in range(LEAVES):
        group, kind = groups[index % len(groups)]
        code = f"{group}:a{index:03d}"
        accounts.append((code, kind, group))
        leaves.append(code)
    return accounts, leaves


def entries(count: int, leaves: list[str], seed: int = 1) -> Iterator[gen_ledger.Entry]:
    """gen_ledger's entries (2-6 lines, same amounts), over ``leaves`` and two years."""
    rng = random.Random(seed)
    sizes: list[int] = []
    for index in range(count):
        if not sizes:
            sizes = rng.sample(gen_ledger.LINE_COUNTS, len(gen_ledger.LINE_COUNTS))
        size = sizes.pop()
        debits = rng.randint(1, size - 1)
        minors = [rng.randint(gen_ledger.MIN_MINOR, gen_ledger.MAX_MINOR) for _ in range(debits)]
        credits = gen_ledger.split(sum(minors), size - debits, rng)
        yield gen_ledger.Entry(
            date=START + dt.timedelta(days=index * DAYS // count),
            memo=f"{rng.choice(gen_ledger.PAYEES)} {rng.choice(gen_ledger.ACTIONS)}",
            currency="EUR",
            external_id=f"r-{index + 1:07d}",
            lines=[
                gen_ledger.Line(account, minor)
                for account, minor in zip(
                    rng.sample(leaves, size), [*minors, *(-c for c in credits)], strict=True
                )
            ],
        )


def write_ledger(path: Path, count: int, leaves: list[str]) -> int:
    postings = 0
    with path.open("w") as file:
        for entry in entries(count, leaves):
            file.write(gen_ledger.jsonl_line(entry))
            postings += len(entry.lines)
    return postings


def seeded(stack: ExitStack, engine: str) -> tuple[str, asyncio.Runner, Database, str]:
    """A fresh database of ``engine``, migrated, with the tenant ``bench`` and its chart:
    its URL, the runner and Database to reach it in process, and the tenant's key; all
    gone when ``stack`` closes."""
    url = stack.enter_context(harness.fresh_database(engine))
    upgrade(url)
    runner = stack.enter_context(asyncio.Runner())
    db = Database(url)
    stack.callback(lambda: runner.run(db.dispose()))
    return url, runner, db, runner.run(seed(db))


async def seed(db: Database) -> str:
    tenant, issued = await create_tenant(db, slug="bench", name="Benchmark", currency="EUR")
    assert tenant.id is not None
    for code, kind, parent in chart()[0]:
        name = code.rsplit(":", 1)[-1]
        await create_account(
            db, tenant.id, AccountInput(code=code, name=name, type=kind, parent_code=parent)
        )
    return issued.key


async def gl_positions(db: Database, leaves: list[str]) -> tuple[str, int, str, str]:
    """The busiest leaf, its line count, and cursors to the middle and the last page."""
    async with db.read() as session:
        code, account_id, lines = (
            await session.execute(
                select(Account.code, Account.id, func.count())  # type: ignore[call-overload]
                .join(JournalLine, JournalLine.account_id == Account.id)
                .where(Account.code.in_(leaves))  # type: ignore[attr-defined]
                .group_by(Account.code, Account.id)
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()

        async def cursor_at(offset: int) -> str:
            row = (
                await session.execute(
                    text(
                        "SELECT date, id FROM journal_lines WHERE account_id = :a "
                        "ORDER BY date, id LIMIT 1 OFFSET :o"
                    ),
                    {"a": account_id, "o": max(offset, 0)},
                )
            ).one()
            day = row[0] if isinstance(row[0], dt.date) else dt.date.fromisoformat(str(row[0]))
            return encode_cursor(day, int(row[1]))

        middle = await cursor_at(lines // 2 - 1)
        end = await cursor_at(lines - 101)
    return str(code), int(lines), middle, end


def queries(code: str, middle: str, end: str) -> list[Query]:
    gl = {"code": code}
    return [
        Query("balanceSheet", BALANCE_SHEET, {}, "statement"),
        Query("incomeStatement", INCOME_STATEMENT, {"compare": "NONE"}, "statement"),
        Query("incomeMonthly", INCOME_STATEMENT, {"compare": "MONTHLY"}, "statement"),
        Query("trialBalanceReport", TRIAL_BALANCE_REPORT, {}, "report"),
        Query("trialBalance", TRIAL_BALANCE, {}, "report"),
        Query("glStart", GENERAL_LEDGER, {**gl, "after": None}, "gl"),
        Query("glMiddle", GENERAL_LEDGER, {**gl, "after": middle}, "gl"),
        Query("glEnd", GENERAL_LEDGER, {**gl, "after": end}, "gl"),
        Query("journalEntries", JOURNAL_ENTRIES, {}, "report"),
    ]


def timed(connection: http.client.HTTPConnection, query: Query, key: str) -> float:
    """Milliseconds of one request; BenchmarkFailed unless it returns data without errors."""
    body = json.dumps({"query": query.document, "variables": query.variables})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    connection.request("POST", "/graphql", body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    document = json.loads(payload)
    if response.status != 200 or document.get("errors") or not document.get("data"):
        raise BenchmarkFailed(f"{query.name}: HTTP {response.status}: {payload[:500]!r}")
    return elapsed


def measure_size(
    engine: str, entry_count: int, rounds: int, max_seconds: float, workdir: Path
) -> SizeResult:
    _, leaves = chart()
    ledger = workdir / f"ledger-{entry_count}.jsonl"
    if not ledger.exists():
        write_ledger(ledger, entry_count, leaves)
    postings = sum(len(json.loads(line)["lines"]) for line in ledger.open())
    with ExitStack() as stack:
        url, runner, db, key = seeded(stack, engine)
        env = {**os.environ, "DATABASE_URL": url}
        cli = str(Path(sys.executable).with_name("ledgerql"))
        command = [cli, "import", str(ledger), "--tenant", "bench", "--format", "jsonl"]
        started = time.perf_counter()
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S, check=False
        )
        import_s = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchmarkFailed(f"import failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        print(f"  {engine}: {entry_count} entries, {postings} lines imported in {import_s:.1f} s")
        code, gl_lines, middle, end = runner.run(gl_positions(db, leaves))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        port, _ = stack.enter_context(harness.serve("ledgerql", "app.main:create_app", env, logs))
        connection = http.client.HTTPConnection(harness.HOST, port, timeout=REQUEST_TIMEOUT_S)
        stack.callback(connection.close)
        batch = queries(code, middle, end)
        for query in batch:
            timed(connection, query, key)
        per_round: dict[str, list[float]] = {q.name: [] for q in batch}
        deadline = time.monotonic() + max_seconds
        for _ in range(rounds):
            for query in batch:
                per_round[query.name].append(timed(connection, query, key))
            if time.monotonic() > deadline:
                print(f"  note: stopped after {len(per_round[batch[0].name])} rounds (time cap)")
                break
    medians = {name: statistics.median(values) for name, values in per_round.items()}
    return SizeResult(postings, entry_count, import_s, code, gl_lines, medians, per_round)


def targets(small: SizeResult, large: SizeResult, kinds: dict[str, str]) -> list[Target]:
    found: list[Target] = []
    for name, kind in kinds.items():
        if kind == "statement":
            found.append(
                Target(f"{name} at 1M", large.median_ms[name], TARGET_STATEMENT_MS, "ms", True)
            )
        if kind in ("statement", "report"):
            growth = large.median_ms[name] / small.median_ms[name]
            found.append(Target(f"{name} 1M/10k", growth, TARGET_GROWTH, "", True))
        if kind == "gl":
            for size in (small, large):
                found.append(
                    Target(
                        f"{name} at {size.lines:,} lines",
                        size.median_ms[name],
                        TARGET_GL_PAGE_MS,
                        "ms",
                        True,
                    )
                )
    return found


def bench_engine(engine: str, args: argparse.Namespace, workdir: Path) -> EngineResult:
    small = measure_size(engine, args.small, args.rounds, args.max_seconds, workdir)
    large = measure_size(engine, args.large, args.rounds, args.max_seconds, workdir)
    kinds = {q.name: q.kind for q in queries("", "", "")}
    print(
        f"  {engine}: GL account {large.gl_account} ({small.gl_lines:,} / {large.gl_lines:,} lines)"
    )
    print(f"  {'query':<20} {'ms small':>9} {'ms large':>9} {'ratio':>6}")
    for name in kinds:
        a, b = small.median_ms[name], large.median_ms[name]
        print(f"  {name:<20} {a:9.1f} {b:9.1f} {b / a:6.2f}")
    result = EngineResult(engine, [small, large], targets(small, large, kinds))
    for target in result.targets:
        print(target.line())
    sys.stdout.flush()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--small", type=int, default=2_500, help="entries (4 lines each)")
    parser.add_argument("--large", type=int, default=250_000, help="entries (4 lines each)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap on the rounds")
    args = parser.parse_args(argv)
    if min(args.small, args.large, args.rounds) < 1:
        parser.error("--small, --large and --rounds must be positive")
    with tempfile.TemporaryDirectory(prefix="ledgerql-reports-") as directory:
        return harness.main(args, lambda engine: bench_engine(engine, args, Path(directory)))


if __name__ == "__main__":
    sys.exit(main())
