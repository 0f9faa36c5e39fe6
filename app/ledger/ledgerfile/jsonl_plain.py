"""JSON Lines read as journal records where they are plain: ``read_jsonl`` gives what
``jsonl.parse_jsonl`` gives for the same text, but each plain entry as a ``PlainRecord``
(journal_plain's), which the bulk load plans on integer amounts (bulk_load.from_file).

Plain here is an entry with a date, a memo, an ISO ``currency``, an optional string
``external_id`` and its lines, each an account and one positive decimal string (a
``debit`` or a ``credit``), and nothing else: no metadata, hold, line currency or
description, no JSON number. orjson reads it (the standard library's decoder, whose
numbers are Decimals, took a quarter of the import); every other line, and any line
orjson does not read, goes to ``jsonl.parse_jsonl_line``, which words its refusals. A
record is the entry that function gives (``to_file_entry``: a hypothesis test holds
them equal).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from app.ledger.errors import LedgerError
from app.ledger.ledgerfile.journal_plain import MAX_DIGITS, PlainPosting, PlainRecord
from app.ledger.ledgerfile.jsonl import parse_jsonl_line
from app.ledger.ledgerfile.model import (
    MAX_ENTRY_LINES,
    Parsed,
    check_account,
    check_date,
    check_external_id,
)

_FIELDS = frozenset({"date", "memo", "currency", "external_id", "lines"})
_LINE_FIELDS = frozenset({"account", "debit", "credit"})
_CURRENCY = re.compile(r"[A-Z]{3}")
# A positive amount's digits as money.parse_decimal reads them, without its spaces, sign
# or exponent (those go to parse_jsonl_line).
_NUMBER = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


def read_jsonl(blocks: Iterable[str]) -> Iterator[Parsed | PlainRecord]:
    """What ``parse_jsonl`` gives for the lines of the text ``blocks`` make (each but the
    last ending with a newline), with plain entries as PlainRecords."""
    number = 0
    dates: dict[str, dt.date] = {}
    accounts: dict[str, str] = {}
    for block in blocks:
        lines = block.split("\n")
        if block.endswith("\n"):
            lines.pop()
        for text in lines:
            number += 1
            record = _record(text, number, dates, accounts)
            if record is not None:
                yield record
                continue
            parsed = parse_jsonl_line(text, number)
            if parsed is not None:
                yield parsed


def _record(
    text: str, number: int, dates: dict[str, dt.date], accounts: dict[str, str]
) -> PlainRecord | None:
    """The line as a record, or None where it is not plain (module docstring)."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or not document.keys() <= _FIELDS:
        return None
    memo, currency, lines = document.get("memo"), document.get("currency"), document.get("lines")
    if (
        type(memo) is not str
        or type(currency) is not str
        or not _CURRENCY.fullmatch(currency)
        or type(lines) is not list
        or not 0 < len(lines) <= MAX_ENTRY_LINES
    ):
        return None
    try:
        date = _date(document.get("date"), dates)
        external_id = document.get("external_id")
        if external_id is not None:
            if type(external_id) is not str:
                return None
            external_id = check_external_id(external_id)
        postings = [_posting(raw, currency, number, accounts) for raw in lines]
    except (LedgerError, _NotPlain):
        return None
    return PlainRecord(number, date, memo, external_id, None, currency, postings, -1)


class _NotPlain(Exception):
    pass


def _date(value: Any, dates: dict[str, dt.date]) -> dt.date:
    if type(value) is not str:
        raise _NotPlain
    date = dates.get(value)
    if date is None:
        date = dates[value] = check_date(value)
    return date


def _posting(raw: Any, currency: str, number: int, accounts: dict[str, str]) -> PlainPosting:
    if type(raw) is not dict or not raw.keys() <= _LINE_FIELDS:
        raise _NotPlain
    name = raw.get("account")
    if type(name) is not str:
        raise _NotPlain
    code = accounts.get(name)
    if code is None:
        code = accounts[name] = check_account(name)
    debit, credit = raw.get("debit"), raw.get("credit")
    if (debit is None) == (credit is None):
        raise _NotPlain
    amount = debit if credit is None else credit
    if type(amount) is not str or (found := _NUMBER.fullmatch(amount)) is None:
        raise _NotPlain
    whole, fraction = found.group(1), found.group(2) or ""
    digits = whole + fraction
    if len(digits) > MAX_DIGITS or not (value := int(digits)):
        raise _NotPlain
    return (code, currency, value if credit is None else -value, len(fraction), number)
