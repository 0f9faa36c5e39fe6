"""Async engines and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

Writes and reads use separate engines. On SQLite the write engine opens every
transaction with ``BEGIN IMMEDIATE`` (a deferred ``BEGIN`` that later upgrades
its lock fails with "database is locked" without honouring the busy timeout) and
keeps its pool small: one writer at a time is what SQLite allows anyway, and
queueing in the pool is cheaper than spinning on the file lock.

``run_write`` runs a synchronous function in one write transaction. It is how
postings are written: on SQLite in a dedicated writer thread on a plain
``sqlite3`` connection (one thread hop per transaction; the aiosqlite adapter
makes about four per statement), on PostgreSQL through SQLAlchemy's greenlet
bridge on asyncpg. A deadlock or serialization failure is retried a bounded
number of times, then raised as ``WriteContention``.

Every engine is made with ``hide_parameters=True``: a database error's text
(logged with its traceback) then never carries the statement's parameters,
which hold memos, idempotency keys and key hashes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Deadlocks and serialization failures that survive the lock order are retried this often.
WRITE_ATTEMPTS = 4
# SQLSTATEs worth a retry: serialization_failure, deadlock_detected.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

T = TypeVar("T")

ANNOUNCED_TENANTS = "ledgerql.announced_tenants"
"""Key of ``Connection.info``: the tenants whose events a transaction wrote (app/events)."""
_after_commit: list[Callable[[frozenset[int]], None]] = []


def on_commit_of_events(callback: Callable[[frozenset[int]], None]) -> Callable[[], None]:
    """Calls ``callback(tenants)`` after each commit that announced events; returns the undo.

    Process-wide, not per Database: the second loop's Database (app/http/second_loop.py) writes
    events that the main loop's subscribers wait for. The callback runs on the loop (or
    thread) of the writer, after the commit: it must be cheap and thread-safe.
    """
    _after_commit.append(callback)
    return lambda: _after_commit.remove(callback)


def _take_announced(info: dict[Any, Any]) -> frozenset[int]:
    # Connection.info outlives the transaction (it belongs to the pooled connection):
    # taken on every path, committed or not, so a rolled-back announce wakes nobody later.
    return frozenset(info.pop(ANNOUNCED_TENANTS, ()))


def _committed(tenants: frozenset[int]) -> None:
    if tenants:
        for callback in list(_after_commit):
            callback(tenants)


class WriteContention(Exception):
    """A write transaction lost to concurrent ones every time it was tried."""


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (same syntax on both engines)."""
    name = session.get_bind().dialect.name
    return (pg_insert if name == "postgresql" else sqlite_insert)(table)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=120,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    _configure_sqlite(engine.sync_engine, immediate=immediate)
    return engine


def _sqlite_writer_engine(url: str) -> Engine:
    """A synchronous engine on the same file for the writer thread (pysqlite, one connection)."""
    sync_url = make_url(url).set(drivername="sqlite+pysqlite")
    engine = create_engine(
        sync_url,
        hide_parameters=True,
        pool_size=1,
        max_overflow=0,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    _configure_sqlite(engine, immediate=True)
    return engine


def _configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so our BEGIN is the one used.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged entry survives a power loss, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retryable(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    # SQLite past its busy timeout.
    return "database is locked" in str(error.orig)


async def _retrying(attempt_once: Callable[[], Awaitable[T]]) -> T:
    """``attempt_once()``, again after a deadlock or serialization failure, a bounded number
    of times; then WriteContention."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return await attempt_once()
        except DBAPIError as error:
            if not _retryable(error):
                raise
            if attempt == WRITE_ATTEMPTS:
                raise WriteContention(str(error.orig)) from error
        # Jittered backoff so the transactions that collided do not collide again.
        await asyncio.sleep(random.uniform(0.001, 0.005) * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _session_announced(session: AsyncSession) -> frozenset[int]:
    """What the session's transaction announced on the connections it took.

    Read from the transaction's connections without asking for one: ``session.connection()``
    would check one out (on SQLite, BEGIN IMMEDIATE) for a transaction that never wrote.
    """
    transaction = session.sync_session.get_transaction()
    connections = getattr(transaction, "_connections", {}) if transaction is not None else {}
    tenants: set[int] = set()
    for held in list(connections.values()):
        tenants.update(_take_announced(held[0].info))
    return frozenset(tenants)


class Database:
    """The engines of one database URL and the sessions made from them."""

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._on_dispose: list[Callable[[], Awaitable[None]]] = []
        self._writer_engine: Engine | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        if self.sqlite:
            self.write_engine = _sqlite_engine(url, immediate=True, pool_size=pool_size or 1)
            self.read_engine = _sqlite_engine(url, immediate=False, pool_size=4)
            self._writer_engine = _sqlite_writer_engine(url)
            self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="ledgerql-writer")
        else:
            self.write_engine = create_async_engine(
                url,
                hide_parameters=True,
                pool_size=pool_size or 10,
                max_overflow=10,
                pool_pre_ping=False,
            )
            self.read_engine = self.write_engine
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.sqlite else "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction: committed on success, rolled back on error."""
        async with self._write_sessions() as session:
            tenants: frozenset[int] = frozenset()
            async with session.begin():
                try:
                    yield session
                finally:
                    tenants = _session_announced(session)
            _committed(tenants)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; its transaction is rolled back at the end."""
        async with self._read_sessions() as session:
            yield session

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in one write transaction, committed when it returns.

        ``work`` may run more than once (a retried deadlock): it must have no effect
        outside the transaction.
        """
        return await _retrying(lambda: self._run_write_once(work))

    async def run_write_session(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``await work(session)`` in one write transaction, retried as ``run_write``."""

        async def once() -> T:
            async with self.write() as session:
                return await work(session)

        return await _retrying(once)

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a read transaction of its own, rolled back at the end."""
        async with self.read_engine.connect() as conn:
            return await conn.run_sync(work)

    async def _run_write_once(self, work: Callable[[Connection], T]) -> T:
        if self._writer_engine is not None and self._writer_thread is not None:
            engine = self._writer_engine

            def in_transaction() -> tuple[T, frozenset[int]]:
                with engine.begin() as conn:
                    try:
                        result = work(conn)
                    finally:
                        tenants = _take_announced(conn.info)
                return result, tenants

            loop = asyncio.get_running_loop()
            result, tenants = await loop.run_in_executor(self._writer_thread, in_transaction)
        else:
            async with self.write_engine.connect() as conn, conn.begin():
                try:
                    result = await conn.run_sync(work)
                finally:
                    tenants = _take_announced(conn.info)
        _committed(tenants)  # after the commit, so a woken reader sees the rows
        return result

    def on_dispose(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Runs ``callback`` first when this Database is disposed (what was built on it)."""
        self._on_dispose.append(callback)

    async def dispose(self) -> None:
        callbacks, self._on_dispose = self._on_dispose, []
        for callback in callbacks:
            await callback()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
        writer, self._writer_thread = self._writer_thread, None
        if self._writer_engine is not None and writer is not None:
            # The connection belongs to the writer thread: close it there (once).
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(writer, self._writer_engine.dispose)
            writer.shutdown(wait=False)
