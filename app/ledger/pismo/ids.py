"""Pismo ids a client leaves out: the tenant's counter of the kind plus one, never a clash.

One row per tenant and kind in ``pismo_id_counters`` holds the highest id used. Both
functions upsert that row in the caller's write transaction, so its lock orders
concurrent creates of one kind in one tenant until they commit: an automatic id is
never handed out twice, and never one a client chose. A create that rolls back rolls
its counter back with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import dialect_insert
from db.pismo_tables import PismoIdCounter

MAX_ID = 2**63 - 1


def _upsert(session: AsyncSession, tenant_id: int, kind: str, first: int) -> Any:
    return dialect_insert(session, PismoIdCounter).values(
        tenant_id=tenant_id, kind=kind, last_id=first
    )


async def next_id(session: AsyncSession, tenant_id: int, kind: str) -> int | None:
    """The next free id of ``kind`` in the tenant, now taken; None when 2^63-1 is used."""
    table = PismoIdCounter.__table__.c  # type: ignore[attr-defined]
    statement = (
        _upsert(session, tenant_id, kind, 1)
        .on_conflict_do_update(
            index_elements=[table.tenant_id, table.kind],
            set_={"last_id": table.last_id + 1},
            # Never past BIGINT: PostgreSQL would fail the whole statement.
            where=table.last_id < MAX_ID,
        )
        .returning(table.last_id)
    )
    number = await session.scalar(statement)
    return None if number is None else int(number)


async def claim(session: AsyncSession, tenant_id: int, kind: str, wanted: int) -> None:
    """Moves the counter past ``wanted``, an id the client chose, so no automatic id takes it.

    Also locks the counter row, so whether ``wanted`` is taken is read after any
    concurrent create of the kind has committed.
    """
    table = PismoIdCounter.__table__.c  # type: ignore[attr-defined]
    statement = _upsert(session, tenant_id, kind, wanted)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.tenant_id, table.kind],
            set_={"last_id": statement.excluded.last_id},
            where=table.last_id < statement.excluded.last_id,
        )
    )
