"""hledger / ledger journals: the subset plain transactions use.

    2026-01-15 * (inv-1) Office chairs   ; a comment
        5100          420.00 EUR         ; the line's description
        1000                             ; no amount: it balances the others

A transaction is a date (``YYYY-MM-DD``, ``/`` or ``.`` also accepted, an
optional ``=DATE2`` ignored), an optional status ``*`` or ``!``, an optional
``(CODE)`` (the entry's external id) and a description (the memo), then
indented postings: an optional status, an account name (the account code), two
or more spaces or a tab, and an amount with a commodity before or after it
(``EUR 10.00``, ``10.00 EUR``, ``-$10.00``, ``$1,000.00``; an ISO 4217 code or a
symbol journal_amounts maps to one; none means the tenant's base currency).
Positive is a debit, negative a credit; one posting per transaction may leave its
amount out when the others share one commodity. A posting's comment (and the
comment lines under it) is its description; the transaction's comment (and the
comment lines above its first posting), its status and its postings' statuses are
kept in the entry's metadata (model.metadata_of) and written back on export. The tags
of the transaction's comment (``; order_id: A-17, amount: 12.50``) whose names are
metadata keys are the entry's client metadata (tags.py), written back as one line of
tags after the comment's text.
Top-level ``;``, ``#`` or ``*`` comment lines are skipped.

Directives that do not change balances are skipped: ``account`` (but for its
``type:`` tag), ``commodity`` (but for its ``iso:`` tag; a decimal-comma format is
refused), ``payee``, ``tag``, ``P`` (market prices), ``Y``/``year`` and ``comment``
blocks. Everything else (periodic ``~`` and
automated ``=`` transactions, prices ``@``, balance assertions ``=``, virtual
postings, ``include``, ``alias``, ``D``, ``decimal-mark``...) is an error
naming its line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.ledger.account_types import AccountType
from app.ledger.errors import BadInput, LedgerError
from app.ledger.ledgerfile.entry_notes import notes_of
from app.ledger.ledgerfile.journal_amounts import (
    PLAIN_AMOUNT,
    Commodities,
    Refused,
    commodity_sample,
    parse_amount,
)
from app.ledger.ledgerfile.model import (
    MAX_COMMENT,
    MAX_ENTRY_LINES,
    STATUSES,
    FileAccount,
    FileEntry,
    FileError,
    FileLine,
    Parsed,
    check_account,
    check_external_id,
)
from app.ledger.ledgerfile.rows import Amounts, RowPage
from app.ledger.ledgerfile.tags import TagProblem, tag_text, take_tags, writable_key

SKIPPED = frozenset({"account", "commodity", "payee", "tag", "P", "Y", "year"})
REFUSED = {
    "~": "periodic transactions (~) are not supported",
    "=": "automated transactions (=) are not supported",
    "include": "include is not supported: import each file on its own",
    "alias": "account aliases are not supported: they change account names",
    "end": "account aliases and apply account are not supported",
    "apply": "apply account is not supported: it changes account names",
    "D": "the default commodity (D) is not supported: write the commodity on each amount",
    "decimal-mark": "decimal-mark is not supported: amounts use a decimal point",
}

_HEADER = re.compile(r"^(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2})(?:=(?P<date2>\S*))?(?P<rest>.*)$")
_SPLIT = re.compile(r"\t| {2,}")
# A posting as most journals write it: an account (no status mark, no virtual account,
# never two spaces running), a tab or two spaces or more, then an amount in one of
# journal_amounts.PLAIN_AMOUNT's spellings, and no comment. Read in one match (a fifth of
# the reading of a million postings was _posting's general steps).
_PLAIN_POSTING = re.compile(
    r"([^\s;*!(\[](?:[^\t; ]| (?! ))*)(?:\t| {2,})[ \t]*" + PLAIN_AMOUNT + r"[ \t]*"
)
_OLD_YEAR = re.compile(r"^Y\d{4}$")  # "Y2026", the old spelling of "Y 2026"


def header_date(text: str, line: int) -> dt.date:
    """A transaction's date as its header writes it (YYYY-MM-DD, or with / or . and
    one-digit months and days)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # YYYY-MM-DD: the usual
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # refused below, in the same words as the other spellings
    year, month, day = (int(part) for part in re.split(r"[-/.]", text))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Refused(line, f"{text} is not a calendar date", "date") from None


def transaction_notes(
    comments: list[str], lines: list[int], line: int
) -> tuple[str | None, dict[str, Any] | None]:
    """A transaction's comment and the metadata its tags give, from its comments (on its
    header line, at ``line``, and on the comment lines above its first posting, at
    ``lines``); Refused where a tag or the comment's length is refused."""
    try:
        kept, metadata = take_tags(comments, lines)
    except TagProblem as problem:
        raise Refused(problem.line, problem.message, problem.field) from None
    comment = "\n".join(kept).strip("\n") or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise Refused(
            line, f"a transaction comment has at most {MAX_COMMENT} characters", "comment"
        )
    return comment, metadata


@dataclass
class _Posting:
    line: int
    account: str
    amount: Decimal | None
    commodity: str | None
    comments: list[str] = field(default_factory=list)
    status: str | None = None


@dataclass
class _Transaction:
    line: int
    date: dt.date
    code: str | None
    memo: str
    commodities: Commodities
    status: str | None = None
    comments: list[str] = field(default_factory=list)
    comment_lines: list[int] = field(default_factory=list)  # the file line of each comment
    postings: list[_Posting] = field(default_factory=list)
    error: FileError | None = None
    too_many: bool = False

    @classmethod
    def start(cls, line: int, text: str, commodities: Commodities) -> _Transaction:
        match = _HEADER.match(text)
        if not match:
            raise Refused(line, "a transaction starts with a date YYYY-MM-DD", "date")
        rest = match["rest"]
        if rest and not rest[0].isspace():
            raise Refused(line, "expected a space after the date", "date")
        date = header_date(match["date"], line)
        rest, _, comment = rest.partition(";")
        rest = rest.strip()
        status = None
        if rest[:1] in STATUSES:
            status, rest = rest[0], rest[1:].lstrip()
        code = None
        if rest.startswith("("):
            close = rest.find(")")
            if close < 0:
                raise Refused(line, "the transaction code has no closing ')'", "code")
            try:
                code = check_external_id(rest[1:close], "code")
            except LedgerError as error:
                raise Refused(line, error.message, error.field) from None
            rest = rest[close + 1 :].strip()
        comments = [comment.strip()] if comment.strip() else []
        return cls(line, date, code, rest, commodities, status, comments, [line] * len(comments))

    def add(self, line: int, text: str) -> None:
        """Takes one indented line: a posting or a comment."""
        if self.error is not None:
            return
        body = text.strip()
        try:
            if body.startswith(";"):
                # Under a posting it continues the posting's description; above the
                # first one, the transaction's comment (as hledger reads them).
                under = self.postings[-1].comments if self.postings else self.comments
                if body[1:].strip() or under:
                    under.append(body[1:].strip())
                    if under is self.comments:
                        self.comment_lines.append(line)
                return
            self._posting(line, body)
        except Refused as refused:
            self.error = refused.error

    def _posting(self, line: int, body: str) -> None:
        plain = _PLAIN_POSTING.fullmatch(body)
        if plain is not None and len(self.postings) < MAX_ENTRY_LINES:
            # The general reading below gives these the same posting, through more steps.
            name, left, sign, number, sign2, number2, right = plain.groups()
            try:
                code = check_account(name)
            except LedgerError as error:
                raise Refused(line, error.message, error.field) from None
            given = Decimal(number or number2)
            self.postings.append(
                _Posting(
                    line,
                    code,
                    -given if (sign or sign2) else given,
                    self.commodities.code(left or right, line),
                )
            )
            return
        status = None
        if body[:1] in STATUSES and body[1:2].isspace():
            status, body = body[0], body[1:].lstrip()
        main, _, comment = body.partition(";")
        parts = _SPLIT.split(main.strip(), maxsplit=1)
        name = parts[0].strip()
        if name[:1] in ("(", "["):
            raise Refused(line, "virtual postings ((...) and [...]) are not supported", "account")
        try:
            account = check_account(name)
        except LedgerError as error:
            raise Refused(line, error.message, error.field) from None
        amount, commodity = None, None
        if len(parts) > 1 and parts[1].strip():
            amount, commodity = parse_amount(parts[1].strip(), line, self.commodities)
        elif any(posting.amount is None for posting in self.postings):
            raise Refused(line, "only one posting may leave its amount out", "amount")
        if len(self.postings) >= MAX_ENTRY_LINES:
            self.too_many = True
            return
        comments = [comment.strip()] if comment.strip() else []
        self.postings.append(_Posting(line, account, amount, commodity, comments, status))

    def entry(self) -> Parsed:
        """The entry, or the first error met while reading it."""
        if self.error is not None:
            return self.error
        if self.too_many:
            return FileError(self.line, f"an entry has at most {MAX_ENTRY_LINES} lines", "lines")
        try:
            amounts = self._amounts()
        except Refused as refused:
            return refused.error
        try:
            comment, metadata = transaction_notes(self.comments, self.comment_lines, self.line)
        except Refused as refused:
            return refused.error
        commodities = {posting.commodity for posting in self.postings}
        only = next(iter(commodities)) if len(commodities) == 1 else None
        return FileEntry(
            line=self.line,
            date=self.date,
            memo=self.memo,
            currency=only,
            external_id=self.code,
            status=self.status,
            comment=comment,
            metadata=metadata,
            lines=[
                # model.signed_line, inlined: this runs once per posting of the file.
                FileLine(
                    posting.account,
                    None if amount < 0 else amount,
                    -amount if amount < 0 else None,
                    None if only else posting.commodity,
                    "\n".join(posting.comments) or None,
                    posting.line,
                    posting.status,
                )
                for posting, amount in zip(self.postings, amounts, strict=True)
            ],
        )

    def _amounts(self) -> list[Decimal]:
        """Every posting's amount, the elided one balancing the others."""
        given = [p for p in self.postings if p.amount is not None]
        elided = [p for p in self.postings if p.amount is None]
        if not elided:
            return [p.amount for p in given if p.amount is not None]
        (missing,) = elided
        commodities = {p.commodity for p in given}
        if len(commodities) > 1:
            raise Refused(
                missing.line,
                "an amount may be left out only when the other postings share one commodity",
                "amount",
            )
        balance = -sum((p.amount for p in given if p.amount is not None), Decimal(0))
        if balance == 0:
            raise Refused(
                missing.line, "the other postings balance already: this one would be zero", "amount"
            )
        missing.amount = balance
        missing.commodity = next(iter(commodities), None)
        return [p.amount for p in self.postings if p.amount is not None]


def _directive(line: int, text: str) -> FileError | None:
    """None for a directive that is skipped, else the error that refuses it."""
    word = text.split(maxsplit=1)[0]
    if word in SKIPPED or _OLD_YEAR.match(word):
        return None
    for start, message in REFUSED.items():
        if word == start or (len(start) == 1 and not start.isalpha() and text.startswith(start)):
            return FileError(line, message)
    return FileError(line, f"not a transaction or a supported directive: {text[:40]!r}")


def _commodity(
    line: int, text: str, commodities: Commodities
) -> tuple[str | None, FileError | None]:
    """``commodity SAMPLE  ; iso: XXX``: the symbol it declares, and its ISO code taken."""
    sample, _, comment = text.removeprefix("commodity").partition(";")
    try:
        symbol = commodity_sample(sample, line)
    except Refused as refused:
        return None, refused.error
    return symbol, commodities.directive(line, symbol, comment)


def _commodity_line(
    line: int, text: str, symbol: str | None, commodities: Commodities
) -> FileError | None:
    """An indented line under a commodity directive: ``format SAMPLE`` or a comment."""
    body = text.strip()
    if body.startswith(";"):
        return commodities.directive(line, symbol, body)
    if body.startswith("format"):
        try:
            commodity_sample(body.removeprefix("format").partition(";")[0], line)
        except Refused as refused:
            return refused.error
    return None


def parse_journal(lines: Iterable[str]) -> Iterator[Parsed]:
    """Entries of a journal text, one per transaction."""
    reader = LineReader()
    read = reader.read
    for number, raw in enumerate(lines, 1):
        yield from read(number, raw)
    yield from reader.flush()


class LineReader:
    """Reads a journal a line at a time: ``read`` gives what each line completes (the
    transaction before it, an error, an account declaration), ``flush`` what the end of
    the text completes. ``journal_plain`` hands it the lines it does not read itself."""

    def __init__(self, commodities: Commodities | None = None) -> None:
        self.transaction: _Transaction | None = None
        self.directive: str | None = None  # whose indented lines are being skipped
        self.symbol: str | None = None  # of the commodity directive being read
        self.commodities = commodities or Commodities()
        self.in_comment = False

    def flush(self) -> list[Parsed]:
        """What a new transaction line (or the end of the text) completes: the
        transaction being read, if any; the directive being read ends."""
        self.directive = None
        if self.transaction is None:
            return []
        transaction, self.transaction = self.transaction, None
        return [transaction.entry()]

    def read(self, number: int, raw: str) -> list[Parsed]:
        """What file line ``number`` (``raw``, its newline included or not) completes."""
        text = raw.rstrip("\r\n")
        if self.in_comment:
            self.in_comment = text.strip() != "end comment"
            return []
        if text[:1] in (" ", "\t") and text.strip():
            if self.transaction is not None:
                self.transaction.add(number, text)
            elif self.directive == "commodity":
                error = _commodity_line(number, text, self.symbol, self.commodities)
                if error is not None:
                    return [error]
            elif self.directive is None:
                return [FileError(number, "an indented line outside a transaction")]
            return []
        found = self.flush()
        if not text.strip() or text[0] in ";#*":
            return found
        if text[0].isdigit():
            try:
                self.transaction = _Transaction.start(number, text, self.commodities)
            except Refused as refused:
                found.append(refused.error)
                self.directive = "transaction"  # skip its postings
            return found
        directive = self.directive = text.split(maxsplit=1)[0]
        if directive == "comment":
            self.in_comment = True
            return found
        refused_directive = _directive(number, text)
        if refused_directive is not None:
            found.append(refused_directive)
        elif directive == "commodity":
            self.symbol, error = _commodity(number, text, self.commodities)
            if error is not None:
                found.append(error)
        elif directive == "account" and (declared := _declared_account(number, text)) is not None:
            found.append(declared)
        return found


# hledger's account type codes (``account NAME  ; type: CODE``). Its C (Cash, a kind
# of asset for the cashflow report) is left out: ledgerql has no notion of cash.
TYPE_CODES = {
    AccountType.ASSET: "A",
    AccountType.LIABILITY: "L",
    AccountType.EQUITY: "E",
    AccountType.INCOME: "R",
    AccountType.EXPENSE: "X",
}


# The type tag hledger reads on an ``account`` directive, by code or by name.
_TYPE_TAG = re.compile(r"(?:^|[\s,;])type:\s*([A-Za-z]+)")
_TYPE_OF_TAG = {
    **{code: kind for kind, code in TYPE_CODES.items()},
    "ASSET": AccountType.ASSET,
    "CASH": AccountType.ASSET,  # hledger's Cash is a kind of asset
    "C": AccountType.ASSET,
    "LIABILITY": AccountType.LIABILITY,
    "EQUITY": AccountType.EQUITY,
    "REVENUE": AccountType.INCOME,
    "EXPENSE": AccountType.EXPENSE,
}


def _declared_account(number: int, text: str) -> FileAccount | FileError | None:
    """``account NAME  ; type: X, customer_id: 42``: the declared type and the other tags
    as metadata, which an import with --create-accounts gives the account (None: neither)."""
    declaration, _, comment = text.partition(";")
    name = _SPLIT.split(declaration.removeprefix("account").strip(), maxsplit=1)[0].strip()
    found = _TYPE_TAG.search(comment)
    kind = _TYPE_OF_TAG.get(found.group(1).upper()) if found else None
    try:
        _, tags = take_tags([comment], [number])
    except TagProblem as problem:
        return FileError(problem.line, f"account {name}: {problem.message}", problem.field)
    metadata = {key: value for key, value in (tags or {}).items() if key != "type"} or None
    if not name or (kind is None and metadata is None):
        return None
    return FileAccount(name, kind.value if kind is not None else None, metadata)


def _writable_account(account: str) -> bool:
    """An account name a journal reads back whole (two spaces or ';' would end it, a
    leading "* " would read as a status mark)."""
    marked = account[:1] in STATUSES and account[1:2].isspace()
    return not (_SPLIT.search(account) or account[:1] in ("(", "[") or ";" in account or marked)


def _refuse(entry: FileEntry, what: str) -> BadInput:
    return _refuse_entry(entry.external_id or entry.date.isoformat(), what)


def _refuse_entry(name: str, what: str) -> BadInput:
    return BadInput(f"entry {name}: {what} cannot be written in a journal; export as jsonl or csv")


# What ``format(-Decimal(0), "f")`` writes for a line with neither debit nor credit.
_NO_AMOUNT = format(-Decimal(0), "f")


class JournalWriter:
    """Writes entries as hledger transactions, amounts with their ISO commodity after them.

    The accounts come first, each declared with its type and its metadata as tags:
    hledger knows the type of ``assets:bank`` from its name but not that of ``1000``.
    hledger's hierarchy is in the names, so a ledgerql parent that is not
    a name prefix is not one for hledger. The reader skips these directives.
    """

    declares_accounts = True
    exports_holds = False
    lists_metadata_keys = False

    def __init__(self) -> None:
        self._amounts = Amounts()
        # "    <code>  " by account id (None: a name a journal cannot hold).
        self._posting_starts: dict[int, str | None] = {}

    def header(self, metadata_keys: Sequence[str]) -> str:
        return ""

    def accounts(self, declared: Sequence[FileAccount]) -> str:
        text = ""
        for account in declared:
            if not _writable_account(account.code):
                raise BadInput(
                    f"the account name {account.code!r} cannot be written in a journal; "
                    "export as jsonl or csv"
                )
            try:
                code = TYPE_CODES[AccountType(account.type or "")]
            except ValueError:
                raise BadInput(
                    f"account {account.code} has an unknown type {account.type!r}"
                ) from None
            tags = ""
            if account.metadata:
                for key in account.metadata:
                    if not writable_key(key) or key == "type":
                        raise BadInput(
                            f"account {account.code}: the metadata key {key!r} cannot be "
                            "written as a tag of its account directive; export as jsonl"
                        )
                tags = ", " + tag_text(account.metadata)
            text += f"account {account.code}  ; type: {code}{tags}\n"
        return text + "\n" if text else ""

    def entry(self, entry: FileEntry) -> str:
        # Without a code, a memo starting with "(", "*" or "!" would read back as one.
        leading = entry.memo[:1] in ("(", "*", "!") and not entry.external_id
        if leading or any(mark in entry.memo for mark in ";\n\r"):
            raise _refuse(entry, f"the memo {entry.memo!r}")
        status = f" {entry.status}" if entry.status in STATUSES else ""
        code = f" ({entry.external_id})" if entry.external_id else ""
        text = f"{entry.date.isoformat()}{status}{code} {entry.memo}"
        notes = entry.comment.split("\n") if entry.comment else []
        if any("\r" in note for note in notes):
            raise _refuse(entry, f"the comment {entry.comment!r}")
        if entry.metadata:
            for key in entry.metadata:
                if not writable_key(key):
                    raise _refuse(entry, f"the metadata key {key!r} (':' ends a tag's name)")
            notes.append(tag_text(entry.metadata))
        text += f"  ; {notes[0]}\n" if notes else "\n"
        text += "".join(f"    ; {note}\n" for note in notes[1:])
        for line in entry.lines:
            account = line.account
            if not _writable_account(account):
                raise _refuse(entry, f"the account name {account!r}")
            signed = line.debit if line.debit is not None else -(line.credit or Decimal(0))
            currency = line.currency or entry.currency or ""
            mark = f"{line.status} " if line.status in STATUSES else ""
            text += f"    {mark}{account}  {format(signed, 'f')} {currency}".rstrip()
            comments = (line.description or "").split("\n") if line.description else []
            if any("\r" in comment for comment in comments):
                raise _refuse(entry, f"the description {line.description!r}")
            if comments:
                text += f"  ; {comments[0]}"
            text += "\n" + "".join(f"    ; {comment}\n" for comment in comments[1:])
        return text + "\n"

    def page(self, page: RowPage) -> str:
        """The text ``entry`` gives for each of the page's entries, written from the rows
        with the same checks in the same order (the first refusal is the same error)."""
        amounts = self._amounts
        starts = self._posting_starts
        out: list[str] = []
        for entry_id, date, memo, currency, _, external_id, stored in page.entries:
            name = external_id or date
            if (memo[:1] in ("(", "*", "!") and not external_id) or (
                ";" in memo or "\n" in memo or "\r" in memo
            ):
                raise _refuse_entry(name, f"the memo {memo!r}")
            notes = notes_of(stored)
            status = f" {notes.status}" if notes.status in STATUSES else ""
            code = f" ({external_id})" if external_id else ""
            comments = notes.comment.split("\n") if notes.comment else []
            if any("\r" in note for note in comments):
                raise _refuse_entry(name, f"the comment {notes.comment!r}")
            if notes.metadata:
                for key in notes.metadata:
                    if not writable_key(key):
                        raise _refuse_entry(
                            name, f"the metadata key {key!r} (':' ends a tag's name)"
                        )
                comments.append(tag_text(notes.metadata))
            if comments:
                out.append(f"{date}{status}{code} {memo}  ; {comments[0]}\n")
                out.extend(f"    ; {note}\n" for note in comments[1:])
            else:
                out.append(f"{date}{status}{code} {memo}\n")
            for index, (_, account_id, line_currency, debit, credit, description) in enumerate(
                page.lines.get(entry_id, ())
            ):
                if account_id in starts:
                    start = starts[account_id]
                else:
                    code_of = page.codes[account_id]
                    start = starts[account_id] = (
                        f"    {code_of}  " if _writable_account(code_of) else None
                    )
                if start is None:
                    raise _refuse_entry(name, f"the account name {page.codes[account_id]!r}")
                if notes.posting_marks and (mark := notes.posting_mark(index)) in STATUSES:
                    start = f"    {mark} {start[4:]}"
                if debit:
                    signed = amounts[line_currency](debit)
                elif credit:
                    signed = amounts[line_currency](-credit)
                else:
                    signed = _NO_AMOUNT
                unit = line_currency or currency or ""
                text = f"{start}{signed} {unit}"
                if not unit or unit[-1].isspace():
                    text = text.rstrip()
                if description:
                    if "\r" in description:
                        raise _refuse_entry(name, f"the description {description!r}")
                    first, *more = description.split("\n")
                    out.append(f"{text}  ; {first}\n")
                    out.extend(f"    ; {comment}\n" for comment in more)
                else:
                    out.append(f"{text}\n")
            out.append("\n")
        return "".join(out)
