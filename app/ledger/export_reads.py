"""Reading a page of entries for an export, straight into the files' records (``FileEntry``).

An export reads every entry of the books once and keeps nothing: it needs neither the
``EntryView`` of an entry (its journal, attachment, reporting amounts, timestamps) nor
SQLAlchemy's per-row typing. Two statements per page, sent as plain SQL with the
driver's own values: the page's entries in (date, id) order after the last one read,
then their lines with their account codes. 5,000 entries a page: a page's rows stay a
few MiB, and the statements' cost is shared by many entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from app.ledger.entry_reads import read_metadata
from app.ledger.importing import IMPORT_SOURCE
from app.ledger.ledgerfile import FileEntry, FileLine
from app.ledger.ledgerfile.metadata_text import client_metadata
from app.ledger.ledgerfile.model import marks_of
from app.ledger.money import from_minor

# A hold still pending, written by the formats that can say so (JSON Lines' "hold").
HELD = "PENDING"
_ENTRY_COLUMNS = "id, date, memo, currency, status, source, idempotency_key, number, metadata_json"


# (id, date): where the next page starts.
Cursor = tuple[int, Any] | None


def external_id_of(source: str, idempotency_key: str | None, number: str) -> str:
    """The id written for an entry: its import key when it came from a file, else its number.

    Importing the export again, here or into another tenant, then finds the same
    ids, so a second export is the same text and a rerun posts nothing twice.
    """
    if source == IMPORT_SOURCE and idempotency_key:
        return idempotency_key
    return number


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def read_page(
    conn: Connection,
    tenant_id: int,
    statuses: Sequence[str],
    after: Cursor,
    size: int,
) -> list[tuple[int, Any, str, FileEntry]]:
    """Up to ``size`` entries after ``after`` in (date, id) order: (id, date as stored,
    status, the entry as a file gives it; a hold's ``expires_at`` is filled in later)."""
    postgres = conn.dialect.name == "postgresql"

    def marks(n: int) -> str:
        return f"${n}" if postgres else "?"

    status_marks = ", ".join(marks(n) for n in range(2, 2 + len(statuses)))
    params: list[Any] = [tenant_id, *statuses]
    where = f"tenant_id = {marks(1)} AND status IN ({status_marks})"
    if after is not None:
        first = 2 + len(statuses)
        where += f" AND (date, id) > ({marks(first)}, {marks(first + 1)})"
        params += [after[1], after[0]]
    entries = conn.exec_driver_sql(
        f"SELECT {_ENTRY_COLUMNS} FROM journal_entries WHERE {where} "
        f"ORDER BY date, id LIMIT {int(size)}",
        tuple(params),
    ).all()
    if not entries:
        return []
    ids = [row[0] for row in entries]
    lines = _lines(conn, ids, postgres)
    page = []
    for entry_id, on, memo, currency, status, source, key, number, metadata_json in entries:
        metadata = read_metadata(metadata_json)
        mark, comment, posting_marks = marks_of(metadata)
        file_lines = [
            FileLine(
                account=code,
                debit=from_minor(debit, line_currency) if debit else None,
                credit=from_minor(credit, line_currency) if credit else None,
                currency=line_currency,
                description=description,
                status=posting_marks[index] or None if index < len(posting_marks) else None,
            )
            for index, (code, line_currency, debit, credit, description) in enumerate(
                lines[entry_id]
            )
        ]
        entry = FileEntry(
            metadata=client_metadata(metadata),
            line=0,
            date=_date(on),
            memo=memo,
            currency=currency,
            external_id=external_id_of(source, key, number),
            status=mark,
            comment=comment,
            hold=status == HELD,
            lines=file_lines,
        )
        page.append((entry_id, on, status, entry))
    return page


def _lines(
    conn: Connection, ids: list[int], postgres: bool
) -> dict[int, list[tuple[str, str, int, int, str | None]]]:
    """The lines of entries ``ids``, in line order, with their account codes."""
    select = (
        "SELECT l.entry_id, a.code, l.currency, l.debit_minor, l.credit_minor, l.description "
        "FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE "
    )
    order = " ORDER BY l.entry_id, l.line_no"
    if postgres:
        rows = conn.exec_driver_sql(select + "l.entry_id = ANY($1::bigint[])" + order, (ids,)).all()
    else:
        rows = conn.exec_driver_sql(
            select + f"l.entry_id IN ({', '.join('?' * len(ids))})" + order, tuple(ids)
        ).all()
    found: dict[int, list[tuple[str, str, int, int, str | None]]] = defaultdict(list)
    for entry_id, code, currency, debit, credit, description in rows:
        found[entry_id].append((code, currency, debit, credit, description))
    return found
