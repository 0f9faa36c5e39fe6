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

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app.ledger.audit_chain import read_head
from app.ledger.batch_store import (
    advance_seq,
    balances,
    journals,
    limited_accounts,
    read_tenant,
    stored_keys,
)
from app.ledger.bulk_load.ahead import Prebuilt, still
from app.ledger.bulk_load.plain import PlainBatch, PlainEntry
from app.ledger.bulk_load.rows import LineRows, build, line_rows, send
from app.ledger.money import MAX_MINOR
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from app.runtime.metrics import POSTED_ENTRIES, POSTING_BATCH_ENTRIES
from db.bulk import allocate_ids, is_postgres


@dataclass(frozen=True)
class Stored:
    """What became of a planned batch: ``written`` new entries, or all ``replayed``."""

    written: int = 0
    replayed: int = 0
    last_id: int = 0  # the highest entry id written
    as_built: bool = False  # its rows built ahead were sent as they were (ahead.still)


def lines_before(conn: Connection, tenant_id: int, batch: PlainBatch) -> LineRows | None:
    """On PostgreSQL, the batch's ids drawn from the sequences and its line rows built,
    outside the transaction that writes them: the server does not wait for them there
    (ids a batch then does not use are a gap, as a rollback leaves). None on SQLite,
    where ids are taken under the write lock."""
    if not is_postgres(conn):
        return None
    return _line_rows(conn, tenant_id, batch)


def _line_rows(conn: Connection, tenant_id: int, batch: PlainBatch) -> LineRows:
    entry_ids = allocate_ids(conn, "journal_entries", len(batch.entries))
    return line_rows(
        conn, tenant_id, batch, entry_ids, allocate_ids(conn, "journal_lines", batch.lines)
    )


# What a batch's keys are already (``claimed``).
Claimed = Literal["none", "all", "some"]


def claimed(conn: Connection, tenant_id: int, batch: PlainBatch) -> Claimed:
    """What the batch's idempotency keys are already, read with its plan: "none" stored,
    "all" stored for the same requests (the whole batch replays), or "some" (the general
    path decides the batch). Read before the write's transaction, on PostgreSQL on
    another connection than the write's, so the server does it while the chunk before is
    written; a key stored in between fails the write on the records' unique index, and
    the general path then decides the batch (``unique_key_clash``)."""
    claims = {entry.claim for entry in batch.entries if entry.claim is not None}
    stored = stored_keys(conn, tenant_id, claims) if claims else {}
    if not stored:
        return "none"
    return "all" if _replays(batch.entries, stored) else "some"


def unique_key_clash(error: DBAPIError) -> bool:
    """Whether ``error`` is an idempotency key stored since the batch's plan read them."""
    orig = error.orig
    if getattr(orig, "constraint_name", None) == "uq_idempotency_tenant_scope_key":
        return True  # PostgreSQL (asyncpg)
    return "UNIQUE constraint failed: idempotency_records" in str(orig)  # SQLite


def write_plain(
    conn: Connection,
    tenant_id: int,
    batch: PlainBatch,
    lines: LineRows | None = None,
    *,
    keys_read: bool = False,
    prebuilt: Prebuilt | None = None,
) -> Stored | None:
    """Writes ``batch`` (planned by ``plan``; ``lines`` from ``lines_before``, if any) in the
    caller's transaction; None: not written, the general path decides it (module
    docstring). ``keys_read``: the plan found none of its keys stored (``claimed``).
    ``prebuilt``: its rows built ahead (``ahead``), sent as they are if still right."""
    entries = batch.entries
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None or not entries:
        return None
    lock_date = tenant.lock_date
    if lock_date is not None and any(entry.date <= lock_date for entry in entries):
        return None
    if not keys_read:
        found = claimed(conn, tenant.id, batch)
        if found != "none":
            return Stored(replayed=len(entries)) if found == "all" else None
    journal_id = journals(conn, tenant.id, {DEFAULT_JOURNAL_CODE}).get(DEFAULT_JOURNAL_CODE)
    account_ids = batch.account_ids
    if journal_id is None or limited_accounts(conn, account_ids):
        return None
    totals, _ = balances(conn, account_ids)
    for pair, (debit, credit) in batch.moved.items():
        before = totals.get(pair, (0, 0))
        if before[0] + debit > MAX_MINOR or before[1] + credit > MAX_MINOR:
            return None
    if prebuilt is not None and still(conn, tenant, journal_id, prebuilt.before):
        advance_seq(conn, tenant, len(entries))
        built, entry_ids, as_built = prebuilt.built, prebuilt.entry_ids, True
    else:
        seq = advance_seq(conn, tenant, len(entries))
        lines = lines or _line_rows(conn, tenant.id, batch)
        head = read_head(conn, tenant.id)
        built = build(conn, tenant.id, journal_id, tenant.journal_prefix, seq, batch, lines, head)
        entry_ids, as_built = lines.entry_ids, False
    send(conn, tenant.id, built, batch)
    POSTED_ENTRIES.inc(len(entries))
    POSTING_BATCH_ENTRIES.observe(len(entries))
    return Stored(written=len(entries), last_id=max(entry_ids), as_built=as_built)


def _replays(
    entries: list[PlainEntry], stored: dict[tuple[str, str], tuple[str, int | None]]
) -> bool:
    """Whether every entry replays the one its key names, as ``posting_rules.check_replay``
    decides it: a stored record of the same request, with its entry."""
    for entry in entries:
        record = stored.get(entry.claim) if entry.claim is not None else None
        if record is None or record[0] != entry.request_hash or record[1] is None:
            return False
    return True
