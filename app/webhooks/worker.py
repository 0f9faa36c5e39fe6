"""Delivering webhooks: one pass of ``deliver_due`` (docs/webhooks.md).

A pass

1. enqueues: for each active endpoint with events after its cursor, turns up to
   ``batch_size`` of them (of its types) into PENDING delivery rows and moves the cursor
   past them, in one transaction per endpoint. UNIQUE(endpoint_id, event_id) with
   ON CONFLICT DO NOTHING, and the endpoint row locked (PostgreSQL; SQLite has one
   writer), make it exactly-once per endpoint even when two passes race;
2. claims up to ``batch_size`` due PENDING deliveries by pushing their next_attempt_at
   past the end of this pass (a lease: another pass skips them, and if this process
   dies they are due again when it runs out);
3. POSTs each (``concurrency`` at a time) and records the attempt: 2xx marks the
   delivery SUCCEEDED; anything else schedules the next attempt with exponential
   backoff, or marks it FAILED after ``max_attempts``.

A delivery is SUCCEEDED only once its 2xx is recorded: a crash between the answer and
the record sends it again (at-least-once on the wire; receivers dedupe by event id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import math
import random
import time
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, Table, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.events.shape import event_document
from app.ledger.outbox import json_text
from app.runtime.metrics import WEBHOOK_DELIVERIES, WEBHOOK_LAG_SECONDS
from app.runtime.webhook_settings import WebhookSettings
from app.webhooks.subscribers import event_types_of
from db.engine import Database
from db.tables import Event, utcnow
from db.webhook_tables import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

_endpoints: Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
_deliveries: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
_attempts: Table = WebhookAttempt.__table__  # type: ignore[attr-defined]
_events: Table = Event.__table__  # type: ignore[attr-defined]

USER_AGENT = "ledgerql-webhooks/1"
# Beyond the attempts themselves, the claim lease leaves this much time for the records.
LEASE_MARGIN_SECONDS = 60.0
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    attempts: int  # made before this one, in the current cycle
    event: Event


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` hex HMAC-SHA256 keyed by the secret, of ``f"{timestamp}.".encode() + body``."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int, settings: WebhookSettings) -> float:
    """The wait after the ``attempts``-th failed attempt: min(base * 2**(n-1), cap), jittered
    down by up to 25% so that deliveries failing together do not retry together."""
    exponent = min(max(attempts - 1, 0), 60)  # 2**60 * any base is past any cap
    delay = min(settings.backoff_base_seconds * 2.0**exponent, settings.backoff_cap_seconds)
    return float(delay * random.uniform(0.75, 1.0))


async def deliver_due(db: Database, settings: WebhookSettings) -> int:
    """Delivers what is due once; returns how many attempts were made."""
    await enqueue(db, settings.batch_size)
    claims = await db.run_write(lambda conn: _claim(conn, settings))
    if not claims:
        return 0
    gate = asyncio.Semaphore(settings.concurrency)
    # No redirects: a 3xx is not the receiver's acknowledgement.
    async with httpx.AsyncClient(
        timeout=settings.timeout_seconds,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    ) as client:

        async def one(claim: Claim) -> None:
            async with gate:
                outcome = await _post(client, claim, settings)
            label, gave_up = await db.run_write(
                lambda conn: _record(conn, claim, outcome, settings)
            )
            # Counted once the record is committed (the transaction may be run twice).
            _count(claim, outcome, label, gave_up)

        await asyncio.gather(*(one(claim) for claim in claims))
    return len(claims)


# ---------------------------------------------------------------- enqueue


async def enqueue(db: Database, batch_size: int) -> int:
    """Turns new events into deliveries for every active endpoint; returns rows added."""
    behind = await db.run_read(_endpoints_behind)
    added = 0
    for endpoint_id in behind:
        added += await db.run_write(
            partial(_enqueue_endpoint, endpoint_id=endpoint_id, batch_size=batch_size)
        )
    return added


def _endpoints_behind(conn: Connection) -> list[int]:
    """Active endpoints whose tenant has events past their cursor (ix_events_tenant_id)."""
    newer = exists().where(
        _events.c.tenant_id == _endpoints.c.tenant_id, _events.c.id > _endpoints.c.cursor
    )
    query = select(_endpoints.c.id).where(_endpoints.c.active, newer).order_by(_endpoints.c.id)
    return [int(row[0]) for row in conn.execute(query)]


def _enqueue_endpoint(conn: Connection, *, endpoint_id: int, batch_size: int) -> int:
    postgres = conn.dialect.name == "postgresql"
    query = select(_endpoints).where(_endpoints.c.id == endpoint_id)
    if postgres:
        # Another pass enqueuing this endpoint now: leave it to that pass.
        query = query.with_for_update(skip_locked=True)
    row = conn.execute(query).first()
    if row is None or not row.active:
        return 0
    endpoint = WebhookEndpoint(**row._mapping)
    events = conn.execute(
        select(_events.c.id, _events.c.type)
        .where(_events.c.tenant_id == endpoint.tenant_id, _events.c.id > endpoint.cursor)
        .order_by(_events.c.id)
        .limit(batch_size)
    ).all()
    if not events:
        return 0
    types = set(event_types_of(endpoint))
    now = utcnow()
    rows = [
        {
            "tenant_id": endpoint.tenant_id,
            "endpoint_id": endpoint_id,
            "event_id": event.id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        if not types or event.type in types
    ]
    added = 0
    if rows:
        insert = (pg_insert if postgres else sqlite_insert)(_deliveries)
        result = conn.execute(
            insert.on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"]), rows
        )
        added = max(result.rowcount, 0)
    conn.execute(
        update(_endpoints)
        .where(_endpoints.c.id == endpoint_id)
        .values(cursor=max(endpoint.cursor, int(events[-1].id)))
    )
    return added


# ---------------------------------------------------------------- claim


def _claim(conn: Connection, settings: WebhookSettings) -> list[Claim]:
    now = utcnow()
    query = (
        select(_deliveries.c.id, _deliveries.c.attempts, _deliveries.c.event_id)
        .add_columns(_endpoints.c.id.label("endpoint_id"), _endpoints.c.url, _endpoints.c.secret)
        .join(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id)
        .where(
            _deliveries.c.status == PENDING,
            _deliveries.c.next_attempt_at <= now,
            _endpoints.c.active,
        )
        .order_by(_deliveries.c.next_attempt_at, _deliveries.c.id)
        .limit(settings.batch_size)
    )
    if conn.dialect.name == "postgresql":
        # Rows another pass is claiming are skipped, not waited for.
        query = query.with_for_update(skip_locked=True, of=_deliveries)
    rows = conn.execute(query).all()
    if not rows:
        return []
    # The lease covers the whole pass: every round of `concurrency` attempts may take the
    # full timeout.
    rounds = math.ceil(len(rows) / settings.concurrency)
    lease = dt.timedelta(seconds=rounds * settings.timeout_seconds + LEASE_MARGIN_SECONDS)
    conn.execute(
        update(_deliveries)
        .where(_deliveries.c.id.in_([row.id for row in rows]))
        .values(next_attempt_at=now + lease)
    )
    events = {
        int(row.id): Event(**row._mapping)
        for row in conn.execute(
            select(_events).where(_events.c.id.in_({row.event_id for row in rows}))
        )
    }
    return [
        Claim(
            delivery_id=int(row.id),
            endpoint_id=int(row.endpoint_id),
            url=row.url,
            secret=row.secret,
            attempts=int(row.attempts),
            event=events[int(row.event_id)],
        )
        for row in rows
    ]


# ---------------------------------------------------------------- send


def body_of(claim: Claim) -> bytes:
    document: dict[str, Any] = {**event_document(claim.event), "endpointId": str(claim.endpoint_id)}
    return json_text(document).encode()  # exact decimals, integers past 64 bits


async def non_public_address(url: str) -> str | None:
    """The first address ``url``'s host resolves to that is not public (loopback, private,
    link-local, reserved, shared), or None.

    Checked before each attempt; httpx resolves the name again to connect, so a name
    whose answer changes in between (DNS rebinding) is not stopped by this alone.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80)
            )
        except OSError:
            return None  # unresolvable: the attempt fails on its own, with its error
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    for address in addresses:
        if not address.is_global:
            return str(address)
    return None


async def _post(client: httpx.AsyncClient, claim: Claim, settings: WebhookSettings) -> Outcome:
    limit_seconds = settings.timeout_seconds
    if not settings.allow_private and (address := await non_public_address(claim.url)):
        return Outcome(
            None,
            0,
            f"refused: the host resolves to the non-public address {address} "
            "(LEDGERQL_WEBHOOK_ALLOW_PRIVATE=1 allows it)",
        )
    body = body_of(claim)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Ledgerql-Event-Id": str(claim.event.id),
        "X-Ledgerql-Timestamp": str(timestamp),
        "X-Ledgerql-Signature": sign(claim.secret, timestamp, body),
    }
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        # httpx's timeout bounds each phase; this bounds the whole attempt (a receiver
        # dripping its answer byte by byte).
        async with asyncio.timeout(limit_seconds):
            # Streamed and closed unread: the receiver's answer body is of no use here.
            async with client.stream("POST", claim.url, content=body, headers=headers) as answer:
                status = answer.status_code
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(None, elapsed(), f"timed out after {limit_seconds:g} s", timed_out=True)
    except Exception as error:
        # Whatever went wrong with this receiver (refused connection, bad TLS, a URL
        # httpx rejects) is this attempt's failure, recorded; never the pass's.
        return Outcome(None, elapsed(), _error_text(error))
    return Outcome(status, elapsed(), None if 200 <= status < 300 else f"HTTP {status}")


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:MAX_ERROR_LENGTH]


# ---------------------------------------------------------------- record


def _record(
    conn: Connection, claim: Claim, outcome: Outcome, settings: WebhookSettings
) -> tuple[str, bool]:
    """Records the attempt and its consequence; returns (metric outcome, gave up)."""
    now = utcnow()
    conn.execute(
        _attempts.insert().values(
            delivery_id=claim.delivery_id,
            started_at=now - dt.timedelta(milliseconds=outcome.latency_ms),
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    attempts = claim.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.succeeded:
        values.update(status=SUCCEEDED, delivered_at=now, next_attempt_at=None)
        outcome_label = "succeeded"
    elif attempts >= settings.max_attempts:
        values.update(status=FAILED, next_attempt_at=None)
        outcome_label = "timeout" if outcome.timed_out else "failed"
    else:
        values.update(
            next_attempt_at=now + dt.timedelta(seconds=backoff_seconds(attempts, settings))
        )
        outcome_label = "timeout" if outcome.timed_out else "failed"
    # Only the cycle claimed: a replay meanwhile started a new one, which this attempt
    # must not end.
    conn.execute(
        update(_deliveries)
        .where(
            _deliveries.c.id == claim.delivery_id,
            _deliveries.c.status == PENDING,
            _deliveries.c.attempts == claim.attempts,
        )
        .values(**values)
    )
    return outcome_label, values.get("status") == FAILED


def _count(claim: Claim, outcome: Outcome, label: str, gave_up: bool) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=label).inc()
    if outcome.succeeded:
        lag = (utcnow() - claim.event.created_at).total_seconds()
        WEBHOOK_LAG_SECONDS.observe(max(lag, 0.0))
    if gave_up:
        WEBHOOK_DELIVERIES.labels(outcome="gave_up").inc()
        log.warning(
            "webhook delivery %s to endpoint %s gave up after %s attempts",
            claim.delivery_id,
            claim.endpoint_id,
            claim.attempts + 1,
        )
