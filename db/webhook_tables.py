"""Tables of webhooks: endpoints, deliveries, attempts (docs/webhooks.md).

An endpoint's ``cursor`` is the last event id the worker has looked at for it: the
worker turns the events after it into delivery rows and moves it in one transaction.
UNIQUE(endpoint_id, event_id) makes that enqueue exactly-once per endpoint even if two
passes race; the wire is at-least-once (receivers deduplicate by event id).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.tables import _id_column, utcnow

PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"  # gave up after the last attempt
STATUSES = (PENDING, SUCCEEDED, FAILED)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    url: str = Field(max_length=2000)
    # The raw HMAC key (the signature needs it, a hash would not do). Stored as is:
    # encryption at rest is out of scope; it is shown once, at creation.
    secret: str = Field(max_length=100)
    # JSON list of the event types delivered; "[]" means every type.
    event_types_json: str = Field(default="[]", max_length=4000)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Last event id turned into deliveries for this endpoint (0: none yet).
    cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # The worker's query: PENDING deliveries by next_attempt_at. Partial, so delivered
        # rows (nearly all of them) add no entry.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
        # Listings: a tenant's deliveries (optionally of one endpoint) by id.
        Index("ix_webhook_deliveries_tenant", "tenant_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    # A copy of the endpoint's tenant: listings and replays check it without a join.
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", sa_type=BigInteger)
    event_id: int = Field(foreign_key="events.id", sa_type=BigInteger)
    status: str = Field(default=PENDING, max_length=10)
    # Attempts of the current cycle (a replay starts a new one from 0).
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
    delivered_at: dt.datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, sa_column=_id_column())
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", sa_type=BigInteger, index=True)
    started_at: dt.datetime = Field(default_factory=utcnow)
    status_code: int | None = None  # None: no HTTP answer (timeout, connection error)
    latency_ms: int = 0
    error: str | None = Field(default=None, max_length=500)
