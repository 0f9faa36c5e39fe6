"""A batch's rows built before its write, where its numbers and chain links (and on
SQLite its ids) are taken under the write lock: built against what they are expected to
be then (``Expected``: the previous chunk's, or the database's when there is none), and
written as built if the lock finds them so (``still``), else built again there. On
PostgreSQL the ids are the sequences', drawn with the plan (``store.lines_before``): only
the counter, prefix, chain head and journal are expected.

Why: on SQLite the writer thread and the parser share one GIL. Built in the writer, a
chunk's line rows, payloads, links and their encoding held the GIL in turns with the
parsing, and took twice their CPU time; built with the plan, on the parsing thread, with
their statements (db.bulk.encode), they leave the writer only SQLite's own work, which
runs without the GIL. On PostgreSQL the server waited while they were built inside the
transaction (1.3 s of a 1M-posting import). docs/bulk_load.md tells the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from app.ledger.audit_chain import Head, read_head
from app.ledger.batch_store import journals
from app.ledger.bulk_load.plain import PlainBatch
from app.ledger.bulk_load.rows import Built, LineRows, build, line_rows
from app.ledger.posting_rules import Tenant
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from db.bulk import is_postgres


@dataclass(frozen=True)
class Expected:
    """What a batch is built against: the tenant's counter and prefix, the last entry
    and line ids, the chain's head and the default journal."""

    seq: int
    prefix: str
    entry_id: int
    line_id: int
    head: Head
    journal_id: int


@dataclass(frozen=True)
class Prebuilt:
    """A batch's rows built against ``before``; ``after``: what they leave."""

    before: Expected
    after: Expected
    built: Built
    entry_ids: list[int]


def expected_now(conn: Connection, tenant: Tenant) -> Expected | None:
    """What the database holds now (None: no default journal: the general path's)."""
    journal_id = journals(conn, tenant.id, {DEFAULT_JOURNAL_CODE}).get(DEFAULT_JOURNAL_CODE)
    if journal_id is None:
        return None
    return Expected(
        tenant.entry_seq,
        tenant.journal_prefix,
        _last_id(conn, "journal_entries"),
        _last_id(conn, "journal_lines"),
        read_head(conn, tenant.id),
        journal_id,
    )


def prebuild(
    conn: Connection,
    tenant_id: int,
    batch: PlainBatch,
    before: Expected,
    drawn: LineRows | None = None,
) -> Prebuilt:
    """``batch``'s rows as ``store.write_plain`` would build them if the write found
    ``before``: numbers and links following it, and ids following it or, on PostgreSQL,
    those ``drawn`` from the sequences with their line rows."""
    count = len(batch.entries)
    if drawn is None:
        entry_ids = list(range(before.entry_id + 1, before.entry_id + 1 + count))
        line_ids = range(before.line_id + 1, before.line_id + 1 + batch.lines)
        lines = line_rows(conn, tenant_id, batch, entry_ids, line_ids, numbered=True)
        last_entry, last_line = before.entry_id + count, before.line_id + batch.lines
    else:
        lines, last_entry, last_line = drawn, before.entry_id, before.line_id
    built = build(
        conn,
        tenant_id,
        before.journal_id,
        before.prefix,
        before.seq,
        batch,
        lines,
        before.head,
        encoded=drawn is None,
    )
    after = Expected(
        before.seq + count, before.prefix, last_entry, last_line, built.head, before.journal_id
    )
    return Prebuilt(before, after, built, lines.entry_ids)


def still(conn: Connection, tenant: Tenant, journal_id: int, before: Expected) -> bool:
    """Whether the write, under the lock, finds what the rows were built against (on
    PostgreSQL their ids were drawn from the sequences: theirs whatever came between)."""
    return (
        tenant.entry_seq == before.seq
        and tenant.journal_prefix == before.prefix
        and journal_id == before.journal_id
        and (
            is_postgres(conn)
            or (
                _last_id(conn, "journal_entries") == before.entry_id
                and _last_id(conn, "journal_lines") == before.line_id
            )
        )
        and read_head(conn, tenant.id) == before.head
    )


def _last_id(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one())
