"""JSON Lines: one entry per line.

    {"date":"2026-01-15","memo":"Office chairs","currency":"EUR","external_id":"inv-1",
     "lines":[{"account":"5100","debit":"420.00"},{"account":"1000","credit":"420.00"}]}

``currency`` defaults to the tenant's base currency and a line may carry its own;
amounts are decimal strings or JSON numbers, read as Decimal (never float). An optional
``metadata`` object is the entry's client metadata (app/ledger/metadata.py's rules), its
numbers exact: ``"metadata":{"order_id":"A-17","amount":12.50,"paid":true}``.
Unknown fields are refused, so a misspelt one is not silently dropped.

An export declares the accounts its entries use first, one line each, with their type
and client metadata (``import --create-accounts`` gives them to the accounts it creates):

    {"account":"2102","type":"LIABILITY","metadata":{"customer_id":42}}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from app.ledger.errors import BadInput, LedgerError
from app.ledger.ledgerfile.entry_notes import notes_of
from app.ledger.ledgerfile.metadata_text import metadata_json
from app.ledger.ledgerfile.model import (
    MAX_ENTRY_LINES,
    FileAccount,
    FileEntry,
    FileError,
    FileLine,
    Parsed,
    check_account,
    check_amount,
    check_date,
    check_external_id,
)
from app.ledger.ledgerfile.rows import HELD, Amounts, RowPage
from app.ledger.metadata import check_metadata

ENTRY_FIELDS = frozenset({"date", "memo", "currency", "external_id", "hold", "metadata", "lines"})
HOLD_FIELDS = frozenset({"expires_at"})
LINE_FIELDS = frozenset({"account", "debit", "credit", "currency", "description"})
ACCOUNT_FIELDS = frozenset({"account", "type", "metadata"})
ACCOUNT_TYPES = frozenset({"ASSET", "LIABILITY", "EQUITY", "INCOME", "EXPENSE"})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _optional_text(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadInput(f"{field.rsplit('.', 1)[-1]} must be a string", field=field)


def _unknown(document: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    for name in document:
        if name not in known:
            raise BadInput(
                f"unknown field {name!r} (expected {', '.join(sorted(known))})",
                field=f"{where}{name}",
            )


def _line(raw: object, index: int, number: int) -> FileLine:
    where = f"lines.{index}"
    if not isinstance(raw, dict):
        raise BadInput("a line is an object", field=where)
    _unknown(raw, LINE_FIELDS, f"{where}.")
    debit, credit = raw.get("debit"), raw.get("credit")
    return FileLine(
        account=check_account(raw.get("account"), f"{where}.account"),
        debit=None if debit is None else check_amount(debit, f"{where}.debit"),
        credit=None if credit is None else check_amount(credit, f"{where}.credit"),
        currency=_optional_text(raw.get("currency"), f"{where}.currency"),
        description=_optional_text(raw.get("description"), f"{where}.description"),
        line=number,
    )


def entry_of(document: object, number: int) -> FileEntry:
    """The entry of one decoded JSON line; BadInput names the field."""
    if not isinstance(document, dict):
        raise BadInput("a line of the file is one JSON object (an entry)")
    _unknown(document, ENTRY_FIELDS, "")
    lines = document.get("lines")
    if not isinstance(lines, list):
        raise BadInput("lines must be a list of lines", field="lines")
    if len(lines) > MAX_ENTRY_LINES:
        raise BadInput(f"an entry has at most {MAX_ENTRY_LINES} lines", field="lines")
    memo = document.get("memo")
    if not isinstance(memo, str):
        raise BadInput("memo must be a string", field="memo")
    return FileEntry(
        line=number,
        date=check_date(document.get("date")),
        memo=memo,
        currency=_optional_text(document.get("currency"), "currency"),
        external_id=check_external_id(document.get("external_id")),
        lines=[_line(raw, index, number) for index, raw in enumerate(lines)],
        metadata=check_metadata(document.get("metadata")),
        **_hold(document.get("hold")),
    )


def _hold(value: object) -> dict[str, Any]:
    """A "hold" object: the entry is a hold still pending, expiring at ``expires_at``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput('hold is an object, e.g. {"expires_at": null}', field="hold")
    _unknown(value, HOLD_FIELDS, "hold.")
    expires = value.get("expires_at")
    if expires is None:
        return {"hold": True}
    try:
        at = dt.datetime.fromisoformat(expires) if isinstance(expires, str) else None
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise BadInput(
            "expires_at is an ISO 8601 time with its offset, e.g. 2026-12-31T12:00:00+00:00",
            field="hold.expires_at",
        )
    return {"hold": True, "expires_at": at}


def account_of(document: Mapping[str, Any]) -> FileAccount:
    """The account a line declares (``{"account": ..., "type": ..., "metadata": ...}``)."""
    _unknown(document, ACCOUNT_FIELDS, "")
    kind = document.get("type")
    if kind is not None and kind not in ACCOUNT_TYPES:
        raise BadInput(f"type must be one of {', '.join(sorted(ACCOUNT_TYPES))}", field="type")
    return FileAccount(
        check_account(document.get("account"), "account"),
        kind,
        check_metadata(document.get("metadata")),
    )


def parse_jsonl(lines: Iterable[str]) -> Iterator[Parsed]:
    """Entries of a JSON Lines text; blank lines are skipped."""
    for number, text in enumerate(lines, 1):
        parsed = parse_jsonl_line(text, number)
        if parsed is not None:
            yield parsed


def parse_jsonl_line(text: str, number: int) -> Parsed | None:
    """What line ``number`` of a JSON Lines text holds: an entry, an account, or the
    error that refuses it; None for a blank line."""
    if not text.strip():
        return None
    try:
        document = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as error:  # JSONDecodeError, and NaN/Infinity refused above
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return FileError(number, f"not valid JSON: {message}")
    try:
        if isinstance(document, dict) and "account" in document:
            return account_of(document)
        return entry_of(document, number)
    except LedgerError as error:
        return FileError(number, error.message, error.field)


def _amount(value: Decimal) -> str:
    return format(value, "f")


class JsonlWriter:
    """Writes entries as JSON Lines, keys in a fixed order."""

    declares_accounts = True
    exports_holds = True
    lists_metadata_keys = False

    def __init__(self) -> None:
        self._amounts = Amounts()
        # '{"account":"<code>"' by account id: a line starts with its account's.
        self._line_starts: dict[int, str] = {}

    def header(self, metadata_keys: Sequence[str]) -> str:
        return ""

    def accounts(self, declared: Sequence[FileAccount]) -> str:
        text = ""
        for account in declared:
            document = {"account": account.code, "type": account.type}
            line = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            if account.metadata:  # by hand, as an entry's: exact numbers
                line = f'{line[:-1]},"metadata":{metadata_json(account.metadata)}}}'
            text += line + "\n"
        return text

    def entry(self, entry: FileEntry) -> str:
        lines: list[dict[str, str]] = []
        for line in entry.lines:
            item = {"account": line.account}
            if line.debit is not None:
                item["debit"] = _amount(line.debit)
            if line.credit is not None:
                item["credit"] = _amount(line.credit)
            if line.currency is not None and line.currency != entry.currency:
                item["currency"] = line.currency
            if line.description:
                item["description"] = line.description
            lines.append(item)
        document: dict[str, object] = {"date": entry.date.isoformat(), "memo": entry.memo}
        if entry.currency is not None:
            document["currency"] = entry.currency
        if entry.external_id is not None:
            document["external_id"] = entry.external_id
        if entry.hold:
            expires = entry.expires_at.isoformat() if entry.expires_at is not None else None
            document["hold"] = {"expires_at": expires}
        if entry.metadata:  # written by hand: json.dumps has no exact form of a Decimal
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            text = f'{text[:-1]},"metadata":{metadata_json(entry.metadata)},"lines":'
            return text + json.dumps(lines, ensure_ascii=False, separators=(",", ":")) + "}\n"
        document["lines"] = lines
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"

    def page(self, page: RowPage) -> str:
        """The text ``entry`` gives for each of the page's entries, written from the rows.

        json.dumps writes a string with ``encode_basestring`` (ensure_ascii=False), so
        each value is escaped alone and the document put together around it."""
        amounts = self._amounts
        starts = self._line_starts
        out: list[str] = []
        for entry_id, date, memo, currency, status, external_id, stored in page.entries:
            head = (
                f'{{"date":"{date}","memo":{encode_basestring(memo)},'
                f'"currency":{encode_basestring(currency)},'
                f'"external_id":{encode_basestring(external_id)}'
            )
            if status == HELD:
                expires = page.expiries.get(entry_id)
                at = "null" if expires is None else encode_basestring(expires.isoformat())
                head += f',"hold":{{"expires_at":{at}}}'
            if stored and (metadata := notes_of(stored).metadata):
                head += f',"metadata":{metadata_json(metadata)}'
            lines: list[str] = []
            for _, account_id, line_currency, debit, credit, description in page.lines.get(
                entry_id, ()
            ):
                start = starts.get(account_id)
                if start is None:
                    start = starts[account_id] = (
                        f'{{"account":{encode_basestring(page.codes[account_id])}'
                    )
                text = start
                if debit:
                    text += f',"debit":"{amounts[line_currency](debit)}"'
                if credit:
                    text += f',"credit":"{amounts[line_currency](credit)}"'
                if line_currency != currency:
                    text += f',"currency":{encode_basestring(line_currency)}'
                if description:
                    text += f',"description":{encode_basestring(description)}'
                lines.append(text)
            out.append(f'{head},"lines":[{"},".join(lines)}{"}" if lines else ""}]}}\n')
        return "".join(out)
