"""The hold-then-post benchmark runs end to end on a tiny load and checks itself: every
hold it made ends POSTED, pending is back to 0, and the wallet's and clearing's balances
equal what the responses acknowledged. Nothing here is timed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest

from app.ledger.posting import EntryInput, LineInput, hold_entry
from benchmarks import hold_cycle
from benchmarks.harness import BenchmarkFailed
from benchmarks.hold_loadgen import amounts
from db.engine import Database
from db.migrate import upgrade
from tests.test_benchmark_harness import engine_of, run_benchmark


def test_hold_cycle_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "hold_cycle", "--engine", engine_of(db_url), "--pairs", "12", "--rounds", "2",
        "--warmup", "3", "--concurrency", "4", "--partial-every", "3", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "27 holds, every one POSTED (9 in part)" in done.stdout
    assert "pending back to 0 on wallet and clearing; balances equal the sums" in done.stdout
    for figure in ("median    cycle", "median    posts", "ratio cycle/posts", "target cycle"):
        assert figure in done.stdout
    (result,) = json.loads(figures.read_text())
    assert [phase["load"] for phase in result["rounds"]] == ["cycle", "posts"] * 2
    assert all(phase["pairs"] == 12 and phase["partial"] == 4 for phase in result["rounds"])
    # Warm-up (3 pairs) and two rounds (12 each) of each load: what the responses
    # acknowledged, summed here from the amounts the load generator asks for.
    pairs = [*range(3), *range(12), *range(12)]
    cycle = sum(amounts(index, 3)[1] for index in pairs)
    posts = sum(sum(amounts(index, 3)) for index in pairs)
    verified = result["verified"]
    assert verified["holds"] == verified["holds_posted"] == 27
    assert verified["holds_partial"] == 9
    assert verified["pending_minor"] == 0
    assert verified["wallet_debit_minor"] == verified["clearing_credit_minor"] == cycle + posts
    assert verified["entries"] == 1 + 27 + 2 * 27  # the top-up, one per hold, two per pair


def test_a_hold_left_pending_fails_the_check(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    upgrade(url)

    async def check_one_left_open() -> None:
        db = Database(url)
        try:
            tenant_id, _ = await hold_cycle.prepare(db)
            lines = [
                LineInput(account_code=hold_cycle.WALLET.code, debit="1.00"),
                LineInput(account_code=hold_cycle.CLEARING.code, credit="1.00"),
            ]
            await hold_entry(db, tenant_id, EntryInput(dt.date.today(), "never posted", lines))
            with pytest.raises(BenchmarkFailed, match=r"all POSTED; found \{'PENDING': 1\}"):
                await hold_cycle.verify(db, tenant_id, [], entries=2)
        finally:
            await db.dispose()

    asyncio.run(check_one_left_open())
