"""CSV: one row per line of an entry.

Header ``date,external_id,memo,currency,account,debit,credit,description`` (any
order; ``external_id``, ``currency`` and ``description`` may be left out).
Consecutive rows form one entry when they carry the same external_id; rows
without one belong together while their date and memo are blank or equal to the
entry's first row. A blank line always ends an entry, so two entries with the
same date and memo and no id are told apart by a blank line between them.

``currency`` is the row's (the line's) currency; the first row's is the entry's;
blank means the tenant's base currency.

A ``meta.<key>`` column (any number of them, after the others on export) is the entry's
client metadata under ``<key>``: the entry's first row gives it (a blank cell: no such
key), its other rows leave it blank or repeat it. A cell is read by metadata_text's rule:
``A-17`` is text, ``12.50`` the exact number, ``true``/``false``/``null`` those values,
``"12.50"`` (a JSON string) the text 12.50.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.ledger.errors import BadInput, LedgerError
from app.ledger.ledgerfile.entry_notes import notes_of
from app.ledger.ledgerfile.metadata_text import text_of_value, value_of_text
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
from app.ledger.ledgerfile.rows import Amounts, RowPage
from app.ledger.metadata import check_metadata

COLUMNS = ("date", "external_id", "memo", "currency", "account", "debit", "credit", "description")
REQUIRED = frozenset({"date", "memo", "account", "debit", "credit"})
META = "meta."  # a metadata column: meta.<key>, the key as written (keys are case-sensitive)


@dataclass
class _Group:
    """The rows of the entry being read; at most MAX_ENTRY_LINES are kept."""

    line: int
    external_id: str | None
    date: str
    memo: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    extra_rows: int = 0

    def takes(self, external_id: str | None, row: dict[str, str]) -> bool:
        if external_id or self.external_id:
            return external_id == self.external_id
        return row["date"] in ("", self.date) and row["memo"] in ("", self.memo)

    def add(self, number: int, row: dict[str, str]) -> None:
        if len(self.rows) < MAX_ENTRY_LINES:
            self.rows.append((number, row))
        else:
            self.extra_rows += 1


def _header(row: list[str], number: int) -> list[str]:
    """The column names of the header row; a bad header stops the import before any write."""
    names = [_column(name, number) for name in row]
    if len(set(names)) != len(names):
        raise BadInput(f"line {number}: a column is named twice")
    missing = REQUIRED - set(names)
    if missing:
        raise BadInput(f"line {number}: missing column(s) {', '.join(sorted(missing))}")
    return names


def _column(cell: str, number: int) -> str:
    name = cell.strip()
    if name[: len(META)].lower() == META:
        key = name[len(META) :]
        try:
            check_metadata({key: None})
        except BadInput as error:
            raise BadInput(f"line {number}: column {name!r}: {error.message}", field=name) from None
        return META + key
    if name.lower() not in COLUMNS:
        raise BadInput(
            f"line {number}: unknown column {name.lower()!r} "
            f"(expected {', '.join(COLUMNS)} or {META}<key>)",
            field=name.lower(),
        )
    return name.lower()


def _metadata(group: _Group) -> dict[str, Any] | None:
    """The entry's metadata: its first row's meta cells, which its other rows leave blank
    or repeat."""
    first_line, first = group.rows[0]
    values: dict[str, Any] = {}
    for name, cell in first.items():
        if name.startswith(META) and cell.strip():
            field = f"metadata.{name[len(META) :]}"
            try:
                values[name[len(META) :]] = value_of_text(cell, field=field)
            except LedgerError as error:
                raise LineProblem(first_line, error.message, error.field) from None
    for number, row in group.rows[1:]:
        for name, cell in row.items():
            if name.startswith(META) and cell.strip() not in ("", first[name].strip()):
                raise LineProblem(
                    number,
                    f"the row's {name} {cell.strip()!r} differs from its entry's (its first row's)",
                    f"metadata.{name[len(META) :]}",
                )
    try:
        return check_metadata(values)
    except LedgerError as error:
        raise LineProblem(first_line, error.message, error.field) from None


def _text(row: dict[str, str], name: str) -> str | None:
    return row.get(name, "").strip() or None


def _amount(row: dict[str, str], name: str) -> Decimal | None:
    text = row.get(name, "").strip()
    return check_amount(text, name) if text else None


def _entry(group: _Group) -> FileEntry:
    if group.extra_rows:
        raise BadInput(f"an entry has at most {MAX_ENTRY_LINES} lines", field="account")
    first_line, first = group.rows[0]
    lines: list[FileLine] = []
    for number, row in group.rows:
        for name, value in (("date", group.date), ("memo", group.memo)):
            if row[name] not in ("", value):
                raise LineProblem(
                    number, f"the row's {name} {row[name]!r} differs from its entry's", name
                )
        try:
            debit, credit = _amount(row, "debit"), _amount(row, "credit")
            lines.append(
                FileLine(
                    account=check_account(row.get("account")),
                    debit=debit,
                    credit=credit,
                    currency=_text(row, "currency"),
                    description=_text(row, "description"),
                    line=number,
                )
            )
        except LedgerError as error:
            raise LineProblem(number, error.message, error.field) from None
    metadata = _metadata(group)
    try:
        return FileEntry(
            line=first_line,
            date=check_date(group.date),
            memo=group.memo,
            currency=_text(first, "currency"),
            external_id=group.external_id,
            lines=lines,
            metadata=metadata,
        )
    except LedgerError as error:
        raise LineProblem(first_line, error.message, error.field) from None


class LineProblem(Exception):
    def __init__(self, line: int, message: str, field: str | None) -> None:
        super().__init__(message)
        self.problem = FileError(line, message, field)


def parse_csv(lines: Iterable[str]) -> Iterator[Parsed]:
    """Entries of a CSV text with a header row; a bad header is a BadInput."""
    reader = csv.reader(lines, strict=True)
    names: list[str] | None = None
    group: _Group | None = None
    end = 0  # the last physical line read so far

    def finish() -> Iterator[Parsed]:
        if group is None:
            return
        try:
            yield _entry(group)
        except LineProblem as problem:
            yield problem.problem

    while True:
        start = end + 1
        try:
            cells = next(reader, None)
        except csv.Error as error:
            yield from finish()
            group, end = None, reader.line_num
            yield FileError(start, f"not valid CSV: {error}")
            continue
        end = reader.line_num
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            yield from finish()
            group = None
            continue
        if names is None:
            names = _header(cells, start)
            continue
        if len(cells) != len(names):
            yield from finish()
            group = None
            yield FileError(start, f"the row has {len(cells)} cells, the header {len(names)}")
            continue
        row = dict(zip(names, cells, strict=True))
        row.setdefault("date", "")
        row.setdefault("memo", "")
        try:
            external_id = check_external_id(row.get("external_id"))
        except LedgerError as error:
            yield from finish()
            group = None
            yield FileError(start, error.message, error.field)
            continue
        if group is None or not group.takes(external_id, row):
            yield from finish()
            group = _Group(start, external_id, row["date"].strip(), row["memo"].strip())
        row["date"], row["memo"] = row["date"].strip(), row["memo"].strip()
        group.add(start, row)
    yield from finish()


# The characters for which the csv module may quote a cell (it quotes on ',', '"' and
# '\n' with this writer's dialect; '\r' too in some versions). A cell without any is
# written as it is; one with any is left to the csv module.
_MAYBE_QUOTED = re.compile('[,"\r\n]')


def _cell(text: str) -> str:
    """``text`` as the csv module writes it in a row of several cells."""
    if _MAYBE_QUOTED.search(text) is None:
        return text
    return CsvWriter._row([text, ""])[:-2]


class CsvWriter:
    """Writes entries as CSV rows under the standard header, then a meta.<key> column for
    each metadata key of the export, the entry's values on its first row."""

    declares_accounts = False
    exports_holds = False
    lists_metadata_keys = True

    def __init__(self) -> None:
        self._last_id: str | None = None
        self._keys: Sequence[str] = ()
        self._amounts = Amounts()
        # The cells an account or a currency always writes, by account id / code.
        self._account_cells: dict[int, str] = {}
        self._currency_cells: dict[str, str] = {}

    @staticmethod
    def _row(cells: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(cells)
        return buffer.getvalue()

    def header(self, metadata_keys: Sequence[str]) -> str:
        self._keys = list(metadata_keys)
        return self._row([*COLUMNS, *(META + key for key in self._keys)])

    def accounts(self, declared: Sequence[FileAccount]) -> str:
        return ""  # the format has no account declarations

    def entry(self, entry: FileEntry) -> str:
        # Rows of consecutive entries with one id would read back as one entry.
        text = "\n" if entry.external_id and entry.external_id == self._last_id else ""
        self._last_id = entry.external_id
        metadata = entry.metadata or {}
        missing = [key for key in metadata if key not in self._keys]
        if missing:  # the export lists every key first: this is a bug, not bad input
            raise ValueError(f"metadata keys {missing} are not columns of the header")
        for index, line in enumerate(entry.lines):
            meta = [
                text_of_value(metadata[key]) if index == 0 and key in metadata else ""
                for key in self._keys
            ]
            text += self._row(
                [
                    entry.date.isoformat(),
                    entry.external_id or "",
                    entry.memo,
                    line.currency or entry.currency or "",
                    line.account,
                    "" if line.debit is None else format(line.debit, "f"),
                    "" if line.credit is None else format(line.credit, "f"),
                    line.description or "",
                    *meta,
                ]
            )
        return text

    def page(self, page: RowPage) -> str:
        """The text ``entry`` gives for each of the page's entries, written from the rows:
        the cells an entry repeats on each of its rows quoted once."""
        amounts = self._amounts
        accounts = self._account_cells
        currencies = self._currency_cells
        keys = self._keys
        no_meta = "," * len(keys)
        out: list[str] = []
        for entry_id, date, memo, currency, _, external_id, stored in page.entries:
            if external_id and external_id == self._last_id:
                out.append("\n")
            self._last_id = external_id
            first_meta = no_meta
            if stored and (metadata := notes_of(stored).metadata):
                missing = [key for key in metadata if key not in keys]
                if missing:  # the export lists every key first: this is a bug, not bad input
                    raise ValueError(f"metadata keys {missing} are not columns of the header")
                first_meta = "".join(
                    f",{_cell(text_of_value(metadata[key]))}" if key in metadata else ","
                    for key in keys
                )
            head = f"{date},{_cell(external_id or '')},{_cell(memo)},"
            meta = first_meta
            for _, account_id, line_currency, debit, credit, description in page.lines.get(
                entry_id, ()
            ):
                unit = line_currency or currency or ""
                unit_cell = currencies.get(unit)
                if unit_cell is None:
                    unit_cell = currencies[unit] = _cell(unit)
                account = accounts.get(account_id)
                if account is None:
                    account = accounts[account_id] = _cell(page.codes[account_id])
                out.append(
                    f"{head}{unit_cell},{account},"
                    f"{amounts[line_currency](debit) if debit else ''},"
                    f"{amounts[line_currency](credit) if credit else ''},"
                    f"{_cell(description) if description else ''}{meta}\n"
                )
                meta = no_meta
        return "".join(out)
