"""The ledger-file parsers and writers, without a database: good input, bad input
(every error names its line), and writer -> parser round trips (hypothesis)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.ledger.errors import BadInput
from app.ledger.ledgerfile import (
    FORMATS,
    FileAccount,
    FileEntry,
    FileError,
    FileLine,
    format_of_path,
    journal,
)
from app.ledger.ledgerfile.formats import Format
from app.ledger.ledgerfile.model import Parsed


def parse(fmt: str, text: str) -> list[Parsed]:
    return list(FORMATS[fmt].parse(text.splitlines(keepends=True)))


def errors(items: list[Parsed]) -> list[tuple[int, str | None]]:
    return [(item.line, item.field) for item in items if isinstance(item, FileError)]


def entries(items: list[Parsed]) -> list[FileEntry]:
    return [item for item in items if isinstance(item, FileEntry)]


# ---------------------------------------------------------------- JSON Lines


def test_jsonl_reads_entries_with_decimal_amounts_never_floats() -> None:
    text = (
        '{"date":"2026-01-15","memo":"Office chairs","currency":"EUR","external_id":"inv-1",'
        '"lines":[{"account":"5100","debit":"420.00"},'
        '{"account":"1000","credit":420.10,"description":"card"}]}\n'
        "\n"
        '{"date":"2026-01-16","memo":"Sale","external_id":7,"lines":[{"account":"1000",'
        '"debit":3,"currency":"USD"},{"account":"4000","credit":"3"}]}\n'
    )
    first, second = entries(parse("jsonl", text))
    assert first == FileEntry(
        line=1,
        date=dt.date(2026, 1, 15),
        memo="Office chairs",
        currency="EUR",
        external_id="inv-1",
        lines=[
            FileLine("5100", Decimal("420.00"), None, None, None, 1),
            FileLine("1000", None, Decimal("420.10"), None, "card", 1),
        ],
    )
    assert isinstance(first.lines[1].credit, Decimal)
    assert second.line == 3 and second.external_id == "7" and second.currency is None
    assert second.lines[0].currency == "USD" and second.lines[0].debit == 3


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("not json", None),
        ('{"date":"2026-01-15","memo":"m","lines":[{"account":"1","debit":NaN}]}', None),
        ('{"date":"15/01/2026","memo":"m","lines":[]}', "date"),
        ('{"date":"2026-02-30","memo":"m","lines":[]}', "date"),
        ('{"date":"2026-01-15","memo":"m","lines":[],"amount":"1"}', "amount"),
        (
            '{"date":"2026-01-15","memo":"m","lines":[{"account":"1","debit":"1e3"}]}',
            "lines.0.debit",
        ),
        ('{"date":"2026-01-15","memo":"m","lines":[{"acount":"1","debit":"1"}]}', "lines.0.acount"),
        (
            '{"date":"2026-01-15","memo":"m","lines":[{"account":"' + "9" * 51 + '","debit":"1"}]}',
            "lines.0.account",
        ),
        ('{"date":"2026-01-15","memo":"m","external_id":"a)b","lines":[]}', "external_id"),
        ('{"date":"2026-01-15","memo":5,"lines":[]}', "memo"),
        ('{"date":"2026-01-15","memo":"m","lines":{}}', "lines"),
        ("[1, 2]", None),
    ],
)
def test_jsonl_errors_name_the_line_and_the_field(line: str, field: str | None) -> None:
    good = '{"date":"2026-01-15","memo":"ok","lines":[]}'
    items = parse("jsonl", f"{good}\n{line}\n{good}\n")
    assert errors(items) == [(2, field)]
    assert [entry.line for entry in entries(items)] == [1, 3]  # the others still read


# ---------------------------------------------------------------- CSV

CSV_HEADER = "date,external_id,memo,currency,account,debit,credit,description\n"


def test_csv_groups_rows_by_external_id_then_by_date_and_memo() -> None:
    text = (
        CSV_HEADER
        + "2026-01-15,inv-1,Chairs,EUR,5100,420.00,,\n"
        + '2026-01-15,inv-1,Chairs,EUR,1000,,420.00,"card, visa"\n'
        + "2026-01-15,inv-2,Chairs,EUR,5100,1,,\n"  # same memo, another id: another entry
        + ",inv-2,,,1000,,1,\n"  # continuation rows may leave date and memo blank
        + "2026-01-16,,Sale,,1000,5,,\n"
        + "2026-01-16,,Sale,,4000,,5,\n"
        + "\n"  # a blank line ends the entry: the next one has the same date and memo
        + "2026-01-16,,Sale,USD,1000,7,,\n"
        + ',,,USD,4000,,7,"two\nlines"\n'
        + "2026-01-17,,Other,,1000,1,,\n"
        + "2026-01-17,,Other,,4000,,1,\n"
    )
    found = entries(parse("csv", text))
    assert [(e.line, e.external_id, e.memo, len(e.lines)) for e in found] == [
        (2, "inv-1", "Chairs", 2),
        (4, "inv-2", "Chairs", 2),
        (6, None, "Sale", 2),
        (9, None, "Sale", 2),
        (12, None, "Other", 2),
    ]
    assert found[0].lines[1].description == "card, visa" and found[0].currency == "EUR"
    assert found[3].currency == "USD" and found[3].lines[1].description == "two\nlines"
    assert [line.line for line in found[3].lines] == [9, 10]


def test_csv_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    text = "memo,account,date,credit,debit\nRent,5000,2026-01-01,,10\nRent,1000,2026-01-01,10,\n"
    (entry,) = entries(parse("csv", text))
    assert entry.currency is None and entry.external_id is None
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        ("5000", Decimal(10), None),
        ("1000", None, Decimal(10)),
    ]


def test_csv_errors_name_the_row_line_and_column() -> None:
    text = (
        CSV_HEADER
        + "2026-01-15,a,M,,1000,1.5x,,\n"  # line 2: bad debit
        + "2026-01-15,a,M,,4000,,1.5,\n"
        + "2026-01-15,b,M,,1000,1,,\n"
        + "2026-01-16,b,M,,4000,,1,\n"  # line 5: date differs within entry b
        + "2026-01-15,c,M,,1000,1\n"  # line 6: too few cells
        + "2026-99-15,d,M,,1000,1,,\n"  # line 7: bad date, reported on the entry's first row
        + "2026-01-15,e,M,,1000,1,,\n"
        + "2026-01-15,e,M,,4000,,1,\n"
    )
    items = parse("csv", text)
    assert errors(items) == [(2, "debit"), (5, "date"), (6, None), (7, "date")]
    assert [entry.external_id for entry in entries(items)] == ["e"]


@pytest.mark.parametrize(
    "header",
    ["date,memo,account,debit\n", "date,memo,account,debit,credit,amount\n", "date,date,memo\n"],
)
def test_a_bad_csv_header_refuses_the_whole_file(header: str) -> None:
    with pytest.raises(BadInput, match="line 1"):
        parse("csv", header + "2026-01-01,m,1000,1,\n")


# ---------------------------------------------------------------- journal

JOURNAL = """\
; a comment, then directives that change nothing
account 1000
    ; account comment
commodity EUR
P 2026-01-01 USD 0.9 EUR
comment
anything at all
end comment

2026-01-15=2026-01-20 * (inv-1) Office chairs  ; transaction comment
    ; another transaction comment
    expenses:office      420.00 EUR  ; new chairs
        ; for the meeting room
    assets:bank
2026/01/16 ! Sale
    assets:bank     EUR 100
    income:sales    -100.00 EUR
2026.01.17 Yen and dollars
    1000    JPY 500
    4000    -500 JPY
    * 1000  5.25 USD
    4000    USD -5.25
"""


def test_journal_reads_plain_transactions() -> None:
    first, second, third = entries(parse("journal", JOURNAL))
    assert first == FileEntry(
        line=10,
        date=dt.date(2026, 1, 15),
        memo="Office chairs",
        currency="EUR",
        external_id="inv-1",
        status="*",
        comment="transaction comment\nanother transaction comment",
        lines=[
            FileLine(
                "expenses:office",
                Decimal("420.00"),
                None,
                None,
                "new chairs\nfor the meeting room",
                12,
            ),
            FileLine("assets:bank", None, Decimal("420.00"), None, None, 14),
        ],
    )
    assert (second.date, second.memo, second.currency, second.external_id, second.status) == (
        dt.date(2026, 1, 16),
        "Sale",
        "EUR",
        None,
        "!",
    )
    assert [(line.debit, line.credit) for line in second.lines] == [
        (Decimal(100), None),
        (None, Decimal("100.00")),
    ]
    assert third.currency is None  # two commodities: each line carries its own
    assert (third.status, third.comment) == (None, None)
    assert [line.status for line in third.lines] == [None, None, "*", None]
    assert [(line.account, line.currency, line.debit, line.credit) for line in third.lines] == [
        ("1000", "JPY", Decimal(500), None),
        ("4000", "JPY", None, Decimal(500)),
        ("1000", "USD", Decimal("5.25"), None),
        ("4000", "USD", None, Decimal("5.25")),
    ]


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        ("2026-01-01 x\n    a  10 EUR @ 1.1 USD\n    b\n", 2, "amount"),
        ("2026-01-01 x\n    a  10 EUR = 10 EUR\n    b\n", 2, "amount"),
        ("2026-01-01 x\n    a  ¤10\n    b\n", 2, "amount"),  # no ISO code, no known symbol
        ("2026-01-01 x\n    a  kr 10\n    b\n", 2, "amount"),  # SEK, NOK, DKK, ISK...
        ("2026-01-01 x\n    a  1,000 EUR\n    b\n", 2, "amount"),  # hledger: 1.000
        ("2026-01-01 x\n    a  1.000,00 EUR\n    b\n", 2, "amount"),
        ("2026-01-01 x\n    a  10,00,000.00 EUR\n    b\n", 2, "amount"),
        ("2026-01-01 x\n    a  10 EUR\n    b\n    c\n", 4, "amount"),
        ("2026-01-01 x\n    a  10 EUR\n    b  5 USD\n    c\n", 4, "amount"),
        ("2026-01-01 x\n    a  10 EUR\n    b  -10 EUR\n    c\n", 4, "amount"),
        ("2026-01-01 x\n    (a)  10 EUR\n    b\n", 2, "account"),
        ("2026-01-01 x\n    " + "a" * 51 + "  10 EUR\n    b\n", 2, "account"),
        ("2026-02-30 x\n    a  10 EUR\n    b\n", 1, "date"),
        ("2026-01-01 (open x\n    a  10 EUR\n    b\n", 1, "code"),
        ("~ monthly\n    a  10 EUR\n    b\n", 1, None),
        ("= expenses\n    a  1\n", 1, None),
        ("include other.journal\n", 1, None),
        ("alias a=b\n", 1, None),
        ("D 1000.00 EUR\n", 1, None),
        ("commodity 1.000,00 EUR\n", 1, None),
        ("commodity $1,000\n", 1, None),  # hledger reads a lone comma as the decimal mark
        ("commodity EUR\n    format 1.000,00 EUR\n", 2, None),
        ("commodity $1,000.00  ; iso: XYZ\n", 1, "commodity"),
        ("commodity EUR  ; iso: USD\n", 1, "commodity"),
        ("2026-01-01 x  ; " + "c" * 2001 + "\n    a  10 EUR\n    b\n", 1, "comment"),
        ("Something else\n", 1, None),
        ("    indented outside\n", 1, None),
    ],
)
def test_journal_errors_name_the_line(body: str, line: int, field: str | None) -> None:
    good = "2026-01-01 ok\n    a  1 EUR\n    b\n"
    items = parse("journal", f"{good}\n{body}\n{good}")
    assert errors(items) == [(line + 4, field)]
    assert len(entries(items)) == 2  # the entries around it still read


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.jsonl", "jsonl"),
        ("x.CSV", "csv"),
        ("x.journal", "journal"),
        ("x.ledger", "journal"),
        ("x.hledger", "journal"),
    ],
)
def test_format_is_guessed_from_the_extension(name: str, fmt: str) -> None:
    assert format_of_path(name).name == fmt


def test_an_unknown_extension_asks_for_the_format() -> None:
    with pytest.raises(BadInput, match="--format"):
        format_of_path("ledger.txt")


# ---------------------------------------------------------------- round trips

ACCOUNTS = st.sampled_from(["1000", "4000", "assets:bank", "expenses:office chairs", "5100"])
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20
).map(str.strip)


@st.composite
def file_entries(draw: st.DrawFn) -> FileEntry:
    currency = draw(st.sampled_from(["EUR", "JPY", "BHD"]))
    digits = {"EUR": 2, "JPY": 0, "BHD": 3}[currency]
    amounts = draw(st.lists(st.integers(1, 10**12), min_size=2, max_size=4))
    lines = [
        FileLine(
            account=draw(ACCOUNTS),
            debit=Decimal(minor).scaleb(-digits) if index % 2 == 0 else None,
            credit=Decimal(minor).scaleb(-digits) if index % 2 else None,
            currency=currency,
            description=draw(TEXT.filter(lambda t: ";" not in t)) or None,
        )
        for index, minor in enumerate(amounts)
    ]
    memo = draw(TEXT.filter(lambda t: t and ";" not in t and t[0] not in "(*!"))
    return FileEntry(
        line=0,
        date=draw(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))),
        memo=memo,
        currency=currency,
        external_id=draw(st.from_regex(r"\A[A-Za-z0-9:._-]{1,30}\Z")),
        lines=lines,
    )


def _comparable(entry: FileEntry) -> tuple[object, ...]:
    """What must survive a round trip: line numbers and where a currency sits may differ."""
    currency = entry.currency
    return (
        entry.date,
        entry.memo,
        entry.external_id,
        [
            (line.account, line.debit, line.credit, line.currency or currency, line.description)
            for line in entry.lines
        ],
    )


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=60, deadline=None)
@given(batch=st.lists(file_entries(), min_size=1, max_size=4))
def test_what_a_writer_writes_its_parser_reads_back(fmt: str, batch: list[FileEntry]) -> None:
    format_: Format = FORMATS[fmt]
    writer = format_.writer()
    text = writer.header([]) + "".join(writer.entry(entry) for entry in batch)
    read = list(format_.parse(text.splitlines(keepends=True)))
    assert all(isinstance(item, FileEntry) for item in read), read
    assert [_comparable(item) for item in entries(read)] == [_comparable(e) for e in batch]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("account 5000  ; type: R", ("5000", "INCOME")),
        ("account assets:bank\t; type: Cash", ("assets:bank", "ASSET")),
        ("account 2000 ; note, type: liability", ("2000", "LIABILITY")),
        ("account 3000", None),  # no type: the code decides, as before
        ("account 3000  ; type: Q", None),  # not a type hledger knows
    ],
)
def test_account_directives_declare_types(line: str, expected: tuple[str, str] | None) -> None:
    read = list(FORMATS["journal"].parse([line + "\n"]))
    declared = [(item.code, item.type) for item in read if isinstance(item, FileAccount)]
    assert declared == ([expected] if expected else [])
    assert not [item for item in read if isinstance(item, FileError)]


# ---------------------------------------------------------------- commodity symbols


def _amounts(text: str) -> list[tuple[str | None, Decimal | None, Decimal | None]]:
    return [
        (line.currency or entry.currency, line.debit, line.credit)
        for entry in entries(parse("journal", text))
        for line in entry.lines
    ]


def test_symbols_map_to_iso_codes_by_default() -> None:
    text = (
        "2026-01-01 x\n    a  $1,000.50\n    b  -$1,000.50\n\n"
        "2026-01-01 x\n    a  10 €\n    b  €-10\n\n"
        "2026-01-01 x\n    a  £0.99\n    b\n\n"
        "2026-01-01 x\n    a  ¥500\n    b  -500 JPY\n"
    )
    assert _amounts(text) == [
        ("USD", Decimal("1000.50"), None),
        ("USD", None, Decimal("1000.50")),
        ("EUR", Decimal(10), None),
        ("EUR", None, Decimal(10)),
        ("GBP", Decimal("0.99"), None),
        ("GBP", None, Decimal("0.99")),
        ("JPY", Decimal(500), None),
        ("JPY", None, Decimal(500)),
    ]


def test_a_commodity_directive_names_its_symbols_code_for_the_entries_after_it() -> None:
    text = (
        "2026-01-01 before\n    a  $1\n    b\n\n"
        "commodity $1,000.00  ; iso: CAD\n"
        "commodity kr\n    format kr 1000.00\n    ; note, iso: SEK\n\n"
        "2026-01-02 after\n    a  $2\n    b  kr 3\n    c  -3 SEK\n    d  -$2\n"
    )
    assert [code for code, *_ in _amounts(text)] == ["USD", "USD", "CAD", "SEK", "SEK", "CAD"]


def test_marks_and_comments_survive_the_journal_writer() -> None:
    text = (
        # The comment's text, then its tags (the entry's metadata) on a line of their own.
        "2026-01-15 * (inv-1) Office chairs  ; first line of the comment\n"
        "    ; paid: yes\n"
        "    ! expenses:office  420.00 EUR  ; new chairs\n"
        "    assets:bank  -420.00 EUR\n"
        "\n"
        "2026-01-16 ! (inv-2) Sale\n"
        "    * assets:bank  10.00 EUR\n"
        "    income:sales  -10.00 EUR\n"
        "\n"
    )
    writer = FORMATS["journal"].writer()
    written = "".join(writer.entry(entry) for entry in entries(parse("journal", text)))
    assert written == text


def test_an_account_a_status_mark_would_swallow_is_not_written() -> None:
    entry = FileEntry(
        line=0,
        date=dt.date(2026, 1, 1),
        memo="m",
        external_id="x",
        lines=[FileLine("* a", Decimal(1), None, "EUR"), FileLine("b", None, Decimal(1), "EUR")],
    )
    with pytest.raises(BadInput, match="account name"):
        FORMATS["journal"].writer().entry(entry)


# Pieces of postings, plain and not: the one-match reading of a plain posting
# (journal._PLAIN_POSTING) must give what the general reading gives, or leave it to it.
_POSTING_PIECES = st.lists(
    st.sampled_from(
        [
            "assets:bank",
            "a b",
            "x",
            "*",
            "!",
            "(",
            ";",
            " ",
            "  ",
            "\t",
            "EUR",
            "$",
            "eur",
            "-",
            "10",
            "10.5",
            "1,000.00",
            "12345678901234567890123456789012",
            "@",
        ]
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=1000, deadline=None)
@example(pieces=["x", "  ", "x", "  ", "EUR", "10"], indent="    ")
@example(pieces=["* x", "  ", "EUR -10"], indent="\t")
@example(pieces=["x", "  ", "EUR", "-", "10.5"], indent="    ")
@example(pieces=["a b", "\t", "-", "10", " ", "EUR"], indent="    ")
@given(pieces=_POSTING_PIECES, indent=st.sampled_from(["    ", "\t", "  "]))
def test_a_plain_posting_read_in_one_match_reads_as_the_general_reading(
    pieces: list[str], indent: str
) -> None:
    text = f"2026-01-02 Rent\n{indent}{''.join(pieces)}\n    assets:cash\n"
    fast = parse("journal", text)
    plain = journal._PLAIN_POSTING
    journal._PLAIN_POSTING = re.compile(r"(?!x)x")  # matches nothing: the general reading
    try:
        general = parse("journal", text)
    finally:
        journal._PLAIN_POSTING = plain
    assert fast == general
