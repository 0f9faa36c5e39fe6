"""What the benchmarks share: fresh databases, uvicorn servers, the load generator, figures.

An HTTP benchmark names its servers and loads (what to POST to which server), runs
them in alternating rounds with ``run_http`` and prints the medians, ratios and
targets with ``report_http``. ``main`` gives every benchmark the same command-line
frame: engines, ``--json``, ``--require-targets``, and the exit statuses (1 when a
check failed, 2 when a target was missed and targets were required).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import asyncpg
from sqlalchemy import func, select

from app.ledger.accounts import AccountInput, create_account
from app.ledger.limits import LimitsChange
from app.ledger.tenants import create_tenant
from db.engine import Database
from db.migrate import upgrade
from db.tables import JournalEntry
from graphql_schema.benchmark import ENV_VAR as BENCHMARK_MUTATIONS

HOST = "127.0.0.1"
POSTGRES_ADMIN_DSN = os.environ.get(
    "LEDGERQL_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
EXIT_FAILED = 1
EXIT_TARGET_MISSED = 2

# The accounts of the HTTP benchmarks' entries.
ACCOUNTS = (("1000", "Cash", "ASSET"), ("4000", "Sales", "INCOME"))
# The same pair with balance limits on both (no overdraft, a maximum far above what a
# run posts), so every posting to them is checked: benchmarks/account_limits.py.
LIMITED_ACCOUNTS = (("1100", "Limited cash", "ASSET"), ("4100", "Limited sales", "INCOME"))
LIMITS = LimitsChange(no_overdraft=True, max_balance=[("EUR", "1000000000000.00")])


class BenchmarkFailed(Exception):
    """A check failed: a request, a count, a balance; the figures are not to be trusted."""


# ---------------------------------------------------------------- databases


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` DSN of a SQLAlchemy asyncpg URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@contextmanager
def fresh_database(engine: str) -> Iterator[str]:
    """The URL of a new, empty database; removed afterwards."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledgerql-bench-") as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        return
    name = f"ledgerql_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def seed(db: Database) -> tuple[int, str]:
    """A tenant (EUR) with the accounts the entries use: its id and an API key."""
    tenant, issued = await create_tenant(db, slug="bench", name="Benchmark", currency="EUR")
    assert tenant.id is not None
    for code, name, kind in ACCOUNTS:
        await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
    for code, name, kind in LIMITED_ACCOUNTS:
        limited = AccountInput(code=code, name=name, type=kind, limits=LIMITS)
        await create_account(db, tenant.id, limited)
    return tenant.id, issued.key


async def count_entries(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(JournalEntry)
        total = await session.scalar(query.where(JournalEntry.tenant_id == tenant_id))  # type: ignore[arg-type]
    return int(total or 0)


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def serve(
    name: str,
    target: str,
    env: dict[str, str],
    logs: Path,
    workers: int = 1,
    cwd: str | None = None,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A uvicorn server of ``workers`` processes (one by default) serving the factory
    ``target`` on a free port, from the code in ``cwd`` (default: this tree); stopped on
    exit."""
    port = free_port()
    log_path = logs / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed below)
    command = [
        sys.executable, "-m", "uvicorn", target, "--factory",
        "--host", HOST, "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    if cwd is not None:
        env = {**env, "PYTHONPATH": cwd}
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkFailed(
                    f"{name} server did not start; its log:\n"
                    + log_path.read_text(errors="replace")
                )
            time.sleep(0.1)
        yield port, process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not gone after STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sampled(pid: int, output: Path) -> Iterator[None]:
    """Samples process ``pid`` with py-spy (collapsed stacks in ``output``) while open."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
        "--output", str(output), "--nonblocking",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # let it attach
    if process.poll() is not None:
        raise BenchmarkFailed(
            f"py-spy failed: {process.stderr.read().decode() if process.stderr else ''}"
        )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            process.wait(STOP_TIMEOUT_S * 3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- load


@dataclass(frozen=True)
class Load:
    """One kind of request, sent over and over to one server."""

    name: str
    server: str  # which running server gets it
    path: str
    body: str
    headers: dict[str, str]
    kind: str  # how the load generator judges a response ("graphql" or "bare")
    writes: bool  # True: every acknowledged entry is in the database; False: none is


@dataclass(frozen=True)
class Phase:
    load: str
    requests: int  # successful ones
    entries: int  # acknowledged by them
    elapsed_s: float
    entries_per_s: float
    p50_ms: float
    p99_ms: float


def graphql_load(name: str, document: str, variables: dict[str, Any], key: str) -> Load:
    """A GraphQL mutation for the ledgerql server; it writes unless its name starts with noop."""
    return Load(
        name=name,
        server="ledgerql",
        path="/graphql",
        body=json.dumps({"query": document, "variables": variables}),
        headers={"Authorization": f"Bearer {key}"},
        kind="graphql",
        writes=not name.startswith("noop"),
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def drive(load: Load, port: int, requests: int, concurrency: int, max_s: float) -> Any:
    """The load generator's report after ``requests`` of ``load`` (see benchmarks.loadgen)."""
    job = {
        "port": port,
        "path": load.path,
        "body": load.body,
        "headers": load.headers,
        "kind": load.kind,
        "requests": requests,
        "concurrency": concurrency,
        "max_seconds": max_s,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.loadgen"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=max_s + 60,  # the generator stops itself at max_s; this is the backstop
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkFailed(f"load generator failed:\n{done.stderr}")
    return json.loads(done.stdout)


@dataclass
class Bench:
    """The running servers of one engine and the database they share."""

    runner: asyncio.Runner
    db: Database
    tenant_id: int
    ports: dict[str, int]
    concurrency: int
    max_seconds: float

    def phase(self, load: Load, requests: int) -> Phase:
        """Drives ``load``; every response must be a success and the database must agree."""
        before = self.runner.run(count_entries(self.db, self.tenant_id))
        report = drive(load, self.ports[load.server], requests, self.concurrency, self.max_seconds)
        written = self.runner.run(count_entries(self.db, self.tenant_id)) - before
        if report["failed"]:
            raise BenchmarkFailed(
                f"{load.name}: {report['failed']} of {report['sent']} requests failed, e.g. "
                + "; ".join(report["failures"])
            )
        expected = report["entries"] if load.writes else 0
        if written != expected:
            raise BenchmarkFailed(
                f"{load.name}: {report['ok']} successful responses acknowledged "
                f"{report['entries']} entries, but {written} new entries are in the database "
                f"(expected {expected})"
            )
        if report["timed_out"]:
            print(
                f"  note: {load.name} hit the {self.max_seconds:.0f} s cap "
                f"after {report['sent']} requests"
            )
        latencies = report["latencies_ms"]
        elapsed = report["elapsed_s"]
        return Phase(
            load=load.name,
            requests=report["ok"],
            entries=report["entries"],
            elapsed_s=elapsed,
            entries_per_s=report["entries"] / elapsed if elapsed else 0.0,
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
        )


def phase_line(label: str, phase: Phase) -> str:
    return (
        f"  {label:<9} {phase.load:<9} {phase.entries_per_s:9.1f} entries/s"
        f"  p50 {phase.p50_ms:7.1f} ms  p99 {phase.p99_ms:7.1f} ms"
        f"  ({phase.entries} entries in {phase.requests} requests, {phase.elapsed_s:.1f} s)"
    )


@dataclass(frozen=True)
class Server:
    name: str
    target: str  # a uvicorn factory, "module:function"
    # Where its code is: another checkout (a git worktree of an earlier commit), run with
    # this interpreter and its packages; None: this tree.
    cwd: str | None = None


def run_http(
    engine: str,
    args: argparse.Namespace,
    servers: Sequence[Server],
    make_loads: Callable[[str], list[Load]],
    check: Callable[[Bench], None] | None = None,
) -> list[Phase]:
    """The measured rounds of the loads ``make_loads(api_key)`` on a fresh database.

    Per engine: a fresh database, migrated, with one tenant and the ACCOUNTS; the
    ``servers`` (one uvicorn worker each, the benchmark-only mutations enabled);
    ``args.warmup`` requests of each load, then ``args.rounds`` rounds of
    ``args.requests`` requests of the loads in alternation (a, b, c, a, b, c, ...),
    which spreads the machine's drifts over all loads so that their ratios hold even
    when the absolute figures wander. Every phase is checked (see ``Bench.phase``);
    servers stop and the database goes at the end, also on failure. ``check``, when
    given, is called with the running bench after the rounds (to check the database).
    """
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(engine))
        upgrade(url)
        runner = stack.enter_context(asyncio.Runner())
        db = Database(url)
        stack.callback(lambda: runner.run(db.dispose()))
        tenant_id, key = runner.run(seed(db))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BENCH_TENANT_ID": str(tenant_id),
            BENCHMARK_MUTATIONS: "1",
        }
        running = {
            s.name: stack.enter_context(serve(s.name, s.target, env, logs, cwd=s.cwd))
            for s in servers
        }
        bench = Bench(
            runner=runner,
            db=db,
            tenant_id=tenant_id,
            ports={name: port for name, (port, _) in running.items()},
            concurrency=args.concurrency,
            max_seconds=args.max_seconds,
        )
        loads = make_loads(key)
        for load in loads:
            print(phase_line("warm-up", bench.phase(load, args.warmup)), flush=True)
        if args.py_spy:
            for name, (_, process) in running.items():
                stack.enter_context(sampled(process.pid, args.py_spy / f"{engine}-{name}.txt"))
        measured: list[Phase] = []
        for number in range(1, args.rounds + 1):
            for load in loads:
                measured.append(bench.phase(load, args.requests))
                print(phase_line(f"round {number}", measured[-1]), flush=True)
        stored = runner.run(count_entries(db, tenant_id))
        for name, (port, _) in running.items():
            posted = scrape_metric(port, POSTED_METRIC)
            if posted is not None:  # servers without /metrics (bare apps) are left out
                print(f"/metrics of {name}: {POSTED_METRIC} {posted:g} (stored: {stored})")
        if check is not None:
            check(bench)
    return measured


POSTED_METRIC = "ledgerql_posted_entries_total"


def scrape_metric(port: int, name: str) -> float | None:
    """The value of an unlabelled sample on a server's /metrics; None without one."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        if response.status != 200:
            return None
    finally:
        connection.close()
    for line in text.splitlines():
        sample, _, value = line.partition(" ")
        if sample == name:
            return float(value)
    return None


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Summary:
    load: str
    entries_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Ratio:
    name: str  # "a/b"
    median: float  # of a's median entries/s over b's
    per_round: list[float]


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    bound: float
    unit: str
    at_most: bool = False  # the value must stay at or under the bound, not reach it

    @property
    def met(self) -> bool:
        return self.value <= self.bound if self.at_most else self.value >= self.bound

    def line(self) -> str:
        relation = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "NOT met"
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"  target {self.name}: {self.value:,.2f}{unit} "
            f"({relation} {self.bound:,.2f}: {verdict})"
        )


def summarise(rounds: Sequence[Phase], load: str) -> Summary:
    """The medians of ``load`` over ``rounds``."""
    mine = [phase for phase in rounds if phase.load == load]
    return Summary(
        load=load,
        entries_per_s=statistics.median(p.entries_per_s for p in mine),
        p50_ms=statistics.median(p.p50_ms for p in mine),
        p99_ms=statistics.median(p.p99_ms for p in mine),
    )


def ratio(rounds: Sequence[Phase], over: str, under: str) -> Ratio:
    """Median entries/s of ``over`` over that of ``under``, and the same ratio per round."""
    tops = [p.entries_per_s for p in rounds if p.load == over]
    bottoms = [p.entries_per_s for p in rounds if p.load == under]
    return Ratio(
        name=f"{over}/{under}",
        median=statistics.median(tops) / statistics.median(bottoms),
        per_round=[a / b for a, b in zip(tops, bottoms, strict=True)],
    )


def summary_line(summary: Summary) -> str:
    return (
        f"  median    {summary.load:<9} {summary.entries_per_s:9.1f} entries/s"
        f"  p50 {summary.p50_ms:7.1f} ms  p99 {summary.p99_ms:7.1f} ms"
    )


def ratio_line(found: Ratio) -> str:
    return f"  ratio {found.name} {found.median:.2f}; per round " + " ".join(
        f"{r:.2f}" for r in found.per_round
    )


@dataclass(frozen=True)
class HttpResult:
    """The figures of one engine in an HTTP benchmark."""

    engine: str
    settings: dict[str, Any]
    rounds: list[Phase]
    summaries: list[Summary]
    ratios: list[Ratio]
    targets: list[Target] = field(default_factory=list)


def report_http(
    engine: str,
    settings: dict[str, Any],
    rounds: list[Phase],
    ratios: Sequence[tuple[str, str]],
    targets: Callable[[dict[str, Summary], dict[str, Ratio]], list[Target]],
) -> HttpResult:
    """Prints and returns the medians per load, the ratios and the targets of one engine."""
    names = dict.fromkeys(phase.load for phase in rounds)
    summaries = {name: summarise(rounds, name) for name in names}
    found = {f"{a}/{b}": ratio(rounds, a, b) for a, b in ratios}
    result = HttpResult(
        engine=engine,
        settings=settings,
        rounds=rounds,
        summaries=list(summaries.values()),
        ratios=list(found.values()),
        targets=targets(summaries, found),
    )
    for summary in result.summaries:
        print(summary_line(summary))
    for each in result.ratios:
        print(ratio_line(each))
    for target in result.targets:
        print(target.line())
    sys.stdout.flush()
    return result


# ---------------------------------------------------------------- command line


class Result(Protocol):
    @property
    def targets(self) -> list[Target]: ...


def engine_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")


def common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--json`` and ``--require-targets``: every benchmark has them."""
    engine_argument(parser)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--require-targets",
        action="store_true",
        help=f"exit with status {EXIT_TARGET_MISSED} when a target is missed",
    )


def http_arguments(
    parser: argparse.ArgumentParser, *, requests: int, concurrency: int, warmup: int
) -> None:
    """The options of the benchmarks that drive servers with the load generator."""
    common_arguments(parser)
    parser.add_argument(
        "--requests", type=int, default=requests, help="requests per round and load"
    )
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per load (median taken)")
    parser.add_argument("--warmup", type=int, default=warmup, help="requests per load first")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per round")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample each server with py-spy during the rounds (collapsed stacks in DIR; "
        "pip install py-spy); the figures are then perturbed by the sampler",
    )


def check_http_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if min(args.requests, args.rounds, args.concurrency, args.warmup) < 1:
        parser.error("--requests, --rounds, --concurrency and --warmup must be positive")


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: servers stop, databases go


def main(args: argparse.Namespace, bench_engine: Callable[[str], Result]) -> int:
    """Runs ``bench_engine`` per engine of ``args.engine``; the exit status of the benchmark."""
    signal.signal(signal.SIGTERM, _terminate)
    # uvicorn takes uvloop and httptools when they are installed: say which ran.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}; uvicorn {metadata.version('uvicorn')} "
        f"({loop}, {http})",
        flush=True,
    )
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    try:
        results = [bench_engine(engine) for engine in engines]
    except BenchmarkFailed as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")  # type: ignore[call-overload]
    missed = [t for r in results for t in r.targets if not t.met]
    if missed:
        print(f"{len(missed)} target(s) missed: " + ", ".join(t.name for t in missed))
        if args.require_targets:
            return EXIT_TARGET_MISSED
    return 0
