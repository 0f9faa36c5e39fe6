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
from app.ledger.money import MAX_MINOR, check_currency, exponent, format_minor
from app.ledger.outbox import json_text
from app.ledger.posting_rules import claim_of
from app.ledger.text import check_lookup, check_optional_text
from app.ledger.validation import AccountRef, check_memo, check_not_locked, request_hash
from db.bulk import let_others_run

_EXACT = Context(prec=80)  # as money._EXACT: no amount below 2^63 minor units is rounded
# Planning yields to the event loop this often (on PostgreSQL it runs on the loop while
# the chunk before is written), so that write sends its next statement without waiting
# for the whole plan (100,000 entries on PostgreSQL: 17.1 s; 18.2 s every 100 entries).
_SLICE = 20
_POWERS = [10**digits for digits in range(19)]

# (account id, account code, currency, debit minor, credit minor, description)
PlainLine = tuple[int, str, str, int, int, str | None]
# What a journal record's posting of an account code in a currency, in an entry of a
# currency, is planned as (from_file._record_kind): the account's id and code, the line's
# currency and its scale, the start of its event document (``line_kind``), that
# currency's zero as the document writes it, and the start of its line in the request
# hash's canonical JSON (its code, and its currency or null where the entry's).
RecordKind = tuple[int, str, str, int, bytes, bytes, bytes]


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


class NotPlain(Exception):
    """This input is not proven here; the general write path decides it."""


class Planner:
    """Builds a PlainBatch entry by entry, with the checks every kind of input shares:
    currencies, accounts, amounts, texts, balance per currency; ``NotPlain`` (or the rule's
    LedgerError) at the first entry it cannot prove. Each code, currency and scale is
    checked once per batch rather than once per line."""

    def __init__(
        self,
        base_currency: str,
        lock_date: dt.date | None,
        by_code: Mapping[str, AccountRef],
    ) -> None:
        self.base_currency = base_currency
        self.lock_date = lock_date
        self.by_code = by_code
        self.batch = PlainBatch([])
        self.currencies: dict[str, str] = {}
        self.scales: dict[str, int] = {}
        self.claims: set[tuple[str, str]] = set()
        # What ``line_kind`` found per (code, currency), and each currency's zero as
        # outbox.line_document writes it: many lines share them.
        self.kinds: dict[tuple[str | None, str], tuple[AccountRef, int, bytes]] = {}
        self.zeros: dict[str, bytes] = {}
        # The same for a journal record's postings (from_file._record_kind).
        self.record_kinds: dict[tuple[str, str, str], RecordKind] = {}

    def currency(self, code: str) -> str:
        checked = self.currencies.get(code)
        if checked is None:
            checked = self.currencies[code] = check_currency(code)
        return checked

    def lines(
        self,
        currency: str,
        raws: Sequence[tuple[str | None, str | None, object, object, str | None]],
    ) -> tuple[list[PlainLine], list[bytes]]:
        """``raws`` (account code, currency or None for the entry's, debit, credit,
        description) as plain lines and their event documents; NotPlain unless each names
        an active, unlimited account of its currency, has one positive exact side, and the
        entry balances per currency."""
        if not 2 <= len(raws) <= MAX_LINES:
            raise NotPlain
        lines: list[PlainLine] = []
        texts: list[bytes] = []
        debits: dict[str, int] = {}
        credits: dict[str, int] = {}
        for code, raw_currency, raw_debit, raw_credit, description in raws:
            line_currency = currency if raw_currency is None else self.currency(raw_currency)
            account, scale, prefix = self.line_kind(code, line_currency)
            if raw_credit is None:
                debit, credit = _decimal_minor(raw_debit, scale), 0
                debits[line_currency] = debits.get(line_currency, 0) + debit
            elif raw_debit is None:
                debit, credit = 0, _decimal_minor(raw_credit, scale)
                credits[line_currency] = credits.get(line_currency, 0) + credit
            else:
                raise NotPlain
            if description is not None:
                description = check_optional_text(
                    description, field="description", max_length=MAX_DESCRIPTION
                )
            lines.append((account.id, account.code, line_currency, debit, credit, description))
            texts.append(
                b'%b,"debit":"%b","credit":"%b","description":%b}'
                % (
                    prefix,
                    self.amount_text(debit, line_currency, scale),
                    self.amount_text(credit, line_currency, scale),
                    b"null" if description is None else orjson.dumps(description),
                )
            )
        check_balanced(debits, credits)
        return lines, texts

    def line_kind(self, code: str | None, currency: str) -> tuple[AccountRef, int, bytes]:
        """The account ``code`` names for a line in ``currency``, the currency's scale and
        the start of the line's document in the entry's event (``line_document``'s JSON
        after ``{"id":N,``: orjson of a dict per line was a tenth of the plan); NotPlain
        unless the account is active, unlimited and of that currency. Once per batch."""
        kind = self.kinds.get((code, currency))
        if kind is not None:
            return kind
        if not code:
            raise NotPlain
        account = self.by_code.get(check_lookup(code, field="accountCode"))
        if (
            account is None
            or not account.active
            or account.limits_json is not None
            or (account.currency and account.currency != currency)
        ):
            raise NotPlain
        scale = self.scales.get(currency)
        if scale is None:
            scale = self.scales[currency] = exponent(currency)
        prefix = b'"account_code":%b,"currency":"%b"' % (
            orjson.dumps(account.code),
            currency.encode(),
        )
        kind = self.kinds[(code, currency)] = (account, scale, prefix)
        return kind

    def amount_text(self, minor: int, currency: str, scale: int) -> bytes:
        """``money.format_minor`` of a side (0, or positive) as bytes, its zero (every line's
        empty side) cached and the currency's ``scale`` already known."""
        if minor == 0:
            zero = self.zeros.get(currency)
            if zero is None:
                zero = self.zeros[currency] = format_minor(0, currency).encode()
            return zero
        return minor_text(minor, scale)

    def add(self, entry: PlainEntry) -> None:
        """Counts ``entry`` into the batch: its claim, and what it moves per account and day."""
        if self.batch.entries and len(self.batch.entries) % _SLICE == 0:
            let_others_run()
        if entry.claim is not None:
            if entry.claim in self.claims:  # a replay within the batch: the general path's
                raise NotPlain
            self.claims.add(entry.claim)
        batch = self.batch
        days, date = batch.days, entry.date
        for account_id, _, currency, debit, credit, _ in entry.lines:
            day = days.get((account_id, currency, date))
            if day is None:
                days[(account_id, currency, date)] = [debit, credit]
            else:
                day[0] += debit
                day[1] += credit
        batch.lines += len(entry.lines)
        batch.entries.append(entry)

    def finish(self) -> PlainBatch:
        """The batch, with what it moves per account (the sum of its days: far fewer
        than its lines)."""
        moved = self.batch.moved
        for (account_id, currency, _), (debit, credit) in self.batch.days.items():
            total = moved.get((account_id, currency))
            if total is None:
                moved[(account_id, currency)] = [debit, credit]
            else:
                total[0] += debit
                total[1] += credit
        return self.batch


def plan(
    inputs: Sequence[EntryInput],
    *,
    base_currency: str,
    lock_date: dt.date | None,
    by_code: Mapping[str, AccountRef],
) -> PlainBatch | None:
    """The batch as rows if every input passes and is plain (module docstring), else None."""
    planner = Planner(base_currency, lock_date, by_code)
    try:
        for data in inputs:
            planner.add(_entry(data, planner))
    except (NotPlain, LedgerError):
        return None
    return planner.finish()


def _entry(data: EntryInput, planner: Planner) -> PlainEntry:
    if (
        data.hold
        or data.accrual_date is not None
        or data.reporting_currency is not None
        or data.journal_id is not None
        or data.journal_code is not None
        or data.attachment_id is not None
        or data.conditions
        or (data.metadata and data.source == GRAPHQL_SOURCE)
        or any(line.account_id is not None for line in data.lines)
    ):
        raise NotPlain
    memo = check_memo(data.memo)
    check_not_locked(data.date, planner.lock_date)
    currency = planner.currency(data.currency or planner.base_currency)
    claim = claim_of(data)
    lines, texts = planner.lines(
        currency,
        [
            (line.account_code, line.currency, line.debit, line.credit, line.description)
            for line in data.lines
        ],
    )
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
        line_texts=texts,
    )


def minor_text(minor: int, scale: int) -> bytes:
    """``money.format_minor`` of a positive amount as bytes, its currency's ``scale`` known."""
    if scale == 0:
        return b"%d" % minor
    whole, fraction = divmod(minor, _POWERS[scale])
    return b"%d.%0*d" % (whole, scale, fraction)


def check_balanced(debits: dict[str, int], credits: dict[str, int]) -> None:
    if debits != credits or max(debits.values()) > MAX_MINOR:
        raise NotPlain


def scaled_minor(digits: int, places: int, scale: int) -> int:
    """``digits`` / 10**``places`` (positive) in minor units at ``scale``, if exact and below
    2^63 (``_decimal_minor`` of the same amount as a Decimal): a journal record's amount."""
    if places <= scale:
        minor: int = digits * 10 ** (scale - places)
    else:
        minor, rest = divmod(digits, 10 ** (places - scale))
        if rest:
            raise NotPlain
    if minor > MAX_MINOR:
        raise NotPlain
    return minor


def _decimal_minor(value: object, scale: int) -> int:
    """``money.to_minor`` of a Decimal side (the file parsers' type): positive, exact, below
    2^63; anything else is left to the general path."""
    if type(value) is not Decimal or not value > 0:
        raise NotPlain
    scaled = value.scaleb(scale, context=_EXACT)
    minor = int(scaled)
    if minor != scaled or minor > MAX_MINOR:
        raise NotPlain
    return minor
