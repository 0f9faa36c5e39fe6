"""The verify benchmark (issue 21) runs end to end on a tiny size and checks itself: the
books it builds verify, in process and through the command. Nothing here is timed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_benchmark_harness import engine_of, run_benchmark


def test_verify_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "verify_ledger", "--engine", engine_of(db_url), "--entries", "1500", "--cli",
        "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "built 1,500 entries (3,000 postings)" in done.stdout
    # 1,500 entries and the limits of the harness's two limited accounts.
    assert "head: link 1502 sha256 " in done.stdout
    assert "ledgerql verify --tenant bench:" in done.stdout and "exit 0" in done.stdout
    assert "target" in done.stdout
    (result,) = json.loads(figures.read_text())
    assert result["postings"] == 3000 and result["links"] == 1502
