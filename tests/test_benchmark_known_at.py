"""The knownAt benchmark runs end to end on a tiny size and checks itself: the reports
known at the moment equal the ones filed then, and PostgreSQL reads the late lines through
the index by recording time without statistics. Nothing here is timed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_benchmark_harness import engine_of, run_benchmark


def test_known_at_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    engine = engine_of(db_url)
    done = run_benchmark(
        "known_at_reports", "--engine", engine, "--entries", "1000", "--late", "200",
        "--rounds", "2", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the reports known at the moment equal the filed ones" in done.stdout
    assert "target balanceSheet knownAt" in done.stdout
    (result,) = json.loads(figures.read_text())
    assert result["late_lines"] > 0 and result["lines"] > 0
    assert all(len(values) == 2 for values in result["per_round_ms"].values())
    if engine == "postgres":
        assert any("ix_journal_entries_tenant_created" in row for row in result["plan"])
