"""Benchmark: single-entry ``postJournalEntry`` over HTTP against a bare Starlette baseline.

    .venv/bin/python -m benchmarks.post_entry [--engine sqlite|postgres|both]
        [--requests 1000] [--concurrency 16] [--rounds 5]

For each engine: a fresh database (SQLite: a temporary file; PostgreSQL: a new
database, dropped afterwards), migrated, with one tenant and two accounts made
with the ledger core. Then two single-worker uvicorn servers on 127.0.0.1: the
ledgerql app (``app.main:create_app``) and the bare app
(``benchmarks.bare_app:create_app``: the same ``post_entry`` call, without
GraphQL or authentication). Each is warmed up, then the two are driven in
alternation (ledgerql, bare, ledgerql, bare, ...) by a load generator in its
own process (``benchmarks.loadgen``), ``--concurrency`` keep-alive connections,
``--requests`` requests per round, at most ``--max-seconds`` per round. The
figures are the medians over the rounds: the machine is small and noisy.

After every run the number of new entries in the database must equal the
number of successful responses, and every response must be a success;
otherwise the benchmark fails. The servers are stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
from sqlalchemy import func, select

from app.ledger.accounts import AccountInput, create_account
from app.ledger.tenants import create_tenant
from db.engine import Database
from db.migrate import upgrade
from db.tables import JournalEntry

HOST = "127.0.0.1"
TARGET_RATIO = 0.5
POSTGRES_ADMIN_DSN = os.environ.get(
    "LEDGERQL_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

POST_ENTRY = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry {
      id number date memo currency status
      lines { accountCode currency debit credit description }
    }
    replayed
    errors { code field message }
  }
}"""

ENTRY = {
    "date": "2026-01-15",
    "memo": "benchmark entry",
    "lines": [
        {"accountCode": "1000", "debit": "10.00"},
        {"accountCode": "4000", "credit": "10.00"},
    ],
}


@dataclass(frozen=True)
class Server:
    name: str  # "ledgerql" or "bare"
    target: str  # uvicorn factory
    path: str
    body: str
    headers: dict[str, str]
    kind: str  # how the load generator judges a response


@dataclass(frozen=True)
class Phase:
    server: str
    ok: int
    elapsed_s: float
    entries_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class EngineResult:
    engine: str
    requests: int
    concurrency: int
    rounds: list[Phase]
    ledgerql_per_s: float
    bare_per_s: float
    ledgerql_p50_ms: float
    ledgerql_p99_ms: float
    bare_p50_ms: float
    bare_p99_ms: float
    ratio: float
    round_ratios: list[float]


class BenchmarkFailed(Exception):
    pass


# ---------------------------------------------------------------- databases


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


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
    """A tenant with the two accounts the entry uses: its id and an API key."""
    tenant, issued = await create_tenant(db, slug="bench", name="Benchmark", currency="EUR")
    assert tenant.id is not None
    for code, name, kind in (("1000", "Cash", "ASSET"), ("4000", "Sales", "INCOME")):
        await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
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
    server: Server, env: dict[str, str], logs: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """One uvicorn worker serving ``server`` on a free loopback port; stopped on exit."""
    port = free_port()
    log = open(logs / f"{server.name}.log", "wb")  # noqa: SIM115 (closed below)
    command = [
        sys.executable, "-m", "uvicorn", server.target, "--factory",
        "--host", HOST, "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkFailed(
                    f"{server.name} server did not start; its log:\n"
                    + (logs / f"{server.name}.log").read_text(errors="replace")
                )
            time.sleep(0.1)
        yield port, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


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


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def drive(server: Server, port: int, requests: int, concurrency: int, max_s: float) -> Any:
    job = {
        "port": port,
        "path": server.path,
        "body": server.body,
        "headers": server.headers,
        "kind": server.kind,
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


def run_phase(
    runner: asyncio.Runner,
    db: Database,
    tenant_id: int,
    server: Server,
    port: int,
    requests: int,
    concurrency: int,
    max_s: float,
) -> Phase:
    """Drives ``server`` and checks that every response was an entry that is in the database."""
    before = runner.run(count_entries(db, tenant_id))
    report = drive(server, port, requests, concurrency, max_s)
    written = runner.run(count_entries(db, tenant_id)) - before
    if report["failed"]:
        raise BenchmarkFailed(
            f"{server.name}: {report['failed']} of {report['sent']} requests failed, e.g. "
            + "; ".join(report["failures"])
        )
    if written != report["ok"]:
        raise BenchmarkFailed(
            f"{server.name}: {report['ok']} successful responses but {written} new entries"
        )
    if report["timed_out"]:
        print(f"  note: {server.name} hit the {max_s:.0f} s cap after {report['sent']} requests")
    latencies = report["latencies_ms"]
    return Phase(
        server=server.name,
        ok=report["ok"],
        elapsed_s=report["elapsed_s"],
        entries_per_s=report["ok"] / report["elapsed_s"] if report["elapsed_s"] else 0.0,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
    )


def _line(label: str, phase: Phase) -> str:
    return (
        f"  {label:<9} {phase.server:<9} {phase.entries_per_s:8.1f} entries/s"
        f"  p50 {phase.p50_ms:7.1f} ms  p99 {phase.p99_ms:7.1f} ms"
        f"  ({phase.ok} in {phase.elapsed_s:.1f} s)"
    )


def bench_engine(engine: str, args: argparse.Namespace) -> EngineResult:
    print(
        f"{engine}: {args.requests} requests per round, {args.rounds} rounds, "
        f"{args.concurrency} concurrent clients",
        flush=True,
    )
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(engine))
        upgrade(url)
        runner = stack.enter_context(asyncio.Runner())
        db = Database(url)
        stack.callback(lambda: runner.run(db.dispose()))
        tenant_id, key = runner.run(seed(db))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        env = {**os.environ, "DATABASE_URL": url, "BENCH_TENANT_ID": str(tenant_id)}
        servers = [
            Server(
                name="ledgerql",
                target="app.main:create_app",
                path="/graphql",
                body=json.dumps({"query": POST_ENTRY, "variables": {"input": ENTRY}}),
                headers={"Authorization": f"Bearer {key}"},
                kind="graphql",
            ),
            Server(
                name="bare",
                target="benchmarks.bare_app:create_app",
                path="/entries",
                body=json.dumps(ENTRY),
                headers={},
                kind="bare",
            ),
        ]
        running = {server.name: stack.enter_context(serve(server, env, logs)) for server in servers}
        ports = {name: port for name, (port, _) in running.items()}

        def phase(server: Server, requests: int) -> Phase:
            return run_phase(
                runner, db, tenant_id, server, ports[server.name],
                requests, args.concurrency, args.max_seconds,
            )  # fmt: skip

        for server in servers:
            warm = phase(server, args.warmup)
            print(_line("warm-up", warm), flush=True)
        if args.py_spy:
            for server in servers:
                output = args.py_spy / f"{engine}-{server.name}.txt"
                stack.enter_context(sampled(running[server.name][1].pid, output))
        rounds: list[Phase] = []
        for number in range(1, args.rounds + 1):
            for server in servers:
                rounds.append(phase(server, args.requests))
                print(_line(f"round {number}", rounds[-1]), flush=True)

    def median(server: str, metric: str) -> float:
        return float(statistics.median(getattr(p, metric) for p in rounds if p.server == server))

    pairs = zip(rounds[0::2], rounds[1::2], strict=True)
    result = EngineResult(
        engine=engine,
        requests=args.requests,
        concurrency=args.concurrency,
        rounds=rounds,
        ledgerql_per_s=median("ledgerql", "entries_per_s"),
        bare_per_s=median("bare", "entries_per_s"),
        ledgerql_p50_ms=median("ledgerql", "p50_ms"),
        ledgerql_p99_ms=median("ledgerql", "p99_ms"),
        bare_p50_ms=median("bare", "p50_ms"),
        bare_p99_ms=median("bare", "p99_ms"),
        ratio=median("ledgerql", "entries_per_s") / median("bare", "entries_per_s"),
        round_ratios=[gql.entries_per_s / bare.entries_per_s for gql, bare in pairs],
    )
    print(
        f"  median    ledgerql  {result.ledgerql_per_s:8.1f} entries/s"
        f"  p50 {result.ledgerql_p50_ms:7.1f} ms  p99 {result.ledgerql_p99_ms:7.1f} ms\n"
        f"  median    bare      {result.bare_per_s:8.1f} entries/s"
        f"  p50 {result.bare_p50_ms:7.1f} ms  p99 {result.bare_p99_ms:7.1f} ms\n"
        f"  ratio ledgerql/bare {result.ratio:.2f} (target >= {TARGET_RATIO}: "
        f"{'met' if result.ratio >= TARGET_RATIO else 'NOT met'}); per round "
        + " ".join(f"{r:.2f}" for r in result.round_ratios),
        flush=True,
    )
    return result


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: servers stop, databases go


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round and server")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server (median taken)")
    parser.add_argument("--warmup", type=int, default=200, help="requests per server first")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per round")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample each server with py-spy during the rounds (collapsed stacks in DIR; "
        "pip install py-spy); the figures are then perturbed by the sampler",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1 or args.concurrency < 1 or args.warmup < 1:
        parser.error("--requests, --rounds, --concurrency and --warmup must be positive")
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}",
        flush=True,
    )
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    try:
        results = [bench_engine(engine, args) for engine in engines]
    except BenchmarkFailed as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
