"""The rules an entry must meet, checked in memory before anything is written.

Everything here is pure: the accounts an entry names are looked up by the
caller once per batch and passed in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from app.ledger.entries import (
    MAX_DATE,
    MAX_DESCRIPTION,
    MAX_EXTERNAL_ID,
    MAX_KEY,
    MAX_LINES,
    MAX_MEMO,
    MIN_DATE,
    EntryInput,
    LineInput,
)
from app.ledger.errors import BadInput, LedgerError, NotFound
from app.ledger.metadata import DIALECT_KEYS, indexed_value
from app.ledger.money import MAX_MINOR, check_currency, format_minor, parse_decimal, to_minor
from app.ledger.text import check_lookup, check_optional_text, check_text

MAX_ID = 2**63 - 1
# An id in its one canonical spelling: ASCII digits, no sign, space, "_" or leading
# zero (int() would take " 3 ", "1_0" and "٣"). "0" and "-5" pass the pattern only
# so that they are refused as out of range, which is what they are.
_ID = re.compile(r"0|-?[1-9][0-9]{0,24}")


@dataclass(frozen=True)
class AccountRef:
    """What posting needs to know of an account."""

    id: int
    code: str
    currency: str | None
    active: bool
    type: str = ""
    # Its balance limits as stored (limits.parse), None for an unlimited account.
    limits_json: str | None = None


@dataclass(frozen=True)
class PreparedLine:
    account_id: int
    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int
    description: str | None


@dataclass(frozen=True)
class Prepared:
    """An entry that passed every check, amounts in minor units."""

    date: dt.date
    memo: str
    currency: str
    journal_code: str
    lines: list[PreparedLine]
    accrual_date: dt.date | None = None
    reporting_currency: str | None = None

    @property
    def posting_date(self) -> dt.date:
        """The day the entry moves balances (and dates its lines): its accrual date if any."""
        return self.accrual_date or self.date


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_id(value: object, *, field: str = "id", what: str = "id") -> int:
    """A record id: a positive 64-bit integer, from an int or its canonical decimal string."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    if number is None:
        raise BadInput(
            f"{what} must be an integer written in ASCII digits, got {_show(value)}", field=field
        )
    if not 0 < number <= MAX_ID:
        raise BadInput(
            f"{what} {number} is out of range: ids are positive 64-bit integers (1 to 2^63-1)",
            field=field,
        )
    return number


def check_memo(memo: str | None) -> str:
    return check_text(memo or "", field="memo", max_length=MAX_MEMO)


def check_key(key: str) -> str:
    # Kept as sent (not stripped): a key is compared, never shown.
    return check_text(
        key, field="idempotencyKey", what="idempotency key", max_length=MAX_KEY, strip=False
    )


def check_external_id(external_id: str) -> str:
    # Kept as sent, like an idempotency key: it is one.
    return check_text(
        external_id,
        field="externalId",
        what="external id",
        max_length=MAX_EXTERNAL_ID,
        strip=False,
    )


def check_date(on: object, field: str = "date") -> dt.date:
    """``on`` if it is a date the ledger takes (MIN_DATE to MAX_DATE), else BadInput."""
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise BadInput("date must be a date (YYYY-MM-DD)", field=field)
    if not MIN_DATE <= on <= MAX_DATE:
        raise BadInput(
            f"date {on.isoformat()} is outside the ledger's range "
            f"({MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})",
            field=field,
        )
    return on


def check_not_locked(on: dt.date, lock_date: dt.date | None, field: str = "date") -> None:
    """The rules of a posting date: within the ledger's range, after the books' lock date."""
    check_date(on, field)
    if lock_date is not None and on <= lock_date:
        raise BadInput(
            f"the books are locked up to {lock_date.isoformat()}: cannot post on {on.isoformat()}",
            field=field,
        )


def _side(value: object, currency: str, field: str) -> int:
    """Minor units of one side of a line; 0 when absent, empty or zero (as accountants write)."""
    if value is None or value == "":
        return 0
    try:
        return to_minor(value, currency, allow_zero=True)
    except LedgerError as error:
        raise error.at(field) from None


def _line_amounts(line: LineInput, currency: str) -> tuple[int, int]:
    # The absent side, on every line, costs no call.
    debit = 0 if line.debit is None else _side(line.debit, currency, "debit")
    credit = 0 if line.credit is None else _side(line.credit, currency, "credit")
    if debit and credit:
        raise BadInput(
            "a line is either a debit or a credit: one of the two must be absent or zero"
        )
    if not debit and not credit:
        raise BadInput(
            "a line is either a debit or a credit: give one of the two, greater than zero"
        )
    return debit, credit


def check_balanced(lines: Iterable[PreparedLine]) -> None:
    """Debits equal credits per currency, and each side fits in a signed 64-bit total.

    Every total kept of an entry's lines (per account, per day, per entry) is a part
    of a side's total, so bounding it bounds them all.
    """
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for line in lines:
        debits[line.currency] += line.debit_minor
        credits[line.currency] += line.credit_minor
    for currency in sorted(debits.keys() | credits.keys()):
        if max(debits[currency], credits[currency]) > MAX_MINOR:
            raise BadInput(
                f"the lines of an entry add up to more than {MAX_MINOR} minor units of "
                f"{currency}: split it into several entries",
                field="lines",
            )
        if debits[currency] != credits[currency]:
            raise BadInput(
                f"entry does not balance in {currency}: debits "
                f"{format_minor(debits[currency], currency)} != credits "
                f"{format_minor(credits[currency], currency)}",
                field="lines",
            )


def prepare(
    data: EntryInput,
    *,
    base_currency: str,
    lock_date: dt.date | None,
    by_code: Mapping[str, AccountRef],
    by_id: Mapping[int, AccountRef],
    default_journal: str,
) -> Prepared:
    """``data`` checked against every rule of a posting, or the first LedgerError it breaks."""
    memo = check_memo(data.memo)
    check_not_locked(data.date, lock_date)
    if data.accrual_date is not None:
        # Scheduling an accrual into a closed period is refused like posting there.
        check_not_locked(data.accrual_date, lock_date, "accrualDate")
    if data.external_id is not None:
        check_external_id(data.external_id)
    reporting_currency = None
    if data.reporting_currency is not None:
        reporting_currency = check_currency(data.reporting_currency, field="reportingCurrency")
    if data.journal_code is not None:
        if data.journal_id is not None:
            raise BadInput("give a journalCode or a journalId, not both", field="journalId")
        check_lookup(data.journal_code, field="journalCode", what="journal code")
    currency = check_currency(data.currency or base_currency)
    if len(data.lines) < 2:
        raise BadInput("an entry needs at least two lines", field="lines")
    if len(data.lines) > MAX_LINES:
        raise BadInput(f"an entry has at most {MAX_LINES} lines", field="lines")
    prepared: list[PreparedLine] = []
    for index, raw in enumerate(data.lines):
        where = f"lines.{index}"
        line_currency = currency
        if raw.currency is not None:
            line_currency = check_currency(raw.currency, field=f"{where}.currency")
        if raw.account_code:
            check_lookup(raw.account_code, field=f"{where}.accountCode", what="account code")
            account = by_code.get(raw.account_code)
            account_field, named = f"{where}.accountCode", raw.account_code
        elif raw.account_id is not None:
            account = by_id.get(raw.account_id)
            account_field, named = f"{where}.accountId", str(raw.account_id)
        else:
            raise BadInput("every line names an account", field=f"{where}.accountCode")
        if account is None:
            if raw.account_code:
                raise BadInput(f"account {named} does not exist", field=account_field)
            # An id names a record: one the tenant does not have (or another tenant's) is
            # not found, as every lookup by id answers.
            raise NotFound(f"account {named} does not exist", field=account_field)
        if not account.active:
            raise BadInput(f"account {named} is deactivated", field=account_field)
        if account.currency and account.currency != line_currency:
            raise BadInput(
                f"account {named} only takes {account.currency}, not {line_currency}",
                field=account_field,
            )
        try:
            debit, credit = _line_amounts(raw, line_currency)
        except LedgerError as error:
            raise error.at(where) from None
        description = check_optional_text(
            raw.description, field=f"{where}.description", max_length=MAX_DESCRIPTION
        )
        prepared.append(
            PreparedLine(account.id, account.code, line_currency, debit, credit, description)
        )
    check_balanced(prepared)
    return Prepared(
        date=data.date,
        memo=memo,
        currency=currency,
        journal_code=data.journal_code or default_journal,
        lines=prepared,
        accrual_date=data.accrual_date,
        reporting_currency=reporting_currency,
    )


# The request hash's canonical JSON; one encoder, not one per call as json.dumps makes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _amount_key(value: object) -> str | None:
    """A side's amount in normal form; None for an absent side, and so for a zero one,
    which means the same (the hash of every input valid before zeros were taken is kept)."""
    if value is None:
        return None
    if type(value) is Decimal and value.is_finite():
        # A file's amount: random, so the cache below would only miss (and hash it).
        key = str(value.normalize())
        return None if key in _ZEROS else key
    if value == "":
        return None
    # Equal Decimals of different precisions share a cache slot, which is right: the
    # normal form of a non-zero value does not depend on its precision (0 and -0 do).
    if isinstance(value, str | int) or (isinstance(value, Decimal) and value):
        key = _cached_amount_key(value)
    else:
        key = _exact_amount_key(value)
    return None if key in _ZEROS else key


_ZEROS = frozenset({"0", "-0"})


def _as_keyed(value: object) -> str | None:
    return value if isinstance(value, str) else None


def minor_key(minor: int, scale: int) -> str | None:
    """``_amount_key`` of the side ``minor`` units (0, or positive) of a currency of
    ``scale`` decimals make (0: None), from its digits, without building the Decimal: the
    bulk load's file amounts are integers already."""
    if not minor:
        return None
    digits = str(minor)
    if scale:
        digits = digits.rjust(scale + 1, "0")
        fraction = digits[-scale:].rstrip("0")
        if fraction:
            return f"{digits[:-scale]}.{fraction}"
        digits = digits[:-scale]
    if digits[-1] != "0":
        return digits
    return str(Decimal(digits).normalize())  # 1E+1: the exponent form, as Decimal has it


@lru_cache(maxsize=4096, typed=True)  # typed: True == 1, yet True is refused
def _cached_amount_key(value: str | int | Decimal) -> str:
    return _exact_amount_key(value)


def _exact_amount_key(value: object) -> str:
    try:
        return str(parse_decimal(value).normalize())
    except LedgerError:
        return repr(value)


# Metadata under these keys annotates an entry without changing what it asks for: an
# hledger file's status marks and comments (app/ledger/ledgerfile/model.py). A file
# imported again after an entry was marked cleared, or into books imported before marks
# were kept, replays that entry instead of conflicting; the first import's marks stay.
# The REST dialects' recorded fields too: each repeats a hashed field of the request, and
# an entry posted before they were recorded replays.
ANNOTATION_KEYS = frozenset({"hledger"}) | DIALECT_KEYS


def _hashed_metadata(metadata: Mapping[str, object] | None) -> object:
    """The metadata a replay must match: without annotations, None when only they were
    there (the hash of an entry without metadata, as stored before marks were kept)."""
    if not metadata:
        return metadata
    kept = {
        key: _hashed_value(value) for key, value in metadata.items() if key not in ANNOTATION_KEYS
    }
    return kept or None


def _hashed_value(value: object) -> object:
    """A metadata value as hashed: a fractional number as its normalised decimal, so that
    12.5 sent as a variable (a float) and 12.50 written in the query hash the same."""
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return {"number": indexed_value(value)}
    return value


# request_hash's default: the input's own metadata.
_AS_GIVEN: Any = object()


def request_hash(data: EntryInput, metadata: Mapping[str, object] | None = _AS_GIVEN) -> str:
    """A digest of what the request asks for, so a replay with equal meaning matches.
    ``metadata``: the input's metadata as checked, when the caller checked it."""
    return request_digest(
        data.date,
        data.memo,
        data.currency,
        data.journal_code,
        data.source,
        data.metadata if metadata is _AS_GIVEN else metadata,
        _optional_parts(data),
        [
            (
                line.account_code,
                line.account_id,
                line.currency,
                line.debit,
                line.credit,
                line.description,
            )
            for line in data.lines
        ],
    )


# A line as hashed: (account code, account id, currency, debit, credit, description).
HashedLine = tuple[str | None, int | None, str | None, object, object, str | None]


def request_digest(
    date: object,
    memo: str | None,
    currency: str | None,
    journal: str | None,
    source: str,
    metadata: Mapping[str, object] | None,
    optional: Mapping[str, str],
    lines: Sequence[HashedLine],
    *,
    keyed: bool = False,
) -> str:
    """``request_hash`` of a request given by its parts: the bulk load hashes a file's
    entry from them without building its EntryInput (the same document, so the same hash).
    ``keyed``: the lines' amounts are their keys already (``minor_key``)."""
    key = _as_keyed if keyed else _amount_key
    document = {
        "date": date.isoformat() if isinstance(date, dt.date) else repr(date),
        "memo": (memo or "").strip(),
        "currency": currency,
        "journal": journal,
        "source": source,
        "metadata": _hashed_metadata(metadata),
        **optional,
        "lines": [
            [
                code,
                account_id,
                line_currency,
                key(debit),
                key(credit),
                (description or "").strip() or None,
            ]
            for code, account_id, line_currency, debit, credit, description in lines
        ],
    }
    return canonical_digest(document)


# orjson writes what _CANONICAL writes for a document of plain values whose text is
# printable ASCII: then it hashes 5x faster. It leaves DEL and non-ASCII raw where
# _CANONICAL escapes them, encodes some types _CANONICAL hands to str() (enums),
# and may sort other keys otherwise: those documents take _CANONICAL.
_ORJSON_CANONICAL = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def canonical_digest(document: dict[str, Any]) -> str:
    """The SHA-256 of ``document``'s canonical JSON (sorted keys, no spaces, ASCII)."""
    if document.get("metadata") is None:
        try:
            encoded = orjson.dumps(document, option=_ORJSON_CANONICAL)
        except TypeError:
            encoded = b"\x80"  # a value orjson does not take as it is: _CANONICAL's turn
        if encoded.isascii() and b"\x7f" not in encoded:
            return hashlib.sha256(encoded).hexdigest()
    return hashlib.sha256(_CANONICAL.encode(document).encode()).hexdigest()


def _optional_parts(data: EntryInput) -> dict[str, str]:
    """Fields added after hashes were first stored: hashed only when given, so the hash of
    an input without them (stored for idempotency) does not change."""
    parts: dict[str, str] = {}
    if data.reporting_currency is not None:
        parts["reporting_currency"] = data.reporting_currency
    if data.accrual_date is not None:
        on = data.accrual_date
        parts["accrual_date"] = on.isoformat() if isinstance(on, dt.date) else repr(on)
    if data.journal_id is not None:
        parts["journal_id"] = str(data.journal_id)
    if data.attachment_id is not None:
        parts["attachment_id"] = str(data.attachment_id)
    if data.hold:
        parts["hold"] = "1"
        if data.expires_at is not None:
            parts["expires_at"] = data.expires_at.isoformat()
    return parts
