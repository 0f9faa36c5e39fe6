"""A tenant's webhook subscribers and their deliveries: registering, listing, replaying.

A subscriber is a ``WebhookEndpoint`` row (db/webhook_tables.py): where to send which
events, signed with its secret. Every function is scoped to one tenant: an id of another
tenant's record is NotFound. The delivery itself is in ``app.webhooks.worker``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.errors import BadInput, NotFound
from app.ledger.paging import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.validation import parse_id
from db.engine import Database
from db.tables import Event, utcnow
from db.webhook_tables import (
    PENDING,
    STATUSES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

MAX_URL_LENGTH = 2000
MAX_EVENT_TYPES = 50
# An event type as the ledger writes them: "journal_entry.posted", "accounting_event.posted".
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.]{0,59}")
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    event_type: str
    attempts: list[WebhookAttempt]  # oldest first


def check_url(url: str, field: str = "url") -> str:
    """An absolute http(s) URL with a host; anything else cannot be POSTed to."""
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH:
        raise BadInput(f"url must be 1 to {MAX_URL_LENGTH} characters", field=field)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise BadInput("url is not a valid URL", field=field) from None
    if parts.scheme not in ("http", "https"):
        raise BadInput("url must start with http:// or https://", field=field)
    if not parts.hostname or any(ch.isspace() for ch in text):
        raise BadInput("url must name a host and contain no spaces", field=field)
    return text


def check_event_types(types: Sequence[str], field: str = "eventTypes") -> list[str]:
    """Distinct event types in the order given; an empty list means every type."""
    if len(types) > MAX_EVENT_TYPES:
        raise BadInput(f"at most {MAX_EVENT_TYPES} event types", field=field)
    seen: list[str] = []
    for index, name in enumerate(types):
        if not _EVENT_TYPE.fullmatch(name):
            raise BadInput(
                f"{name!r} is not an event type (e.g. journal_entry.posted)",
                field=f"{field}.{index}",
            )
        if name not in seen:
            seen.append(name)
    return seen


def event_types_of(endpoint: WebhookEndpoint) -> list[str]:
    types: list[str] = json.loads(endpoint.event_types_json)
    return types


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


async def create_endpoint(
    db: Database,
    tenant_id: int,
    url: str,
    event_types: Sequence[str] = (),
    after_event_id: int | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its secret (returned here only: show it once).

    It receives the events after ``after_event_id``; by default after the tenant's
    latest event, i.e. only events from now on (0: the whole history).
    """
    checked_url = check_url(url)
    types = check_event_types(event_types)
    if after_event_id is not None and after_event_id < 0:
        raise BadInput("afterEventId must be 0 or an event id", field="afterEventId")
    secret = new_secret()
    async with db.write() as session:
        if after_event_id is None:
            latest = await session.scalar(
                select(func.max(col(Event.id))).where(col(Event.tenant_id) == tenant_id)
            )
            after_event_id = int(latest or 0)
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            url=checked_url,
            secret=secret,
            event_types_json=json.dumps(types),
            cursor=after_event_id,
        )
        session.add(endpoint)
        await session.flush()
    return endpoint, secret


async def list_endpoints(db: Database, tenant_id: int) -> list[WebhookEndpoint]:
    async with db.read() as session:
        rows = await session.scalars(
            select(WebhookEndpoint)
            .where(col(WebhookEndpoint.tenant_id) == tenant_id)
            .order_by(col(WebhookEndpoint.id))
        )
        return list(rows.all())


async def update_endpoint(
    db: Database,
    tenant_id: int,
    endpoint_id: object,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Changes what is given. A disabled endpoint gets no delivery sent; its cursor still
    stops where it was, so enabling it again sends what was posted meanwhile."""
    ident = parse_id(endpoint_id, field="id", what="endpoint id")
    checked_url = check_url(url) if url is not None else None
    types = check_event_types(event_types) if event_types is not None else None
    async with db.write() as session:
        endpoint = await session.scalar(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.id) == ident, col(WebhookEndpoint.tenant_id) == tenant_id
            )
        )
        if endpoint is None:
            raise NotFound(f"webhook endpoint {ident} does not exist", field="id")
        if checked_url is not None:
            endpoint.url = checked_url
        if types is not None:
            endpoint.event_types_json = json.dumps(types)
        if active is not None:
            endpoint.active = active
        session.add(endpoint)
    return endpoint


async def list_deliveries(
    db: Database,
    tenant_id: int,
    *,
    endpoint_id: object | None = None,
    status: str | None = None,
    first: int = 50,
    after: str | None = None,
) -> Page[DeliveryView]:
    """Deliveries newest first, keyset-paginated on their id, each with its attempts."""
    check_page_size(first)
    query = select(WebhookDelivery, col(Event.type)).join(
        Event, col(Event.id) == col(WebhookDelivery.event_id)
    )
    query = query.where(col(WebhookDelivery.tenant_id) == tenant_id)
    if endpoint_id is not None:
        ident = parse_id(endpoint_id, field="endpointId", what="endpoint id")
        query = query.where(col(WebhookDelivery.endpoint_id) == ident)
    if status is not None:
        if status not in STATUSES:
            raise BadInput(f"status must be one of {', '.join(STATUSES)}", field="status")
        query = query.where(col(WebhookDelivery.status) == status)
    if after:
        (before_id,) = decode_cursor(after, (int,))
        query = query.where(col(WebhookDelivery.id) < before_id)
    async with db.read() as session:
        rows = (
            await session.execute(query.order_by(col(WebhookDelivery.id).desc()).limit(first + 1))
        ).all()
        attempts = await _attempts_of(session, [_id(row[0]) for row in rows[:first]])
    items = [
        DeliveryView(delivery, event_type, attempts.get(_id(delivery), []))
        for delivery, event_type in rows[:first]
    ]
    return Page(items, len(rows) > first, [encode_cursor(v.delivery.id) for v in items])


def _id(delivery: WebhookDelivery) -> int:
    assert delivery.id is not None  # a stored row
    return delivery.id


async def _attempts_of(
    session: AsyncSession, delivery_ids: list[int]
) -> dict[int, list[WebhookAttempt]]:
    """The attempts of a page of deliveries in one query (no query per delivery)."""
    found: dict[int, list[WebhookAttempt]] = {}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
        .order_by(col(WebhookAttempt.id))
    )
    for attempt in rows.all():
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


async def get_delivery(db: Database, tenant_id: int, delivery_id: object) -> DeliveryView:
    ident = parse_id(delivery_id, field="id", what="delivery id")
    async with db.read() as session:
        row = (
            await session.execute(
                select(WebhookDelivery, col(Event.type))
                .join(Event, col(Event.id) == col(WebhookDelivery.event_id))
                .where(
                    col(WebhookDelivery.id) == ident,
                    col(WebhookDelivery.tenant_id) == tenant_id,
                )
            )
        ).first()
        if row is None:
            raise NotFound(f"webhook delivery {ident} does not exist", field="id")
        attempts = await _attempts_of(session, [ident])
    return DeliveryView(row[0], row[1], attempts.get(ident, []))


async def replay_delivery(
    db: Database, tenant_id: int, delivery_id: object, now: dt.datetime | None = None
) -> DeliveryView:
    """Queues the delivery again, due now, as a new cycle of attempts (the count restarts;
    the earlier attempts stay recorded). The receiver gets the same event id again."""
    ident = parse_id(delivery_id, field="id", what="delivery id")
    async with db.write() as session:
        delivery = await session.scalar(
            select(WebhookDelivery).where(
                col(WebhookDelivery.id) == ident, col(WebhookDelivery.tenant_id) == tenant_id
            )
        )
        if delivery is None:
            raise NotFound(f"webhook delivery {ident} does not exist", field="id")
        delivery.status = PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now or utcnow()
        delivery.delivered_at = None
        session.add(delivery)
    return await get_delivery(db, tenant_id, ident)
