"""Waking subscribers when events are written: in this process, and from others on PostgreSQL.

A subscriber (graphql_schema/subscriptions.py) reads the events table past the last
event it sent, then waits here for a wake-up of its tenant before reading again.
Wake-ups come from:

- this process's commits (``db.engine.on_commit_of_events``, fed by ``announce``),
  including those of the second loop's Database, which run on another thread;
- on PostgreSQL, one LISTEN connection per process on ``outbox.CHANNEL``: every
  process's commits (``pg_notify`` in the writing transaction);
- a timer of ``POLL_SECONDS``, whatever happens: a notification lost while the LISTEN
  connection was down, or a SQLite writer in another process, is seen that late at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.ledger.outbox import CHANNEL, PROCESS
from db.engine import Database, on_commit_of_events

logger = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("LEDGERQL_EVENTS_POLL_SECONDS", "2"))
"""Longest wait between two reads of a subscriber's events, wake-up or not."""
KEY_CHECK_SECONDS = float(os.environ.get("LEDGERQL_EVENTS_KEY_CHECK_SECONDS", "30"))
"""How often a running subscription checks its key again: a revoked key's subscriptions
end within this (plus the auth cache's seconds), not when the client reconnects."""
RECONNECT_SECONDS = 1.0
"""Wait before opening the LISTEN connection again after it failed or closed."""


def _closer(closed: asyncio.Event) -> Any:
    def on_termination(_conn: Any) -> None:
        closed.set()

    return on_termination


class LiveEvents:
    """Started with the server, stopped with it: the wake-ups of this process's subscribers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._loop = asyncio.get_running_loop()
        self._waiters: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._undo_hook = on_commit_of_events(self._committed)
        self._listener: asyncio.Task[None] | None = None
        if not db.sqlite:
            self._listener = asyncio.create_task(self._listen(), name="ledgerql-events-listen")

    @contextlib.contextmanager
    def waiter(self, tenant_id: int) -> Iterator[asyncio.Event]:
        """An event set at each wake-up of ``tenant_id`` while the block runs."""
        wake = asyncio.Event()
        self._waiters[tenant_id].add(wake)
        try:
            yield wake
        finally:
            waiters = self._waiters.get(tenant_id)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[tenant_id]

    def wake(self, tenant_id: int) -> None:
        """On this loop only."""
        for wake in self._waiters.get(tenant_id, ()):
            wake.set()

    def wake_all(self) -> None:
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()

    def _committed(self, tenants: frozenset[int]) -> None:
        # Called on the writer's loop or thread (see db.engine.on_commit_of_events).
        def wake() -> None:
            for tenant_id in tenants:
                self.wake(tenant_id)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
            self._loop.call_soon_threadsafe(wake)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        tenant, _, sender = payload.partition(":")
        if sender == PROCESS:
            return  # a commit of this process: the after-commit hook has woken them
        try:
            tenant_id = int(tenant)
        except ValueError:
            return
        self.wake(tenant_id)

    async def _listen(self) -> None:
        """Keeps one LISTEN connection open; wakes everyone after each (re)connection,
        since notifications sent while it was down are lost."""
        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(False)
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(dsn)
                closed = asyncio.Event()
                conn.add_termination_listener(_closer(closed))
                await conn.add_listener(CHANNEL, self._notified)
                self.wake_all()
                await closed.wait()
                logger.warning("the LISTEN connection of live events closed; reopening it")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # reconnect whatever it was; the poll covers the gap
                logger.warning("live events cannot LISTEN (%s); retrying", error)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(RECONNECT_SECONDS)

    async def stop(self) -> None:
        self._undo_hook()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self.wake_all()


async def start(db: Database) -> LiveEvents:
    return LiveEvents(db)
