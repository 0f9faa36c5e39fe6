"""Holds after they are made: posting one (in full or in part), voiding one, and expiring
those past their time, each under the tenant row's lock, the lock every posting takes
first (docs/holds.md). A hold is made by the write path itself (batch.py, an entry
input with ``hold``); the rules are in hold_rules.py, the SQL of these transitions here.

Transitions are applied set-based (``apply``): the asks waiting in a group commit
(group_commit.py), or the holds falling due for the expiry job, are read together
(the holds, their entries, keys, balances and limits: one statement each), decided in
memory in order, and written together: the holds' states and their entries' status
change with a guard on PENDING, the pending totals give back what was held, posts add
what they post to the running balances and day movements, and one event each is
written. Two transitions of one hold are serialised by the tenant's lock (or by their
order in one batch); the second finds the hold no longer PENDING and is refused.
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
from app.ledger.errors import Conflict, LedgerError, NotFound
from app.ledger.hold_rules import (
    HOLD_POST_SCOPE,
    HoldRow,
    check_not_expired,
    check_open,
    post_digest,
    posted_amounts,
)
from app.ledger.limit_rules import Totals, check_limits, sum_totals
from app.ledger.money import format_minor
from app.ledger.outbox import entry_payload, json_text, write_events
from app.ledger.posting_rules import add_totals, check_totals, movement
from app.ledger.rollups import Movements, add_pending
from app.ledger.text import check_text
from app.ledger.validation import check_key, check_not_locked
from app.runtime.metrics import POSTED_ENTRIES
from db.bulk import db_datetime, insert_rows, stored_datetime
from db.tables import utcnow

logger = logging.getLogger("ledgerql.holds")

_tables = SQLModel.metadata.tables
HOLDS: Table = _tables["holds"]
ENTRIES: Table = _tables["journal_entries"]
LINES: Table = _tables["journal_lines"]

_HOLD_COLUMNS = select(
    HOLDS.c.entry_id, HOLDS.c.status, HOLDS.c.expires_at, HOLDS.c.held_json, HOLDS.c.reason
)
_READ_HOLD = _HOLD_COLUMNS.where(
    HOLDS.c.tenant_id == bindparam("tenant_id"), HOLDS.c.entry_id == bindparam("entry_id")
)
_READ_HOLDS = _HOLD_COLUMNS.where(
    HOLDS.c.tenant_id == bindparam("tenant_id"),
    HOLDS.c.entry_id.in_(bindparam("entry_ids", expanding=True)),
)
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
    return None if row is None else _hold_of(row)


def _hold_of(row: Any) -> HoldRow:
    expires = stored_datetime(row.expires_at) if row.expires_at is not None else None
    held = [(int(debit), int(credit)) for debit, credit in orjson.loads(row.held_json)]
    return HoldRow(row.entry_id, row.status, expires, held, row.reason)


def _read_holds(conn: Connection, tenant_id: int, entry_ids: Sequence[int]) -> dict[int, HoldRow]:
    rows = conn.execute(_READ_HOLDS, {"tenant_id": tenant_id, "entry_ids": list(entry_ids)})
    return {row.entry_id: _hold_of(row) for row in rows}


def _released(view: EntryView) -> Totals:
    """What giving a hold back takes off the pending totals (its lines as held)."""
    return {pair: [-debit, -credit] for pair, (debit, credit) in movement(view.lines).items()}


@dataclass(frozen=True)
class PostAsk:
    """postHold: post the hold ``entry_id`` in full, by ``amount`` or by ``lines``."""

    tenant_id: int
    entry_id: int
    today: dt.date
    now: dt.datetime
    amount: object = None
    lines: Sequence[object] | None = None
    on: dt.date | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReleaseAsk:
    """voidHold (VOIDED) or the expiry job (EXPIRED): give the hold back."""

    tenant_id: int
    entry_id: int
    status: str
    reason: str | None = None


Ask = PostAsk | ReleaseAsk
Answer = PostResult | LedgerError


def apply(conn: Connection, asks: Sequence[Ask]) -> list[Answer]:
    """Every ask, tenant by tenant in id order, each tenant's under its lock; one answer
    per ask, in order: its result, or the LedgerError that refused it (nothing of a
    refused ask is written)."""
    answers: list[Answer | None] = [None] * len(asks)
    by_tenant: dict[int, list[int]] = {}
    for index, ask in enumerate(asks):
        by_tenant.setdefault(ask.tenant_id, []).append(index)
    for tenant_id in sorted(by_tenant):
        indexes = by_tenant[tenant_id]
        found = _Transitions(conn, tenant_id, [asks[i] for i in indexes]).run()
        for index, answer in zip(indexes, found, strict=True):
            answers[index] = answer
    return [answer for answer in answers if answer is not None]


class _Transitions:
    """One tenant's asks under its lock, set-based: the holds, their entries, the keys,
    the balances and the limits read once (one statement each), every ask decided in
    memory in order (an ask sees what the earlier ones did: a second post of a hold is
    a Conflict, a spend the first made counts), then every write once."""

    def __init__(self, conn: Connection, tenant_id: int, asks: Sequence[Ask]) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.asks = asks
        self.at = utcnow()
        self.at_db = db_datetime(conn, self.at)
        self.deltas: Totals = {}  # posted movements of the asks so far
        self.held: Totals = {}  # pending movements of the asks so far (releases: negative)
        self.claimed: dict[tuple[str, str], tuple[str, PostResult]] = {}
        self.line_rows: list[dict[str, Any]] = []
        self.posted_rows: list[dict[str, Any]] = []
        self.status_rows: list[dict[str, Any]] = []
        self.close_rows: list[dict[str, Any]] = []
        self.key_rows: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.movements = Movements()

    def run(self) -> list[Answer]:
        conn, tenant_id = self.conn, self.tenant_id
        tenant = read_tenant(conn, tenant_id, lock=True)
        if tenant is None:
            return [NotFound(f"tenant {tenant_id} does not exist") for _ in self.asks]
        self.lock_date = tenant.lock_date
        claims: dict[int, tuple[str, str]] = {}
        key_errors: dict[int, LedgerError] = {}
        for index, ask in enumerate(self.asks):
            if isinstance(ask, PostAsk) and ask.idempotency_key is not None:
                try:
                    claims[index] = (HOLD_POST_SCOPE, check_key(ask.idempotency_key))
                except LedgerError as error:
                    key_errors[index] = error
        self.stored = stored_keys(conn, tenant_id, set(claims.values())) if claims else {}
        ids = sorted({ask.entry_id for ask in self.asks})
        self.holds = _read_holds(conn, tenant_id, ids)
        replayed = {entry_id for _, entry_id in self.stored.values() if entry_id is not None}
        self.views = {
            view.id: view
            for view in load_views(conn, tenant_id, sorted(set(self.holds) | replayed))
        }
        account_ids = {
            line.account_id
            for entry_id in self.holds
            if entry_id in self.views
            for line in self.views[entry_id].lines
        }
        self.totals, self.pending = balances(conn, account_ids)
        self.limited = limited_accounts(conn, account_ids)
        answers: list[Answer] = []
        for index, ask in enumerate(self.asks):
            try:
                if index in key_errors:
                    raise key_errors[index]
                if isinstance(ask, PostAsk):
                    answers.append(self._post(ask, claims.get(index)))
                else:
                    answers.append(self._release(ask))
            except LedgerError as error:
                answers.append(error)
        self._write()
        return answers

    def _open(self, entry_id: int, action: str) -> tuple[HoldRow, EntryView]:
        hold = self.holds.get(entry_id)
        view = self.views.get(entry_id)
        if hold is None or view is None:
            raise NotFound(f"hold {entry_id} does not exist", field="entryId")
        check_open(hold, action)
        return hold, view

    def _post(self, ask: PostAsk, claim: tuple[str, str] | None) -> PostResult:
        digest = None
        if claim is not None:
            digest = post_digest(ask.entry_id, ask.amount, ask.lines, ask.on)
            replay = self._replay(ask, claim, digest)
            if replay is not None:
                return replay
        hold, view = self._open(ask.entry_id, "posted")
        check_not_expired(hold, ask.now)
        posted = posted_amounts(view, hold.held, ask.amount, ask.lines)
        on = ask.on or ask.today
        check_not_locked(on, self.lock_date)
        released = _released(view)
        new_lines = [
            replace(line, debit_minor=debit, credit_minor=credit)
            for line, (debit, credit) in zip(view.lines, posted, strict=True)
        ]
        moved = movement(new_lines)
        pending = {
            pair: list(sum_totals((self.pending, self.held, released), pair)) for pair in moved
        }
        check_totals(moved, self.totals, self.deltas, new_lines)
        check_limits(moved, self.totals, self.deltas, new_lines, self.limited, pending)
        # Decided: from here on only what is written.
        add_totals(self.deltas, moved)
        add_totals(self.held, released)
        self.line_rows += [
            {"line_id": line.id, "debit": line.debit_minor, "credit": line.credit_minor, "on": on}
            for line in new_lines
        ]
        self.posted_rows.append({"hold_id": ask.entry_id, "on": on})
        self.movements.add(on, new_lines)
        # The entry as the statements will leave it (lines, date, status): not read back.
        result = replace(view, status=POSTED, date=on, lines=new_lines)
        closed = replace(hold, status=POSTED)
        self._closed(closed, result, "hold.posted")
        answer = HoldResult(result, hold=closed)
        if claim is not None and digest is not None:
            self.key_rows.append((self.tenant_id, *claim, digest, ask.entry_id, self.at_db))
            self.claimed[claim] = (digest, answer)
        return answer

    def _replay(self, ask: PostAsk, claim: tuple[str, str], digest: str) -> PostResult | None:
        """The answer to a post whose key was used before (stored, or earlier in the batch)."""
        earlier = self.claimed.get(claim)
        if earlier is not None:
            if earlier[0] != digest:
                raise self._key_conflict(ask)
            return PostResult(earlier[1].entry, replayed=True)
        stored = self.stored.get(claim)
        if stored is None:
            return None
        if stored[0] != digest or stored[1] is None or stored[1] not in self.views:
            raise self._key_conflict(ask)
        return PostResult(self.views[stored[1]], replayed=True)

    @staticmethod
    def _key_conflict(ask: PostAsk) -> Conflict:
        return Conflict(
            f"idempotency key {ask.idempotency_key!r} was used for a different request",
            field="idempotencyKey",
        )

    def _release(self, ask: ReleaseAsk) -> HoldResult:
        reason = ask.reason
        if reason is not None:
            reason = check_text(reason, field="reason", max_length=500)
        hold, view = self._open(ask.entry_id, "voided" if ask.status == VOIDED else "expired")
        add_totals(self.held, _released(view))
        self.status_rows.append({"hold_id": ask.entry_id, "new_status": ask.status})
        result = replace(view, status=ask.status)  # as written: not read back
        closed = HoldRow(hold.entry_id, ask.status, hold.expires_at, hold.held, reason)
        kind = "hold.voided" if ask.status == VOIDED else "hold.expired"
        self._closed(closed, result, kind)
        return HoldResult(result, hold=closed)

    def _closed(self, closed: HoldRow, result: EntryView, kind: str) -> None:
        self.holds[closed.entry_id] = closed
        self.views[closed.entry_id] = result
        self.close_rows.append(
            {
                "hold_id": closed.entry_id,
                "new_status": closed.status,
                "why": closed.reason,
                "at": self.at,
            }
        )
        self.events.append(_event(self.tenant_id, kind, result, closed, self.at_db))

    def _write(self) -> None:
        """Every write of the asks that were not refused: one statement each."""
        conn, tenant_id = self.conn, self.tenant_id
        if self.line_rows:
            conn.execute(_SET_LINE, self.line_rows)
            conn.execute(_SET_POSTED, self.posted_rows)
        if self.status_rows:
            conn.execute(_SET_STATUS, self.status_rows)
        if self.close_rows:
            # Guarded on PENDING; every hold here was read PENDING under the tenant's lock,
            # which every transition of a hold takes, so none is released twice.
            conn.execute(_CLOSE_HOLD, self.close_rows)
        if any(any(total) for total in self.held.values()):
            add_pending(conn, tenant_id, self.held)
        if self.posted_rows:
            self.movements.write(conn, tenant_id)
            POSTED_ENTRIES.inc(len(self.posted_rows))
        if self.events:
            write_events(conn, tenant_id, self.events)
        if self.key_rows:
            insert_rows(conn, "idempotency_records", KEY_COLUMNS, self.key_rows)


def _event(
    tenant_id: int, kind: str, view: EntryView, hold: HoldRow, at: object
) -> tuple[Any, ...]:
    payload = orjson.loads(entry_payload(view))
    payload["metadata"] = view.metadata  # as given: orjson would read 12.50 as a float
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
    asks = [ReleaseAsk(tenant_id, int(entry_id), EXPIRED) for entry_id in ids]
    expired = sum(1 for answer in apply(conn, asks) if not isinstance(answer, LedgerError))
    return expired, len(ids) == limit
