"""Benchmark: reports as known at a moment (knownAt) over HTTP, at ~1,000,000 lines with
10,000 entries recorded after the moment.

    .venv/bin/python -m benchmarks.known_at_reports [--engine sqlite|postgres|both]
        [--entries 250000] [--late 10000] [--rounds 7] [--json FILE] [--require-targets]

Per engine: a fresh database, migrated, the ledger of benchmarks/reports_at_scale.py
(tenant ``bench``, 200 accounts, ``--entries`` entries of 2-6 lines, four on average,
over 2025-2026) loaded with ``ledgerql import``; the balance sheet as of AS_OF and the
trial balance are read (the "filed" reports) and the moment recorded; then ``--late``
more entries, dated over the same two years (backdated corrections, most of them on or
before AS_OF), are imported. On PostgreSQL nothing runs ANALYZE (autovacuum is off
here), as after a real bulk load, and the plan of the late-lines read is printed and
must use ix_journal_entries_tenant_created and scan no table of lines. Checked before
timing: both reports with ``knownAt`` equal the filed ones to the cent, and the balance
sheet without it does not.
One uvicorn worker; each query once to warm up, then ``--rounds`` interleaved rounds,
one request at a time on one keep-alive connection; medians. Target: each knownAt report
at most TARGET_MS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.ledger.known_at import Late, late_sums_query, recorded_ids
from benchmarks import gen_ledger, harness
from benchmarks.harness import BenchmarkFailed, Target
from benchmarks.reports_at_scale import Query, chart, entries, seeded, timed
from db.engine import Database

TARGET_MS = 100.0
AS_OF = "2026-06-30"
IMPORT_TIMEOUT_S = 900.0
REQUEST_TIMEOUT_S = 60.0
INDEX = "ix_journal_entries_tenant_created"

SHEET = """query($asOf: Date, $knownAt: DateTime) {
  balanceSheet(asOf: $asOf, knownAt: $knownAt) { currency totalAssets
    totalLiabilitiesAndEquity currentEarnings balanced
    assets { total groups { category total rows { level amount account { code } } } }
    liabilities { total groups { category total rows { level amount account { code } } } }
    equity { total groups { category total rows { level amount account { code } } } } } }"""
TRIAL = """query($knownAt: DateTime) {
  trialBalance(knownAt: $knownAt) { balanced rows { currency debit credit net account { code } }
    totals { currency debit credit } } }"""


@dataclass
class EngineResult:
    engine: str
    lines: int
    late_lines: int
    import_s: float
    plan: list[str]
    median_ms: dict[str, float]
    per_round_ms: dict[str, list[float]]
    targets: list[Target] = field(default_factory=list)


def write(path: Path, count: int, seed_: int, prefix: str) -> int:
    """``count`` entries of reports_at_scale's generator; the lines written."""
    _, leaves = chart()
    lines = 0
    with path.open("w") as file:
        for index, entry in enumerate(entries(count, leaves, seed=seed_)):
            file.write(gen_ledger.jsonl_line(replace(entry, external_id=f"{prefix}-{index}")))
            lines += len(entry.lines)
    return lines


def load(url: str, ledger: Path) -> float:
    """Seconds ``ledgerql import`` took for ``ledger``."""
    cli = str(Path(sys.executable).with_name("ledgerql"))
    started = time.perf_counter()
    done = subprocess.run(
        [cli, "import", str(ledger), "--tenant", "bench", "--format", "jsonl"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkFailed(f"import failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def answer(connection: http.client.HTTPConnection, query: Query, key: str) -> Any:
    body = json.dumps({"query": query.document, "variables": query.variables})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request("POST", "/graphql", body=body, headers=headers)
    response = connection.getresponse()
    document = json.loads(response.read())
    if response.status != 200 or document.get("errors"):
        raise BenchmarkFailed(f"{query.name}: HTTP {response.status}: {document}")
    return document["data"]


async def plan_of_late_read(db: Database, known_at: dt.datetime) -> list[str]:
    """PostgreSQL's plan of the late-lines read (app/ledger/known_at.py) as the server
    runs it, without statistics; empty on SQLite."""
    async with db.read() as session:
        dialect = session.get_bind().dialect
        if dialect.name != "postgresql":
            return []
        tenant = (await session.execute(text("SELECT id FROM tenants"))).scalar_one()
        ids = tuple(await recorded_ids(session, int(tenant), known_at))
        late = Late(known_at, frozenset(), (int(ids[0]), int(ids[1])))
        query = late_sums_query(int(tenant), late, [(None, None)], late.ids)
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        rows = (await session.execute(text("EXPLAIN " + sql))).all()
    return [str(row[0]) for row in rows]


def bench_engine(engine: str, args: argparse.Namespace, workdir: Path) -> EngineResult:
    base, late = workdir / "base.jsonl", workdir / "late.jsonl"
    if not base.exists():
        write(base, args.entries, 1, "r")
        write(late, args.late, 2, "late")
    with ExitStack() as stack:
        url, runner, db, key = seeded(stack, engine)
        import_s = load(url, base)
        env = {**os.environ, "DATABASE_URL": url}
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        port, _ = stack.enter_context(harness.serve("ledgerql", "app.main:create_app", env, logs))
        filing = http.client.HTTPConnection(harness.HOST, port, timeout=REQUEST_TIMEOUT_S)
        filed_sheet = answer(filing, Query("sheet", SHEET, {"asOf": AS_OF}, ""), key)
        filed_trial = answer(filing, Query("trial", TRIAL, {}, ""), key)
        filing.close()
        time.sleep(0.01)
        moment = dt.datetime.now(dt.UTC)
        time.sleep(0.01)
        import_s += load(url, late)
        # A new connection: the server closes one left idle while the import ran.
        connection = http.client.HTTPConnection(harness.HOST, port, timeout=REQUEST_TIMEOUT_S)
        stack.callback(connection.close)
        lines = sum(len(json.loads(line)["lines"]) for line in base.open())
        late_lines = sum(len(json.loads(line)["lines"]) for line in late.open())
        print(f"  {engine}: {lines:,} lines, then {args.late:,} entries ({late_lines:,} lines)")
        known = moment.isoformat()
        batch = [
            Query("balanceSheet knownAt", SHEET, {"asOf": AS_OF, "knownAt": known}, ""),
            Query("trialBalance knownAt", TRIAL, {"knownAt": known}, ""),
            Query("balanceSheet now", SHEET, {"asOf": AS_OF}, ""),
            Query("trialBalance now", TRIAL, {}, ""),
        ]
        if answer(connection, batch[0], key) != filed_sheet:
            raise BenchmarkFailed("the balance sheet known at the moment is not the filed one")
        if answer(connection, batch[1], key) != filed_trial:
            raise BenchmarkFailed("the trial balance known at the moment is not the filed one")
        if answer(connection, batch[2], key) == filed_sheet:
            raise BenchmarkFailed("the late entries did not change the balance sheet")
        print("  the reports known at the moment equal the filed ones")
        plan = runner.run(plan_of_late_read(db, moment))
        if plan:
            print("  plan of the late-lines read (no ANALYZE):")
            for row in plan:
                print(f"    {row}")
            if not any(INDEX in row for row in plan):
                raise BenchmarkFailed(f"the late-lines read does not use {INDEX}")
            if any("Seq Scan on journal_lines" in row for row in plan):
                raise BenchmarkFailed("the late-lines read scans every journal line")
        for query in batch:
            timed(connection, query, key)
        per_round: dict[str, list[float]] = {q.name: [] for q in batch}
        deadline = time.monotonic() + args.max_seconds
        for _ in range(args.rounds):
            for query in batch:
                per_round[query.name].append(timed(connection, query, key))
            if time.monotonic() > deadline:
                print(f"  note: stopped after {len(per_round[batch[0].name])} rounds (time cap)")
                break
    medians = {name: statistics.median(values) for name, values in per_round.items()}
    for name, value in medians.items():
        print(f"  median {name:<24} {value:8.1f} ms")
    found = [
        Target(f"{name} at {lines:,} lines", medians[name], TARGET_MS, "ms", True)
        for name in ("balanceSheet knownAt", "trialBalance knownAt")
    ]
    for target in found:
        print(target.line())
    sys.stdout.flush()
    return EngineResult(engine, lines, late_lines, import_s, plan, medians, per_round, found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--entries", type=int, default=250_000, help="entries before the moment")
    parser.add_argument("--late", type=int, default=10_000, help="entries after the moment")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap on the rounds")
    args = parser.parse_args(argv)
    if min(args.entries, args.late, args.rounds) < 1:
        parser.error("--entries, --late and --rounds must be positive")
    with tempfile.TemporaryDirectory(prefix="ledgerql-known-at-") as directory:
        return harness.main(args, lambda engine: bench_engine(engine, args, Path(directory)))


if __name__ == "__main__":
    sys.exit(main())
