"""A journal read a whole transaction at a time where it can be: ``read_journal`` gives
what ``journal.parse_journal`` gives for the same text, but each plain transaction as a
``PlainRecord`` read by two regular expressions instead of a line at a time.

Plain here is narrower than what the line reader reads: a date (``2026-03-01``,
``2026/3/1``), an optional status mark, an optional ``(CODE)``, a memo without a
comment, then postings that are each an account name and an amount such as
``EUR -12.50``, ``12.50 EUR``, ``$12.50`` or ``-€12.50`` (at most one left out), with no
comment, status mark or odd whitespace anywhere, and lines ending in a plain newline.
Everything else (directives, comments, tags, other amount spellings, CRLF files) goes
line by line to the line reader (``LineReader``), in file order and with the same state
(its commodities, its comment blocks), and so does a transaction whose parts the line
reader would refuse or read otherwise (an unknown commodity, a date past the calendar,
an account name over 50 characters...). A record is the entry the line reader would give
(``to_file_entry``, which a hypothesis test holds equal to it), read in about a third of
the time; the bulk load plans it without building that entry (``bulk_load.from_file``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.ledger.errors import LedgerError
from app.ledger.ledgerfile.journal import LineReader, header_date, transaction_notes
from app.ledger.ledgerfile.journal_amounts import SYMBOL, Commodities, Refused
from app.ledger.ledgerfile.model import (
    MAX_ACCOUNT_CODE,
    MAX_ENTRY_LINES,
    FileEntry,
    FileLine,
    Parsed,
    check_external_id,
)

# An account name: no whitespace but single spaces inside, nothing a comment, status mark
# or virtual posting starts with (journal._PLAIN_POSTING's names, less the odd whitespace).
_NAME = r"[^\s;*!(\[][^\s;]*(?: [^\s;]+)*"
# A number's whole part: digits, or digit groups of three (1,000,000) before a decimal
# point, as journal_amounts._GROUPED reads them (tried second: the usual is faster so).
_WHOLE = r"(\d{1,30}(?![,\d])|\d{1,3}(?:,\d{3})+(?=\.\d))"
# An amount with its commodity on the left (``EUR -12.50``, ``$12.50``, ``-$12.50``) or on
# the right (``12.50 EUR``, ``-12.50€``): a sign before or after a left symbol (both is
# journal_amounts.parse_amount's refusal, left to it), the number's whole and fraction
# apart, at most one space between number and commodity. A symbol is what parse_amount
# takes as one (journal_amounts.SYMBOL), known or not: Commodities.code decides.
_AMOUNT = (
    rf"(?:([-+]?)({SYMBOL}) ?([-+]?){_WHOLE}(?:\.(\d{{1,30}}))?"
    rf"|([-+]?){_WHOLE}(?:\.(\d{{1,30}}))? ?({SYMBOL}))"
)
# One posting line (of a transaction's lines, anchored at each line's start).
_POSTING = re.compile(rf"^[ \t]+({_NAME})(?:(?:\t| {{2,}})[ \t]*{_AMOUNT})?[ \t]*$", re.M)
_TRANSACTION = re.compile(
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})"  # the date, as journal._HEADER takes it
    r"(?:[ \t]+([*!]))?"  # a status mark
    r"(?:[ \t]+\(([^);\r\n]*)\))?"  # a code
    r"(?:[ \t]+([^\s;(*!][^;\r\n]*))?"  # the memo
    r"(?:[ \t]+;([^\r\n]*))?"  # a comment
    r"[ \t]*\n"
    r"((?:[ \t]+;[^\r\n]*\n)*)"  # comment lines above the first posting: the transaction's
    r"((?:[ \t]+[^\s;][^\n]*\n)+)"  # its indented lines, each to be a posting
    r"(?![ \t]+[^ \t\n])"  # and none after them that the line reader would add to it
)
_DIGITS = frozenset("0123456789")
# Amounts of more digits go to the line reader: below it, sums of a transaction's
# amounts are exact in Decimal's 28 digits as in integers, so both read them alike.
MAX_DIGITS = 18

# (account name, ISO currency, amount as digits with its sign, places after the point,
# file line): the amount is digits / 10**places; a left-out one's is the others' balance.
PlainPosting = tuple[str, str, int, int, int]


@dataclass
class PlainRecord:
    """A plain transaction as read (module docstring); ``to_file_entry`` gives its entry."""

    line: int
    date: dt.date
    memo: str
    external_id: str | None
    status: str | None
    currency: str | None  # the one currency of all its postings, if they share one
    postings: list[PlainPosting]
    elided: int  # the index of the posting whose amount was left out, -1 when none
    # Its comment and the metadata of its tags, as the line reader reads them
    # (journal.transaction_notes).
    comment: str | None = None
    metadata: dict[str, Any] | None = None


Scanner = Callable[[Iterable[str]], Iterator[Parsed | PlainRecord]]


def read_journal(blocks: Iterable[str]) -> Iterator[Parsed | PlainRecord]:
    """What ``parse_journal`` gives for the text ``blocks`` make (each but the last ending
    with a newline), with plain transactions as PlainRecords."""
    reader = LineReader()
    commodities = reader.commodities
    dates: dict[str, dt.date] = {}
    number = 1  # the file line at ``start``
    rest = ""
    pending = iter(blocks)
    while True:
        block = next(pending, None)
        if block is None:
            text = rest if rest.endswith("\n") or not rest else rest + "\n"
            rest = ""
        else:
            # Read up to the last line that is not indented: no transaction is cut.
            text = rest + block
            cut = _last_top_line(text)
            text, rest = text[:cut], text[cut:]
        start, end = 0, len(text)
        match = _TRANSACTION.match
        while start < end:
            if text[start] in _DIGITS and not reader.in_comment:
                found = match(text, start)
                record = _record(found, number, commodities, dates) if found else None
                if found and record:
                    yield from reader.flush()
                    yield record
                    number += text.count("\n", start, found.end())
                    start = found.end()
                    continue
            stop = text.index("\n", start) + 1
            yield from reader.read(number, text[start:stop])
            number += 1
            start = stop
        if block is None:
            break
    yield from reader.flush()


def _last_top_line(text: str) -> int:
    """Where the text's last line that is not indented starts (0: none known yet; the
    line after the text's last newline is not known until the next block)."""
    at = text.rfind("\n", 0, len(text) - 1)
    while at >= 0 and text[at + 1] in " \t":
        at = text.rfind("\n", 0, at)
    return at + 1


def _record(
    found: re.Match[str], number: int, commodities: Commodities, dates: dict[str, dt.date]
) -> PlainRecord | None:
    """The transaction ``found`` as a record, or None where the line reader would refuse
    it or read it otherwise."""
    date_text, status, code, memo, comment, notes, lines = found.groups()
    postings = _POSTING.findall(lines)
    # Each match is one whole line: as many as lines, so every line is a posting.
    if len(postings) != lines.count("\n") or len(postings) > MAX_ENTRY_LINES:
        return None
    date = dates.get(date_text)
    if date is None:
        try:
            date = dates[date_text] = header_date(date_text, number)
        except Refused:
            return None
    external_id = None
    if code is not None:
        try:
            external_id = check_external_id(code, "code")
        except LedgerError:
            return None
    first = number + 1  # the file line of its first posting
    metadata = None
    if comment is not None or notes:
        try:
            comment, metadata, first = _notes(comment, notes, number)
        except Refused:
            return None
    read: list[PlainPosting] = []
    elided = -1
    used: set[str] = set()
    for at, (
        name,
        sign,
        left,
        sign2,
        whole,
        fraction,
        sign3,
        whole2,
        fraction2,
        right,
    ) in enumerate(postings, first):
        if len(name) > MAX_ACCOUNT_CODE:
            return None
        if not (left or right):
            if elided >= 0:
                return None
            elided = len(read)
            read.append((name, "", 0, 0, at))
            continue
        if right:
            sign, whole, fraction = sign3, whole2, fraction2
        elif sign and sign2:
            return None  # two signs: the line reader's refusal
        else:
            sign = sign or sign2
        if "," in whole:
            whole = whole.replace(",", "")
        digits = whole + fraction
        if len(digits) > MAX_DIGITS:
            return None
        value = int(digits)
        if not value:
            return None  # a zero amount: the plan refuses it; -0 reads otherwise
        try:
            currency = commodities.code(left or right, at)
        except Refused:
            return None
        used.add(currency)
        read.append((name, currency, -value if sign == "-" else value, len(fraction), at))
    if elided >= 0:
        if len(used) != 1:
            return None  # none, or more than one: the line reader refuses it
        places = max(posting[3] for posting in read)
        balance = -sum(
            value * 10 ** (places - given)
            for _, _, value, given, _ in read
            if value  # the left-out one, 0 until now
        )
        if not balance:
            return None
        name, _, _, _, at = read[elided]
        (currency,) = used
        read[elided] = (name, currency, balance, places, at)
    only = next(iter(used)) if len(used) == 1 else None
    return PlainRecord(
        number,
        date,
        memo.rstrip() if memo else "",
        external_id,
        status,
        only,
        read,
        elided,
        comment,
        metadata,
    )


def _notes(
    comment: str | None, lines: str, number: int
) -> tuple[str | None, dict[str, Any] | None, int]:
    """The comment and tag metadata of a transaction (journal.transaction_notes) whose
    header, at ``number``, has ``comment`` after its ``;`` and comment ``lines`` under it
    (each an indented ``;``), collected as the line reader's _Transaction collects them;
    and the file line of its first posting."""
    comments: list[str] = []
    at: list[int] = []
    if comment is not None and comment.strip():
        comments.append(comment.strip())
        at.append(number)
    line = number + 1
    for text in lines.split("\n")[:-1]:  # not splitlines: it cuts at \x1c, \x85...
        body = text.strip()[1:].strip()
        if body or comments:  # an empty comment line counts once another came first
            comments.append(body)
            at.append(line)
        line += 1
    return (*transaction_notes(comments, at, number), line)


def to_file_entry(record: PlainRecord) -> FileEntry:
    """The entry ``parse_journal`` gives for the record's transaction: the same Decimal
    operations on the same numbers, so the same amounts to the exponent."""
    amounts: list[Decimal | None] = []
    for index, (_, _, value, places, _) in enumerate(record.postings):
        if index == record.elided:
            amounts.append(None)
            continue
        given = Decimal((0, tuple(int(digit) for digit in str(abs(value))), -places))
        amounts.append(-given if value < 0 else given)
    if record.elided >= 0:
        amounts[record.elided] = -sum((a for a in amounts if a is not None), Decimal(0))
    lines = []
    for (name, currency, _, _, at), amount in zip(record.postings, amounts, strict=True):
        assert amount is not None
        lines.append(
            FileLine(
                name,
                None if amount < 0 else amount,
                -amount if amount < 0 else None,
                None if record.currency else currency,
                None,
                at,
                None,
            )
        )
    return FileEntry(
        line=record.line,
        date=record.date,
        memo=record.memo,
        currency=record.currency,
        external_id=record.external_id,
        status=record.status,
        comment=record.comment,
        metadata=record.metadata,
        lines=lines,
    )
