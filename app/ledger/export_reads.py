"""Reading a tenant's books for an export: one snapshot, its entries streamed as rows.

An export reads every entry of the books once and keeps nothing, so it reads with the
driver itself (aiosqlite, asyncpg) in plain SQL: SQLAlchemy's rows and types cost more
than the writing of a line. One read transaction holds the whole export (a snapshot:
REPEATABLE READ on PostgreSQL, a deferred transaction on SQLite's WAL), so the file is
one state of the books.

The entries come from one statement in (date, id) order, fetched ``size`` at a time
(a server-side cursor on PostgreSQL), each batch with one statement for its lines
with their account ids. Memory follows a page (5,000 entries: a few MiB), not the books.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from app.ledger.ledgerfile.metadata_text import client_metadata
from app.ledger.ledgerfile.model import FileAccount
from app.ledger.ledgerfile.rows import HELD, EntryRow, LineRow, RowPage
from db.bulk import stored_datetime
from db.engine import Database

# The source of an entry posted by ``ledgerql import`` (app.ledger.importing's
# IMPORT_SOURCE, which tests/test_export_rows.py checks; not imported from there, so
# that an export does not load the import's machinery).
IMPORT_SOURCE = "import"

Row = Sequence[Any]


def external_id_of(source: str, idempotency_key: str | None, number: str) -> str:
    """The id written for an entry: its import key when it came from a file, else its number.

    Importing the export again, here or into another tenant, then finds the same
    ids, so a second export is the same text and a rerun posts nothing twice.
    (``pages`` computes the same in SQL.)
    """
    if source == IMPORT_SOURCE and idempotency_key:
        return idempotency_key
    return number


class Snapshot(ABC):
    """One read transaction on a driver connection; statements are written with ``?``
    for their parameters."""

    postgres: bool

    @abstractmethod
    async def all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Every row of ``sql``."""

    @abstractmethod
    def batches(
        self, sql: str, params: Sequence[Any], size: int
    ) -> AsyncGenerator[list[Row], None]:
        """The rows of ``sql``, ``size`` at a time, read as they are needed."""

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: the condition and its parameters."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)


class _SqliteSnapshot(Snapshot):
    postgres = False

    def __init__(self, conn: Any) -> None:
        self._conn = conn  # an aiosqlite.Connection in a transaction

    async def all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def batches(
        self, sql: str, params: Sequence[Any], size: int
    ) -> AsyncGenerator[list[Row], None]:
        async with self._conn.execute(sql, tuple(params)) as cursor:
            while batch := await cursor.fetchmany(size):
                yield list(batch)


class _PostgresSnapshot(Snapshot):
    postgres = True

    def __init__(self, conn: Any) -> None:
        self._conn = conn  # an asyncpg.Connection in a transaction

    @staticmethod
    def _numbered(sql: str) -> str:
        """``?`` marks as asyncpg's ``$1``, ``$2``... (no statement here quotes a ``?``)."""
        pieces = sql.split("?")
        return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], 1)) + pieces[-1]

    async def all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await self._conn.fetch(self._numbered(sql), *params))

    async def batches(
        self, sql: str, params: Sequence[Any], size: int
    ) -> AsyncGenerator[list[Row], None]:
        cursor = await self._conn.cursor(self._numbered(sql), *params)
        while batch := await cursor.fetch(size):
            yield batch

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?::bigint[])", [list(values)]


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[Snapshot]:
    """A read transaction on one of ``db``'s connections, rolled back at the end."""
    async with db.read_engine.connect() as conn:
        if db.sqlite:
            await conn.begin()  # the engine's BEGIN: reads see one state of the file
        else:
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            # Each page reads a few thousand lines: a parallel plan's workers cost more
            # to start than they save (about a third of the read time, measured). The
            # statement also opens the transaction, which the driver's reads then share.
            await conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        if db.sqlite:
            assert driver.in_transaction
            yield _SqliteSnapshot(driver)
        else:
            assert driver.is_in_transaction()
            yield _PostgresSnapshot(driver)


def _statuses(statuses: Sequence[str]) -> str:
    return ", ".join("?" * len(statuses))


async def account_codes(snap: Snapshot, tenant_id: int) -> dict[int, str]:
    """The code of each of the tenant's accounts, by id (a chart is small next to its lines)."""
    rows = await snap.all("SELECT id, code FROM accounts WHERE tenant_id = ?", [tenant_id])
    return {account_id: code for account_id, code in rows}


async def used_accounts(
    snap: Snapshot, tenant_id: int, statuses: Sequence[str]
) -> list[FileAccount]:
    """The tenant's accounts that exported entries post to, in code order.

    Per account of the chart, the (account, date, id) line index is read up to
    its first exported line, so the cost follows the chart, not the entry count.
    """
    rows = await snap.all(
        "SELECT a.code, a.type, a.metadata_json FROM accounts a WHERE a.tenant_id = ? "
        "AND EXISTS (SELECT 1 FROM journal_lines l JOIN journal_entries e "
        "ON e.id = l.entry_id WHERE l.account_id = a.id "
        f"AND e.status IN ({_statuses(statuses)}))",
        [tenant_id, *statuses],
    )
    accounts = [
        FileAccount(
            code, kind, client_metadata(json.loads(text, parse_float=Decimal)) if text else None
        )
        for code, kind, text in rows
    ]
    # Sorted here: the databases' collations need not agree on the order of codes.
    return sorted(accounts, key=lambda a: a.code)


async def metadata_keys(
    snap: Snapshot, tenant_id: int, statuses: Sequence[str], size: int
) -> list[str]:
    """The client metadata keys of the tenant's exported entries, sorted; memory follows
    the keys, not the entries (only entries with metadata are read)."""
    keys: set[str] = set()
    async for batch in snap.batches(
        "SELECT metadata_json FROM journal_entries WHERE tenant_id = ? "
        f"AND status IN ({_statuses(statuses)}) AND metadata_json IS NOT NULL",
        [tenant_id, *statuses],
        size,
    ):
        for (text,) in batch:
            keys.update(client_metadata(json.loads(text, parse_float=Decimal)) or ())
    return sorted(keys)


async def pages(
    snap: Snapshot,
    tenant_id: int,
    statuses: Sequence[str],
    codes: Mapping[int, str],
    size: int,
) -> AsyncGenerator[RowPage, None]:
    """The tenant's entries with ``statuses`` in (date, id) order, ``size`` a page.

    Close it (contextlib.aclosing) when leaving early: on PostgreSQL the next page's
    lines are being read while a page is written, and the connection is not free
    until they are in."""
    date = "to_char(date, 'YYYY-MM-DD')" if snap.postgres else "date"
    entries = (
        f"SELECT id, {date}, memo, currency, status, "
        "CASE WHEN source = ? AND idempotency_key <> '' THEN idempotency_key "
        "ELSE number END, metadata_json "
        f"FROM journal_entries WHERE tenant_id = ? AND status IN ({_statuses(statuses)}) "
        "ORDER BY date, id"
    )
    following: asyncio.Future[dict[int, list[LineRow]]] | None = None
    try:
        async with aclosing(
            snap.batches(entries, [IMPORT_SOURCE, tenant_id, *statuses], size)
        ) as batches:
            batch = await anext(batches, None)
            while batch is not None:
                lines = await following if following is not None else await _lines(snap, batch)
                following = None
                held = [row[0] for row in batch if row[4] == HELD]
                expiries = await _expiries(snap, held) if held else {}
                after = await anext(batches, None)
                if after is not None and snap.postgres:
                    # The server finds the next page's lines while this one is written
                    # (a third of the read time on PostgreSQL); the task sends its
                    # statement before the page is handed over (sleep(0): one turn of
                    # the loop). Not on SQLite, where the reading thread would wait
                    # for the GIL the writing holds.
                    following = asyncio.ensure_future(_lines(snap, after))
                    await asyncio.sleep(0)
                yield RowPage(cast(list[EntryRow], batch), lines, codes, expiries)
                batch = after
    finally:
        if following is not None:  # left early: let the read end before the rollback
            await asyncio.gather(following, return_exceptions=True)


async def _lines(snap: Snapshot, entries: Sequence[Row]) -> dict[int, list[LineRow]]:
    """The lines of ``entries`` in line order, by entry id."""
    where, params = snap.any_of("entry_id", [row[0] for row in entries])
    rows: list[Any] = await snap.all(
        "SELECT entry_id, account_id, currency, debit_minor, credit_minor, description "
        f"FROM journal_lines WHERE {where} ORDER BY entry_id, line_no",
        params,
    )
    # The rows come by entry: grouped in C, a Python step per entry, not per line.
    return {entry_id: list(lines) for entry_id, lines in groupby(rows, itemgetter(0))}


async def _expiries(snap: Snapshot, held: Sequence[int]) -> dict[int, dt.datetime | None]:
    """When each of the ``held`` entries' holds expires (None: never)."""
    where, params = snap.any_of("entry_id", held)
    rows = await snap.all(f"SELECT entry_id, expires_at FROM holds WHERE {where}", params)
    return {
        int(entry_id): stored_datetime(expires) if expires is not None else None
        for entry_id, expires in rows
    }
