"""The /books pages benchmark runs end to end on a tiny ledger and checks itself (every
answer has data and no errors), and finds the viewer's documents in its JS files. Nothing
here is timed."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.books_pages import (
    balance_sheet_query,
    chart_dates,
    column_dates,
    literals,
    viewer_documents,
)
from tests.test_benchmark_harness import engine_of, run_benchmark

PAGES = ("accounts", "trialBalance", "balanceSheet", "balanceSheet12", "incomeStatement",
         "accountFirst", "accountMiddle", "journal", "journalMonth", "entry")  # fmt: skip


def test_the_documents_come_from_the_viewer() -> None:
    documents, constants = viewer_documents()
    for name in ("BooksAccountTree", "BooksAccounts", "BooksTrialBalance", "BooksIncomeStatement",
                 "BooksAccount", "BooksRegister", "BooksJournal", "BooksEntry"):  # fmt: skip
        assert documents[name].lstrip().startswith(f"query {name}")
        assert "${" not in documents[name]
    # Constants are substituted, also through another constant (STATEMENT_SECTION -> ACCOUNT).
    assert "account { code name active }" in documents["BooksIncomeStatement"]
    assert "valuation { currency method rule }" in constants["FIELDS"]
    assert "c11: balanceSheet(asOf: $d11" in balance_sheet_query(12, constants["FIELDS"])


def test_the_small_parser_skips_nested_templates_and_comments() -> None:
    source = 'const A = `x ${b ? `y ${c}` : "}"} z`; // `not a string`\nconst B = "q\\"r";'
    assert [text for _, text in literals(source)] == ['x ${b ? `y ${c}` : "}"} z', 'q\\"r']


def test_the_dates_follow_the_viewer() -> None:
    assert len(chart_dates("2025-01-01")) == 24
    assert chart_dates("2026-11-15") == ["2026-11-30", "2026-12-31"]
    assert column_dates("2026-03-31", True, 3) == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert column_dates("2026-06-30", False, 1) == ["2026-06-30"]


def test_books_pages_benchmark_runs_and_checks_itself(db_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = run_benchmark(
        "books_pages", "--engine", engine_of(db_url), "--entries", "400", "--rounds", "2",
        "--json", str(figures),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for page in PAGES:
        assert f"target {page} at" in done.stdout
    (result,) = json.loads(figures.read_text())
    assert result["hot_lines"] == 400 and result["lines"] > 400
    assert set(result["per_round_ms"]) == set(PAGES)
    assert all(len(values) == 2 for values in result["per_round_ms"].values())
