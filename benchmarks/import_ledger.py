"""Benchmark: ``ledgerql import`` of a generated ledger, checked against hledger.

    .venv/bin/python -m benchmarks.import_ledger [--engine sqlite|postgres|both]
        [--entries 250000] [--ledger PREFIX] [--format journal|jsonl] [--no-export]
        [--cli PATH] [--json FILE]

The ledger is ``benchmarks.gen_ledger``'s (``--entries`` entries, four postings
each on average, seed ``--seed``), written to a temporary directory, or the
files PREFIX.jsonl and PREFIX.journal given with ``--ledger``. hledger reads the
journal once (``hledger -f FILE bal --flat --no-total -O csv``); its balances must
equal the sums of the JSON Lines file, or the files disagree and the benchmark stops.

Per engine: a fresh database, migrated, with one tenant (``bench``, EUR), then
``ledgerql import FILE --tenant bench --format journal --create-accounts`` (the journal
hledger read; ``--format jsonl``: the JSON Lines file) in a subprocess with DATABASE_URL
set. Measured: its wall time from start to exit
(Python's start-up and the CLI's migration check included), hence entries/s and
postings/s; its CPU time; and its peak RSS, the ``ru_maxrss`` that ``os.wait4``
returns for that one process (the kernel's high-water mark, not a sampled value).
Checked: exit status 0; the tenant has exactly the file's entries and lines; its
trial balance, read through the ledger core (``app.ledger.balances.trial_balance``),
equals hledger's to the cent for every account and currency, and balances. Then
(unless ``--no-export``) ``ledgerql export`` of the tenant in each format, timed the
same way, each checked equal to the input (JSON Lines: its entries, postings and
balances; journal: hledger's balances of it; CSV: its postings).

On PostgreSQL, also in the same run: the rows the import wrote (entries, lines,
events, idempotency records, balances: every table in WRITTEN_TABLES that has
rows) are read back, untimed, and written again with asyncpg's
``copy_records_to_table`` into the same tables of a second fresh database, in one
transaction (the users, tenants, journals and accounts copied first, untimed).
That COPY time is the floor for writing these rows; the ratio import/COPY is the
import's entries/s over the COPY's.

Targets: TARGET_SQLITE_ENTRIES_PER_S on SQLite; peak RSS at most
TARGET_PEAK_RSS_MIB; import/COPY at least TARGET_COPY_RATIO on PostgreSQL; each export
at least TARGET_EXPORT_ENTRIES_PER_S.
Exit status 1 when a check fails, 2 with ``--require-targets`` when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

from app.ledger import balances
from app.ledger.money import exponent, to_minor
from app.ledger.tenants import create_tenant
from benchmarks import gen_ledger, harness
from benchmarks.harness import BenchmarkFailed, Target
from db.engine import Database
from db.migrate import upgrade
from db.tables import JournalEntry, JournalLine

TARGET_SQLITE_ENTRIES_PER_S = 20_000.0
TARGET_PEAK_RSS_MIB = 300.0
TARGET_COPY_RATIO = 0.7
TARGET_EXPORT_ENTRIES_PER_S = 50_000.0
EXPORT_FORMATS = ("jsonl", "journal", "csv")
TENANT = "bench"
# Copied first and untimed in the COPY baseline: the rows the entries refer to.
REFERENCE_TABLES = ("users", "tenants", "journals", "accounts")
# In foreign-key order; the COPY baseline times these.
WRITTEN_TABLES = (
    "journal_entries",
    "journal_lines",
    "events",
    "idempotency_records",
    "account_balances",
    "balance_days",
    "balance_months",
)
NOT_COPIED = ("alembic_version", "api_keys")
CHUNK_ROWS = 100_000  # rows read back and copied at a time: bounds the benchmark's memory

# (account, currency) -> debits - credits in minor units; zero balances left out.
Totals = dict[tuple[str, str], int]


@dataclass(frozen=True)
class Ledger:
    jsonl: Path
    journal: Path
    entries: int
    postings: int
    totals: Totals


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    output: str


@dataclass(frozen=True)
class Copied:
    seconds: float  # all tables and the commit
    rows: dict[str, int]
    seconds_by_table: dict[str, float]


@dataclass(frozen=True)
class ImportResult:
    engine: str
    entries: int
    postings: int
    wall_s: float
    cpu_s: float
    entries_per_s: float
    postings_per_s: float
    peak_rss_mib: float
    copy_s: float | None = None
    copy_rows: dict[str, int] | None = None
    copy_s_by_table: dict[str, float] | None = None
    copy_entries_per_s: float | None = None
    ratio_import_copy: float | None = None
    targets: list[Target] = field(default_factory=list)


# ---------------------------------------------------------------- the expected figures


def minor_of(text: str, currency: str) -> int:
    """Signed minor units of a decimal string, refusing more decimals than ``currency`` has."""
    try:
        scaled = Decimal(text).scaleb(exponent(currency))
    except InvalidOperation:
        raise BenchmarkFailed(f"not an amount: {text!r}") from None
    if scaled != scaled.to_integral_value():
        raise BenchmarkFailed(f"{text} has more decimals than {currency} allows")
    return int(scaled)


def read_jsonl(path: Path) -> tuple[int, int, Totals]:
    """Entries, postings and balances of a JSON Lines ledger, summed independently of hledger."""
    entries = postings = 0
    sums: dict[tuple[str, str], int] = defaultdict(int)
    with path.open() as file:
        for text in file:
            entry = json.loads(text)
            if "lines" not in entry:  # an export's account declaration
                continue
            entries += 1
            for line in entry["lines"]:
                postings += 1
                currency = line.get("currency") or entry["currency"]
                key = (line["account"], currency)
                if line.get("debit") is not None:
                    sums[key] += to_minor(line["debit"], currency)
                else:
                    sums[key] -= to_minor(line["credit"], currency)
    return entries, postings, {key: net for key, net in sums.items() if net}


def hledger_totals(journal: Path) -> Totals:
    """hledger's balance of every account of ``journal``, per commodity."""
    hledger = shutil.which("hledger")
    if hledger is None:
        raise BenchmarkFailed("hledger is not installed (apt-get install -y hledger)")
    done = subprocess.run(
        [hledger, "-f", str(journal), "bal", "--flat", "--no-total", "-O", "csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkFailed(f"hledger failed: {done.stderr.strip()}")
    totals: Totals = {}
    rows = csv.reader(done.stdout.splitlines())
    if next(rows, None) != ["account", "balance"]:
        raise BenchmarkFailed(f"unexpected hledger output: {done.stdout[:200]!r}")
    for account, balance in rows:
        # "EUR 1234.56" or, for several commodities, "EUR 1.00, USD -2.00".
        for amount in balance.split(", "):
            currency, _, number = amount.strip().partition(" ")
            if currency[-1:].isdigit():  # "1234.56 EUR": the commodity written after
                number, currency = currency, number
            if currency.startswith("-"):  # "-EUR 13", the other way hledger writes a negative
                currency, number = currency[1:], "-" + number
            if not number:
                if amount.strip() == "0":
                    continue
                raise BenchmarkFailed(f"unreadable hledger amount {amount!r} of {account}")
            net = minor_of(number, currency)
            if net:
                totals[(account, currency)] = net
    return totals


def prepare_ledger(args: argparse.Namespace, directory: Path) -> Ledger:
    """The ledger files, generated unless given; their expected figures, checked by hledger."""
    if args.ledger:
        prefix: Path = args.ledger
        jsonl, journal = Path(f"{prefix}.jsonl"), Path(f"{prefix}.journal")
    else:
        started = time.perf_counter()
        made = gen_ledger.write(directory / "ledger", args.entries, seed=args.seed)
        jsonl, journal = made.jsonl, made.journal
        print(f"generated in {time.perf_counter() - started:.1f} s: {jsonl}, {journal}")
    entries, postings, totals = read_jsonl(jsonl)
    started = time.perf_counter()
    expected = hledger_totals(journal)
    print(
        f"ledger: {entries} entries, {postings} postings, {len(totals)} account balances; "
        f"hledger read the journal in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    if expected != totals:
        raise BenchmarkFailed(
            "the journal and the JSON Lines file disagree: " + differences(totals, expected)
        )
    return Ledger(jsonl, journal, entries, postings, totals)


def differences(found: Totals, expected: Totals, limit: int = 5) -> str:
    keys = sorted(k for k in found.keys() | expected.keys() if found.get(k) != expected.get(k))
    shown = ", ".join(f"{k}: {found.get(k, 0)} != {expected.get(k, 0)}" for k in keys[:limit])
    return f"{len(keys)} balances differ (minor units, found != expected): {shown}"


# ---------------------------------------------------------------- the import


def ledgerql_cli() -> str | None:
    """The ``ledgerql`` script beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("ledgerql")
    return str(beside) if beside.exists() else shutil.which("ledgerql")


def run_measured(command: list[str], env: dict[str, str], timeout_s: float) -> Measured:
    """Runs ``command``; its wall time, CPU time and peak RSS (Linux ``ru_maxrss``, KiB)."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            # wait4, not Popen.wait: it returns the resource usage of this one child.
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # SIGTERM or Ctrl-C: do not leave the import running
            process.kill()
            process.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    return Measured(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,
        output=text,
    )


async def new_tenant(db: Database) -> int:
    tenant, _ = await create_tenant(db, slug=TENANT, name="Import benchmark", currency="EUR")
    assert tenant.id is not None
    return tenant.id


async def written(db: Database, tenant_id: int) -> tuple[int, int, Totals, bool]:
    """Entries, lines, the trial balance (as Totals) and whether it balances."""
    async with db.read() as session:
        entries = await session.scalar(
            select(func.count()).where(JournalEntry.tenant_id == tenant_id)  # type: ignore[arg-type]
        )
        lines = await session.scalar(
            select(func.count()).where(JournalLine.tenant_id == tenant_id)  # type: ignore[arg-type]
        )
    balance = await balances.trial_balance(db, tenant_id)
    totals = {
        (row.account.code, row.currency): row.debit_minor - row.credit_minor
        for row in balance.rows
        if row.debit_minor != row.credit_minor
    }
    return int(entries or 0), int(lines or 0), totals, balance.balanced


def check_import(db: Database, tenant_id: int, ledger: Ledger, runner: asyncio.Runner) -> None:
    entries, lines, totals, balanced = runner.run(written(db, tenant_id))
    if (entries, lines) != (ledger.entries, ledger.postings):
        raise BenchmarkFailed(
            f"the database has {entries} entries and {lines} lines; "
            f"the file has {ledger.entries} and {ledger.postings}"
        )
    if totals != ledger.totals:
        raise BenchmarkFailed(
            "the trial balance differs from hledger's: " + differences(totals, ledger.totals)
        )
    if not balanced:
        raise BenchmarkFailed("the trial balance does not balance")
    print(
        f"  checked: {entries} entries and {lines} lines in the database; the trial "
        f"balance ({len(totals)} balances) equals hledger's to the cent and balances"
    )


# ---------------------------------------------------------------- the COPY baseline


async def _has_id(conn: Any, table: str) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'id'",
        table,
    )
    return bool(found)


async def _chunks(conn: Any, table: str) -> AsyncIterator[list[Any]]:
    """The rows of ``table`` in CHUNK_ROWS-sized lists (by id where it has one)."""
    if not await _has_id(conn, table):
        rows = await conn.fetch(f"SELECT * FROM {table}")
        if rows:
            yield rows
        return
    last = 0
    while rows := await conn.fetch(
        f"SELECT * FROM {table} WHERE id > $1 ORDER BY id LIMIT $2", last, CHUNK_ROWS
    ):
        yield rows
        last = rows[-1]["id"]


async def copy_baseline(source_url: str, target_url: str) -> Copied:
    """COPY of the rows of WRITTEN_TABLES from ``source_url`` into the empty ``target_url``."""
    source = await asyncpg.connect(harness.asyncpg_dsn(source_url))
    target = await asyncpg.connect(harness.asyncpg_dsn(target_url))
    try:
        tables = [
            row["table_name"]
            for row in await source.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        for table in sorted(set(tables) - set(REFERENCE_TABLES + WRITTEN_TABLES + NOT_COPIED)):
            if await source.fetchval(f"SELECT count(*) FROM {table}"):
                print(f"  note: the import also wrote to {table}, which the COPY leaves out")
        async with target.transaction():
            for table in REFERENCE_TABLES:
                async for rows in _chunks(source, table):
                    await target.copy_records_to_table(
                        table, records=rows, columns=list(rows[0].keys())
                    )
        seconds = 0.0
        counts: dict[str, int] = {}
        by_table: dict[str, float] = {}
        transaction = target.transaction()
        await transaction.start()
        try:
            for table in WRITTEN_TABLES:
                async for rows in _chunks(source, table):
                    started = time.perf_counter()
                    await target.copy_records_to_table(
                        table, records=rows, columns=list(rows[0].keys())
                    )
                    took = time.perf_counter() - started
                    seconds += took
                    by_table[table] = by_table.get(table, 0.0) + took
                    counts[table] = counts.get(table, 0) + len(rows)
            started = time.perf_counter()
            await transaction.commit()
            seconds += time.perf_counter() - started
        except BaseException:
            await transaction.rollback()
            raise
        for table, count in counts.items():
            if await target.fetchval(f"SELECT count(*) FROM {table}") != count:
                raise BenchmarkFailed(f"COPY baseline: {table} does not hold the {count} rows")
        return Copied(seconds, counts, by_table)
    finally:
        await source.close()
        await target.close()


# ---------------------------------------------------------------- per engine


@contextmanager
def imported(
    engine: str, ledger: Ledger, cli: str, timeout_s: float, fmt: str = "journal"
) -> Iterator[tuple[str, Measured]]:
    """A fresh database into which ``ledgerql import`` loaded ``ledger``, and the measures."""
    with ExitStack() as stack:
        url = stack.enter_context(harness.fresh_database(engine))
        upgrade(url)
        runner = stack.enter_context(asyncio.Runner())
        db = Database(url)
        stack.callback(lambda: runner.run(db.dispose()))
        tenant_id = runner.run(new_tenant(db))
        source = ledger.journal if fmt == "journal" else ledger.jsonl
        command = [
            cli, "import", str(source), "--tenant", TENANT,
            "--format", fmt, "--create-accounts",
        ]  # fmt: skip
        measured = run_measured(command, {**os.environ, "DATABASE_URL": url}, timeout_s)
        if measured.returncode != 0:
            raise BenchmarkFailed(
                f"{' '.join(command)} exited with {measured.returncode}:\n"
                + measured.output[-3000:]
            )
        print(
            f"  import    {measured.wall_s:8.2f} s wall, {measured.cpu_s:.2f} s CPU: "
            f"{ledger.entries / measured.wall_s:9,.0f} entries/s, "
            f"{ledger.postings / measured.wall_s:9,.0f} postings/s; "
            f"peak RSS {measured.peak_rss_mib:.1f} MiB",
            flush=True,
        )
        check_import(db, tenant_id, ledger, runner)
        yield url, measured


def exported(url: str, ledger: Ledger, cli: str, timeout_s: float) -> dict[str, float]:
    """``ledgerql export`` of the imported tenant in each format, timed (entries/s), and
    checked equal to the input: the JSON Lines and journal exports hold the file's
    entries and balances (the journal's read back by hledger), the CSV its lines."""
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ledgerql-export-") as directory:
        for fmt in EXPORT_FORMATS:
            target = Path(directory) / f"export.{fmt}"
            command = [cli, "export", "--tenant", TENANT, "--format", fmt, "-o", str(target)]
            measured = run_measured(command, {**os.environ, "DATABASE_URL": url}, timeout_s)
            if measured.returncode != 0:
                raise BenchmarkFailed(f"{' '.join(command)}: {measured.output[-2000:]}")
            rates[fmt] = ledger.entries / measured.wall_s
            if fmt == "jsonl":
                entries, postings, totals = read_jsonl(target)
            elif fmt == "journal":
                entries = postings = -1  # counted by the JSON Lines check
                totals = hledger_totals(target)
            else:
                with target.open() as text:
                    postings = sum(1 for _ in text) - 1
                entries, totals = -1, ledger.totals
            if (
                totals != ledger.totals
                or postings not in (-1, ledger.postings)
                or entries
                not in (
                    -1,
                    ledger.entries,
                )
            ):
                raise BenchmarkFailed(f"the {fmt} export differs from the input")
            print(
                f"  export {fmt:7s} {measured.wall_s:6.2f} s: {rates[fmt]:9,.0f} entries/s; "
                f"peak RSS {measured.peak_rss_mib:.1f} MiB; equal to the input",
                flush=True,
            )
    return rates


def bench_engine(engine: str, ledger: Ledger, args: argparse.Namespace) -> ImportResult:
    print(f"{engine}: ledgerql import of {ledger.entries} entries ({args.format})", flush=True)
    copied = None
    with imported(engine, ledger, args.cli, args.timeout, args.format) as (url, measured):
        export_rates = exported(url, ledger, args.cli, args.timeout) if args.export else {}
        if engine == "postgres":
            with harness.fresh_database(engine) as target_url:
                upgrade(target_url)
                copied = asyncio.run(copy_baseline(url, target_url))
    result = figures(engine, ledger, measured, copied)
    for fmt, rate in export_rates.items():
        result.targets.append(
            Target(f"export {fmt} entries/s", rate, TARGET_EXPORT_ENTRIES_PER_S, "entries/s")
        )
    for target in result.targets:
        print(target.line())
    sys.stdout.flush()
    return result


def figures(engine: str, ledger: Ledger, measured: Measured, copied: Copied | None) -> ImportResult:
    """The figures of one engine with their targets; prints the COPY's."""
    entries_per_s = ledger.entries / measured.wall_s
    targets = [Target("peak RSS", measured.peak_rss_mib, TARGET_PEAK_RSS_MIB, "MiB", True)]
    if engine == "sqlite":
        targets.append(Target("entries/s", entries_per_s, TARGET_SQLITE_ENTRIES_PER_S, "entries/s"))
    copy_rate = ratio = None
    if copied is not None:
        copy_rate = ledger.entries / copied.seconds
        ratio = entries_per_s / copy_rate
        rows = ", ".join(
            f"{table} {count} in {copied.seconds_by_table[table]:.2f} s"
            for table, count in copied.rows.items()
        )
        print(
            f"  COPY      {copied.seconds:8.2f} s: {copy_rate:9,.0f} entries/s ({rows})\n"
            f"  ratio import/COPY {ratio:.2f}"
        )
        targets.append(Target("import/COPY", ratio, TARGET_COPY_RATIO, ""))
    return ImportResult(
        engine=engine,
        entries=ledger.entries,
        postings=ledger.postings,
        wall_s=measured.wall_s,
        cpu_s=measured.cpu_s,
        entries_per_s=entries_per_s,
        postings_per_s=ledger.postings / measured.wall_s,
        peak_rss_mib=measured.peak_rss_mib,
        copy_s=copied.seconds if copied else None,
        copy_rows=copied.rows if copied else None,
        copy_s_by_table=copied.seconds_by_table if copied else None,
        copy_entries_per_s=copy_rate,
        ratio_import_copy=ratio,
        targets=targets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--entries", type=int, default=250_000, help="entries to generate")
    parser.add_argument("--seed", type=int, default=1, help="of the generated ledger")
    parser.add_argument(
        "--ledger", type=Path, metavar="PREFIX", help="import PREFIX.jsonl (and check it "
        "against PREFIX.journal) instead of generating a ledger",
    )  # fmt: skip
    parser.add_argument(
        "--cli", default=ledgerql_cli(), help="the ledgerql executable (default: the venv's)"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per import")
    parser.add_argument(
        "--format", choices=("journal", "jsonl"), default="journal",
        help="the file imported (default: the hledger journal, as hledger reads it)",
    )  # fmt: skip
    parser.add_argument(
        "--no-export", dest="export", action="store_false",
        help="leave out the export of each format after the import",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.entries < 1:
        parser.error("--entries must be positive")
    if not args.cli:
        parser.error("no ledgerql executable found; give --cli")
    with tempfile.TemporaryDirectory(prefix="ledgerql-import-") as directory:
        try:
            ledger = prepare_ledger(args, Path(directory))
        except BenchmarkFailed as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return harness.EXIT_FAILED
        return harness.main(args, lambda engine: bench_engine(engine, ledger, args))


if __name__ == "__main__":
    sys.exit(main())
