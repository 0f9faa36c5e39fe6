"""Writing a planned bulk batch under the tenant's lock: the rows ``batch_store.write_entries``
writes for the same entries, without building an entry's view, its checks or its decision.

What ``plan`` could not know before the lock is read again under it, one statement each,
as the general path does: the tenant (its counter and lock date), the batch's
idempotency records, its accounts' limits and running totals. Anything found that the
general path would decide otherwise (a key already claimed, a lock date moved past an
entry, limits set meanwhile, a total past 2^63-1) writes nothing and answers None: the
caller hands the batch to the general path. A batch whose every key is already stored
with the same request is answered as replayed without writing or reading its entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from app.ledger.batch_store import (
    ENTRY_COLUMNS,
    KEY_COLUMNS,
    LINE_COLUMNS,
    METADATA_COLUMNS,
    advance_seq,
    balances,
    journals,
    limited_accounts,
    read_tenant,
    stored_keys,
)
from app.ledger.bulk_load.plain import PlainBatch
from app.ledger.entries import POSTED
from app.ledger.money import MAX_MINOR
from app.ledger.outbox import payload_text, write_events
from app.ledger.posting_rules import entry_number
from app.ledger.rollups import Movements
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from app.runtime.metrics import POSTED_ENTRIES, POSTING_BATCH_ENTRIES
from db.bulk import allocate_ids, db_date, db_datetime, insert_rows
from db.tables import utcnow


@dataclass(frozen=True)
class Stored:
    """What became of a planned batch: ``written`` new entries, or all ``replayed``."""

    written: int = 0
    replayed: int = 0


def write_plain(conn: Connection, tenant_id: int, batch: PlainBatch) -> Stored | None:
    """Writes ``batch`` (planned by ``plan``) in the caller's transaction; None: not written,
    the general path decides it (module docstring)."""
    entries = batch.entries
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None or not entries:
        return None
    lock_date = tenant.lock_date
    if lock_date is not None and any(entry.date <= lock_date for entry in entries):
        return None
    claims = {entry.claim for entry in entries if entry.claim is not None}
    if claims:
        stored = stored_keys(conn, tenant.id, claims)
        if stored:
            replayed = len(stored) == len(entries) and all(
                entry.claim is not None and stored[entry.claim][0] == entry.request_hash
                for entry in entries
            )
            return Stored(replayed=len(entries)) if replayed else None
    account_ids = batch.account_ids
    if limited_accounts(conn, account_ids):
        return None
    totals, _ = balances(conn, account_ids)
    for pair, (debit, credit) in batch.moved.items():
        before = totals.get(pair, (0, 0))
        if before[0] + debit > MAX_MINOR or before[1] + credit > MAX_MINOR:
            return None
    _write(conn, tenant.id, tenant.journal_prefix, advance_seq(conn, tenant, len(entries)), batch)
    POSTED_ENTRIES.inc(len(entries))
    POSTING_BATCH_ENTRIES.observe(len(entries))
    return Stored(written=len(entries))


def _write(conn: Connection, tenant_id: int, prefix: str, seq: int, batch: PlainBatch) -> None:
    # The rows are built without yielding to the event loop: on PostgreSQL the server
    # waits for them, and yielding every 100 entries (to the next chunk's parsing and
    # plan) made 100,000 entries take 21.7 s instead of 18.0.
    entries = batch.entries
    journal_id = journals(conn, tenant_id, {DEFAULT_JOURNAL_CODE})[DEFAULT_JOURNAL_CODE]
    entry_ids = allocate_ids(conn, "journal_entries", len(entries))
    line_ids = iter(allocate_ids(conn, "journal_lines", batch.lines))
    created_db = db_datetime(conn, utcnow())
    days: dict[dt.date, object] = {}
    entry_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    key_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    metadata_rows: list[tuple[Any, ...]] = []
    movements = Movements()
    movements.balances, movements.days = batch.moved, batch.days
    for offset, (entry, entry_id) in enumerate(zip(entries, entry_ids, strict=True), start=1):
        date = entry.date
        on = days.get(date)
        if on is None:
            on = days[date] = db_date(conn, date)
        number = entry_number(prefix, date, seq + offset)
        entry_rows.append(
            (
                entry_id,
                tenant_id,
                journal_id,
                number,
                on,
                entry.memo,
                entry.currency,
                POSTED,
                entry.source,
                entry.idempotency_key,
                None,
                None,
                entry.metadata_json,
                created_db,
            )
        )
        documents = []
        for line_no, ((account_id, _, currency, debit, credit, description), text) in enumerate(
            zip(entry.lines, entry.line_texts, strict=True)
        ):
            line_id = next(line_ids)
            line_rows.append(
                (
                    line_id,
                    entry_id,
                    tenant_id,
                    account_id,
                    on,
                    currency,
                    debit,
                    credit,
                    description,
                    line_no,
                )
            )
            documents.append(b'{"id":%d,%b' % (line_id, text))
        if entry.claim is not None:
            scope, key = entry.claim
            key_rows.append((tenant_id, scope, key, entry.request_hash, entry_id, created_db))
        payload = payload_text(
            entry_id,
            number,
            date,
            entry.memo,
            entry.currency,
            entry.source,
            None,
            entry.metadata,
            orjson.Fragment(b"[" + b",".join(documents) + b"]"),
        )
        event_rows.append((tenant_id, entry.event_type, entry_id, payload, created_db))
        metadata_rows += [(tenant_id, key, value, entry_id) for key, value in entry.metadata_rows]
    insert_rows(conn, "journal_entries", ENTRY_COLUMNS, entry_rows)
    insert_rows(conn, "journal_lines", LINE_COLUMNS, line_rows)
    key_rows.sort(key=lambda row: (row[1], row[2]))  # keys in sorted order: the lock order
    insert_rows(conn, "idempotency_records", KEY_COLUMNS, key_rows)
    write_events(conn, tenant_id, event_rows)
    movements.write(conn, tenant_id)
    if metadata_rows:
        insert_rows(conn, "entry_metadata", METADATA_COLUMNS, metadata_rows)
