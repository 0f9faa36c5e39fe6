"""The rows a bulk batch writes, built from its plan (``plain.PlainBatch``) and the ids,
numbers and chain head it is written after, and sent (``send``): by ``store.write_plain``
under the lock, or ahead of it on SQLite (``ahead``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from app.ledger.audit_chain import Head, link_rows
from app.ledger.batch_store import ENTRY_COLUMNS, KEY_COLUMNS, LINE_COLUMNS, METADATA_COLUMNS
from app.ledger.bulk_load.plain import PlainBatch
from app.ledger.entries import POSTED
from app.ledger.outbox import CHAINED_COLUMNS, write_chained
from app.ledger.posting_rules import entry_number
from app.ledger.rollups import Movements
from db.bulk import Rows, db_date, db_datetime, encode, encode_numbered, insert_rows
from db.tables import utcnow

# The columns of a batch's rows built ahead on SQLite that differ from row to row, in
# their tables' order (db.bulk.encode_numbered gives the id and the rest once).
_SHARED = (
    "id",
    "tenant_id",
    "journal_id",
    "status",
    "reversal_of_id",
    "reversed_by_id",
    "created_at",
)
ENTRY_VARYING = tuple(column for column in ENTRY_COLUMNS if column not in _SHARED)
LINE_VARYING = tuple(column for column in LINE_COLUMNS if column not in _SHARED)


@dataclass(frozen=True)
class LineRows:
    """A batch's entry ids and its lines' rows and event JSON (an array per entry), built
    before its transaction where ids can be drawn outside it (``lines_before``)."""

    entry_ids: list[int]
    rows: list[tuple[Any, ...]]
    documents: list[bytes]
    first_line_id: int = 0  # where the ids of rows built ``numbered`` start


def line_rows(
    conn: Connection,
    tenant_id: int,
    batch: PlainBatch,
    entry_ids: list[int],
    line_ids: Sequence[int],
    *,
    numbered: bool = False,
) -> LineRows:
    """The batch's line rows and event JSON, its entries and lines given these ids;
    ``numbered``: the rows without their id and tenant (``LINE_VARYING``, for
    db.bulk.encode_numbered: the ids run on, the tenant is one)."""
    next_ids = iter(line_ids)
    days: dict[dt.date, object] = {}
    rows: list[tuple[Any, ...]] = []
    documents: list[bytes] = []
    for entry, entry_id in zip(batch.entries, entry_ids, strict=True):
        on = days.get(entry.date)
        if on is None:
            on = days[entry.date] = db_date(conn, entry.date)
        texts = []
        for line_no, ((account_id, _, currency, debit, credit, description), text) in enumerate(
            zip(entry.lines, entry.line_texts, strict=True)
        ):
            line_id = next(next_ids)
            if numbered:
                rows.append(
                    (entry_id, account_id, on, currency, debit, credit, description, line_no)
                )
            else:
                rows.append(
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
            texts.append(b'{"id":%d,%b' % (line_id, text))
        documents.append(b"[" + b",".join(texts) + b"]")
    return LineRows(entry_ids, rows, documents, line_ids[0] if line_ids else 0)


# outbox.payload_text's JSON for an entry of a bulk batch (no reversal, no accrual date),
# written straight: its dict through orjson was a tenth of the rows' building. Its
# metadata is the entry's metadata_json, json_text's of the same metadata; a test holds
# the two equal.
_PAYLOAD = (
    b'{"entry_id":%d,"number":%b,"date":"%b","memo":%b,"currency":%b,"source":%b,'
    b'"reversal_of_id":null,"metadata":%b,"lines":%b}'
)


@dataclass(frozen=True)
class Built:
    """Every row of a batch but its totals, ready to send (``build``)."""

    entries: Rows
    lines: Rows
    keys: Rows
    events: Rows  # chained: link numbers and hashes after ``head`` was
    metadata: Rows
    head: Head  # the tenant's chain head after them


def build(
    conn: Connection,
    tenant_id: int,
    journal_id: int,
    prefix: str,
    seq: int,
    batch: PlainBatch,
    lines: LineRows,
    head: Head,
    *,
    encoded: bool = False,
) -> Built:
    """The rows of ``batch`` numbered after ``seq`` and chained after ``head``, its ids and
    line rows ``lines``; ``encoded``: with the statements SQLite takes them by (db.bulk.encode)."""
    # The rows are built without yielding to the event loop: on PostgreSQL the server
    # waits for them, and yielding every 100 entries (to the next chunk's parsing and
    # plan) made 100,000 entries take 21.7 s instead of 18.0.
    entries = batch.entries
    created_db = db_datetime(conn, utcnow())
    days: dict[dt.date, object] = {}
    entry_rows: list[tuple[Any, ...]] = []
    key_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    metadata_rows: list[tuple[Any, ...]] = []
    rows = zip(entries, lines.entry_ids, lines.documents, strict=True)
    for offset, (entry, entry_id, documents) in enumerate(rows, start=1):
        date = entry.date
        on = days.get(date)
        if on is None:
            on = days[date] = db_date(conn, date)
        number = entry_number(prefix, date, seq + offset)
        if encoded:  # ENTRY_VARYING, for encode_numbered
            entry_rows.append(
                (
                    number,
                    on,
                    entry.memo,
                    entry.currency,
                    entry.source,
                    entry.idempotency_key,
                    entry.metadata_json,
                )
            )
        else:
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
        if entry.claim is not None:
            scope, key = entry.claim
            key_rows.append((tenant_id, scope, key, entry.request_hash, entry_id, created_db))
        payload = _PAYLOAD % (
            entry_id,
            orjson.dumps(number),
            date.isoformat().encode(),
            orjson.dumps(entry.memo),
            orjson.dumps(entry.currency),
            orjson.dumps(entry.source),
            b"null" if entry.metadata_json is None else entry.metadata_json.encode(),
            documents,
        )
        event_rows.append((tenant_id, entry.event_type, entry_id, payload.decode(), created_db))
        metadata_rows += [(tenant_id, key, value, entry_id) for key, value in entry.metadata_rows]
    key_rows.sort(key=lambda row: (row[1], row[2]))  # keys in sorted order: the lock order
    chained, after = link_rows(tenant_id, head, event_rows)
    if not encoded:
        return Built(entry_rows, lines.rows, key_rows, chained, metadata_rows, after)
    # Events (their payloads) as VALUES, the narrow rows as json_each documents (encode),
    # entries and lines with what they share given once (encode_numbered).
    entry_ids = lines.entry_ids
    assert entry_ids == list(range(entry_ids[0], entry_ids[0] + len(entry_ids)))
    same = {
        "tenant_id": tenant_id,
        "journal_id": journal_id,
        "status": POSTED,
        "reversal_of_id": None,
        "reversed_by_id": None,
        "created_at": created_db,
    }
    return Built(
        encode_numbered("journal_entries", entry_ids[0], same, ENTRY_VARYING, entry_rows),
        encode_numbered(
            "journal_lines", lines.first_line_id, {"tenant_id": tenant_id}, LINE_VARYING, lines.rows
        ),
        encode("idempotency_records", KEY_COLUMNS, key_rows, as_document=True),
        encode("events", CHAINED_COLUMNS, chained),
        encode("entry_metadata", METADATA_COLUMNS, metadata_rows),
        after,
    )


def send(conn: Connection, tenant_id: int, built: Built, batch: PlainBatch) -> None:
    """Inserts the rows ``built`` for ``batch`` and adds what it moves to the totals."""
    insert_rows(conn, "journal_entries", ENTRY_COLUMNS, built.entries)
    insert_rows(conn, "journal_lines", LINE_COLUMNS, built.lines)
    insert_rows(conn, "idempotency_records", KEY_COLUMNS, built.keys)
    write_chained(conn, tenant_id, built.events, built.head)
    movements = Movements()
    movements.balances, movements.days = batch.moved, batch.days
    movements.write(conn, tenant_id)
    insert_rows(conn, "entry_metadata", METADATA_COLUMNS, built.metadata)
