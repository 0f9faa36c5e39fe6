"""Reading a tenant's events past a known one: what every subscriber does after a wake-up."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from app.ledger.errors import BadInput
from app.ledger.text import check_lookup
from db.engine import Database
from db.tables import Event

PAGE = 200
"""Events per read: a subscriber resuming far back catches up in pages of this many."""
MAX_TYPES = 50


def check_types(types: Sequence[str] | None) -> tuple[str, ...] | None:
    """The event types asked for (None: all), each a plain lookup text."""
    if types is None:
        return None
    if len(types) > MAX_TYPES:
        raise BadInput(f"at most {MAX_TYPES} types", field="types")
    return tuple(
        dict.fromkeys(check_lookup(value, field=f"types.{i}") for i, value in enumerate(types))
    )


async def events_after(
    db: Database,
    tenant_id: int,
    after_id: int,
    types: tuple[str, ...] | None,
    limit: int = PAGE,
) -> list[Event]:
    """The tenant's events with ids above ``after_id``, oldest first, at most ``limit``."""
    query = select(Event).where(col(Event.tenant_id) == tenant_id, col(Event.id) > after_id)
    if types is not None:
        if not types:
            return []
        query = query.where(col(Event.type).in_(types))
    async with db.read() as session:
        return list((await session.scalars(query.order_by(col(Event.id)).limit(limit))).all())
