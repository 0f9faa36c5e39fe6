"""The chain-cost benchmark (issue 21) runs end to end on a tiny size: two servers, this
tree and a git worktree of a base revision, on one database, every phase checked. Here the
base is HEAD itself (the comparison's mechanics, not its figures). Nothing is timed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.test_benchmark_harness import engine_of, run_benchmark

ROOT = Path(__file__).resolve().parent.parent


def test_chain_cost_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    inside = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"], capture_output=True, check=False
    )
    if inside.returncode != 0:
        pytest.skip("not a git checkout: the benchmark compares with a git worktree")
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "chain_cost", "--load", "single", "--base", "HEAD", "--engine", engine_of(db_url),
        "--requests", "20", "--concurrency", "4", "--rounds", "1", "--warmup", "2",
        "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio chain/base" in done.stdout and "target chain/base" in done.stdout
    (result,) = json.loads(figures.read_text())
    by_load = {phase["load"]: phase for phase in result["rounds"]}
    assert by_load["chain"]["entries"] == by_load["base"]["entries"] == 20
