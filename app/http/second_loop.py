"""Requests big enough to hold the event loop run on a second one, in its own thread.

Decoding, coercing and checking 20,000 lines of variables, planning their batch
and rendering the answer take a few hundred milliseconds of pure-Python CPU
(benchmarks/event_loop_stall.py). On the server's event loop, /health and every
other request would wait that long. A request with a body over OFFLOAD_BYTES
runs instead on a second event loop in a thread of its own: the interpreter
hands the GIL over every few milliseconds (``sys.getswitchinterval()``), so the
main loop keeps answering while the big request computes.

The second loop has its own Database on the same URL, because asyncpg and
aiosqlite connections belong to the loop that opened them. Its writes go
through its own group committer; the database orders them with the main loop's
exactly as it orders two server processes' (row locks on PostgreSQL, the file
lock on SQLite), so every rule of the write path holds unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from db.engine import Database

T = TypeVar("T")

# Bodies up to this size (a batch of some 500 lines) cost a few milliseconds:
# not worth a thread hop. The largest allowed body is 8 MiB.
OFFLOAD_BYTES = 64 * 1024
# The second loop serves only big requests, a few at a time.
POOL_SIZE = 2


class SecondLoop:
    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ledgerql-second-loop", daemon=True
        )
        self._thread.start()
        # Connects lazily, on the second loop, when the first request uses it.
        self.db = Database(url, pool_size=POOL_SIZE)

    async def run(self, work: Callable[[Database], Awaitable[T]]) -> T:
        """``work(db)`` on the second loop, in the caller's context (its request id)."""
        context = contextvars.copy_context()
        loop = self._loop

        async def in_context() -> T:
            async def call() -> T:
                return await work(self.db)

            # Cancelling this (the client left) cancels the work too.
            return await loop.create_task(call(), context=context)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(in_context(), loop))

    async def close(self) -> None:
        await self.run(lambda db: db.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()


_second_loops: weakref.WeakKeyDictionary[Database, SecondLoop] = weakref.WeakKeyDictionary()


def second_loop(db: Database) -> SecondLoop:
    """The second loop of ``db``, started on first use and closed when ``db`` is disposed."""
    found = _second_loops.get(db)
    if found is None:
        found = _second_loops[db] = SecondLoop(db.url)
        db.on_dispose(found.close)
    return found
