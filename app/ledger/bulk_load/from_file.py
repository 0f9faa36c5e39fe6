"""Planning a file's entries straight from the parser's records (``FileEntry``, or a
journal's ``PlainRecord``), without building the EntryInput each would be posted as: the
same checks (``plain.Planner``), the same request hash (``validation.request_digest`` of
the same parts) and the same rows as ``plain.plan`` of ``importing``'s inputs for them,
which tests hold equal (for a record: to the plan of its ``to_file_entry``). A tenth of an
import's time went to building those inputs only to read them back here; a record's
amounts are integers already, converted and hashed without a Decimal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence

import orjson

from app.ledger.bulk_load.plain import (
    NotPlain,
    PlainBatch,
    PlainEntry,
    PlainLine,
    Planner,
    RecordKind,
    check_balanced,
    minor_text,
    scaled_minor,
)
from app.ledger.entries import GRAPHQL_SOURCE, MAX_LINES, POSTED_EVENT
from app.ledger.errors import LedgerError
from app.ledger.ledgerfile.journal_plain import PlainPosting, PlainRecord
from app.ledger.ledgerfile.model import FileEntry, entry_metadata, journal_notes, with_notes
from app.ledger.metadata import index_rows
from app.ledger.outbox import json_text
from app.ledger.validation import (
    AccountRef,
    check_key,
    check_memo,
    check_not_locked,
    minor_key,
    request_digest,
)

_NO_PARTS: Mapping[str, str] = {}


def plan_file(
    entries: Sequence[FileEntry | PlainRecord],
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
            if type(entry) is PlainRecord:
                planner.add(_from_record(entry, key, scope, source, planner))
            else:
                assert isinstance(entry, FileEntry)
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
    return _posted(entry.date, memo, currency, lines, texts, source, key, claim, digest, metadata)


def accounts_named(entries: Sequence[FileEntry | PlainRecord]) -> set[str]:
    """The account codes ``entries`` name, each once (one comprehension over the whole
    chunk: a set updated per entry took three times as long)."""
    named = {
        posting[0]
        for entry in entries
        if isinstance(entry, PlainRecord)
        for posting in entry.postings
    }
    named.update(
        line.account
        for entry in entries
        if not isinstance(entry, PlainRecord)
        for line in entry.lines
    )
    return named


def _from_record(
    record: PlainRecord, key: str, scope: str, source: str, planner: Planner
) -> PlainEntry:
    """``_entry`` of ``to_file_entry(record)``, on the record's integer amounts."""
    memo = check_memo(record.memo)
    check_not_locked(record.date, planner.lock_date)
    currency = planner.currency(record.currency or planner.base_currency)
    claim = (scope, check_key(key))
    lines, texts, hashed = _record_lines(planner, currency, record.postings)
    metadata = None
    if record.status or record.comment or record.metadata:
        notes = journal_notes(record.status, record.comment, [])
        metadata = with_notes(record.metadata, notes)
    # The canonical JSON written here hashes no metadata: a record's notes (its status and
    # comment) are annotations the hash leaves out, its tags are not (request_digest's).
    digest = None if record.metadata else _canonical_digest(record, currency, source, hashed)
    if digest is None:
        scales = planner.scales
        # As importing._input writes them: a line in the entry's currency names none.
        keyed = [
            (
                posting[0],
                None,
                None if line_currency == currency else line_currency,
                minor_key(debit, scales[line_currency]),
                minor_key(credit, scales[line_currency]),
                None,
            )
            for posting, (_, _, line_currency, debit, credit, _) in zip(
                record.postings, lines, strict=True
            )
        ]
        digest = request_digest(
            record.date, record.memo, currency, None, source, metadata, _NO_PARTS, keyed, keyed=True
        )
    return _posted(record.date, memo, currency, lines, texts, source, key, claim, digest, metadata)


def _record_lines(
    planner: Planner, currency: str, postings: Sequence[PlainPosting]
) -> tuple[list[PlainLine], list[bytes], bytes]:
    """``Planner.lines`` of a record's postings (signed integer amounts, no description),
    with the same checks, and the lines' part of the request hash's canonical JSON
    (``_canonical_digest``), both made in the one pass: the lines, their amount keys
    (``validation.minor_key``) and that JSON in three passes were a third of the plan."""
    if not 2 <= len(postings) <= MAX_LINES:
        raise NotPlain
    lines: list[PlainLine] = []
    texts: list[bytes] = []
    hashed: list[bytes] = []
    debits: dict[str, int] = {}
    credits: dict[str, int] = {}
    kinds = planner.record_kinds
    for code, posting_currency, value, places, _ in postings:
        kind = kinds.get((code, posting_currency, currency))
        if kind is None:
            kind = _record_kind(planner, code, posting_currency, currency)
        account_id, account_code, line_currency, scale, prefix, zero, head = kind
        minor = scaled_minor(-value if value < 0 else value, places, scale)
        amount = minor_text(minor, scale) if minor else zero
        if value > 0:
            debits[line_currency] = debits.get(line_currency, 0) + minor
            lines.append((account_id, account_code, line_currency, minor, 0, None))
            texts.append(
                b'%b,"debit":"%b","credit":"%b","description":null}' % (prefix, amount, zero)
            )
            hashed.append(b'%b"%b",null,null]' % (head, _key_text(amount, minor, scale)))
        else:
            credits[line_currency] = credits.get(line_currency, 0) + minor
            lines.append((account_id, account_code, line_currency, 0, minor, None))
            texts.append(
                b'%b,"debit":"%b","credit":"%b","description":null}' % (prefix, zero, amount)
            )
            hashed.append(b"%bnull,%b,null]" % (head, _quoted_key(amount, minor, scale)))
    check_balanced(debits, credits)
    return lines, texts, b",".join(hashed)


def _record_kind(planner: Planner, code: str, posting_currency: str, currency: str) -> RecordKind:
    line_currency = currency if posting_currency == currency else planner.currency(posting_currency)
    account, scale, prefix = planner.line_kind(code, line_currency)
    assert account.id is not None
    head = b"[%b,null,%b," % (
        orjson.dumps(code),
        b"null" if line_currency == currency else orjson.dumps(line_currency),
    )
    zero = planner.amount_text(0, line_currency, scale)
    kind = (account.id, account.code, line_currency, scale, prefix, zero, head)
    planner.record_kinds[(code, posting_currency, currency)] = kind
    return kind


def _key_text(amount: bytes, minor: int, scale: int) -> bytes:
    """``validation.minor_key`` of a positive amount, from its ``amount`` text: its
    fraction without trailing zeros, and an integer ending in 0 in Decimal's exponent
    form (minor_key's own turn, seldom)."""
    if scale:
        amount = amount.rstrip(b"0")
        if amount[-1] != _POINT:
            return amount
        amount = amount[:-1]
    if amount[-1] != _ZERO_DIGIT:
        return amount
    key = minor_key(minor, scale)
    assert key is not None
    return key.encode()


def _quoted_key(amount: bytes, minor: int, scale: int) -> bytes:
    return b'"%b"' % _key_text(amount, minor, scale) if minor else b"null"


_POINT = ord(".")
_ZERO_DIGIT = ord("0")


def _posted(
    date: dt.date,
    memo: str,
    currency: str,
    lines: list[PlainLine],
    texts: list[bytes],
    source: str,
    key: str,
    claim: tuple[str, str],
    digest: str,
    metadata: Mapping[str, object] | None,
) -> PlainEntry:
    """The planned entry of a file's entry or record, posted as an import is."""
    return PlainEntry(
        date=date,
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


# validation.request_digest's canonical JSON (sorted keys, no spaces) for a record, written
# straight: a record has no journal, no optional part, no description, and its metadata
# (an hledger status) is an annotation the hash leaves out. The plan of its entry, whose
# hash request_digest makes, is held equal to it by tests.
_DIGESTED = (
    b'{"currency":%b,"date":"%b","journal":null,"lines":[%b],"memo":%b,"metadata":null,"source":%b}'
)


def _canonical_digest(record: PlainRecord, currency: str, source: str, lines: bytes) -> str | None:
    """``request_digest`` of the record, its lines' part of the JSON given (``_record_lines``),
    or None where its text is not printable ASCII (then the JSON encoder's escapes make
    the canonical text: request_digest's turn)."""
    document = _DIGESTED % (
        orjson.dumps(currency),
        record.date.isoformat().encode(),
        lines,
        orjson.dumps(record.memo.strip()),
        orjson.dumps(source),
    )
    if not document.isascii() or b"\x7f" in document:
        return None
    return hashlib.sha256(document).hexdigest()
