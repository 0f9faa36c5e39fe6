"""The three formats by name: their parser, writer and how they name a field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath

from app.ledger.errors import BadInput
from app.ledger.ledgerfile.csvfile import CsvWriter, parse_csv
from app.ledger.ledgerfile.journal import JournalWriter, parse_journal
from app.ledger.ledgerfile.journal_plain import Scanner, read_journal
from app.ledger.ledgerfile.jsonl import JsonlWriter, parse_jsonl
from app.ledger.ledgerfile.jsonl_plain import read_jsonl
from app.ledger.ledgerfile.model import FileEntry, Parser, Writer

_LINE_FIELD = re.compile(r"^lines\.(\d+)(?:\.(\w+))?$")
# The ledger core names fields as the GraphQL input does; a file names them its own way.
_CORE_NAMES = {"accountCode": "account", "idempotencyKey": "external_id"}


@dataclass(frozen=True)
class Format:
    name: str
    parse: Parser
    writer: Callable[[], Writer]
    # Field names of this format where they differ from the JSON Lines ones.
    names: Mapping[str, str]
    # True when a line's field is named with its path (lines.1.debit), not just its column.
    paths: bool
    # Reads the file's text a block at a time, plain entries as records the bulk load
    # plans without building them (journal_plain); None: ``parse`` reads its lines.
    scan: Scanner | None = None

    def locate(self, entry: FileEntry, field: str | None) -> tuple[int, str | None]:
        """The file line and the field name of an error the ledger core gave for ``entry``."""
        if field is None:
            return entry.line, None
        match = _LINE_FIELD.match(field)
        if match is None:
            name = _CORE_NAMES.get(field, field)
            return entry.line, self.names.get(name, name)
        index, attribute = int(match[1]), match[2]
        line = entry.lines[index].line if index < len(entry.lines) else entry.line
        if attribute is None:
            return line, field if self.paths else None
        name = _CORE_NAMES.get(attribute, attribute)
        name = self.names.get(name, name)
        return line, f"lines.{index}.{name}" if self.paths else name


FORMATS: dict[str, Format] = {
    "jsonl": Format("jsonl", parse_jsonl, JsonlWriter, {}, paths=True, scan=read_jsonl),
    "csv": Format("csv", parse_csv, CsvWriter, {}, paths=False),
    "journal": Format(
        "journal",
        parse_journal,
        JournalWriter,
        {
            "debit": "amount",
            "credit": "amount",
            "currency": "amount",
            "external_id": "code",
            "description": "comment",
            "memo": "description",
        },
        paths=False,
        scan=read_journal,
    ),
}

EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".journal": "journal",
    ".ledger": "journal",
    ".hledger": "journal",
}


def format_named(name: str) -> Format:
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise BadInput(
            f"unknown format {name!r}: expected one of {', '.join(FORMATS)}", field="format"
        ) from None


def format_of_path(path: str | PurePath) -> Format:
    """The format a file's extension names; BadInput when it names none."""
    suffix = PurePath(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise BadInput(
            f"cannot tell the format of {PurePath(path).name!r} from its extension "
            f"({', '.join(EXTENSIONS)}): give it with --format",
            field="format",
        )
    return FORMATS[EXTENSIONS[suffix]]
