"""Planning a bulk batch in memory, before any lock: every entry proven to pass, as rows.

``plan`` takes the batch's inputs and either proves that each one passes every rule
of a posting (``validation.prepare`` and ``posting_rules.check``) and converts it to
the values its rows hold, or gives up (None) at the first input it cannot prove:
a refused one, and also one that needs a part of the write path this plan does not
model (a hold, a scheduled accrual, a reporting currency, a journal other than the
default, an attachment, balance conditions, an account with balance limits, a
client's GraphQL metadata). It never words a refusal: the caller then hands the batch
to the general write path, which refuses (or accepts) with its usual messages.

Its checks call the same rules as ``prepare`` where a rule is a function (texts,
dates and the lock date, currencies); the amount conversion is ``money.to_minor``'s,
done on Decimals in one step (the file parsers give Decimals).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

import orjson

from app.ledger.entries import (
    GRAPHQL_SOURCE,
    MAX_DESCRIPTION,
    MAX_LINES,
    EntryInput,
)
from app.ledger.errors import LedgerError
from app.ledger.metadata import index_rows
from app.ledger.money import MAX_MINOR, check_currency, exponent
from app.ledger.outbox import json_text, line_document
from app.ledger.posting_rules import claim_of
from app.ledger.text import check_lookup, check_optional_text
from app.ledger.validation import AccountRef, check_memo, check_not_locked, request_hash
from db.bulk import let_others_run

_EXACT = Context(prec=80)
# Planning yields to the event loop this often (on PostgreSQL it runs on the loop while
# the chunk before is written), so that write sends its next statement without waiting
# for the whole plan (100,000 entries on PostgreSQL: 17.1 s; 18.2 s every 100 entries).
_SLICE = 20
# How a line document with id 0 starts: cut off, it leaves the rest of the line's JSON.
_NO_ID = b'{"id":0,'  # as money._EXACT: no amount below 2^63 minor units is rounded

# (account id, account code, currency, debit minor, credit minor, description)
PlainLine = tuple[int, str, str, int, int, str | None]


@dataclass
class PlainEntry:
    """One input as its rows will hold it (ids and number are given under the lock)."""

    date: dt.date
    memo: str
    currency: str
    lines: list[PlainLine]
    source: str
    event_type: str
    idempotency_key: str | None
    claim: tuple[str, str] | None
    request_hash: str | None
    metadata: Mapping[str, Any] | None
    metadata_json: str | None
    metadata_rows: list[tuple[str, str]]
    # Each line's document in the entry's event (outbox.line_document) but its id, as
    # JSON after the opening brace: the write puts the id in front (store.py).
    line_texts: list[bytes]


@dataclass
class PlainBatch:
    """A batch every input of which passes: its entries, in order, and what they move."""

    entries: list[PlainEntry]
    # (account id, currency) -> [debits, credits] of the whole batch: the overflow check,
    # and what the running balances move by.
    moved: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    # (account id, currency, day) -> [debits, credits]: what the day roll-ups move by.
    days: dict[tuple[int, str, dt.date], list[int]] = field(default_factory=dict)
    lines: int = 0

    @property
    def account_ids(self) -> set[int]:
        return {account_id for account_id, _ in self.moved}


class _NotPlain(Exception):
    """This input is not proven here; the general write path decides it."""


def plan(
    inputs: Sequence[EntryInput],
    *,
    base_currency: str,
    lock_date: dt.date | None,
    by_code: Mapping[str, AccountRef],
) -> PlainBatch | None:
    """The batch as rows if every input passes and is plain (module docstring), else None."""
    batch = PlainBatch([])
    scales: dict[str, int] = {}
    claims: set[tuple[str, str]] = set()
    # Each code's account, its text checked once per batch rather than once per line.
    named: dict[str, AccountRef | None] = {}
    try:
        for index, data in enumerate(inputs, start=1):
            if index % _SLICE == 0:
                let_others_run()
            entry = _entry(data, base_currency, lock_date, by_code, named, scales)
            if entry.claim is not None:
                if entry.claim in claims:  # a replay within the batch: the general path's
                    raise _NotPlain
                claims.add(entry.claim)
            moved, days, date = batch.moved, batch.days, entry.date
            for account_id, _, currency, debit, credit, _ in entry.lines:
                total = moved.get((account_id, currency))
                if total is None:
                    moved[(account_id, currency)] = [debit, credit]
                else:
                    total[0] += debit
                    total[1] += credit
                day = days.get((account_id, currency, date))
                if day is None:
                    days[(account_id, currency, date)] = [debit, credit]
                else:
                    day[0] += debit
                    day[1] += credit
            batch.lines += len(entry.lines)
            batch.entries.append(entry)
    except (_NotPlain, LedgerError):
        return None
    return batch


def _entry(
    data: EntryInput,
    base_currency: str,
    lock_date: dt.date | None,
    by_code: Mapping[str, AccountRef],
    named: dict[str, AccountRef | None],
    scales: dict[str, int],
) -> PlainEntry:
    if (
        data.hold
        or data.accrual_date is not None
        or data.reporting_currency is not None
        or data.journal_id is not None
        or data.journal_code is not None
        or data.attachment_id is not None
        or data.conditions
        or (data.metadata and data.source == GRAPHQL_SOURCE)
        or not 2 <= len(data.lines) <= MAX_LINES
    ):
        raise _NotPlain
    memo = check_memo(data.memo)
    check_not_locked(data.date, lock_date)
    currency = check_currency(data.currency or base_currency)
    claim = claim_of(data)
    lines: list[PlainLine] = []
    debits: dict[str, int] = {}
    credits: dict[str, int] = {}
    for raw in data.lines:
        line_currency = currency if raw.currency is None else check_currency(raw.currency)
        code = raw.account_code
        if not code or raw.account_id is not None:
            raise _NotPlain
        if code in named:
            account = named[code]
        else:
            account = named[code] = by_code.get(check_lookup(code, field="accountCode"))
        if (
            account is None
            or not account.active
            or account.limits_json is not None
            or (account.currency and account.currency != line_currency)
        ):
            raise _NotPlain
        scale = scales.get(line_currency)
        if scale is None:
            scale = scales[line_currency] = exponent(line_currency)
        if raw.credit is None:
            debit, credit = _minor(raw.debit, scale), 0
            debits[line_currency] = debits.get(line_currency, 0) + debit
        elif raw.debit is None:
            debit, credit = 0, _minor(raw.credit, scale)
            credits[line_currency] = credits.get(line_currency, 0) + credit
        else:
            raise _NotPlain
        description = raw.description
        if description is not None:
            description = check_optional_text(
                description, field="description", max_length=MAX_DESCRIPTION
            )
        lines.append((account.id, account.code, line_currency, debit, credit, description))
    if debits != credits or max(debits.values()) > MAX_MINOR:
        raise _NotPlain
    metadata = data.metadata or None
    return PlainEntry(
        date=data.date,
        memo=memo,
        currency=currency,
        lines=lines,
        source=data.source,
        event_type=data.event_type,
        idempotency_key=data.idempotency_key,
        claim=claim,
        request_hash=request_hash(data) if claim is not None else None,
        metadata=metadata,
        metadata_json=json_text(metadata) if metadata else None,
        metadata_rows=index_rows(metadata),
        line_texts=[
            orjson.dumps(line_document(0, code, currency, debit, credit, description))[
                len(_NO_ID) :
            ]
            for _, code, currency, debit, credit, description in lines
        ],
    )


def _minor(value: object, scale: int) -> int:
    """``money.to_minor`` of a Decimal side (the file parsers' type): positive, exact, below
    2^63; anything else is left to the general path."""
    if type(value) is not Decimal or not value > 0:
        raise _NotPlain
    scaled = value.scaleb(scale, context=_EXACT)
    minor = int(scaled)
    if minor != scaled or minor > MAX_MINOR:
        raise _NotPlain
    return minor
