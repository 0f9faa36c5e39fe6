"""Webhook endpoints and deliveries in GraphQL. Resolvers only translate; the rules are in
``app.webhooks.subscribers`` and the delivery in ``app.webhooks.worker`` (docs/webhooks.md)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from app.ledger.validation import parse_id
from app.webhooks import subscribers as core
from db import webhook_tables as tables
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.types import Connection


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="A URL the tenant's events are POSTed to, signed with its secret.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(
        description="The event types delivered; empty: every type."
    )
    active: bool = strawberry.field(description="False: nothing is sent until enabled again.")
    created_at: dt.datetime
    last_event_id: strawberry.ID = strawberry.field(
        description="The last event turned into a delivery for this endpoint (0: none yet)."
    )

    @classmethod
    def of(cls, row: tables.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(row.id)),
            url=row.url,
            event_types=core.event_types_of(row),
            active=row.active,
            created_at=row.created_at,
            last_event_id=strawberry.ID(str(row.cursor)),
        )


@strawberry.type(description="One POST of a delivery, and what came of it.")
class WebhookAttempt:
    started_at: dt.datetime
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when none came (timeout, connection error)."
    )
    latency_ms: int
    error: str | None = strawberry.field(description="Null when the receiver answered 2xx.")

    @classmethod
    def of(cls, row: tables.WebhookAttempt) -> WebhookAttempt:
        return cls(
            started_at=row.started_at,
            status_code=row.status_code,
            latency_ms=row.latency_ms,
            error=row.error,
        )


@strawberry.type(description="An event to deliver to an endpoint: one per (endpoint, event).")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="Receivers deduplicate by it.")
    event_type: str
    status: WebhookDeliveryStatus
    attempt_count: int = strawberry.field(
        description="Attempts of the current cycle (a replay starts a new one)."
    )
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When a PENDING delivery is tried next."
    )
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    attempts: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def of(cls, view: core.DeliveryView) -> WebhookDelivery:
        row = view.delivery
        return cls(
            id=strawberry.ID(str(row.id)),
            endpoint_id=strawberry.ID(str(row.endpoint_id)),
            event_id=strawberry.ID(str(row.event_id)),
            event_type=view.event_type,
            status=WebhookDeliveryStatus(row.status),
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            attempts=[WebhookAttempt.of(a) for a in view.attempts],
        )


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="An http:// or https:// URL.")
    event_types: list[str] = strawberry.field(
        default_factory=list, description="Event types to deliver; empty or absent: every type."
    )
    after_event_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Deliver the events after this one; absent: only events from now on; "
        '"0": the whole history.',
    )


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    active: bool | None = None


@strawberry.type
class CreateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    secret: str | None = strawberry.field(
        description="The signing secret, shown this once: store it now."
    )
    errors: list[UserError]


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    errors: list[UserError]


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None
    errors: list[UserError]


def _after_event(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    if value == "0":
        return 0
    return parse_id(value, field="afterEventId", what="event id")


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The tenant's webhook endpoints (their secrets are not shown).")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        rows = await core.list_endpoints(info.context.db, info.context.tenant_id)
        return [WebhookEndpoint.of(row) for row in rows]

    @strawberry.field(description="The tenant's webhook deliveries, newest first, with attempts.")
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID | None = None,
        status: WebhookDeliveryStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        page = await core.list_deliveries(
            info.context.db,
            info.context.tenant_id,
            endpoint_id=endpoint_id,
            status=status.value if status else None,
            first=first,
            after=after,
        )
        return Connection.of([WebhookDelivery.of(v) for v in page.items], page)  # type: ignore[arg-type]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Registers a URL to receive the tenant's events; returns its signing "
        "secret, shown this once."
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        ctx = info.context
        created, errors = await attempt(
            lambda: core.create_endpoint(
                ctx.db,
                ctx.writable_tenant(),
                input.url,
                input.event_types,
                _after_event(input.after_event_id),
            )
        )
        if created is None:
            return CreateWebhookEndpointPayload(endpoint=None, secret=None, errors=errors)
        row, secret = created
        return CreateWebhookEndpointPayload(
            endpoint=WebhookEndpoint.of(row), secret=secret, errors=[]
        )

    @strawberry.mutation(description="Changes an endpoint's URL, event types or active flag.")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: core.update_endpoint(
                ctx.db,
                ctx.writable_tenant(),
                input.id,
                url=input.url,
                event_types=input.event_types,
                active=input.active,
            )
        )
        return WebhookEndpointPayload(
            endpoint=WebhookEndpoint.of(row) if row else None, errors=errors
        )

    @strawberry.mutation(
        description="Stops sending to an endpoint; its deliveries wait until it is enabled again."
    )
    async def disable_webhook_endpoint(
        self, info: Info, id: strawberry.ID
    ) -> WebhookEndpointPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: core.update_endpoint(ctx.db, ctx.writable_tenant(), id, active=False)
        )
        return WebhookEndpointPayload(
            endpoint=WebhookEndpoint.of(row) if row else None, errors=errors
        )

    @strawberry.mutation(
        description="Sends a delivery again, due now, as a new cycle of attempts (the "
        "receiver sees the same event id again)."
    )
    async def replay_webhook_delivery(
        self, info: Info, id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: core.replay_delivery(ctx.db, ctx.writable_tenant(), id)
        )
        return WebhookDeliveryPayload(
            delivery=WebhookDelivery.of(view) if view else None, errors=errors
        )
