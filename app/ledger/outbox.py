"""The outbox of the write path: the events a posting leaves, and their announcement.

Every posting writes its ``journal_entry.*`` event in its own transaction
(``write_events``, payload by ``entry_payload``); webhooks and subscriptions read
the events table from there. Every writer of events rows (closing.py's period
events too) then calls ``announce``, so that subscribers read them at once.

Two wake-ups, both delivered only once the transaction commits:

- in this process: the tenant is recorded on the connection (``Connection.info``) and
  ``db.engine`` hands it to ``on_commit_of_events`` callbacks after the commit;
- in every process on PostgreSQL: ``pg_notify`` inside the transaction, which PostgreSQL
  delivers to listeners at commit and drops on rollback (app/events/live.py listens).

A wake-up carries no event: subscribers always read the events table past what they
have sent, so a lost or duplicated wake-up costs a read, never an event.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, text

from app.ledger.audit_chain import Head, chain_rows, set_head
from app.ledger.entries import EntryView
from app.ledger.money import format_minor
from db.bulk import Rows, db_datetime, insert_rows
from db.engine import ANNOUNCED_TENANTS
from db.tables import utcnow

CHANNEL = "ledgerql_events"
"""The PostgreSQL notification channel; the payload is ``<tenant id>:<PROCESS>``."""
PROCESS = secrets.token_hex(8)
"""This process's mark on its notifications: its own commits already woke its subscribers
(the after-commit hook), so app/events/live.py skips them instead of waking them twice."""

EVENT_COLUMNS = ("tenant_id", "type", "entry_id", "payload_json", "created_at")
CHAINED_COLUMNS = (*EVENT_COLUMNS, "link", "chain_hash")

_NOTIFY = text("SELECT pg_notify(:channel, :tenant)")


def entry_payload(view: EntryView) -> str:
    """The payload of an entry's event: the entry as posted, amounts as decimal text."""
    return payload_text(
        view.id,
        view.number,
        view.date,
        view.memo,
        view.currency,
        view.source,
        view.reversal_of_id,
        view.metadata,
        [
            line_document(
                line.id,
                line.account_code,
                line.currency,
                line.debit_minor,
                line.credit_minor,
                line.description,
            )
            for line in view.lines
        ],
        view.accrual_date,
    )


def line_document(
    line_id: int,
    account_code: str,
    currency: str,
    debit_minor: int,
    credit_minor: int,
    description: str | None,
) -> dict[str, Any]:
    """One line of an entry's event payload."""
    return {
        # The journal line's id: Pismo's accounting_entry_id of a script's entry.
        "id": line_id,
        "account_code": account_code,
        "currency": currency,
        "debit": format_minor(debit_minor, currency),
        "credit": format_minor(credit_minor, currency),
        # Texts too, so the hash chain fixes them (docs/audit.md).
        "description": description,
    }


def payload_text(
    entry_id: int,
    number: str,
    on: dt.date,
    memo: str,
    currency: str,
    source: str,
    reversal_of_id: int | None,
    metadata: Mapping[str, Any] | None,
    lines: list[dict[str, Any]] | orjson.Fragment,
    accrual_date: dt.date | None = None,
) -> str:
    """An entry's event payload from its parts (``entry_payload``; the bulk load's rows,
    whose lines come as JSON already written: ``line_document``'s, ids included)."""
    payload: dict[str, Any] = {
        "entry_id": entry_id,
        "number": number,
        "date": on.isoformat(),
        "memo": memo,
        "currency": currency,
        "source": source,
        "reversal_of_id": reversal_of_id,
        "metadata": metadata,
        "lines": lines,
    }
    if accrual_date is not None:
        payload["accrual_date"] = accrual_date.isoformat()
    return json_text(payload)


def json_text(document: object) -> str:
    """Compact JSON text (event payloads, entry metadata); orjson, because encoding every
    event took a tenth of a posting. A Decimal (a metadata number) is the JSON number it
    is, digit for digit: 12.50 stays 12.50, read back as Decimal by entry_reads."""
    try:
        return orjson.dumps(document, default=_exact).decode()
    except TypeError:  # an integer past 64 bits in vendor metadata: written as its digits
        return orjson.dumps(_wide_ints(document), default=_exact).decode()


def _exact(value: object) -> object:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))  # str() of a finite Decimal is a JSON number
    return str(value)


def _wide_ints(value: object) -> object:
    """``value`` with every integer orjson cannot take (past 64 bits) as a raw JSON number."""
    if isinstance(value, dict):
        return {key: _wide_ints(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wide_ints(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value))
    return value


def write_events(conn: Connection, tenant_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """Inserts one tenant's event ``rows`` (``EVENT_COLUMNS``) as the next links of its
    hash chain (app/ledger/audit_chain.py) and announces them. Every writer of events
    comes here, under the tenant's lock."""
    if not rows:
        return
    insert_rows(conn, "events", CHAINED_COLUMNS, chain_rows(conn, tenant_id, rows))
    announce(conn, tenant_id)


def write_chained(conn: Connection, tenant_id: int, rows: Rows, head: Head) -> None:
    """``write_events`` of rows chained already (``audit_chain.link_rows``) after the
    tenant's current head, which moves to ``head``."""
    insert_rows(conn, "events", CHAINED_COLUMNS, rows)
    set_head(conn, tenant_id, head)
    announce(conn, tenant_id)


def write_event(
    conn: Connection, tenant_id: int, kind: str, payload_json: str, entry_id: int | None = None
) -> None:
    """One event, now: ``write_events`` for the writers that have a single one."""
    write_events(
        conn, tenant_id, [(tenant_id, kind, entry_id, payload_json, db_datetime(conn, utcnow()))]
    )


def announce(conn: Connection, tenant_id: int) -> None:
    """Called by every writer of ``events`` rows inside the writing transaction."""
    conn.info.setdefault(ANNOUNCED_TENANTS, set()).add(tenant_id)
    if conn.dialect.name == "postgresql":
        # Always sent (PostgreSQL folds identical notifications of one transaction): a set
        # left on the pooled connection by a path that did not take it must not mute this.
        conn.execute(_NOTIFY, {"channel": CHANNEL, "tenant": f"{tenant_id}:{PROCESS}"})
