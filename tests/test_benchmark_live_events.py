"""The live events benchmark runs end to end on a tiny load and checks itself: every
subscriber gets every event once, in order, and the catch-up gets every stored one.
Nothing here is timed; the figures only have to be sane."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_benchmark_harness import engine_of, run_benchmark


def test_live_events_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "live_events", "--engine", engine_of(db_url), "--subscribers", "3", "--entries", "5",
        "--rate", "50", "--stored", "50", "--batch", "20", "--no-db-transactions",
        "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every subscriber got every event once, in order" in done.stdout
    (result,) = json.loads(figures.read_text())
    cases = result["cases"]
    assert [case["processes"] for case in cases] == (
        [1, 2] if engine_of(db_url) == "postgres" else [1]
    )
    for case in cases:
        fan_out, catch_up = case["fan_out"], case["catch_up"]
        assert fan_out["messages"] == 3 * 5
        # Delivered by a wake-up, not the 60 s poll; after the send, never before it.
        assert 0 < fan_out["after_send_p50_ms"] <= fan_out["after_send_max_ms"] < 10_000
        assert fan_out["server_cpu_s"] >= 0
        assert catch_up["events"] == 50 and catch_up["events_per_s"] > 0
