"""The benchmarks still run end to end on a tiny load and check themselves: servers
start, every request succeeds, the database holds exactly the acknowledged entries,
an import matches hledger. Nothing here is timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import gen_ledger
from benchmarks.import_ledger import read_jsonl
from benchmarks.loadgen import entries_of
from graphql_schema.schema import build_schema, schema
from tests.conftest import POSTGRES_ADMIN_DSN

ROOT = Path(__file__).resolve().parents[1]
NOOP_FIELDS = (
    "noopJournalEntry(input: PostJournalEntryInput!): PostJournalEntryPayload!",
    "noopJournalEntries(inputs: [PostJournalEntryInput!]!",
)


def run_benchmark(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        env={**os.environ, "LEDGERQL_BENCH_POSTGRES_DSN": POSTGRES_ADMIN_DSN},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def engine_of(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


def test_post_entry_benchmark_runs_and_checks_itself(db_url: str) -> None:
    done = run_benchmark(
        "post_entry", "--engine", engine_of(db_url), "--requests", "40", "--rounds", "1",
        "--warmup", "5", "--concurrency", "16", "--max-seconds", "60",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("median    post", "median    noop", "median    bare", "ratio post/noop"):
        assert figure in done.stdout
    assert "ratio post/bare" in done.stdout


def test_post_batch_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "post_batch", "--engine", engine_of(db_url), "--batch", "20", "--requests", "3",
        "--rounds", "1", "--warmup", "1", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio batch/noop" in done.stdout
    (result,) = json.loads(figures.read_text())
    by_load = {phase["load"]: phase for phase in result["rounds"]}
    assert by_load["batch"]["entries"] == by_load["noop"]["entries"] == 60


def test_account_limits_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "account_limits", "--engine", engine_of(db_url), "--rounds", "1",
        "--single-requests", "20", "--single-warmup", "2",
        "--batch-requests", "2", "--batch", "10", "--warmup", "1", "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio limited/post" in done.stdout
    assert "ratio batch-limited/batch" in done.stdout
    (result,) = json.loads(figures.read_text())
    by_load = {phase["load"]: phase for phase in result["batch"]["rounds"]}
    assert by_load["batch"]["entries"] == by_load["batch-limited"]["entries"] == 20


def test_the_benchmark_mutations_are_only_in_a_benchmark_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = schema.as_str()
    assert not any(field in production for field in NOOP_FIELDS)
    monkeypatch.setenv("LEDGERQL_BENCHMARK_MUTATIONS", "1")
    benchmark = build_schema().as_str()
    assert all(field in benchmark for field in NOOP_FIELDS)


def test_the_load_generator_counts_only_successful_entries() -> None:
    def graphql(data: object) -> bytes:
        return json.dumps({"data": data}).encode()

    ok = {"entry": {"id": "7"}, "errors": []}
    assert entries_of("graphql", 200, graphql({"postJournalEntry": ok})) == 1
    assert entries_of("graphql", 200, graphql({"postJournalEntries": [ok, ok, ok]})) == 3
    refused = {"entry": None, "errors": [{"code": "BAD_USER_INPUT"}]}
    assert isinstance(
        entries_of("graphql", 200, graphql({"postJournalEntries": [ok, refused]})), str
    )
    assert isinstance(entries_of("graphql", 200, graphql(None)), str)
    assert isinstance(entries_of("graphql", 200, b'{"errors": [{"message": "no"}]}'), str)
    assert isinstance(entries_of("bare", 400, b'{"error": "bad"}'), str)
    assert entries_of("bare", 200, b'{"entry": {"id": "3"}}') == 1


def test_the_generated_ledger_is_deterministic_and_balanced(tmp_path: Path) -> None:
    first = gen_ledger.write(tmp_path / "a", 50, seed=7, currencies=("EUR", "JPY"))
    again = gen_ledger.write(tmp_path / "b", 50, seed=7, currencies=("EUR", "JPY"))
    other = gen_ledger.write(tmp_path / "c", 50, seed=8, currencies=("EUR", "JPY"))
    assert first.jsonl.read_bytes() == again.jsonl.read_bytes()
    assert first.journal.read_bytes() == again.journal.read_bytes()
    assert first.jsonl.read_bytes() != other.jsonl.read_bytes()
    # Blocks of five entries of 2 to 6 lines: four postings an entry, exactly.
    assert (first.entries, first.postings) == (50, 200)
    documents = [json.loads(line) for line in first.jsonl.read_text().splitlines()]
    assert [d["external_id"] for d in documents] == [f"g-{i:06d}" for i in range(1, 51)]
    assert all(2 <= len(d["lines"]) <= 6 for d in documents)
    assert all(len(account) <= 50 for account in gen_ledger.CHART)
    assert len(set(gen_ledger.CHART)) == 50
    entries, postings, totals = read_jsonl(first.jsonl)
    assert (entries, postings) == (50, 200)
    for currency in ("EUR", "JPY"):
        assert sum(net for (_, cur), net in totals.items() if cur == currency) == 0


@pytest.mark.usefixtures("hledger")
def test_the_import_benchmark_refuses_files_that_disagree(tmp_path: Path) -> None:
    made = gen_ledger.write(tmp_path / "ledger", 20)
    lines = made.journal.read_text().splitlines()
    # The first posting goes to another account: still balanced, but not the JSON Lines file.
    first = next(i for i, line in enumerate(lines) if line.startswith("    "))
    lines[first] = "    expenses:typo  " + lines[first].strip().split("  ", 1)[1]
    made.journal.write_text("\n".join(lines) + "\n")
    done = run_benchmark(
        "import_ledger", "--engine", "sqlite", "--ledger", str(tmp_path / "ledger")
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the journal and the JSON Lines file disagree" in done.stderr


@pytest.mark.usefixtures("hledger")
def test_import_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "import_ledger", "--engine", engine_of(db_url), "--entries", "300", "--json", str(figures)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equals hledger's to the cent" in done.stdout
    (result,) = json.loads(figures.read_text())
    assert (result["entries"], result["postings"]) == (300, 1200)
    assert result["peak_rss_mib"] > 0
    if engine_of(db_url) == "postgres":
        assert result["copy_rows"]["journal_entries"] == 300
        assert result["copy_rows"]["journal_lines"] == 1200
