"""The SQL of the write path: every statement a posting, a reversal or a due scheduled
entry sends, apart from reading entries back (entry_reads.py), the events (outbox.py)
and the roll-ups (rollups.py).

The reads a batch is checked against (the tenant row, plain or locked, its accounts,
journals, attachments, idempotency records and running balances: one statement each)
and the writes of checked entries: the tenant's entry counter, ids, then one
multi-row insert each of entries, lines and idempotency records. What to write is
decided in posting_rules.py; batch.py calls the two in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlmodel import SQLModel

from app.ledger.entries import (
    PENDING,
    POSTED,
    REVERSED,
    SCHEDULED,
    EntryInput,
    EntryView,
    LineView,
)
from app.ledger.limit_rules import Limited, LimitedAccounts, Totals
from app.ledger.limits import parse
from app.ledger.metadata import index_rows
from app.ledger.outbox import entry_payload, json_text, write_events
from app.ledger.posting_rules import New, Tenant, entry_number, is_scheduled
from app.ledger.rollups import Movements, add_pending
from app.ledger.text import storable
from app.ledger.validation import AccountRef
from app.runtime.metrics import POSTED_ENTRIES, POSTING_BATCH_ENTRIES
from db.bulk import allocate_ids, db_date, db_datetime, find_keys, insert_rows
from db.tables import utcnow

_tables = SQLModel.metadata.tables
TENANTS: Table = _tables["tenants"]
ACCOUNTS: Table = _tables["accounts"]
JOURNALS: Table = _tables["journals"]
ENTRIES: Table = _tables["journal_entries"]
BALANCES: Table = _tables["account_balances"]
ATTACHMENTS: Table = _tables["attachments"]

ENTRY_COLUMNS = (
    "id",
    "tenant_id",
    "journal_id",
    "number",
    "date",
    "memo",
    "currency",
    "status",
    "source",
    "idempotency_key",
    "reversal_of_id",
    "reversed_by_id",
    "metadata_json",
    "created_at",
)
# Written only in batches where an entry has one of them (else left NULL): every bound
# value costs SQLite's executemany time, and most batches have none.
ENTRY_EXTRA_COLUMNS = (
    "external_id",
    "accrual_date",
    "reporting_currency",
    "exchange_rate",
    "rate_source",
    "rate_date",
)
_NO_EXTRAS = (None,) * len(ENTRY_EXTRA_COLUMNS)
# Likewise written only in batches where an entry references an attachment.
ENTRY_ATTACHMENT_COLUMNS = ("attachment_id",)
LINE_COLUMNS = (
    "id",
    "entry_id",
    "tenant_id",
    "account_id",
    "date",
    "currency",
    "debit_minor",
    "credit_minor",
    "description",
    "line_no",
)
LINE_REPORTING_COLUMNS = ("reporting_debit_minor", "reporting_credit_minor")
KEY_COLUMNS = ("tenant_id", "scope", "key", "request_hash", "entry_id", "created_at")

# Statements built once; SQLAlchemy caches their compiled form.
_READ_TENANT = select(
    TENANTS.c.id,
    TENANTS.c.lock_date,
    TENANTS.c.base_currency,
    TENANTS.c.journal_prefix,
    TENANTS.c.entry_seq,
).where(TENANTS.c.id == bindparam("tenant_id"))
_LOCK_TENANT = _READ_TENANT.with_for_update()
_SET_SEQ = (
    update(TENANTS).where(TENANTS.c.id == bindparam("tenant_id")).values(entry_seq=bindparam("seq"))
)
_ACCOUNT_COLUMNS = (
    ACCOUNTS.c.id,
    ACCOUNTS.c.code,
    ACCOUNTS.c.currency,
    ACCOUNTS.c.deactivated_at,
    ACCOUNTS.c.type,
    ACCOUNTS.c.limits_json,
)
_ACCOUNTS_BY_CODE = select(*_ACCOUNT_COLUMNS).where(
    ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
    ACCOUNTS.c.code.in_(bindparam("codes", expanding=True)),
)
_ACCOUNTS_BY_ID = select(*_ACCOUNT_COLUMNS).where(
    ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
    ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)),
)
_LIMITED = select(ACCOUNTS.c.id, ACCOUNTS.c.code, ACCOUNTS.c.type, ACCOUNTS.c.limits_json).where(
    ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)), ACCOUNTS.c.limits_json.is_not(None)
)
_JOURNALS = select(JOURNALS.c.code, JOURNALS.c.id).where(
    JOURNALS.c.tenant_id == bindparam("tenant_id"),
    JOURNALS.c.code.in_(bindparam("codes", expanding=True)),
)
_JOURNALS_BY_ID = select(JOURNALS.c.id, JOURNALS.c.code).where(
    JOURNALS.c.tenant_id == bindparam("tenant_id"),
    JOURNALS.c.id.in_(bindparam("ids", expanding=True)),
)
_ATTACHMENTS_BY_ID = select(ATTACHMENTS.c.id, ATTACHMENTS.c.filename).where(
    ATTACHMENTS.c.tenant_id == bindparam("tenant_id"),
    ATTACHMENTS.c.id.in_(bindparam("ids", expanding=True)),
)
_BALANCES = select(
    BALANCES.c.account_id,
    BALANCES.c.currency,
    BALANCES.c.debit_minor,
    BALANCES.c.credit_minor,
    BALANCES.c.pending_debit_minor,
    BALANCES.c.pending_credit_minor,
).where(BALANCES.c.account_id.in_(bindparam("ids", expanding=True)))
HOLD_COLUMNS = ("entry_id", "tenant_id", "status", "expires_at", "held_json", "created_at")
METADATA_COLUMNS = ("tenant_id", "key", "value", "entry_id")


# ---------------------------------------------------------------- reads


def read_tenant(conn: Connection, tenant_id: int, *, lock: bool) -> Tenant | None:
    """The tenant's row; ``lock``: under ``SELECT .. FOR UPDATE``, the first lock of every write."""
    row = conn.execute(_LOCK_TENANT if lock else _READ_TENANT, {"tenant_id": tenant_id}).first()
    if row is None:
        return None
    return Tenant(row.id, row.lock_date, row.base_currency, row.journal_prefix, row.entry_seq)


def stored_keys(
    conn: Connection, tenant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, int | None]]:
    """The stored records of ``(scope, key)`` pairs."""
    found = {
        (scope, key): (request_hash, entry_id)
        for scope, key, request_hash, entry_id in find_keys(conn, tenant_id, sorted(keys))
    }
    return {pair: found[pair] for pair in keys if pair in found}


def accounts(
    conn: Connection, tenant_id: int, inputs: Sequence[EntryInput]
) -> tuple[dict[str, AccountRef], dict[int, AccountRef]]:
    # A code no engine could store is left for ``prepare`` to refuse: PostgreSQL
    # would fail the whole query on a NUL.
    codes = {
        line.account_code
        for data in inputs
        for line in data.lines
        if line.account_code and storable(line.account_code)
    }
    codes.update(
        condition.account_code
        for data in inputs
        for condition in data.conditions
        if isinstance(condition.account_code, str) and storable(condition.account_code)
    )
    ids = {
        line.account_id
        for data in inputs
        for line in data.lines
        if line.account_id is not None and not line.account_code
    }
    by_code = accounts_by_code(conn, tenant_id, codes)
    by_id: dict[int, AccountRef] = {}
    if ids:
        for row in conn.execute(_ACCOUNTS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)}):
            by_id[row.id] = _account_ref(row)
    return by_code, by_id


def accounts_by_code(
    conn: Connection, tenant_id: int, codes: Iterable[str]
) -> dict[str, AccountRef]:
    """The tenant's accounts among ``codes`` (each one an engine can store), by code."""
    wanted = sorted(codes)
    if not wanted:
        return {}
    return {
        row.code: _account_ref(row)
        for row in conn.execute(_ACCOUNTS_BY_CODE, {"tenant_id": tenant_id, "codes": wanted})
    }


def _account_ref(row: Any) -> AccountRef:
    return AccountRef(
        row.id, row.code, row.currency, row.deactivated_at is None, row.type, row.limits_json
    )


def limited_of(refs: Iterable[AccountRef]) -> LimitedAccounts:
    """The limited accounts among ``refs``; the others cost one NULL column each."""
    return {
        ref.id: Limited(ref.code, ref.type, parse(ref.limits_json))
        for ref in refs
        if ref.limits_json is not None
    }


def limited_accounts(conn: Connection, account_ids: set[int]) -> LimitedAccounts:
    """The limited accounts among ``account_ids`` (reversals and due entries, which name
    accounts by id without planning): one statement."""
    if not account_ids:
        return {}
    return {
        row.id: Limited(row.code, row.type, parse(row.limits_json))
        for row in conn.execute(_LIMITED, {"ids": sorted(account_ids)})
    }


def journals(conn: Connection, tenant_id: int, codes: set[str]) -> dict[str, int]:
    wanted = sorted(code for code in codes if storable(code))  # the others: see accounts
    if not wanted:
        return {}
    rows = conn.execute(_JOURNALS, {"tenant_id": tenant_id, "codes": wanted})
    return {row.code: row.id for row in rows}


def journals_by_id(conn: Connection, tenant_id: int, ids: set[int]) -> dict[int, str]:
    """The codes of the tenant's journals among ``ids``; another tenant's are left out."""
    if not ids:
        return {}
    rows = conn.execute(_JOURNALS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)})
    return {row.id: row.code for row in rows}


def attachments(conn: Connection, tenant_id: int, ids: set[int]) -> dict[int, str]:
    """The filenames of the tenant's attachments among ``ids``; another tenant's are left out."""
    if not ids:
        return {}
    rows = conn.execute(_ATTACHMENTS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)})
    return {row.id: row.filename for row in rows}


def balances(conn: Connection, account_ids: set[int]) -> tuple[Totals, Totals]:
    """The posted totals of ``account_ids``, and the pending totals of their open holds
    (only the non-zero ones): one statement."""
    if not account_ids:
        return {}, {}
    posted: Totals = {}
    pending: Totals = {}
    for row in conn.execute(_BALANCES, {"ids": sorted(account_ids)}):
        pair = (row.account_id, row.currency)
        posted[pair] = [row.debit_minor, row.credit_minor]
        if row.pending_debit_minor or row.pending_credit_minor:
            pending[pair] = [row.pending_debit_minor, row.pending_credit_minor]
    return posted, pending


# ---------------------------------------------------------------- writes


def advance_seq(conn: Connection, tenant: Tenant, count: int) -> int:
    """Takes ``count`` numbers from the tenant's entry counter; the last number before them."""
    seq = tenant.entry_seq
    conn.execute(_SET_SEQ, {"tenant_id": tenant.id, "seq": seq + count})
    tenant.entry_seq = seq + count
    return seq


def write_entries(
    conn: Connection, tenant: Tenant, news: Sequence[New], today: dt.date | None = None
) -> list[EntryView]:
    """Writes checked entries with their lines, keys, events and balances; their views, in order.

    The caller holds the tenant's lock and has checked every entry. An entry whose
    accrual date is after ``today`` is written SCHEDULED: its lines, number and key,
    but no balance, day movement or event (``post_due`` adds those when it posts).
    """
    if not news:
        return []
    seq = advance_seq(conn, tenant, len(news))
    entry_ids = allocate_ids(conn, "journal_entries", len(news))
    line_ids = iter(allocate_ids(conn, "journal_lines", sum(len(n.prepared.lines) for n in news)))
    created_at = utcnow()
    created_db = db_datetime(conn, created_at)
    entry_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    key_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    hold_rows: list[tuple[Any, ...]] = []
    metadata_rows: list[tuple[Any, ...]] = []
    held: Totals = {}
    views: list[EntryView] = []
    movements = Movements()
    balances, days = movements.balances, movements.days
    extras = any(
        n.external_id is not None or n.prepared.accrual_date is not None or n.reporting is not None
        for n in news
    )
    reported_lines = extras and any(n.reporting is not None for n in news)
    attached = any(n.attachment is not None for n in news)
    for offset, (new, entry_id) in enumerate(zip(news, entry_ids, strict=True), start=1):
        prepared = new.prepared
        number = entry_number(tenant.journal_prefix, prepared.date, seq + offset)
        accrual = prepared.accrual_date
        scheduled = is_scheduled(accrual, today)
        status = SCHEDULED if scheduled else POSTED
        if new.hold:
            status, scheduled = PENDING, True  # like a scheduled entry: no posted movement
        posting_date = accrual or prepared.date
        on = db_date(conn, posting_date)
        metadata_json = None
        if new.metadata:
            metadata_json = json_text(new.metadata)
            metadata_rows += [
                (tenant.id, key, value, entry_id) for key, value in index_rows(new.metadata)
            ]
        reporting = new.reporting
        row: tuple[Any, ...] = (
            entry_id,
            tenant.id,
            new.journal_id,
            number,
            db_date(conn, prepared.date) if accrual is not None else on,
            prepared.memo,
            prepared.currency,
            status,
            new.source,
            new.idempotency_key,
            new.reversal_of_id,
            None,
            metadata_json,
            created_db,
        )
        if extras:
            row += (
                new.external_id,
                on if accrual is not None else None,
                *(
                    (
                        reporting.currency,
                        reporting.rate_text,
                        reporting.source,
                        db_date(conn, reporting.rate_date),
                    )
                    if reporting is not None
                    else _NO_EXTRAS[2:]
                ),
            )
        if attached:
            row += (new.attachment[0] if new.attachment is not None else None,)
        entry_rows.append(row)
        lines: list[LineView] = []
        for line_no, line in enumerate(prepared.lines):
            line_id = next(line_ids)
            line_row: tuple[Any, ...] = (
                line_id,
                entry_id,
                tenant.id,
                line.account_id,
                on,
                line.currency,
                line.debit_minor,
                line.credit_minor,
                line.description,
                line_no,
            )
            if reporting is None:
                if reported_lines:
                    line_row += (None, None)
                view_line = LineView(
                    line_id,
                    line.account_id,
                    line.account_code,
                    line.currency,
                    line.debit_minor,
                    line.credit_minor,
                    line.description,
                    line_no,
                )
            else:
                reported = reporting.lines[line_no]
                line_row += reported
                view_line = LineView(
                    line_id,
                    line.account_id,
                    line.account_code,
                    line.currency,
                    line.debit_minor,
                    line.credit_minor,
                    line.description,
                    line_no,
                    *reported,
                )
            line_rows.append(line_row)
            lines.append(view_line)
            if not scheduled:
                balance = balances[(line.account_id, line.currency)]
                balance[0] += line.debit_minor
                balance[1] += line.credit_minor
                day = days[(line.account_id, line.currency, posting_date)]
                day[0] += line.debit_minor
                day[1] += line.credit_minor
        if new.claim is not None:
            scope, key = new.claim
            key_rows.append((tenant.id, scope, key, new.request_hash, entry_id, created_db))
        view = EntryView(
            id=entry_id,
            tenant_id=tenant.id,
            number=number,
            date=prepared.date,
            memo=prepared.memo,
            currency=prepared.currency,
            status=status,
            source=new.source,
            journal_code=prepared.journal_code,
            idempotency_key=new.idempotency_key,
            reversal_of_id=new.reversal_of_id,
            reversed_by_id=None,
            metadata=new.metadata,
            created_at=created_at,
            lines=lines,
            external_id=new.external_id,
            accrual_date=accrual,
            reporting_currency=reporting.currency if reporting is not None else None,
            exchange_rate=reporting.rate_text if reporting is not None else None,
            rate_source=reporting.source if reporting is not None else None,
            rate_date=reporting.rate_date if reporting is not None else None,
            journal_id=new.journal_id,
            attachment_id=new.attachment[0] if new.attachment is not None else None,
            attachment_filename=new.attachment[1] if new.attachment is not None else None,
        )
        views.append(view)
        if new.hold:
            event_rows.append(
                (tenant.id, new.event_type, entry_id, entry_payload(view), created_db)
            )
            hold_rows.append(_hold_row(conn, new, view, created_db))
            for held_line in lines:
                total = held.setdefault((held_line.account_id, held_line.currency), [0, 0])
                total[0] += held_line.debit_minor
                total[1] += held_line.credit_minor
        elif not scheduled:
            event_rows.append(
                (tenant.id, new.event_type, entry_id, entry_payload(view), created_db)
            )
    entry_columns: tuple[str, ...] = (
        ENTRY_COLUMNS + ENTRY_EXTRA_COLUMNS if extras else ENTRY_COLUMNS
    ) + (ENTRY_ATTACHMENT_COLUMNS if attached else ())
    line_columns = LINE_COLUMNS + LINE_REPORTING_COLUMNS if reported_lines else LINE_COLUMNS
    insert_rows(conn, "journal_entries", entry_columns, entry_rows)
    insert_rows(conn, "journal_lines", line_columns, line_rows)
    key_rows.sort(key=lambda row: (row[1], row[2]))  # keys in sorted order: the lock order
    insert_rows(conn, "idempotency_records", KEY_COLUMNS, key_rows)
    write_events(conn, tenant.id, event_rows)
    movements.write(conn, tenant.id)
    if hold_rows:
        insert_rows(conn, "holds", HOLD_COLUMNS, hold_rows)
        add_pending(conn, tenant.id, held)
    if metadata_rows:
        insert_rows(conn, "entry_metadata", METADATA_COLUMNS, metadata_rows)
    # One event per entry posted now (not scheduled, not held).
    POSTED_ENTRIES.inc(len(event_rows) - len(hold_rows))
    POSTING_BATCH_ENTRIES.observe(len(news))
    return views


def _hold_row(conn: Connection, new: New, view: EntryView, created_db: object) -> tuple[Any, ...]:
    held = [[line.debit_minor, line.credit_minor] for line in view.lines]
    expires = db_datetime(conn, new.expires_at) if new.expires_at is not None else None
    return (view.id, view.tenant_id, PENDING, expires, json_text(held), created_db)


def claim_reversal(conn: Connection, entry_id: int) -> bool:
    """Marks a POSTED entry REVERSED; False when it is not POSTED (already reversed)."""
    claimed = conn.execute(
        update(ENTRIES)
        .where(ENTRIES.c.id == entry_id, ENTRIES.c.status == POSTED)
        .values(status=REVERSED)
        .returning(ENTRIES.c.id)
    ).first()
    return claimed is not None


def set_reversed_by(conn: Connection, entry_id: int, reversal_id: int) -> None:
    conn.execute(update(ENTRIES).where(ENTRIES.c.id == entry_id).values(reversed_by_id=reversal_id))


# ---------------------------------------------------------------- scheduled entries

_DUE_TENANTS = (
    select(ENTRIES.c.tenant_id)
    .distinct()
    .where(ENTRIES.c.status == SCHEDULED, ENTRIES.c.accrual_date <= bindparam("today"))
    .order_by(ENTRIES.c.tenant_id)
)
_DUE_ENTRIES = (
    select(ENTRIES.c.id)
    .where(
        ENTRIES.c.tenant_id == bindparam("tenant_id"),
        ENTRIES.c.status == SCHEDULED,
        ENTRIES.c.accrual_date <= bindparam("today"),
        ENTRIES.c.id > bindparam("after"),
    )
    .order_by(ENTRIES.c.id)
    .limit(bindparam("limit"))
)
_MARK_POSTED = (
    update(ENTRIES)
    .where(ENTRIES.c.id.in_(bindparam("ids", expanding=True)), ENTRIES.c.status == SCHEDULED)
    .values(status=POSTED)
)


def due_tenants(conn: Connection, today: dt.date) -> list[int]:
    """The tenants with a scheduled entry due on or before ``today``."""
    return [int(tenant_id) for tenant_id in conn.execute(_DUE_TENANTS, {"today": today}).scalars()]


def due_entries(
    conn: Connection, tenant_id: int, today: dt.date, *, after: int, limit: int
) -> list[int]:
    """The ids of the tenant's scheduled entries due by ``today`` after ``after``, at most
    ``limit``, in order."""
    return list(
        conn.execute(
            _DUE_ENTRIES, {"tenant_id": tenant_id, "today": today, "after": after, "limit": limit}
        ).scalars()
    )


def post_scheduled(conn: Connection, tenant_id: int, views: Sequence[EntryView]) -> None:
    """Posts due scheduled entries (``posting_rules.due_to_post`` chose them): one status
    update, one insert of events, one upsert of balances and of day and month movements."""
    movements = Movements()
    created_db = db_datetime(conn, utcnow())
    event_rows: list[tuple[Any, ...]] = []
    for view in views:
        movements.add(view.posting_date, view.lines)
        event_rows.append(
            (tenant_id, "journal_entry.posted", view.id, entry_payload(view), created_db)
        )
    conn.execute(_MARK_POSTED, {"ids": [view.id for view in views]})
    write_events(conn, tenant_id, event_rows)
    movements.write(conn, tenant_id)
    POSTED_ENTRIES.inc(len(views))
