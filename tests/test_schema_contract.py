"""The committed SDL (graphql_schema/schema.graphql) is the schema the code serves."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from graphql_schema import export


def test_committed_sdl_is_the_code_schema() -> None:
    assert export.SCHEMA_FILE.exists(), f"{export.SCHEMA_FILE} is missing: {export.REGENERATE}"
    committed = export.SCHEMA_FILE.read_text(encoding="utf-8")
    current = export.sdl()
    if committed != current:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    current.splitlines(keepends=True),
                    "schema.graphql (committed)",
                    "schema of the code",
                )
            )[:60]
        )
        pytest.fail(f"the GraphQL schema changed: {export.REGENERATE}\n{diff}")


def test_sdl_leaves_out_benchmark_mutations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERQL_BENCHMARK_MUTATIONS", "1")
    assert "benchmark" not in export.sdl().lower()


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { nothing: Int }\n", encoding="utf-8")
    assert export.stale(stale)
    assert not export.stale(export.SCHEMA_FILE)
