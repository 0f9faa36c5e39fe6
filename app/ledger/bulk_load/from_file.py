"""Planning a file's entries straight from the parser's records (``FileEntry``), without
building the EntryInput each would be posted as: the same checks (``plain.Planner``), the
same request hash (``validation.request_digest`` of the same parts) and the same rows as
``plain.plan`` of ``importing``'s inputs for them, which a test holds equal. A tenth of an
import's time went to building those inputs only to read them back here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from app.ledger.bulk_load.plain import NotPlain, PlainBatch, PlainEntry, Planner
from app.ledger.entries import GRAPHQL_SOURCE, POSTED_EVENT
from app.ledger.errors import LedgerError
from app.ledger.ledgerfile.model import FileEntry, entry_metadata
from app.ledger.metadata import index_rows
from app.ledger.outbox import json_text
from app.ledger.validation import (
    AccountRef,
    check_key,
    check_memo,
    check_not_locked,
    request_digest,
)

_NO_PARTS: Mapping[str, str] = {}


def plan_file(
    entries: Sequence[FileEntry],
    keys: Sequence[str],
    *,
    scope: str,
    source: str,
    base_currency: str,
    lock_date: dt.date | None,
    by_code: Mapping[str, AccountRef],
) -> PlainBatch | None:
    """``plain.plan`` of the inputs ``entries`` are posted as (each with its idempotency
    key in ``keys`` and ``scope``, from ``source``), or None where it would give None."""
    if source == GRAPHQL_SOURCE:  # a client's metadata: not plain (plain._entry)
        return None
    planner = Planner(base_currency, lock_date, by_code)
    try:
        for entry, key in zip(entries, keys, strict=True):
            planner.add(_entry(entry, key, scope, source, planner))
    except (NotPlain, LedgerError):
        return None
    return planner.finish()


def _entry(entry: FileEntry, key: str, scope: str, source: str, planner: Planner) -> PlainEntry:
    if entry.hold:
        raise NotPlain
    memo = check_memo(entry.memo)
    check_not_locked(entry.date, planner.lock_date)
    currency = planner.currency(entry.currency or planner.base_currency)
    claim = (scope, check_key(key))
    # As importing._input writes them: a line in the entry's currency names none.
    raws = [
        (
            line.account,
            None if line.currency in (None, currency) else line.currency,
            line.debit,
            line.credit,
            line.description,
        )
        for line in entry.lines
    ]
    lines, texts = planner.lines(currency, raws)
    metadata = entry_metadata(entry)
    digest = request_digest(
        entry.date,
        entry.memo,
        currency,
        None,
        source,
        metadata,
        _NO_PARTS,
        [
            (code, None, line_currency, debit, credit, text)
            for code, line_currency, debit, credit, text in raws
        ],
    )
    return PlainEntry(
        date=entry.date,
        memo=memo,
        currency=currency,
        lines=lines,
        source=source,
        event_type=POSTED_EVENT,
        idempotency_key=key,
        claim=claim,
        request_hash=digest,
        metadata=metadata,
        metadata_json=json_text(metadata) if metadata else None,
        metadata_rows=index_rows(metadata),
        line_texts=texts,
    )
