"""An export's entries as the database gives them: a page of rows that a writer turns
into text straight away (``Writer.page``).

A ``FileEntry`` per entry (Decimal amounts, a FileLine per line) is what a parser
hands the import; building one for each of a million lines only to write it out
again is most of an export's time. A writer formats these rows instead: the amounts
from their minor units (``minor_text``), the pieces an account or a currency always
writes computed once, and what only some entries have (metadata, status marks,
comments, holds) read from the entry's stored metadata (entry_notes.notes_of).

ledgerfile.entry_notes.file_entry gives the ``FileEntry`` the rows stand for, which
``Writer.entry`` writes: the two must give the same text (tests/test_export_rows.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app.ledger.money import exponent

# The status of a hold still pending: the formats that can say so write it (JSON
# Lines' "hold"), the others never read such entries.
HELD = "PENDING"

# (entry id, date as YYYY-MM-DD, memo, currency, status, external id, stored metadata
# JSON or None): the columns export_reads selects, in this order.
EntryRow = tuple[int, str, str, str, str, str, str | None]
# (entry id, account id, currency, debit minor units, credit minor units, description
# or None).
LineRow = tuple[int, int, str, int, int, str | None]


@dataclass(frozen=True)
class RowPage:
    """Consecutive entries of an export, in (date, id) order, with all they write."""

    entries: Sequence[EntryRow]
    # Each entry's lines in line order, by entry id.
    lines: Mapping[int, Sequence[LineRow]]
    # Every account the lines name: id -> code.
    codes: Mapping[int, str]
    # When the hold of each HELD entry expires (None: never), by entry id.
    expiries: Mapping[int, dt.datetime | None] = field(default_factory=dict)


AmountText = Callable[[int], str]


def amount_text(digits: int) -> AmountText:
    """Amounts in minor units of a currency with ``digits`` decimals, as the decimal text
    ``format(from_minor(minor, currency), "f")`` gives, with integer arithmetic:
    ``12345`` is ``123.45`` (2 digits), ``-5`` is ``-0.05``, ``1500`` is ``1500`` (0
    digits), ``5`` is ``0.005`` (3 digits)."""
    if digits == 0:
        return str
    scale = 10**digits
    if digits > 4:  # no ISO 4217 currency has more; no table of a million pieces

        def padded(minor: int) -> str:
            text = str(abs(minor)).rjust(digits + 1, "0")
            return f"{'-' if minor < 0 else ''}{text[:-digits]}.{text[-digits:]}"

        return padded
    # The digits after the point of every remainder, written once.
    fractions = [str(fraction).rjust(digits, "0") for fraction in range(scale)]

    def text(minor: int) -> str:
        if minor >= 0:
            return f"{minor // scale}.{fractions[minor % scale]}"
        return f"-{-minor // scale}.{fractions[-minor % scale]}"

    return text


class Amounts(dict[str, AmountText]):
    """``amount_text`` by currency code, made on first use (``amounts[code](minor)``)."""

    def __missing__(self, currency: str) -> AmountText:
        made = self[currency] = amount_text(exponent(currency))
        return made
