"""Writer.page writes from an export's rows the text Writer.entry writes for the
FileEntry the rows stand for (entry_notes.file_entry), refusing what it refuses with the
same error: for generated rows of every kind (metadata, marks, comments, descriptions,
currencies with 0, 2 and 3 decimals, holds, odd names and memos), in pages of any size.
And the pieces it is made of: amounts from minor units, CSV cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import export_reads, importing
from app.ledger.errors import LedgerError
from app.ledger.ledgerfile import FORMATS
from app.ledger.ledgerfile.csvfile import _cell
from app.ledger.ledgerfile.entry_notes import file_entry, notes_of
from app.ledger.ledgerfile.metadata_text import json_value
from app.ledger.ledgerfile.rows import HELD, EntryRow, LineRow, RowPage, amount_text
from app.ledger.money import exponent, from_minor

CODES = {
    1: "assets:bank",
    2: "1000",
    3: "expenses:office, misc",
    4: 'quote"d',
    5: "two  spaces",  # a journal cannot hold it
    6: "semi;colon",  # nor this
    7: "* marked",  # nor this
    8: "café",
}
CURRENCIES = ("EUR", "JPY", "BHD", "USD")
AWKWARD = 'ab ,;"()*!:\n\r\t\u2028é-'

plain = st.text(alphabet=st.sampled_from("ab é-:,."), max_size=8)
# Mostly text every format holds, so that most examples write more than a refusal.
texts = st.one_of(plain, plain, plain, st.text(alphabet=st.sampled_from(AWKWARD), max_size=8))
texts |= st.text(max_size=6)
client_values = st.one_of(
    texts,
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.booleans(),
    st.none(),
)
# "a:b" a journal cannot write as a tag.
client_keys = st.sampled_from(["order_id", "amount", "note", "x.y", "paid"] * 3 + ["a:b"])
marks = st.sampled_from(["*", "!", "", "x"])


@st.composite
def stored_metadata(draw: st.DrawFn) -> str | None:
    """An entry's stored metadata JSON (numbers exact), or None."""
    if draw(st.booleans()):
        return None
    pieces = [
        f"{json.dumps(key)}:{json_value(value)}"
        for key, value in draw(st.dictionaries(client_keys, client_values, max_size=3)).items()
    ]
    if draw(st.booleans()):
        kept: dict[str, Any] = {"status": draw(marks)}
        if draw(st.booleans()):
            kept["comment"] = draw(texts)
        if draw(st.booleans()):
            kept["posting_status"] = draw(st.lists(marks, max_size=4))
        pieces.append(f'"hledger":{json.dumps(kept)}')
    return "{" + ",".join(pieces) + "}"


amounts = st.sampled_from([0, 1, 5, 99, 100, 12345, 10**15]) | st.integers(-(10**6), 10**12)


@st.composite
def entries(draw: st.DrawFn) -> tuple[EntryRow, list[LineRow], dt.datetime | None]:
    entry_id = draw(st.integers(1, 10**9))
    row: EntryRow = (
        entry_id,
        draw(st.dates(dt.date(1990, 1, 1), dt.date(2199, 12, 31))).isoformat(),
        draw(texts),
        draw(st.sampled_from(CURRENCIES)),
        draw(st.sampled_from(["POSTED", "REVERSED", HELD])),
        draw(st.sampled_from(["inv-1", "inv-2", "", "JE-1", "a,b", 'q"'])),
        draw(stored_metadata()),
    )
    lines: list[LineRow] = [
        (
            entry_id,
            # Mostly names a journal holds (5-7 it refuses).
            draw(st.sampled_from([*[1, 2, 3, 4, 8] * 6, 5, 6, 7])),
            draw(st.sampled_from(CURRENCIES)),
            draw(amounts),
            draw(amounts),
            draw(st.none() | texts),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    expires = draw(
        st.none() | st.datetimes(timezones=st.just(dt.UTC), min_value=dt.datetime(2000, 1, 1))
    )
    return row, lines, expires


def written(fmt: str, keys: Sequence[str], books: list[Any], cuts: list[int]) -> Any:
    """(text, None) of the page writer over ``books`` cut into pages at ``cuts``, or
    (None, the error)."""
    writer = FORMATS[fmt].writer()
    text = writer.header(keys)
    bounds = [0, *sorted({cut % (len(books) + 1) for cut in cuts}), len(books)]
    try:
        for start, end in pairwise(bounds):
            part = books[start:end]
            text += writer.page(
                RowPage(
                    entries=[row for row, _, _ in part],
                    lines={row[0]: lines for row, lines, _ in part},
                    codes=CODES,
                    expiries={row[0]: expires for row, _, expires in part},
                )
            )
    except (ValueError, LedgerError) as error:
        return None, (type(error), str(error))
    return text, None


def written_per_entry(fmt: str, keys: Sequence[str], books: list[Any]) -> Any:
    writer = FORMATS[fmt].writer()
    text = writer.header(keys)
    try:
        for row, lines, expires in books:
            text += writer.entry(file_entry(row, lines, CODES, expires))
    except (ValueError, LedgerError) as error:
        return None, (type(error), str(error))
    return text, None


@settings(max_examples=400, deadline=None)
@given(
    st.lists(entries(), max_size=6, unique_by=lambda book: book[0][0]),
    st.lists(st.integers(0, 100), max_size=3),
    st.booleans(),
)
def test_a_page_is_written_as_its_entries_one_by_one(
    books: list[Any], cuts: list[int], all_keys: bool
) -> None:
    every_key = sorted({key for row, _, _ in books for key in notes_of(row[6]).metadata or ()})
    for fmt in sorted(FORMATS):
        # A CSV header without a key of the entries is the bug the writers refuse alike.
        keys = every_key if all_keys or fmt != "csv" else every_key[1:]
        assert written(fmt, keys, books, cuts) == written_per_entry(fmt, keys, books), fmt


def test_csv_writes_the_same_id_twice_apart() -> None:
    row: EntryRow = (1, "2026-01-01", "m", "EUR", "POSTED", "inv-1", None)
    lines: list[LineRow] = [(1, 2, "EUR", 100, 0, None), (1, 1, "EUR", 0, 100, None)]
    books = [(row, lines, None), ((2, *row[1:]), [(2, *line[1:]) for line in lines], None)]
    text, _ = written("csv", [], books, [1])
    assert text == written_per_entry("csv", [], books)[0]
    assert "\n\n2026-01-01,inv-1" in text


def test_amounts_are_written_from_minor_units_exactly() -> None:
    samples = [*range(-1100, 1100), 10**15 + 7, -(10**15) - 7, 2**63 - 1, -(2**63 - 1)]
    for currency in ("EUR", "JPY", "BHD", "CLF"):  # 2, 0, 3 and 4 decimals
        text = amount_text(exponent(currency))
        for minor in samples:
            assert text(minor) == format(from_minor(minor, currency), "f"), (currency, minor)
    six = amount_text(6)  # more decimals than any currency: written without a table
    for minor in samples:
        assert six(minor) == format(Decimal(minor).scaleb(-6), "f")


def test_a_csv_cell_is_what_the_csv_module_writes() -> None:
    def by_csv(text: str) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([text, ""])
        return buffer.getvalue()[:-2]

    for code in range(0x3000):
        text = f"a{chr(code)}b"
        assert _cell(text) == by_csv(text), code
    for text in ("", " ", '"', ",", "\n", "\r\n", 'a "b", c'):
        assert _cell(text) == by_csv(text)


def test_the_import_source_is_the_importers() -> None:
    assert export_reads.IMPORT_SOURCE == importing.IMPORT_SOURCE
