"""The benchmark still runs end to end (tiny load): servers start, every posting
succeeds and the database holds exactly the acknowledged entries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import POSTGRES_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_and_checks_itself(db_url: str) -> None:
    engine = "sqlite" if db_url.startswith("sqlite") else "postgres"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.post_entry",
            "--engine",
            engine,
            "--requests",
            "40",
            "--rounds",
            "1",
            "--warmup",
            "5",
            "--max-seconds",
            "60",
        ],
        cwd=ROOT,
        env={**os.environ, "LEDGERQL_BENCH_POSTGRES_DSN": POSTGRES_ADMIN_DSN},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ratio ledgerql/bare" in completed.stdout
