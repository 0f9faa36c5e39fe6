"""Group commit: concurrent postings to one database share one write transaction.

Callers queue their request and wait. One writer per database and event loop
takes everything waiting (up to a cap), writes it with ``write_batch`` in one
transaction, and answers each caller with its own outcomes. Nobody waits for a
timer: a lone caller is written at once, and callers that arrive while a batch
is being written form the next one, so batches grow exactly when the database
is the bottleneck.

A refused entry never fails its neighbours: entries are checked one by one
before anything is written. If the batch transaction itself fails (an error the
checks could not foresee), its requests are written again one by one, so only
the request at fault sees the error.

On PostgreSQL the writer is a pipeline of two: the next batch is planned (read
and checked without locks, ``plan_batch``) while the current one commits
(``commit_batch``), so the ledger's Python work overlaps the database's. On
SQLite a batch is planned and committed in one go in the writer thread: the
two would only take turns on the GIL.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from app.ledger.batch import Plan, commit_batch, plan_batch, write_batch
from app.ledger.entries import BulkItem, Request
from app.ledger.errors import TryAgain
from app.runtime.metrics import GROUP_COMMIT_QUEUE
from db.engine import Database, WriteContention

logger = logging.getLogger("ledgerql.group_commit")

# A group commit stops growing past these: a bigger transaction holds the write lock
# longer and answers its first callers later without writing any faster. (What one
# GraphQL request may post is another limit: graphql_schema/context.py.)
MAX_GROUP_ENTRIES = 2000
MAX_GROUP_LINES = 20_000


@dataclass
class _Waiting:
    request: Request
    future: asyncio.Future[list[BulkItem]]

    @property
    def size(self) -> tuple[int, int]:
        return len(self.request.inputs), sum(len(data.lines) for data in self.request.inputs)


class GroupCommit:
    """The queue and the writer of one database in one event loop."""

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: the registry below is keyed by the database, and a value holding
        # its key would keep every Database (and its engines) alive forever.
        self._db = weakref.ref(db)
        self.loop = loop
        self._waiting: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        # Set while the writer waits for a batch to commit or a caller to arrive.
        self._arrival: asyncio.Future[None] | None = None
        # Figures for tests and metrics: how many batches, and the largest.
        self.batches = 0
        self.largest_batch = 0

    async def submit(self, request: Request) -> list[BulkItem]:
        """Queues ``request`` and returns its outcomes once its batch is committed."""
        future: asyncio.Future[list[BulkItem]] = self.loop.create_future()
        self._waiting.append(_Waiting(request, future))
        GROUP_COMMIT_QUEUE.inc()
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if self._writer is None:
            self._writer = self.loop.create_task(self._write_all())
        # A caller that goes away does not cancel the write: its batch is shared.
        return await asyncio.shield(future)

    @property
    def db(self) -> Database:
        db = self._db()
        assert db is not None, "a database's committer outlived it"  # its callers hold it
        return db

    def _take(self) -> list[_Waiting]:
        taken: list[_Waiting] = []
        entries = lines = 0
        while self._waiting:
            more_entries, more_lines = self._waiting[0].size
            if taken and (
                entries + more_entries > MAX_GROUP_ENTRIES or lines + more_lines > MAX_GROUP_LINES
            ):
                break
            taken.append(self._waiting.popleft())
            GROUP_COMMIT_QUEUE.dec()
            entries += more_entries
            lines += more_lines
        return taken

    async def _write_all(self) -> None:
        committing: asyncio.Task[None] | None = None
        try:
            while True:
                if self._waiting and self.db.sqlite:
                    # One writer thread, one GIL: nothing to overlap, so no pipeline hops.
                    await self._write(self._take())
                elif self._waiting:
                    batch = self._take()
                    plan = None
                    if committing is not None and not committing.done():
                        # Planned meanwhile, on a connection of its own. Otherwise a batch
                        # is planned in its write: one transaction, no added latency.
                        plan = await self._plan(batch)
                    if committing is not None:
                        await committing
                    committing = self.loop.create_task(self._write(batch, plan))
                elif committing is None:
                    return
                elif committing.done():
                    await committing
                    committing = None
                else:
                    # Nothing waits while a batch commits: plan the next one as soon as
                    # it arrives, not after the commit.
                    self._arrival = self.loop.create_future()
                    await asyncio.wait(
                        (committing, self._arrival), return_when=asyncio.FIRST_COMPLETED
                    )
                    self._arrival = None
        finally:
            if committing is not None and not committing.done():
                await asyncio.wait([committing])
            self._writer = None

    async def _plan(self, batch: Sequence[_Waiting]) -> Plan | None:
        """The batch planned on a read connection; None: plan it in the write."""
        requests = [waiting.request for waiting in batch]
        try:
            return await self.db.run_read(lambda conn: plan_batch(conn, requests))
        except Exception:  # planned again, inside the write, where a failure is answered
            logger.warning("planning a batch failed; planning it in its write", exc_info=True)
            return None

    async def _write(self, batch: Sequence[_Waiting], plan: Plan | None = None) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, sum(w.size[0] for w in batch))
        requests = [waiting.request for waiting in batch]
        try:
            if plan is None:
                outcomes = await self.db.run_write(lambda conn: write_batch(conn, requests))
            else:
                outcomes = await self.db.run_write(lambda conn: commit_batch(conn, plan))
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0], error)
                return
            logger.warning(
                "a batch of %d requests failed (%r); writing them one by one", len(batch), error
            )
            for waiting in batch:
                await self._write([waiting])
            return
        for waiting, items in zip(batch, outcomes, strict=True):
            if not waiting.future.done():
                waiting.future.set_result(items)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if waiting.future.done():
        return
    if isinstance(error, WriteContention):
        error = TryAgain.contended()
    waiting.future.set_exception(error)


_committers: weakref.WeakKeyDictionary[Database, GroupCommit] = weakref.WeakKeyDictionary()


def committer(db: Database) -> GroupCommit:
    """The group committer of ``db`` in the running event loop."""
    loop = asyncio.get_running_loop()
    found = _committers.get(db)
    if found is None or found.loop is not loop:
        found = _committers[db] = GroupCommit(db, loop)
    return found
