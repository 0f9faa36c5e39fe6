"""Holds after they are made: posting one (in full or in part), voiding one, and expiring
those past their time, each under the tenant row's lock, the lock every posting takes
first (docs/holds.md). A hold is made by the write path itself (batch.py, an entry
input with ``hold``); the rules are in hold_rules.py, the SQL of these transitions here.

Every transition is one transaction: the hold's state and its entry's status change
with a guard on PENDING, the pending totals give back what was held, a post adds what
it posts to the running balances and day movements, and an event is written. Two
transitions of one hold are serialised by the tenant's lock; the second finds the hold
no longer PENDING and is refused (or, for the expiry job, skips it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, select, update
from sqlmodel import SQLModel

from app.ledger.batch_store import balances, limited_accounts, read_tenant, stored_keys
from app.ledger.entries import EXPIRED, PENDING, POSTED, VOIDED, EntryView, PostResult
from app.ledger.entry_reads import load_views
from app.ledger.errors import Conflict, NotFound
from app.ledger.hold_rules import (
    HOLD_POST_SCOPE,
    HoldRow,
    check_not_expired,
    check_open,
    post_digest,
    posted_amounts,
)
from app.ledger.limit_rules import Totals, check_limits
from app.ledger.money import format_minor
from app.ledger.outbox import entry_payload, json_text, write_events
from app.ledger.posting_rules import add_totals, check_totals, movement
from app.ledger.rollups import Movements, add_pending
from app.ledger.text import check_text
from app.ledger.validation import check_key, check_not_locked
from app.runtime.metrics import POSTED_ENTRIES
from db.bulk import db_datetime, insert_rows
from db.tables import utcnow

logger = logging.getLogger("ledgerql.holds")

_tables = SQLModel.metadata.tables
HOLDS: Table = _tables["holds"]
ENTRIES: Table = _tables["journal_entries"]
LINES: Table = _tables["journal_lines"]

_READ_HOLD = select(
    HOLDS.c.entry_id, HOLDS.c.status, HOLDS.c.expires_at, HOLDS.c.held_json, HOLDS.c.reason
).where(HOLDS.c.tenant_id == bindparam("tenant_id"), HOLDS.c.entry_id == bindparam("entry_id"))
_CLOSE_HOLD = (
    update(HOLDS)
    .where(HOLDS.c.entry_id == bindparam("hold_id"), HOLDS.c.status == PENDING)
    .values(status=bindparam("new_status"), reason=bindparam("why"), closed_at=bindparam("at"))
)
_SET_STATUS = (
    update(ENTRIES)
    .where(ENTRIES.c.id == bindparam("hold_id"), ENTRIES.c.status == PENDING)
    .values(status=bindparam("new_status"))
)
_SET_POSTED = (
    update(ENTRIES)
    .where(ENTRIES.c.id == bindparam("hold_id"), ENTRIES.c.status == PENDING)
    .values(status=POSTED, date=bindparam("on"))
)
_SET_LINE = (
    update(LINES)
    .where(LINES.c.id == bindparam("line_id"))
    .values(debit_minor=bindparam("debit"), credit_minor=bindparam("credit"), date=bindparam("on"))
)
_EXPIRED_TENANTS = (
    select(HOLDS.c.tenant_id)
    .distinct()
    .where(HOLDS.c.status == PENDING, HOLDS.c.expires_at <= bindparam("now"))
    .order_by(HOLDS.c.tenant_id)
)
_EXPIRED = (
    select(HOLDS.c.entry_id)
    .where(
        HOLDS.c.tenant_id == bindparam("tenant_id"),
        HOLDS.c.status == PENDING,
        HOLDS.c.expires_at <= bindparam("now"),
    )
    .order_by(HOLDS.c.entry_id)
    .limit(bindparam("limit"))
)
KEY_COLUMNS = ("tenant_id", "scope", "key", "request_hash", "entry_id", "created_at")


@dataclass(frozen=True)
class HoldResult(PostResult):
    """A transition's result with the hold as the transaction left it: its answer needs
    no second read (graphql_schema/holds.py). A replay is a plain PostResult."""

    hold: HoldRow | None = None


def created(result: PostResult, expires_at: dt.datetime | None) -> PostResult:
    """The result of making a hold (the write path's) with its row as that transaction
    wrote it: PENDING, holding its lines, expiring at ``expires_at`` (stored in UTC). A
    replay is left as it is: that hold may have moved on since."""
    if result.replayed:
        return result
    held = [(line.debit_minor, line.credit_minor) for line in result.entry.lines]
    expires = expires_at.astimezone(dt.UTC) if expires_at is not None else None
    return HoldResult(result.entry, hold=HoldRow(result.entry.id, PENDING, expires, held))


def read_hold(conn: Connection, tenant_id: int, entry_id: int) -> HoldRow | None:
    row = conn.execute(_READ_HOLD, {"tenant_id": tenant_id, "entry_id": entry_id}).first()
    if row is None:
        return None
    expires = row.expires_at
    if isinstance(expires, str):  # SQLite's text
        expires = dt.datetime.fromisoformat(expires)
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    held = [(int(debit), int(credit)) for debit, credit in orjson.loads(row.held_json)]
    return HoldRow(row.entry_id, row.status, expires, held, row.reason)


def _locked_hold(conn: Connection, tenant_id: int, entry_id: int) -> tuple[HoldRow, EntryView]:
    hold = read_hold(conn, tenant_id, entry_id)
    views = load_views(conn, tenant_id, [entry_id]) if hold is not None else []
    if hold is None or not views:
        raise NotFound(f"hold {entry_id} does not exist", field="entryId")
    return hold, views[0]


def _released(view: EntryView) -> Totals:
    """What giving a hold back takes off the pending totals (its lines as held)."""
    return {pair: [-debit, -credit] for pair, (debit, credit) in movement(view.lines).items()}


def post_hold(
    conn: Connection,
    tenant_id: int,
    entry_id: int,
    *,
    amount: object = None,
    lines: Sequence[object] | None = None,
    on: dt.date | None = None,
    idempotency_key: str | None = None,
    today: dt.date,
    now: dt.datetime,
) -> PostResult:
    """Posts a PENDING hold, in full or in part (hold_rules.posted_amounts), on ``on``
    (default ``today``); the rest is released. A replay of ``idempotency_key`` returns
    the entry as it is now; a hold no longer PENDING, or past its expiry, is a Conflict."""
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    claim = digest = None
    if idempotency_key is not None:
        claim = (HOLD_POST_SCOPE, check_key(idempotency_key))
        digest = post_digest(entry_id, amount, lines, on)
        stored = stored_keys(conn, tenant_id, {claim}).get(claim)
        if stored is not None:
            if stored[0] != digest or stored[1] is None:
                raise Conflict(
                    f"idempotency key {idempotency_key!r} was used for a different request",
                    field="idempotencyKey",
                )
            return PostResult(load_views(conn, tenant_id, [stored[1]])[0], replayed=True)
    hold, view = _locked_hold(conn, tenant_id, entry_id)
    check_open(hold, "posted")
    check_not_expired(hold, now)
    posted = posted_amounts(view, hold.held, amount, lines)
    on = on or today
    check_not_locked(on, tenant.lock_date)
    released = _released(view)
    new_lines = [
        replace(line, debit_minor=debit, credit_minor=credit)
        for line, (debit, credit) in zip(view.lines, posted, strict=True)
    ]
    moved = movement(new_lines)
    account_ids = {pair[0] for pair in moved}
    totals, pending = balances(conn, account_ids)
    add_totals(pending, released)
    check_totals(moved, totals, {}, new_lines)
    check_limits(moved, totals, {}, new_lines, limited_accounts(conn, account_ids), pending)
    at = utcnow()
    at_db = db_datetime(conn, at)
    conn.execute(
        _SET_LINE,
        [
            {
                "line_id": line.id,
                "debit": line.debit_minor,
                "credit": line.credit_minor,
                "on": on,
            }
            for line in new_lines
        ],
    )
    conn.execute(_SET_POSTED, {"hold_id": entry_id, "on": on})
    _close(conn, entry_id, POSTED, None, at)
    add_pending(conn, tenant_id, released)
    movements = Movements()
    movements.add(on, new_lines)
    movements.write(conn, tenant_id)
    # The entry as the statements above left it (lines, date, status): not read back.
    result = replace(view, status=POSTED, date=on, lines=new_lines)
    closed = replace(hold, status=POSTED)
    write_events(conn, tenant_id, [_event(tenant_id, "hold.posted", result, hold, at_db)])
    if claim is not None:
        insert_rows(
            conn, "idempotency_records", KEY_COLUMNS, [(tenant_id, *claim, digest, entry_id, at_db)]
        )
    POSTED_ENTRIES.inc(1)
    return HoldResult(result, hold=closed)


def void_hold(conn: Connection, tenant_id: int, entry_id: int, *, reason: str | None) -> HoldResult:
    """Releases a PENDING hold: status VOIDED; a hold no longer PENDING is a Conflict."""
    if reason is not None:
        reason = check_text(reason, field="reason", max_length=500)
    if read_tenant(conn, tenant_id, lock=True) is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    hold, view = _locked_hold(conn, tenant_id, entry_id)
    check_open(hold, "voided")
    return _release(conn, tenant_id, hold, view, VOIDED, reason)


def _release(
    conn: Connection,
    tenant_id: int,
    hold: HoldRow,
    view: EntryView,
    status: str,
    reason: str | None,
) -> HoldResult:
    at = utcnow()
    at_db = db_datetime(conn, at)
    conn.execute(_SET_STATUS, {"hold_id": hold.entry_id, "new_status": status})
    _close(conn, hold.entry_id, status, reason, at)
    add_pending(conn, tenant_id, _released(view))
    result = replace(view, status=status)  # as written: not read back
    kind = "hold.voided" if status == VOIDED else "hold.expired"
    closed = HoldRow(hold.entry_id, status, hold.expires_at, hold.held, reason)
    write_events(conn, tenant_id, [_event(tenant_id, kind, result, closed, at_db)])
    return HoldResult(result, hold=closed)


def _close(
    conn: Connection, entry_id: int, status: str, reason: str | None, at: dt.datetime
) -> None:
    changed = conn.execute(
        _CLOSE_HOLD, {"hold_id": entry_id, "new_status": status, "why": reason, "at": at}
    ).rowcount
    if changed != 1:  # cannot happen under the tenant's lock; never release twice
        raise Conflict(f"hold {entry_id} is no longer PENDING", field="entryId")


def _event(
    tenant_id: int, kind: str, view: EntryView, hold: HoldRow, at: object
) -> tuple[Any, ...]:
    payload = orjson.loads(entry_payload(view))
    payload["status"] = view.status
    payload["held"] = [
        {"debit": _text(debit, line.currency), "credit": _text(credit, line.currency)}
        for line, (debit, credit) in zip(view.lines, hold.held, strict=True)
    ]
    if hold.reason is not None:
        payload["reason"] = hold.reason
    return (tenant_id, kind, view.id, json_text(payload), at)


def _text(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


# ---------------------------------------------------------------- expiry


def expired_tenants(conn: Connection, now: dt.datetime) -> list[int]:
    """The tenants with a PENDING hold whose expiry is at or before ``now``."""
    rows = conn.execute(_EXPIRED_TENANTS, {"now": now}).scalars()
    return [int(tenant_id) for tenant_id in rows]


def expire_in(
    conn: Connection, tenant_id: int, now: dt.datetime, *, limit: int
) -> tuple[int, bool]:
    """Releases the tenant's holds past their expiry (at most ``limit``), status EXPIRED,
    under the tenant's lock: a second process doing the same waits, then finds them
    EXPIRED, so each expires once. Returns how many expired, and whether more may be."""
    if read_tenant(conn, tenant_id, lock=True) is None:
        return 0, False
    ids = list(
        conn.execute(_EXPIRED, {"tenant_id": tenant_id, "now": now, "limit": limit}).scalars()
    )
    expired = 0
    for entry_id in ids:
        hold, view = _locked_hold(conn, tenant_id, int(entry_id))
        if hold.status == PENDING:
            _release(conn, tenant_id, hold, view, EXPIRED, None)
            expired += 1
    return expired, len(ids) == limit
