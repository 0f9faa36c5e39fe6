"""Posting journal entries: the public face of the ledger's one write path.

An entry is written with its lines, the maintained balances, the per-day
balance movements, its event and its idempotency record in one database
transaction, or not at all. Every posting here ends in ``batch.write_batch``
(or ``batch.reverse``, ``batch.post_due_in``): single posts and bulk posts are
group-committed, and dialects that post inside a transaction of their own call
``post_in``. Entries are read back by id with ``load_entries`` (entry_reads.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import batch, batch_store, fx, holds
from app.ledger.dry_run import Previewed
from app.ledger.entries import (
    IDEMPOTENCY_SCOPE,
    MAX_LINES,
    MAX_MEMO,
    VOIDED,
    BulkItem,
    EntryInput,
    EntryView,
    LineInput,
    LineView,
    PostResult,
    Request,
)
from app.ledger.entry_reads import load_views
from app.ledger.errors import NotFound, TryAgain
from app.ledger.group_commit import committer
from app.ledger.hold_rules import HoldRow, check_expiry
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
    "expire_holds",
    "hold_entries",
    "hold_entry",
    "load_entries",
    "load_entry",
    "load_hold",
    "post_due",
    "post_entries",
    "post_entry",
    "post_hold",
    "post_in",
    "preview_entries",
    "reverse_entry",
    "void_hold",
]


def _single(items: Sequence[BulkItem]) -> PostResult:
    (item,) = items
    if item.error is not None:
        raise item.error
    assert item.result is not None
    return item.result


async def _rates_ready(inputs: Sequence[EntryInput]) -> None:
    """Loads the ECB history (once per process, about a second) off the event loop.

    The write path resolves rates inside its transaction, which on PostgreSQL runs on
    the event loop's thread: the first lookup must not be the one that loads the data.
    """
    if any(data.reporting_currency for data in inputs):
        await fx.preload_ecb()


async def post_entry(db: Database, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts one balanced entry; concurrent calls share a transaction (group commit)."""
    await _rates_ready([data])
    return _single(await committer(db).submit(Request(tenant_id, [data], atomic=True)))


async def post_entries(
    db: Database, tenant_id: int, inputs: Sequence[EntryInput], *, atomic: bool
) -> list[BulkItem]:
    """Posts several entries: all or none when ``atomic``, else each on its own.

    Errors name their input: ``inputs.3.lines.1.debit``.
    """
    await _rates_ready(inputs)
    items = await committer(db).submit(Request(tenant_id, list(inputs), atomic=atomic))
    return [
        BulkItem(error=item.error.at(f"inputs.{index}")) if item.error is not None else item
        for index, item in enumerate(items)
    ]


async def preview_entries(
    db: Database,
    tenant_id: int,
    inputs: Sequence[EntryInput],
    *,
    atomic: bool = True,
    bulk: bool = False,
    hold: bool = False,
    expires_at: dt.datetime | None = None,
) -> list[Previewed]:
    """A dry run (dry_run.py) of posting ``inputs`` (holding them with ``hold``): every
    check, limits and conditions included, under the tenant's lock, and nothing written.
    With ``bulk``, errors name their input like ``post_entries``'."""
    if hold:
        check_expiry(expires_at, dt.datetime.now(dt.UTC))
        inputs = [as_hold(data, expires_at) for data in inputs]
    await _rates_ready(inputs)
    request = Request(tenant_id, list(inputs), atomic=atomic)
    try:
        (items,) = await db.run_write(lambda conn: batch.preview_batch(conn, [request]))
    except WriteContention:
        raise TryAgain.contended() from None
    if not bulk:
        return items
    return [
        Previewed(error=item.error.at(f"inputs.{index}")) if item.error is not None else item
        for index, item in enumerate(items)
    ]


async def post_in(session: AsyncSession, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts ``data`` inside the caller's write transaction (same checks, same statements)."""
    await _rates_ready([data])
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


def as_hold(data: EntryInput, expires_at: dt.datetime | None) -> EntryInput:
    """``data`` as a hold: written PENDING, with a hold.created event."""
    return replace(data, hold=True, event_type="hold.created", expires_at=expires_at)


async def hold_entry(
    db: Database, tenant_id: int, data: EntryInput, expires_at: dt.datetime | None = None
) -> PostResult:
    """Makes a hold (docs/holds.md): the entry is checked like a posting (limits against
    posted + pending) and written PENDING, moving only the pending totals; released
    (EXPIRED) by the expiry job once ``expires_at`` has passed."""
    check_expiry(expires_at, dt.datetime.now(dt.UTC))
    return await post_entry(db, tenant_id, as_hold(data, expires_at))


async def hold_entries(
    db: Database,
    tenant_id: int,
    inputs: Sequence[EntryInput],
    *,
    atomic: bool,
    expires_at: dt.datetime | None = None,
) -> list[BulkItem]:
    """Makes several holds: all or none when ``atomic``, else each on its own."""
    check_expiry(expires_at, dt.datetime.now(dt.UTC))
    held = [as_hold(data, expires_at) for data in inputs]
    return await post_entries(db, tenant_id, held, atomic=atomic)


# Holds expired per transaction: the tenant's lock is held that long.
EXPIRE_CHUNK = 500


async def expire_holds(db: Database, now: dt.datetime | None = None) -> int:
    """Releases every PENDING hold whose expiresAt is at or before ``now`` (default: the
    server's clock), status EXPIRED with a hold.expired event; returns how many.

    Safe in several processes at once: each tenant's holds are released under its
    lock with a guard on PENDING, so each expires once."""
    at = now or dt.datetime.now(dt.UTC)
    tenants = await db.run_read(lambda conn: holds.expired_tenants(conn, at))
    expired = 0
    for tenant_id in tenants:
        while True:
            work = functools.partial(
                holds.expire_in, tenant_id=tenant_id, now=at, limit=EXPIRE_CHUNK
            )
            try:
                count, more = await db.run_write(work)
            except WriteContention:
                raise TryAgain.contended() from None
            expired += count
            if not more:
                break
    return expired


async def post_hold(
    db: Database,
    tenant_id: int,
    entry_id: int,
    *,
    amount: object = None,
    lines: Sequence[object] | None = None,
    date: dt.date | None = None,
    idempotency_key: str | None = None,
) -> PostResult:
    """Posts a PENDING hold in full or in part (holds.post_hold); the rest is released."""
    today = batch.server_today()
    now = dt.datetime.now(dt.UTC)
    # Group-committed: concurrent posts and voids of holds share a transaction.
    ask = holds.PostAsk(
        tenant_id,
        entry_id,
        today=today,
        now=now,
        amount=amount,
        lines=lines,
        on=date,
        idempotency_key=idempotency_key,
    )
    return await committer(db).transition(ask)


async def void_hold(db: Database, tenant_id: int, entry_id: int, reason: str | None) -> PostResult:
    """Releases a PENDING hold: status VOIDED (group-committed, like postHold)."""
    return await committer(db).transition(holds.ReleaseAsk(tenant_id, entry_id, VOIDED, reason))


async def load_hold(db: Database, tenant_id: int, entry_id: int) -> HoldRow:
    """A hold's state and held amounts; NotFound naming ``entryId``."""
    found = await db.run_read(lambda conn: holds.read_hold(conn, tenant_id, entry_id))
    if found is None:
        raise NotFound(f"hold {entry_id} does not exist", field="entryId")
    return found


# Scheduled entries posted per transaction: the tenant's lock is held that long.
POST_DUE_CHUNK = 2000


async def post_due(db: Database, today: dt.date | None = None) -> int:
    """Posts every SCHEDULED entry whose accrual date is on or before ``today`` (default:
    the server's date); returns how many posted.

    Safe to run in several processes at once: each tenant's entries are posted
    under its lock, so each entry posts once and has one ``journal_entry.posted``
    event.
    """
    on = today or batch.server_today()
    tenants = await db.run_read(lambda conn: batch_store.due_tenants(conn, on))
    posted = 0
    for tenant_id in tenants:
        after: int | None = 0
        while after is not None:
            work = functools.partial(
                batch.post_due_in, tenant_id=tenant_id, today=on, after=after, limit=POST_DUE_CHUNK
            )
            try:
                count, after = await db.run_write(work)
            except WriteContention:
                raise TryAgain.contended() from None
            posted += count
    return posted


async def load_entries(
    session: AsyncSession, tenant_id: int, entry_ids: Sequence[int]
) -> list[EntryView]:
    """Entries with their lines, in the order of ``entry_ids``; unknown ids are left out."""
    ids = list(entry_ids)
    return await session.run_sync(lambda sync: load_views(sync.connection(), tenant_id, ids))


async def load_entry(session: AsyncSession, tenant_id: int, entry_id: int) -> EntryView:
    found = await load_entries(session, tenant_id, [entry_id])
    if not found:
        raise NotFound(f"journal entry {entry_id} does not exist", field="id")
    return found[0]
