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

Hold transitions (``postHold``, ``voidHold``: app/ledger/holds.py) ride along: the
writer applies all those waiting, set-based (``holds.apply``), in the batch's
transaction after its postings, under the same tenant locks (taken in id order, all of
them first, when a batch has transitions), so holds posted by 64 clients at once cost
one transaction and a constant number of statements instead of 64 of each. A refused
transition writes nothing.

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

from sqlalchemy import Connection

from app.ledger import holds
from app.ledger.batch import Plan, commit_batch, plan_batch, write_batch
from app.ledger.batch_store import read_tenant
from app.ledger.entries import BulkItem, PostResult, Request
from app.ledger.errors import LedgerError, TryAgain
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


@dataclass
class _Transition:
    """A hold's post or void, written in the batch's transaction."""

    ask: holds.Ask
    future: asyncio.Future[PostResult]
    size = (1, 2)


_Queued = _Waiting | _Transition


class GroupCommit:
    """The queue and the writer of one database in one event loop."""

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: the registry below is keyed by the database, and a value holding
        # its key would keep every Database (and its engines) alive forever.
        self._db = weakref.ref(db)
        self.loop = loop
        self._waiting: deque[_Queued] = deque()
        self._writer: asyncio.Task[None] | None = None
        # Set while the writer waits for a batch to commit or a caller to arrive.
        self._arrival: asyncio.Future[None] | None = None
        # Figures for tests and metrics: how many batches, the largest, how many transitions.
        self.batches = 0
        self.largest_batch = 0
        self.transitions = 0

    async def submit(self, request: Request) -> list[BulkItem]:
        """Queues ``request`` and returns its outcomes once its batch is committed."""
        future: asyncio.Future[list[BulkItem]] = self.loop.create_future()
        self._queue(_Waiting(request, future))
        # A caller that goes away does not cancel the write: its batch is shared.
        return await asyncio.shield(future)

    async def transition(self, ask: holds.Ask) -> PostResult:
        """Applies the hold transition ``ask`` in the next batch's transaction; its result
        once committed, or the LedgerError that refused it."""
        future: asyncio.Future[PostResult] = self.loop.create_future()
        self._queue(_Transition(ask, future))
        return await asyncio.shield(future)

    def _queue(self, waiting: _Queued) -> None:
        self._waiting.append(waiting)
        GROUP_COMMIT_QUEUE.inc()
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if self._writer is None:
            self._writer = self.loop.create_task(self._write_all())

    @property
    def db(self) -> Database:
        db = self._db()
        assert db is not None, "a database's committer outlived it"  # its callers hold it
        return db

    def _take(self) -> list[_Queued]:
        taken: list[_Queued] = []
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

    async def _plan(self, batch: Sequence[_Queued]) -> Plan | None:
        """The batch planned on a read connection; None: plan it in the write."""
        requests = [waiting.request for waiting in batch if isinstance(waiting, _Waiting)]
        if not requests:
            return None
        try:
            return await self.db.run_read(lambda conn: plan_batch(conn, requests))
        except Exception:  # planned again, inside the write, where a failure is answered
            logger.warning("planning a batch failed; planning it in its write", exc_info=True)
            return None

    async def _write(self, batch: Sequence[_Queued], plan: Plan | None = None) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, sum(w.size[0] for w in batch))
        postings = [waiting for waiting in batch if isinstance(waiting, _Waiting)]
        transitions = [waiting for waiting in batch if isinstance(waiting, _Transition)]
        requests = [waiting.request for waiting in postings]
        self.transitions += len(transitions)

        def postings_of(conn: Connection) -> list[list[BulkItem]]:
            return write_batch(conn, requests) if plan is None else commit_batch(conn, plan)

        def write(conn: Connection) -> tuple[list[list[BulkItem]], list[holds.Answer]]:
            if not transitions:
                return postings_of(conn), []
            # Every tenant of the batch locked first, in id order, as each writer locks:
            # the transitions' tenants too, so no two batches can deadlock.
            asks = [transition.ask for transition in transitions]
            tenants = {ask.tenant_id for ask in asks} | {r.tenant_id for r in requests}
            for tenant_id in sorted(tenants):
                read_tenant(conn, tenant_id, lock=True)
            outcomes = postings_of(conn)
            return outcomes, holds.apply(conn, asks)

        try:
            outcomes, answers = await self.db.run_write(write)
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
        for posting, items in zip(postings, outcomes, strict=True):
            if not posting.future.done():
                posting.future.set_result(items)
        for transition, answer in zip(transitions, answers, strict=True):
            if transition.future.done():
                continue
            if isinstance(answer, LedgerError):
                transition.future.set_exception(answer)
            else:
                transition.future.set_result(answer)


def _fail(waiting: _Queued, error: Exception) -> None:
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
