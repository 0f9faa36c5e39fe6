"""The records every ledger-file format reads and writes, and the checks they share."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from app.ledger.entry_size import MAX_LINES
from app.ledger.errors import BadInput, LedgerError
from app.ledger.money import parse_decimal

if TYPE_CHECKING:
    from app.ledger.ledgerfile.rows import RowPage

# Posting's own limit: parsers stop keeping lines past it so that one runaway
# entry cannot fill the memory of a streaming import.
MAX_ENTRY_LINES = MAX_LINES
MAX_ACCOUNT_CODE = 50
MAX_EXTERNAL_ID = 200

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An external id must fit a journal's "(CODE)": no ")" and nothing unprintable.
_BAD_ID_CHARS = re.compile(r"[)\x00-\x1f\x7f]")


# FileLine and FileEntry are not frozen, though nothing changes them: a frozen dataclass's
# __init__ takes three times as long (1.4 against 0.4 us), and an import of a million
# postings builds a million lines.
@dataclass
class FileLine:
    """One line of an entry as a file gives it; ``line`` is where it was read."""

    account: str
    debit: Decimal | None = None
    credit: Decimal | None = None
    currency: str | None = None
    description: str | None = None
    line: int = 0
    # hledger's posting status mark, "*" (cleared) or "!" (pending); journals only.
    status: str | None = None


@dataclass
class FileEntry:
    """One entry as a file gives it; ``line`` is where it starts."""

    line: int
    date: dt.date
    memo: str
    lines: list[FileLine]
    currency: str | None = None
    external_id: str | None = None
    # hledger's transaction status mark ("*" cleared, "!" pending) and comment (its
    # lines joined by "\n"); journals only. Kept in the entry's metadata (METADATA_KEY).
    status: str | None = None
    comment: str | None = None
    # The client's metadata (checked by app/ledger/metadata.py's rules): a JSON Lines
    # "metadata" object, CSV meta.<key> columns, a journal's tags. None when there is none.
    metadata: Mapping[str, Any] | None = None
    # A hold still PENDING (docs/holds.md) and when it expires; JSON Lines only.
    hold: bool = False
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class FileAccount:
    """An account an export declares before its entries: its code, its AccountType and
    its client metadata (either may be None), which ``import --create-accounts`` gives
    the account it creates."""

    code: str
    type: str | None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FileError:
    """An entry that could not be read, with the line that says why."""

    line: int
    message: str
    field: str | None = None


# FileAccount: a declared account (hledger's ``account CODE  ; type: A, customer_id: 42``).
Parsed = FileEntry | FileError | FileAccount
Parser = Callable[[Iterable[str]], Iterator[Parsed]]


class Writer(Protocol):
    """Writes entries in a format: ``entry`` one FileEntry, ``page`` an export's rows
    (the same text, without a FileEntry per entry: ledgerfile.rows)."""

    # True when the format can declare accounts (hledger's ``account`` directives):
    # only then does the export look up which accounts its entries use.
    declares_accounts: bool
    # True when the format writes holds still pending (JSON Lines' "hold" object): only
    # then does the export read PENDING entries.
    exports_holds: bool
    # True when the header names the metadata keys (CSV's meta.<key> columns): only then
    # does the export look up which keys its entries have.
    lists_metadata_keys: bool

    def header(self, metadata_keys: Sequence[str]) -> str: ...

    def accounts(self, declared: Sequence[FileAccount]) -> str: ...

    def entry(self, entry: FileEntry) -> str: ...

    def page(self, page: RowPage) -> str: ...


def check_date(value: object, field: str = "date") -> dt.date:
    """A calendar date written YYYY-MM-DD."""
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise BadInput(f"date must be written YYYY-MM-DD, got {value!r}", field=field)
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{value.strip()} is not a calendar date", field=field) from None


def check_account(value: object, field: str = "account") -> str:
    """An account code: not empty, at most 50 characters."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput("every line names an account", field=field)
    code = value.strip()
    if len(code) > MAX_ACCOUNT_CODE:
        raise BadInput(
            f"account {code!r} is longer than {MAX_ACCOUNT_CODE} characters (an account code)",
            field=field,
        )
    return code


def check_external_id(value: object, field: str = "external_id") -> str | None:
    """The file's own id of an entry, or None when blank."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput("external_id must be a string", field=field)
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_EXTERNAL_ID:
        raise BadInput(f"external_id is longer than {MAX_EXTERNAL_ID} characters", field=field)
    if _BAD_ID_CHARS.search(text):
        raise BadInput("external_id may not contain ')' or control characters", field=field)
    return text


def check_amount(value: object, field: str) -> Decimal:
    """A decimal amount (sign and size are the ledger core's checks)."""
    try:
        return parse_decimal(value)
    except LedgerError as error:
        raise error.at(field) from None


# What a journal says about a transaction that moves no money (its status marks and
# comment) lives in the entry's metadata under this key, so an export writes it back.
METADATA_KEY = "hledger"
MAX_COMMENT = 2000
STATUSES = ("*", "!")


def metadata_of(entry: FileEntry) -> dict[str, object] | None:
    """The entry's metadata for what the file says beyond amounts; None when nothing
    (so the idempotency hash of an entry without any stays what it was)."""
    return journal_notes(entry.status, entry.comment, [line.status or "" for line in entry.lines])


def journal_notes(
    status: str | None, comment: str | None, marks: list[str]
) -> dict[str, object] | None:
    """``metadata_of`` an entry of this status, comment and postings' status marks."""
    kept: dict[str, object] = {}
    if status:
        kept["status"] = status
    if comment:
        kept["comment"] = comment
    if any(marks):
        kept["posting_status"] = marks
    return {METADATA_KEY: kept} if kept else None


def entry_metadata(entry: FileEntry) -> dict[str, object] | None:
    """The metadata an imported entry is posted with: the client's and, under its own key,
    what a journal says beyond amounts (``metadata_of``)."""
    return with_notes(entry.metadata, metadata_of(entry))


def with_notes(
    metadata: Mapping[str, Any] | None, notes: dict[str, object] | None
) -> dict[str, object] | None:
    """``entry_metadata``: the file's metadata and its notes (``journal_notes``) in one."""
    merged = {**(metadata or {}), **(notes or {})}
    return merged or None


def marks_of(metadata: Mapping[str, Any] | None) -> tuple[str | None, str | None, list[str]]:
    """(status, comment, posting statuses) kept by ``metadata_of``; other metadata
    (a vendor's) gives none."""
    kept = (metadata or {}).get(METADATA_KEY)
    if not isinstance(kept, Mapping):
        return None, None, []
    status = kept.get("status")
    comment = kept.get("comment")
    marks = kept.get("posting_status")
    return (
        status if status in STATUSES else None,
        comment if isinstance(comment, str) and comment else None,
        [mark if mark in STATUSES else "" for mark in marks] if isinstance(marks, list) else [],
    )


def signed_line(
    account: str,
    signed: Decimal,
    *,
    currency: str | None,
    description: str | None,
    line: int,
    status: str | None = None,
) -> FileLine:
    """A line from a signed amount: positive is a debit, negative a credit."""
    if signed < 0:
        return FileLine(account, None, -signed, currency, description, line, status)
    return FileLine(account, signed, None, currency, description, line, status)
