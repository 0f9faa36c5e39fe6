"""Subscriptions: the tenant's events, stored then live, each with its resume cursor.

A subscriber keeps the id of the last event it sent and always reads the events table
past it (app/events/reading.py), in pages, then waits for a wake-up of its tenant
(app/events/live.py) or ``POLL_SECONDS``, whichever comes first, and reads again.
Every event is read from the table, never from a notification, so stored and live
events are one sequence: nothing is missed between them and nothing is sent twice.
Per tenant, events commit in id order (docs/events.md says why), so once an id is
seen no smaller one can appear later.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.websockets import WebSocket

from app.events import live as live_events
from app.events.reading import PAGE, check_types, events_after
from app.ledger.errors import LedgerError
from app.ledger.paging import decode_cursor, encode_cursor
from app.ledger.tenants import authenticate
from graphql_schema.context import Context, Info
from graphql_schema.events import LedgerEvent
from graphql_schema.types import Edge


@dataclass
class SubscriptionContext(Context):
    """The context of one WebSocket connection (all its operations share it)."""

    # Set by Strawberry from connection_init's payload before on_ws_connect runs.
    connection_params: dict[str, Any] | None = None
    # The key and tenant the connection authenticated with, checked again while it runs.
    credentials: tuple[str | None, str | None] = (None, None)
    live: live_events.LiveEvents | None = None
    websocket: WebSocket | None = None


@contextlib.contextmanager
def _waiter(live: live_events.LiveEvents | None, tenant_id: int) -> Iterator[asyncio.Event]:
    if live is None:  # an app run without its lifespan: the poll alone
        yield asyncio.Event()
        return
    with live.waiter(tenant_id) as wake:
        yield wake


async def _stream(
    info: Info, tenant_id: int, last: int, types: tuple[str, ...] | None
) -> AsyncGenerator[Edge[LedgerEvent], None]:
    db = info.context.db
    key, tenant = getattr(info.context, "credentials", (None, None))
    checked = time.monotonic()
    with _waiter(getattr(info.context, "live", None), tenant_id) as wake:
        while True:
            if key is not None and time.monotonic() - checked >= live_events.KEY_CHECK_SECONDS:
                # Raises for a revoked key (or a tenant it lost): the subscription ends with
                # that error, as a new connection with the key would be refused.
                try:
                    await authenticate(db, key, tenant)
                except LedgerError as error:  # with its code, as over HTTP
                    raise GraphQLError(
                        error.message, extensions={"code": error.code, "field": error.field}
                    ) from None
                checked = time.monotonic()
            # Cleared before the read: a commit after it sets the event again, so the
            # wait below returns at once and the next read finds that commit's events.
            wake.clear()
            rows = await events_after(db, tenant_id, last, types)
            for row in rows:
                assert row.id is not None
                last = row.id
                yield Edge(cursor=encode_cursor(row.id), node=LedgerEvent.of(row))
            if len(rows) == PAGE:
                continue  # catching up: the next page at once
            wait = live_events.POLL_SECONDS
            if key is not None:
                wait = min(wait, live_events.KEY_CHECK_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "The tenant's events oldest first: those stored after the cursor `after` "
            "(none given: from the first), then each new one as it commits. Each comes "
            "with its cursor (the `events` query's): reconnect with the last one seen to "
            "resume with nothing missed and nothing twice. `types` keeps only those types. "
            "Over graphql-transport-ws on /graphql, with the API key in connection_init's "
            'payload ({"Authorization": "Bearer <key>"}).'
        )
    )
    async def events(
        self, info: Info, after: str | None = None, types: list[str] | None = None
    ) -> AsyncGenerator[Edge[LedgerEvent], None]:
        # Checked here, before the stream starts, so a bad argument is an error message
        # of the subscription, not a failure of its first read.
        tenant_id = info.context.tenant_id
        last = 0
        if after:
            (last,) = decode_cursor(after, (int,))
        wanted = check_types(types)
        return _stream(info, tenant_id, last, wanted)
