"""db.bulk.insert_rows on SQLite: rows sent as one JSON document (json_each), or encoded
ahead (db.bulk.encode: as a document or as multi-row VALUES), read back as the driver's
executemany binds them, and rows JSON would change are bound instead; the import's short
thread switch interval is put back after it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from app.ledger.bulk_load.switching import QUICK_SWITCH_S, quick_switches
from db.bulk import _SQLITE_JSON_ROWS, Encoded, encode, encode_numbered, insert_rows

COLUMNS = ("id", "text", "maybe", "big", "real")


def _sent(way: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]] | Encoded:
    """The rows as given to insert_rows: as they are, or encoded ahead either way."""
    if way == "rows":
        return rows
    return encode("t", COLUMNS, rows, as_document=way == "document")


TEXTS = ["plain", "é ü 日本", 'quote " and \\ backslash', "tab\tnewline\n", "", "x" * 600]


def _rows(count: int) -> list[tuple[Any, ...]]:
    return [
        (
            index,
            TEXTS[index % len(TEXTS)],
            None if index % 3 else index * 7,
            2**63 - 1 - index if index % 5 == 0 else -index,
            1.25 if index % 2 else None,
        )
        for index in range(1, count + 1)
    ]


def _read(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT id, text, typeof(text), maybe, typeof(maybe), big, typeof(big), real "
            "FROM t ORDER BY id"
        ).fetchall()


def _written_both_ways(
    tmp_path: Path,
    schema: str,
    rows: list[tuple[Any, ...]],
    columns: tuple[str, ...],
    given: list[tuple[Any, ...]] | Encoded,
) -> tuple[Path, Path]:
    """Two databases of table ``schema``: ``given`` inserted by insert_rows into the
    first, ``rows`` by sqlite3's executemany into the second."""
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    with sqlite3.connect(theirs) as plain:
        plain.execute(schema)
        marks = ", ".join("?" * len(columns))
        plain.executemany(f"INSERT INTO t ({', '.join(columns)}) VALUES ({marks})", rows)
    engine = create_engine(f"sqlite:///{ours}")
    with engine.begin() as conn:
        conn.exec_driver_sql(schema)
        insert_rows(conn, "t", columns, given)
    engine.dispose()
    return ours, theirs


@pytest.mark.parametrize("sent", ["rows", "values", "document"])
@pytest.mark.parametrize("count", [3, _SQLITE_JSON_ROWS, 500, 7000])
def test_json_rows_read_back_as_bound(tmp_path: Path, count: int, sent: str) -> None:
    """The same rows inserted by insert_rows and by plain executemany are equal, types too."""
    rows = _rows(count)
    given = _sent(sent, rows)
    if sent == "document":
        assert isinstance(given, Encoded)
        assert [statement.count("json_each") for statement, _ in given.statements] == [1]
    schema = (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, text VARCHAR, maybe BIGINT, big BIGINT, real REAL)"
    )
    ours, theirs = _written_both_ways(tmp_path, schema, rows, COLUMNS, given)
    assert _read(ours) == _read(theirs)
    assert len(_read(ours)) == count


@pytest.mark.parametrize(
    "odd", ["nul \x00 inside", dt.date(2026, 1, 2), b"bytes"], ids=["nul", "date", "bytes"]
)
@pytest.mark.parametrize("as_document", [None, True])
def test_values_json_would_change_take_executemany(
    tmp_path: Path, odd: object, as_document: bool | None
) -> None:
    sqlite3.register_adapter(dt.date, dt.date.isoformat)  # as SQLAlchemy's types store dates
    rows: list[tuple[Any, ...]] = [(index, "a") for index in range(1, _SQLITE_JSON_ROWS + 1)]
    rows.append((len(rows) + 1, odd))
    given: list[tuple[Any, ...]] | Encoded = rows
    if as_document:  # encoded ahead as a document: bound as VALUES instead
        given = encode("t", ("id", "v"), rows, as_document=True)
        assert all("json_each" not in statement for statement, _ in given.statements)
    engine = create_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
        insert_rows(conn, "t", ("id", "v"), given)
        stored = conn.exec_driver_sql("SELECT v FROM t WHERE id = ?", (len(rows),)).scalar_one()
    engine.dispose()
    assert stored == (odd.isoformat() if isinstance(odd, dt.date) else odd)


def test_quick_switches_nest_and_put_the_interval_back() -> None:
    """The import's short switch interval (bulk_load.switching) holds while any import
    runs and is put back as it was when the last one ends."""
    before = sys.getswitchinterval()
    with quick_switches():
        assert sys.getswitchinterval() == min(before, QUICK_SWITCH_S)
        with quick_switches():
            assert sys.getswitchinterval() == min(before, QUICK_SWITCH_S)
        assert sys.getswitchinterval() == min(before, QUICK_SWITCH_S)
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("odd", [None, "nul \x00 inside"], ids=["document", "values"])
def test_numbered_rows_read_back_as_the_whole_rows_bound(tmp_path: Path, odd: str | None) -> None:
    """encode_numbered: the ids from first_id on and the fixed columns given once read back
    as the whole rows executemany binds; a value JSON would change takes VALUES instead."""
    rows = [(TEXTS[index % len(TEXTS)], index * 3, None) for index in range(700)]
    if odd is not None:
        rows[5] = (odd, 1, None)
    fixed = {"tenant": 7, "kind": "POSTED", "none": None}
    whole = [(41 + index, 7, "POSTED", None, *row) for index, row in enumerate(rows)]
    schema = (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, tenant BIGINT, kind VARCHAR, none BIGINT, "
        "text VARCHAR, n BIGINT, maybe BIGINT)"
    )
    encoded = encode_numbered("t", 41, fixed, ("text", "n", "maybe"), rows)
    assert any("json_each" in sql for sql, _ in encoded.statements) == (odd is None)
    columns = ("id", *fixed, "text", "n", "maybe")
    ours, theirs = _written_both_ways(tmp_path, schema, whole, columns, encoded)

    def read(path: Path) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as done:
            return done.execute(
                "SELECT *, typeof(tenant), typeof(none), typeof(n), typeof(maybe) FROM t ORDER BY id"
            ).fetchall()

    assert read(ours) == read(theirs)
    assert len(read(ours)) == 700
