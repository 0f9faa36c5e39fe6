"""Set-based writes: one statement per table for a whole batch of rows.

The posting path runs these on a synchronous ``Connection`` (see
``Database.run_write``). Rows are tuples in the order of the columns named;
values are plain Python (ints, strings, dates, aware datetimes). On SQLite they
go through the driver's ``executemany``; on PostgreSQL through ``COPY`` and
``unnest`` arrays, so a batch of 10,000 lines is still one round trip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Encoded:
    """Rows with the statements that insert them on SQLite, made ahead (``encode``) by the
    thread that plans, so that the writer thread only sends them."""

    rows: Sequence[Row]
    statements: list[tuple[str, tuple[Any, ...]]]


def encode(
    table: str, columns: Sequence[str], rows: Sequence[Row], *, as_document: bool = False
) -> Encoded:
    """``rows`` of ``table`` and, for SQLite, multi-row ``INSERT .. VALUES`` statements of
    as many rows as SQLite's 32,766 bound values allow, with their values in one tuple;
    ``as_document``: one ``json_each`` statement instead, where JSON keeps the values
    (``_json_rows``).

    Sent from a thread that builds nothing, VALUES hold the GIL while their values are
    bound, and SQLite's own work is less than json_each's: JSON inside JSON (an event's
    payload) cost it most (the rows of 250,000 entries replayed alone: 8.4 s as VALUES,
    15.8 s as documents). Narrow rows of numbers and short texts (lines, entries, keys)
    as documents leave the GIL to the parsing thread instead: the import took 11.9-12.1 s
    so, 12.7-13.2 as VALUES (docs/benchmarks.md, issue 23)."""
    if as_document and rows and (document := _json_rows(rows)) is not None:
        return Encoded(rows, [(_json_sql(table, tuple(columns)), (document,))])
    per = _SQLITE_VALUES // len(columns)
    statements = [
        (_values_sql(table, tuple(columns), len(part)), tuple(chain.from_iterable(part)))
        for part in (rows[start : start + per] for start in range(0, len(rows), per))
    ]
    return Encoded(rows, statements)


def encode_numbered(
    table: str,
    first_id: int,
    fixed: Mapping[str, object],
    varying: Sequence[str],
    rows: Sequence[Row],
) -> Encoded:
    """``encode`` of rows whose ids run on from ``first_id`` and whose ``fixed`` columns
    are the same in all: ``rows`` hold only the ``varying`` columns, and one ``json_each``
    statement gives the id (``first_id`` + the row's index, json_each's key) and the
    fixed values once. Where JSON would change a value (``_json_rows``), VALUES of the
    whole rows instead.

    Why: SQLite reads a document's values one ``json_extract`` each; the entries of
    250,000 entries took 1.20 s of its work so with their 14 columns a row, 0.58 s with
    the 7 that differ (a harness, one thread)."""
    names = ("id", *fixed, *varying)
    document = _json_rows(rows) if rows else None
    if document is None:
        same = tuple(fixed.values())
        whole = [(first_id + index, *same, *row) for index, row in enumerate(rows)]
        return encode(table, names, whole)
    return Encoded(
        rows,
        [
            (
                _numbered_sql(table, tuple(fixed), tuple(varying)),
                (first_id, *fixed.values(), document),
            )
        ],
    )


@lru_cache(maxsize=64)
def _numbered_sql(table: str, fixed: tuple[str, ...], varying: tuple[str, ...]) -> str:
    given = ", ".join(["? + key", *("?" * len(fixed)), _picks(len(varying))])
    columns = ", ".join(("id", *fixed, *varying))
    return f"INSERT INTO {table} ({columns}) SELECT {given} FROM json_each(?)"


@lru_cache(maxsize=64)
def _values_sql(table: str, columns: tuple[str, ...], count: int) -> str:
    one = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * count)}"


@lru_cache(maxsize=64)
def _json_sql(table: str, columns: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {_picks(len(columns))} "
        "FROM json_each(?)"
    )


Rows = Sequence[Row] | Encoded

# SQLite stores dates and datetimes as text in SQLAlchemy's formats, which the
# read engines parse back; PostgreSQL takes the Python values as they are.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_KEYS_PER_QUERY = 10_000
# From this many rows on, SQLite takes them as one JSON document (insert_rows).
_SQLITE_JSON_ROWS = 64
_SQLITE_VALUES = 32_766  # SQLite's bound values per statement (SQLITE_MAX_VARIABLE_NUMBER)
_AS_BOUND = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def db_date(conn: Connection, value: dt.date) -> object:
    """``value`` as this engine's driver stores it when SQLAlchemy's types are bypassed."""
    return value if is_postgres(conn) else value.isoformat()


def db_datetime(conn: Connection, value: dt.datetime) -> object:
    if is_postgres(conn):
        return value
    return value.astimezone(dt.UTC).strftime(_SQLITE_DATETIME)


def stored_datetime(value: object) -> dt.datetime:
    """The inverse of ``db_datetime``, for what either engine gives back: SQLite's UTC text
    or a naive UTC datetime (stored in UTC, read without a zone), or an aware one."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)  # _SQLITE_DATETIME, or without microseconds
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a stored time: {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def let_others_run() -> None:
    """Lets the event loop run other work, when this sync code runs on it (asyncpg's bridge).

    A long stretch of Python inside ``run_sync`` holds the event loop: the batch
    committing meanwhile could not send its next statement, and the database
    would sit idle. In the SQLite writer thread there is no loop to yield to.
    """
    if in_greenlet():
        await_only(asyncio.sleep(0))


def allocate_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` new primary keys of ``table``, drawn before the rows are inserted.

    Known ids let entries, lines and events reference each other without a
    RETURNING per row, and let PostgreSQL take the rows by COPY. On SQLite the
    caller holds the database's write lock (BEGIN IMMEDIATE), so max(id) is stable.
    """
    if count == 0:
        return []
    if is_postgres(conn):
        ids = conn.exec_driver_sql(
            f"SELECT array_agg(nextval('{table}_id_seq')) FROM generate_series(1, {int(count)})"
        ).scalar_one()
        return list(ids)
    last = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
    return list(range(int(last) + 1, int(last) + 1 + count))


def insert_rows(conn: Connection, table: str, columns: Sequence[str], given: Rows) -> None:
    """Inserts ``given``: one COPY on PostgreSQL, one executemany on SQLite."""
    rows = given.rows if isinstance(given, Encoded) else given
    if not rows:
        return
    if is_postgres(conn):
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            await_only(driver.copy_records_to_table(table, records=rows, columns=list(columns)))
        except Exception as error:
            if getattr(error, "sqlstate", None) is None:
                raise
            # Raised by asyncpg itself, not through SQLAlchemy: wrap it like the others.
            raise DBAPIError(f"COPY {table}", None, error) from error
        return
    if isinstance(given, Encoded):
        for statement, values in given.statements:
            conn.exec_driver_sql(statement, values)
        return
    if len(rows) >= _SQLITE_JSON_ROWS and (document := _json_rows(rows)) is not None:
        # One statement for all the rows: SQLite runs it without the GIL, so the rows are
        # written while the event loop's thread goes on (executemany takes the GIL back
        # for every row, and waits for it while that thread is busy: 50,000 entries and
        # their lines beside a busy thread took over 60 s so, 1.7 s as json_each
        # statements; docs/benchmarks.md, issue 23's second round).
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {_picks(len(columns))} "
            "FROM json_each(?)",
            (document,),
        )
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _picks(count: int) -> str:
    """The ``count`` values of a ``json_each`` row (an array), as a SELECT's columns."""
    return ", ".join(f"json_extract(value, '$[{index}]')" for index in range(count))


def _json_rows(rows: Sequence[Row]) -> str | None:
    """``rows`` as one JSON array of arrays, for ``json_each``; None when a value would not
    read back as the driver binds it: a type orjson writes otherwise than the driver (dates
    and times, subclasses) or not at all (bytes, Decimal, an integer past 64 bits), or a
    NUL character, at which SQLite's JSON functions end a string."""
    try:
        text = orjson.dumps(rows, option=_AS_BOUND)
    except TypeError:
        return None
    return None if b"\\u0000" in text else text.decode()


def add_to_totals(
    conn: Connection,
    table: str,
    key_columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Row],
    values: tuple[str, str] = ("debit_minor", "credit_minor"),
    zeroed: Sequence[str] = (),
) -> None:
    """Adds ``(*keys, tenant_id, debit_minor, credit_minor)`` rows to ``table``'s running totals
    (``values``: the two columns added to, for the pending totals of holds; ``zeroed``:
    bigint columns a new row starts at 0, left as they are on an existing one).

    ``INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x`` is atomic on both
    engines. Rows must be unique per key and sorted: every writer touches these
    rows in the same order, so two transactions cannot deadlock on them.
    ``types`` are the PostgreSQL types of ``key_columns``.
    """
    if not rows:
        return
    debit, credit = values
    columns = (*key_columns, "tenant_id", debit, credit, *zeroed)
    if zeroed:
        rows = [(*row, *(0 for _ in zeroed)) for row in rows]
    update = (
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET "
        f"{debit} = {table}.{debit} + excluded.{debit}, "
        f"{credit} = {table}.{credit} + excluded.{credit}"
    )
    if is_postgres(conn):
        arrays = ", ".join(
            f"${i}::{kind}[]"
            for i, kind in enumerate(
                (*types, "bigint", "bigint", "bigint", *("bigint" for _ in zeroed)), start=1
            )
        )
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {update}",
            tuple(list(column) for column in zip(*rows, strict=True)),
        )
        return
    if len(rows) >= _SQLITE_JSON_ROWS and (document := _json_rows(rows)) is not None:
        # One statement, as in insert_rows: a day's roll-ups are a thousand rows a chunk,
        # and executemany waited for the GIL at each of them behind the parsing thread.
        # ("WHERE true": SQLite's upsert after a SELECT needs it to parse.)
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {_picks(len(columns))} "
            f"FROM json_each(?) WHERE true {update}",
            (document,),
        )
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {update}", rows
    )


def find_keys(conn: Connection, tenant_id: int, pairs: Sequence[tuple[str, str]]) -> list[Row]:
    """``(scope, key, request_hash, entry_id)`` of the tenant's idempotency records among ``pairs``.

    Every key is sought through the (tenant_id, scope, key) index, also in a table
    without statistics (a bulk load with autovacuum behind): on PostgreSQL a join
    with ``unnest`` gives the planner one index probe per key, where ``key IN (...)``
    was planned as a filter over all the tenant's keys, quadratic over an import.
    """
    if not pairs:
        return []
    scopes = [scope for scope, _ in pairs]
    keys = [key for _, key in pairs]
    if is_postgres(conn):
        found = conn.exec_driver_sql(
            "SELECT r.scope, r.key, r.request_hash, r.entry_id FROM idempotency_records r "
            "JOIN unnest($2::varchar[], $3::varchar[]) AS k(scope, key) "
            "ON r.tenant_id = $1 AND r.scope = k.scope AND r.key = k.key",
            (tenant_id, scopes, keys),
        )
        return [tuple(row) for row in found]
    # SQLite seeks (tenant_id, scope IN, key IN) through the index; pairs across
    # scopes may add a few rows the caller did not ask for. Slices stay under
    # SQLite's 32,766 bound variables whatever the batch.
    rows: list[Row] = []
    distinct_scopes = sorted(set(scopes))
    scope_marks = ", ".join("?" * len(distinct_scopes))
    for start in range(0, len(keys), _SQLITE_KEYS_PER_QUERY):
        part = keys[start : start + _SQLITE_KEYS_PER_QUERY]
        found = conn.exec_driver_sql(
            "SELECT scope, key, request_hash, entry_id FROM idempotency_records WHERE "
            f"tenant_id = ? AND scope IN ({scope_marks}) AND key IN ({', '.join('?' * len(part))})",
            (tenant_id, *distinct_scopes, *part),
        )
        rows.extend(tuple(row) for row in found)
    return rows
