"""What an exported entry's stored metadata says beyond its rows, and the ``FileEntry``
its rows stand for (what ``Writer.entry`` writes; ``Writer.page`` writes the same text
from the rows)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.ledger.ledgerfile.metadata_text import client_metadata
from app.ledger.ledgerfile.model import FileEntry, FileLine, marks_of
from app.ledger.ledgerfile.rows import HELD, EntryRow, LineRow
from app.ledger.money import from_minor


@dataclass(frozen=True)
class EntryNotes:
    """What an entry's stored metadata says beyond its rows: the client's metadata and
    the hledger marks and comment kept by model.metadata_of."""

    metadata: dict[str, Any] | None = None
    status: str | None = None
    comment: str | None = None
    posting_marks: Sequence[str] = ()

    def posting_mark(self, index: int) -> str | None:
        """The status mark of the entry's line ``index``, None when it has none."""
        marks = self.posting_marks
        return (marks[index] or None) if index < len(marks) else None


NO_NOTES = EntryNotes()


def notes_of(metadata_json: str | None) -> EntryNotes:
    """The notes of an entry's stored metadata (its numbers exact, as stored)."""
    if not metadata_json:
        return NO_NOTES
    stored = json.loads(metadata_json, parse_float=Decimal)
    status, comment, marks = marks_of(stored)
    return EntryNotes(client_metadata(stored), status, comment, marks)


def file_entry(
    row: EntryRow, lines: Sequence[LineRow], codes: Mapping[int, str], expires: dt.datetime | None
) -> FileEntry:
    """The ``FileEntry`` of an entry's rows (what ``Writer.entry`` writes)."""
    _, date, memo, currency, status, external_id, metadata_json = row
    notes = notes_of(metadata_json)
    return FileEntry(
        metadata=notes.metadata,
        line=0,
        date=dt.date.fromisoformat(date),
        memo=memo,
        currency=currency,
        external_id=external_id,
        status=notes.status,
        comment=notes.comment,
        hold=status == HELD,
        expires_at=expires if status == HELD else None,
        lines=[
            FileLine(
                account=codes[account_id],
                debit=from_minor(debit, line_currency) if debit else None,
                credit=from_minor(credit, line_currency) if credit else None,
                currency=line_currency,
                description=description,
                status=notes.posting_mark(index),
            )
            for index, (_, account_id, line_currency, debit, credit, description) in enumerate(
                lines
            )
        ],
    )
