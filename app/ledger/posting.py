"""Posting journal entries: the public face of the ledger's one write path.

An entry is written with its lines, the maintained balances, the per-day
balance movements, its event and its idempotency record in one database
transaction, or not at all. Every function here ends in ``batch.write_batch``
(or ``batch.reverse``): single posts and bulk posts are group-committed, and
dialects that post inside a transaction of their own call ``post_in``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import batch
from app.ledger.entries import (
    IDEMPOTENCY_SCOPE,
    MAX_LINES,
    MAX_MEMO,
    BulkItem,
    EntryInput,
    EntryView,
    LineInput,
    LineView,
    PostResult,
    Request,
)
from app.ledger.errors import NotFound, TryAgain
from app.ledger.group_commit import committer
from db.engine import Database, WriteContention

__all__ = [
    "IDEMPOTENCY_SCOPE",
    "MAX_LINES",
    "MAX_MEMO",
    "BulkItem",
    "EntryInput",
    "EntryView",
    "LineInput",
    "LineView",
    "PostResult",
    "load_entries",
    "load_entry",
    "post_entries",
    "post_entry",
    "post_in",
    "reverse_entry",
]


def _single(items: Sequence[BulkItem]) -> PostResult:
    (item,) = items
    if item.error is not None:
        raise item.error
    assert item.result is not None
    return item.result


async def post_entry(db: Database, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts one balanced entry; concurrent calls share a transaction (group commit)."""
    return _single(await committer(db).submit(Request(tenant_id, [data], atomic=True)))


async def post_entries(
    db: Database, tenant_id: int, inputs: Sequence[EntryInput], *, atomic: bool
) -> list[BulkItem]:
    """Posts several entries: all or none when ``atomic``, else each on its own.

    Errors name their input: ``inputs.3.lines.1.debit``.
    """
    items = await committer(db).submit(Request(tenant_id, list(inputs), atomic=atomic))
    return [
        BulkItem(error=item.error.at(f"inputs.{index}")) if item.error is not None else item
        for index, item in enumerate(items)
    ]


async def post_in(session: AsyncSession, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts ``data`` inside the caller's write transaction (same checks, same statements)."""
    request = Request(tenant_id, [data], atomic=True)
    (items,) = await session.run_sync(lambda sync: batch.write_batch(sync.connection(), [request]))
    return _single(items)


async def reverse_entry(
    db: Database,
    tenant_id: int,
    entry_id: int,
    *,
    date: dt.date | None = None,
    memo: str | None = None,
) -> PostResult:
    """Posts the mirror of ``entry_id`` and marks it REVERSED; reversing twice is a Conflict.

    The reversal is dated ``date``, by default the later of the original's date and
    today, and may use accounts deactivated since: correcting the books must stay possible.
    """
    today = dt.date.today()
    try:
        view = await db.run_write(
            lambda conn: batch.reverse(conn, tenant_id, entry_id, on=date, memo=memo, today=today)
        )
    except WriteContention:
        raise TryAgain.contended() from None
    return PostResult(view)


async def load_entries(
    session: AsyncSession, tenant_id: int, entry_ids: Sequence[int]
) -> list[EntryView]:
    """Entries with their lines, in the order of ``entry_ids``; unknown ids are left out."""
    ids = list(entry_ids)
    return await session.run_sync(lambda sync: batch.load_views(sync.connection(), tenant_id, ids))


async def load_entry(session: AsyncSession, tenant_id: int, entry_id: int) -> EntryView:
    found = await load_entries(session, tenant_id, [entry_id])
    if not found:
        raise NotFound(f"journal entry {entry_id} does not exist", field="id")
    return found[0]
