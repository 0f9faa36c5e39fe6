"""How a Pismo write reaches the ledger: through ``app.ledger.posting``, in Pismo's terms.

Accounting entries and accounting events are journal entries posted by the core with
``source`` ``pismo``; the tracking id is their idempotency key, but a reused one is a
Conflict, never a replay. A write runs in one transaction, retried after a deadlock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import posting
from app.ledger.errors import Conflict, LedgerError, TryAgain
from app.ledger.pismo.fields import relabel
from db.engine import Database, WriteContention

SOURCE = "pismo"
TRACKING_SCOPE = "pismo_tracking"
EVENT_TRACKING_SCOPE = "pismo_event"
ENTRY_CREATED = "accounting_entry.created"
EVENT_POSTED = "accounting_event.posted"

R = TypeVar("R")


async def post_tracked(
    session: AsyncSession,
    tenant_id: int,
    data: posting.EntryInput,
    *,
    posted: str,
    fields: Mapping[str, str],
) -> posting.PostResult:
    """Posts ``data`` through the ledger core, in Pismo's terms.

    A reused tracking id is a Conflict on ``trackingId`` (``posted`` says what
    happened before); other errors get the core's fields renamed by ``fields``.
    """
    try:
        return await posting.post_in(session, tenant_id, data)
    except Conflict as error:
        if error.field != "idempotencyKey":
            raise
        raise Conflict(
            f"tracking id {data.idempotency_key} already exists: {posted}", field="trackingId"
        ) from None
    except LedgerError as error:
        raise relabel(error, fields) from None


async def write_retrying(db: Database, write: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """``write`` in one write transaction, retried after a deadlock; then TRY_AGAIN, never a 500."""
    try:
        return await db.run_write_session(write)
    except WriteContention:
        raise TryAgain.contended() from None
