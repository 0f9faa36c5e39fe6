"""The metadata benchmarks (issue 20) run end to end on a tiny size and check themselves:
every lookup answers exactly its order's entries, every batch with metadata leaves its
index rows. Nothing here is timed."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import metadata_lookup
from tests.test_benchmark_harness import engine_of, run_benchmark


def test_metadata_lookup_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "metadata_lookup", "--engine", engine_of(db_url), "--entries", "3000", "--small", "1000",
        "--rounds", "2", "--lookups", "15", "--warmup", "2", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every answer was exactly its order's 4 entries" in done.stdout
    assert "built 3,000 entries (1000 tagged, 250 orders)" in done.stdout
    for figure in ("ratio large/small", "target lookup at 3,000", "target lookup 3,000/1,000"):
        assert figure in done.stdout
    (result,) = json.loads(figures.read_text())
    assert [size["entries"] for size in result["sizes"]] == [1000, 3000]
    assert all(size["lookups"] == 30 for size in result["sizes"])
    assert all(len(size["round_medians_ms"]) == 2 for size in result["sizes"])


def test_tagged_entries_are_spread_and_grouped_by_order() -> None:
    positions = metadata_lookup.tagged_positions(10_000)
    assert len(positions) == metadata_lookup.TAGGED == 1000
    assert min(positions) == 5 and max(positions) == 9995
    by_order: dict[int, list[int]] = {}
    for position, order in positions.items():
        by_order.setdefault(order, []).append(position)
    assert len(by_order) == metadata_lookup.ORDERS
    assert all(len(found) == metadata_lookup.ENTRIES_PER_ORDER for found in by_order.values())
    assert sorted(by_order[16]) == [165, 2665, 5165, 7665]


def test_metadata_posting_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "metadata_posting", "--engine", engine_of(db_url), "--batch", "20", "--requests", "3",
        "--rounds", "1", "--warmup", "1", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio batch-meta/batch" in done.stdout
    assert "target batch-meta/batch" in done.stdout
    # Warm-up (1 request) and one round (3) of 20 entries with 5 keys each.
    assert "entry_metadata: 400 rows, 5 per entry with metadata" in done.stdout
    (result,) = json.loads(figures.read_text())
    assert result["metadata_rows"] == 400
    by_load = {phase["load"]: phase for phase in result["http"]["rounds"]}
    assert by_load["batch"]["entries"] == by_load["batch-meta"]["entries"] == 60
