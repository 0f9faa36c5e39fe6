"""Ledger files: JSON Lines, CSV and hledger journals, read and written in a stream.

A parser turns lines of text into ``FileEntry`` records (or a ``FileError`` naming
the line of an entry it cannot read), one entry at a time; a writer turns a
``FileEntry`` back into text. Import and export share them, so what one writes
the other reads.
"""

from __future__ import annotations

from app.ledger.ledgerfile.formats import FORMATS, Format, format_named, format_of_path
from app.ledger.ledgerfile.model import FileAccount, FileEntry, FileError, FileLine

__all__ = [
    "FORMATS",
    "FileAccount",
    "FileEntry",
    "FileError",
    "FileLine",
    "Format",
    "format_named",
    "format_of_path",
]
