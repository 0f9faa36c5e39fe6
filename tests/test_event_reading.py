"""Subscribers asking the same question share one read (app/events/reading.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from app.events.reading import events_after
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry, post


async def test_caught_up_subscribers_share_one_read(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    for n in range(3):
        await post(gql, entry("1000", "4000", f"{n + 1}.00"))
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM events" in statement:
            reads.append(statement)

    engine = db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        # 50 subscribers at the same place: one query answers them all.
        together = await asyncio.gather(*(events_after(db, tenant.id, 0, None) for _ in range(50)))
        assert len(reads) == 1
        assert all([row.id for row in rows] == [row.id for row in together[0]] for rows in together)
        assert len(together[0]) == 3
        # Different places (or types) are different questions.
        first = together[0][0].id
        assert first is not None
        apart = await asyncio.gather(
            events_after(db, tenant.id, 0, None),
            events_after(db, tenant.id, first, None),
            events_after(db, tenant.id, 0, ("journal_entry.reversed",)),
        )
        assert [len(rows) for rows in apart] == [3, 2, 0]
        assert len(reads) == 4
    finally:
        event.remove(engine, "before_cursor_execute", count)
