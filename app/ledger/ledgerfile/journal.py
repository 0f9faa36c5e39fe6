"""hledger / ledger journals: the subset plain transactions use.

    2026-01-15 * (inv-1) Office chairs   ; a comment
        5100          420.00 EUR         ; the line's description
        1000                             ; no amount: it balances the others

A transaction is a date (``YYYY-MM-DD``, ``/`` or ``.`` also accepted, an
optional ``=DATE2`` ignored), an optional status ``*`` or ``!``, an optional
``(CODE)`` (the entry's external id) and a description (the memo), then
indented postings: an account name (the account code), two or more spaces or
a tab, and an amount with an ISO 4217 commodity before or after it
(``EUR 10.00``, ``10.00 EUR``, ``-10.00 EUR``; none means the tenant's base
currency). Positive is a debit, negative a credit; one posting per
transaction may leave its amount out when the others share one commodity.
A posting's comment (and the comment lines under it) is its description;
transaction comments and ``;``, ``#`` or ``*`` comment lines are skipped.

Directives that do not change balances are skipped: ``account``, ``commodity``
(without a decimal-comma format), ``payee``, ``tag``, ``P`` (market prices),
``Y``/``year`` and ``comment`` blocks. Everything else (periodic ``~`` and
automated ``=`` transactions, prices ``@``, balance assertions ``=``, virtual
postings, ``include``, ``alias``, ``D``, ``decimal-mark``...) is an error
naming its line.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.ledger.accounts import AccountType
from app.ledger.errors import BadInput, LedgerError
from app.ledger.ledgerfile.model import (
    MAX_ENTRY_LINES,
    FileAccount,
    FileEntry,
    FileError,
    Parsed,
    check_account,
    check_amount,
    check_external_id,
    signed_line,
)
from app.ledger.money import check_currency

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
_SYMBOL = r"[^-+\d\s.,;@=(){}\"]+"
_AMOUNT = re.compile(
    rf"^(?P<sign>[-+]?)\s*(?:(?P<left>{_SYMBOL})\s*(?P<sign2>[-+]?)\s*)?"
    rf"(?P<number>[\d.,]+)(?:\s*(?P<right>{_SYMBOL}))?$"
)
_ISO = re.compile(r"^[A-Z]{3}$")
_OLD_YEAR = re.compile(r"^Y\d{4}$")  # "Y2026", the old spelling of "Y 2026"
# The common spellings (EUR 10.00, EUR -10.00, 10.00 EUR, -10.00 EUR), read without
# the general pattern's checks: a plain number needs none.
_PLAIN_AMOUNT = re.compile(
    r"^(?:([A-Z]{3}) ?(-?)(\d{1,30}(?:\.\d{1,30})?)|(-?)(\d{1,30}(?:\.\d{1,30})?) ?([A-Z]{3}))$"
)


class _Refused(Exception):
    """A line the journal reader cannot take; becomes a FileError."""

    def __init__(self, line: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error = FileError(line, message, field)


def _date(text: str, line: int) -> dt.date:
    year, month, day = (int(part) for part in re.split(r"[-/.]", text))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _Refused(line, f"{text} is not a calendar date", "date") from None


@functools.cache
def _iso_currency(symbol: str) -> str:
    return check_currency(symbol)


def _commodity(symbol: str, line: int) -> str:
    if not _ISO.match(symbol):
        raise _Refused(
            line, f"commodity {symbol!r} is not an ISO 4217 currency code such as EUR", "amount"
        )
    try:
        return _iso_currency(symbol)
    except LedgerError as error:
        raise _Refused(line, error.message, "amount") from None


def parse_amount(text: str, line: int) -> tuple[Decimal, str | None]:
    """The signed amount and commodity of a posting's amount text."""
    plain = _PLAIN_AMOUNT.match(text)
    if plain is not None:
        left, sign, number, sign2, number2, right = plain.groups()
        amount = Decimal(number or number2)
        return (-amount if (sign or sign2) else amount), _commodity(left or right, line)
    for mark, what in (
        ("@", "prices (@) are not supported"),
        ("=", "balance assertions and assignments (=) are not supported"),
        ("{", "lot prices ({}) are not supported"),
        ("(", "amount expressions are not supported"),
    ):
        if mark in text:
            raise _Refused(line, what, "amount")
    match = _AMOUNT.match(text)
    if not match:
        raise _Refused(line, f"cannot read the amount {text!r}", "amount")
    if match["left"] and match["right"]:
        raise _Refused(line, f"the amount {text!r} has two commodities", "amount")
    if match["sign"] and match["sign2"]:
        raise _Refused(line, f"the amount {text!r} has two signs", "amount")
    number = match["number"]
    if "," in number:
        raise _Refused(
            line,
            f"cannot read {number!r}: write amounts with a decimal point and no "
            "digit group marks (1234.56)",
            "amount",
        )
    try:
        amount = check_amount(number, "amount")
    except LedgerError as error:
        raise _Refused(line, error.message, error.field) from None
    symbol = match["left"] or match["right"]
    commodity = _commodity(symbol, line) if symbol else None
    negative = "-" in (match["sign"], match["sign2"])
    return (-amount if negative else amount), commodity


@dataclass
class _Posting:
    line: int
    account: str
    amount: Decimal | None
    commodity: str | None
    comments: list[str] = field(default_factory=list)


@dataclass
class _Transaction:
    line: int
    date: dt.date
    code: str | None
    memo: str
    postings: list[_Posting] = field(default_factory=list)
    error: FileError | None = None
    too_many: bool = False

    @classmethod
    def start(cls, line: int, text: str) -> _Transaction:
        match = _HEADER.match(text)
        if not match:
            raise _Refused(line, "a transaction starts with a date YYYY-MM-DD", "date")
        rest = match["rest"]
        if rest and not rest[0].isspace():
            raise _Refused(line, "expected a space after the date", "date")
        date = _date(match["date"], line)
        rest = rest.split(";", 1)[0].strip()
        if rest[:1] in ("*", "!"):
            rest = rest[1:].lstrip()
        code = None
        if rest.startswith("("):
            close = rest.find(")")
            if close < 0:
                raise _Refused(line, "the transaction code has no closing ')'", "code")
            try:
                code = check_external_id(rest[1:close], "code")
            except LedgerError as error:
                raise _Refused(line, error.message, error.field) from None
            rest = rest[close + 1 :].strip()
        return cls(line, date, code, rest)

    def add(self, line: int, text: str) -> None:
        """Takes one indented line: a posting or a comment."""
        if self.error is not None:
            return
        body = text.strip()
        try:
            if body.startswith(";"):
                if self.postings:  # a comment line under a posting continues its description
                    self.postings[-1].comments.append(body[1:].strip())
                return
            self._posting(line, body)
        except _Refused as refused:
            self.error = refused.error

    def _posting(self, line: int, body: str) -> None:
        if body[:1] in ("*", "!") and body[1:2].isspace():
            body = body[1:].lstrip()
        main, _, comment = body.partition(";")
        parts = _SPLIT.split(main.strip(), maxsplit=1)
        name = parts[0].strip()
        if name[:1] in ("(", "["):
            raise _Refused(line, "virtual postings ((...) and [...]) are not supported", "account")
        try:
            account = check_account(name)
        except LedgerError as error:
            raise _Refused(line, error.message, error.field) from None
        amount, commodity = None, None
        if len(parts) > 1 and parts[1].strip():
            amount, commodity = parse_amount(parts[1].strip(), line)
        elif any(posting.amount is None for posting in self.postings):
            raise _Refused(line, "only one posting may leave its amount out", "amount")
        if len(self.postings) >= MAX_ENTRY_LINES:
            self.too_many = True
            return
        comments = [comment.strip()] if comment.strip() else []
        self.postings.append(_Posting(line, account, amount, commodity, comments))

    def entry(self) -> Parsed:
        """The entry, or the first error met while reading it."""
        if self.error is not None:
            return self.error
        if self.too_many:
            return FileError(self.line, f"an entry has at most {MAX_ENTRY_LINES} lines", "lines")
        try:
            amounts = self._amounts()
        except _Refused as refused:
            return refused.error
        commodities = {posting.commodity for posting in self.postings}
        only = next(iter(commodities)) if len(commodities) == 1 else None
        return FileEntry(
            line=self.line,
            date=self.date,
            memo=self.memo,
            currency=only,
            external_id=self.code,
            lines=[
                signed_line(
                    posting.account,
                    amount,
                    currency=None if only else posting.commodity,
                    description="\n".join(posting.comments) or None,
                    line=posting.line,
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
            raise _Refused(
                missing.line,
                "an amount may be left out only when the other postings share one commodity",
                "amount",
            )
        balance = -sum((p.amount for p in given if p.amount is not None), Decimal(0))
        if balance == 0:
            raise _Refused(
                missing.line, "the other postings balance already: this one would be zero", "amount"
            )
        missing.amount = balance
        missing.commodity = next(iter(commodities), None)
        return [p.amount for p in self.postings if p.amount is not None]


def _directive(line: int, text: str) -> FileError | None:
    """None for a directive that is skipped, else the error that refuses it."""
    word = text.split(maxsplit=1)[0]
    if word in SKIPPED or _OLD_YEAR.match(word):
        if word == "commodity" and "," in text:
            return FileError(line, "commodity formats with a decimal comma are not supported")
        return None
    for start, message in REFUSED.items():
        if word == start or (len(start) == 1 and not start.isalpha() and text.startswith(start)):
            return FileError(line, message)
    return FileError(line, f"not a transaction or a supported directive: {text[:40]!r}")


def parse_journal(lines: Iterable[str]) -> Iterator[Parsed]:
    """Entries of a journal text, one per transaction."""
    transaction: _Transaction | None = None
    directive: str | None = None  # whose indented lines are being skipped
    in_comment = False
    for number, raw in enumerate(lines, 1):
        text = raw.rstrip("\r\n")
        if in_comment:
            in_comment = text.strip() != "end comment"
            continue
        if text[:1] in (" ", "\t") and text.strip():
            if transaction is not None:
                transaction.add(number, text)
            elif directive == "commodity" and text.strip().startswith("format") and "," in text:
                yield FileError(number, "commodity formats with a decimal comma are not supported")
            elif directive is None:
                yield FileError(number, "an indented line outside a transaction")
            continue
        if transaction is not None:
            yield transaction.entry()
            transaction = None
        directive = None
        if not text.strip() or text[0] in ";#*":
            continue
        if text[0].isdigit():
            try:
                transaction = _Transaction.start(number, text)
            except _Refused as refused:
                yield refused.error
                directive = "transaction"  # skip its postings
            continue
        directive = text.split(maxsplit=1)[0]
        if directive == "comment":
            in_comment = True
            continue
        refused_directive = _directive(number, text)
        if refused_directive is not None:
            yield refused_directive
        elif directive == "account" and (declared := _declared_account(text)) is not None:
            yield declared
    if transaction is not None:
        yield transaction.entry()


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


def _declared_account(text: str) -> FileAccount | None:
    """``account NAME  ; type: X``: the declared type, which an import with
    --create-accounts gives the account (None: no or an unknown type tag)."""
    declaration, _, comment = text.partition(";")
    name = _SPLIT.split(declaration.removeprefix("account").strip(), maxsplit=1)[0].strip()
    found = _TYPE_TAG.search(comment)
    kind = _TYPE_OF_TAG.get(found.group(1).upper()) if found else None
    return FileAccount(name, kind.value) if name and kind is not None else None


def _writable_account(account: str) -> bool:
    """An account name a journal reads back whole (two spaces or ';' would end it)."""
    return not (_SPLIT.search(account) or account[:1] in ("(", "[") or ";" in account)


def _refuse(entry: FileEntry, what: str) -> BadInput:
    return BadInput(
        f"entry {entry.external_id or entry.date.isoformat()}: {what} cannot be written "
        "in a journal; export as jsonl or csv"
    )


class JournalWriter:
    """Writes entries as hledger transactions, amounts with their ISO commodity after them.

    The accounts come first, each declared with its type: hledger knows the type
    of ``assets:bank`` from its name but not that of ``1000``. Only the type is
    declared; hledger's hierarchy is in the names, so a ledgerql parent that is not
    a name prefix is not one for hledger. The reader skips these directives.
    """

    declares_accounts = True

    def header(self) -> str:
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
                code = TYPE_CODES[AccountType(account.type)]
            except ValueError:
                raise BadInput(
                    f"account {account.code} has an unknown type {account.type!r}"
                ) from None
            text += f"account {account.code}  ; type: {code}\n"
        return text + "\n" if text else ""

    def entry(self, entry: FileEntry) -> str:
        # Without a code, a memo starting with "(", "*" or "!" would read back as one.
        leading = entry.memo[:1] in ("(", "*", "!") and not entry.external_id
        if leading or any(mark in entry.memo for mark in ";\n\r"):
            raise _refuse(entry, f"the memo {entry.memo!r}")
        code = f" ({entry.external_id})" if entry.external_id else ""
        text = f"{entry.date.isoformat()}{code} {entry.memo}\n"
        for line in entry.lines:
            account = line.account
            if not _writable_account(account):
                raise _refuse(entry, f"the account name {account!r}")
            signed = line.debit if line.debit is not None else -(line.credit or Decimal(0))
            currency = line.currency or entry.currency or ""
            text += f"    {account}  {format(signed, 'f')} {currency}".rstrip()
            comments = (line.description or "").split("\n") if line.description else []
            if any("\r" in comment for comment in comments):
                raise _refuse(entry, f"the description {line.description!r}")
            if comments:
                text += f"  ; {comments[0]}"
            text += "\n" + "".join(f"    ; {comment}\n" for comment in comments[1:])
        return text + "\n"
