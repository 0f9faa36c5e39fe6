"""Client metadata in ledger files, without a database: how a value is written as text and
read back, JSON Lines' ``metadata``, CSV's ``meta.<key>`` columns, hledger tags
(docs/metadata.md, "Import and export")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.errors import BadInput
from app.ledger.ledgerfile import FORMATS, FileEntry, FileError, FileLine
from app.ledger.ledgerfile.metadata_text import client_metadata, text_of_value, value_of_text
from app.ledger.ledgerfile.tags import TagProblem, tag_text, tags_of, take_tags
from app.ledger.metadata import RESERVED, check_metadata
from tests.test_import_parsers import file_entries


def parse(fmt: str, text: str) -> list[FileEntry | FileError]:
    read = list(FORMATS[fmt].parse(text.splitlines(keepends=True)))
    assert all(isinstance(item, FileEntry | FileError) for item in read)
    return read  # type: ignore[return-value]


def only(fmt: str, text: str) -> FileEntry:
    (entry,) = parse(fmt, text)
    assert isinstance(entry, FileEntry), entry
    return entry


def typed(metadata: Any) -> Any:
    """Metadata with each value's type: 12.5 and 12.50, 1 and True, "1" and 1 differ."""
    if metadata is None:
        return None
    return {key: (type(value).__name__, str(value)) for key, value in metadata.items()}


# ---------------------------------------------------------------- one value as text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("A-17", "A-17"),
        ("  A-17 ", "A-17"),  # a cell or tag value is stripped
        ("12.50", Decimal("12.50")),
        ("-0.5", Decimal("-0.5")),
        ("1E+2", Decimal("1E+2")),
        ("12", 12),
        (str(2**80), 2**80),
        ("012", "012"),  # not a JSON number: a zip code stays text
        ("+5", "+5"),
        ("1.", "1."),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", "True"),
        ('"12.50"', "12.50"),
        ('"true"', "true"),
        ('""', ""),
        ('"A\\u002c B"', "A, B"),
        ('"line\\nbreak"', "line\nbreak"),
        ('"not closed', '"not closed'),  # not a whole JSON string: the text as written
        ('"a" and "b"', '"a" and "b"'),
        ("", ""),
    ],
)
def test_a_text_reads_as_its_value(text: str, value: object) -> None:
    read = value_of_text(text, field="metadata.k")
    assert typed({"k": read}) == typed({"k": value})


@pytest.mark.parametrize(
    ("value", "cell", "tag"),
    [
        ("A-17", "A-17", "A-17"),
        ("A, B", "A, B", '"A\\u002c B"'),  # a comma ends an hledger tag's value
        ("12.50", '"12.50"', '"12.50"'),
        ("true", '"true"', '"true"'),
        ("", '""', '""'),
        (" padded", '" padded"', '" padded"'),
        ('"quoted"', '"\\"quoted\\""', '"\\"quoted\\""'),
        ("two\nlines", '"two\\nlines"', '"two\\nlines"'),
        ("12:30", "12:30", "12:30"),
        (Decimal("12.50"), "12.50", "12.50"),
        (Decimal("1E+2"), "1E+2", "1E+2"),
        (7, "7", "7"),
        (True, "true", "true"),
        (None, "null", "null"),
    ],
)
def test_a_value_is_written_plain_unless_it_would_read_back_otherwise(
    value: object, cell: str, tag: str
) -> None:
    assert text_of_value(value) == cell
    assert text_of_value(value, tag=True) == tag


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30).filter(
        lambda text: all(ord(c) >= 32 or c in "\t\n\r" for c in text) and "\x7f" not in text
    ),
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, tag=st.booleans())
def test_every_value_reads_back_exactly_with_its_type(value: object, tag: bool) -> None:
    if isinstance(value, Decimal) and "E" not in str(value) and "." not in str(value):
        value = int(value)  # a Decimal without a fraction is an integer, as JSON reads it
    text = text_of_value(value, tag=tag)
    assert "\n" not in text and "\r" not in text
    assert not tag or "," not in text
    assert typed({"k": value_of_text(text, field="k")}) == typed({"k": value})


def test_an_integer_past_64_bits_is_checked_like_any_number() -> None:
    assert check_metadata({"wide": 2**70}) == {"wide": 2**70}
    with pytest.raises(BadInput, match="8192 bytes"):
        check_metadata({"wide": 2**70, **{f"k{i}": "x" * 200 for i in range(60)}})


# ---------------------------------------------------------------- JSON Lines

LINES = '"lines":[{"account":"5100","debit":"1.00"},{"account":"1000","credit":"1.00"}]'


def jsonl(metadata: str) -> str:
    return f'{{"date":"2026-01-02","memo":"m","metadata":{metadata},{LINES}}}\n'


def test_json_lines_read_metadata_exactly() -> None:
    entry = only("jsonl", jsonl('{"order_id":"A-17","amount":12.50,"n":3,"paid":true,"x":null}'))
    assert typed(entry.metadata) == typed(
        {"order_id": "A-17", "amount": Decimal("12.50"), "n": 3, "paid": True, "x": None}
    )
    assert only("jsonl", jsonl("{}")).metadata is None
    assert only("jsonl", jsonl("null")).metadata is None


@pytest.mark.parametrize(
    ("metadata", "field", "message"),
    [
        ('{"hledger":"x"}', "metadata.hledger", "the ledger's own"),
        ('{"a b":"x"}', "metadata.a b", "1-64 characters"),
        ('{"items":[1,2]}', "metadata.items", "no objects or lists"),
        ('{"note":{"a":1}}', "metadata.note", "no objects or lists"),
        ('{"long":"' + "x" * 1025 + '"}', "metadata.long", "longer than 1024"),
        ('"A-17"', "metadata", "a JSON object"),
    ],
)
def test_json_lines_metadata_is_checked_naming_line_and_key(
    metadata: str, field: str, message: str
) -> None:
    good = jsonl('{"ok":1}')
    first, error = parse("jsonl", good + jsonl(metadata))
    assert isinstance(first, FileEntry)
    assert isinstance(error, FileError)
    assert (error.line, error.field) == (2, field)
    assert message in error.message


def test_the_json_lines_writer_writes_numbers_digit_for_digit() -> None:
    entry = only("jsonl", jsonl('{"a":12.50,"b":1E+2,"c":' + str(2**70) + ',"d":"x"}'))
    text = FORMATS["jsonl"].writer().entry(entry)
    assert f',"metadata":{{"a":12.50,"b":1E+2,"c":{2**70},"d":"x"}},"lines":[' in text
    assert typed(only("jsonl", text).metadata) == typed(entry.metadata)
    plain = dataclasses.replace(entry, metadata=None)
    assert '"metadata"' not in FORMATS["jsonl"].writer().entry(plain)


# ---------------------------------------------------------------- CSV

CSV_HEAD = "date,external_id,memo,account,debit,credit,meta.order_id,META.Amount,meta.paid\n"


def test_csv_meta_columns_are_the_entrys_metadata_from_its_first_row() -> None:
    text = (
        CSV_HEAD + "2026-01-02,e1,m,5100,1.00,,A-17,12.50,true\n"
        "2026-01-02,e1,m,1000,,1.00,A-17,,\n"  # repeated or blank on the other rows
        '2026-01-03,e2,m,5100,1.00,,"""012""",,\n'
        "2026-01-03,e2,m,1000,,1.00,,,\n"
    )
    first, second = parse("csv", text)
    assert isinstance(first, FileEntry) and isinstance(second, FileEntry)
    # The key as written after "meta." (keys are case-sensitive), the prefix in any case.
    assert typed(first.metadata) == typed(
        {"order_id": "A-17", "Amount": Decimal("12.50"), "paid": True}
    )
    assert typed(second.metadata) == typed({"order_id": "012"})  # blank cells: no key


def test_a_csv_row_that_says_other_metadata_than_its_entry_is_refused() -> None:
    text = (
        CSV_HEAD + "2026-01-02,e1,m,5100,1.00,,A-17,,\n"
        "2026-01-02,e1,m,1000,,1.00,A-18,,\n"
        "2026-01-03,e2,m,5100,1.00,,,,\n"
        "2026-01-03,e2,m,1000,,1.00,,,maybe\n"  # the first row's is blank: not this one's
        '2026-01-04,e3,m,5100,1.00,,"' + "x" * 1025 + '",,\n'
        "2026-01-04,e3,m,1000,,1.00,,,\n"
    )
    errors = parse("csv", text)
    assert [(e.line, e.field) for e in errors if isinstance(e, FileError)] == [
        (3, "metadata.order_id"),
        (5, "metadata.paid"),
        (6, "metadata.order_id"),
    ]
    assert all(isinstance(e, FileError) for e in errors)


@pytest.mark.parametrize(
    ("column", "message"),
    [("meta.hledger", "the ledger's own"), ("meta.a b", "1-64"), ("meta.", "1-64")],
)
def test_a_csv_header_with_a_bad_metadata_key_stops_the_import(column: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as raised:
        parse("csv", f"date,memo,account,debit,credit,{column}\n2026-01-02,m,5100,1,,x\n")
    assert raised.value.field == column
    with pytest.raises(BadInput, match="a column is named twice"):
        parse("csv", "date,memo,account,debit,credit,meta.a,meta.a\n")


def test_the_csv_writer_lists_the_keys_and_writes_them_on_the_first_row() -> None:
    entry = only("jsonl", jsonl('{"order_id":"A-17","note":"true","amount":12.50}'))
    writer = FORMATS["csv"].writer()
    text = writer.header(["amount", "note", "order_id", "other"]) + writer.entry(entry)
    assert text.splitlines() == [
        "date,external_id,memo,currency,account,debit,credit,description,"
        "meta.amount,meta.note,meta.order_id,meta.other",
        '2026-01-02,,m,,5100,1.00,,,12.50,"""true""",A-17,',
        "2026-01-02,,m,,1000,,1.00,,,,,",
    ]
    assert typed(only("csv", text).metadata) == typed(entry.metadata)
    with pytest.raises(ValueError, match="not columns"):
        FORMATS["csv"].writer().entry(entry)  # a header without its keys: a bug


# ---------------------------------------------------------------- hledger tags


def journal(comment: str, *more: str) -> str:
    lines = "".join(f"    ; {line}\n" for line in more)
    return f"2026-01-02 (e1) m  ; {comment}\n{lines}    5100  1.00 EUR\n    1000\n"


def test_tags_written_as_tags_are_metadata_and_leave_the_comment() -> None:
    entry = only(
        "journal",
        journal(
            "from the old books, order_id: A-17",
            "amount: 12.50, paid: true, ref: 012, flag:",
            'label: "12.50"',
            "see https://example.com/x, paid by card: yes, at 12:30",
            "(see: below) and more",
            "café: x, hledger: mine",
        ),
    )
    assert typed(entry.metadata) == typed(
        {
            "order_id": "A-17",
            "amount": Decimal("12.50"),
            "paid": True,
            "ref": "012",
            "flag": "",
            "label": "12.50",
        }
    )
    # Tags in prose, URLs, times, names that are not keys (or are the ledger's): kept.
    assert entry.comment == (
        "from the old books\n"
        "see https://example.com/x, paid by card: yes, at 12:30\n"
        "(see: below) and more\n"
        "café: x, hledger: mine"
    )


def test_a_key_tagged_twice_has_one_value() -> None:
    entry = only("journal", journal("k: 1", "k: 1, j: x"))
    assert typed(entry.metadata) == typed({"k": 1, "j": "x"}) and entry.comment is None
    (error,) = parse("journal", journal("note", "k: 1", "k: 2"))
    assert isinstance(error, FileError)
    assert (error.line, error.field) == (3, "metadata.k")
    assert "twice" in error.message


def test_a_tag_value_the_rules_refuse_names_its_line_and_key() -> None:
    (error,) = parse("journal", journal("fine", "big: " + "x" * 1025))
    assert isinstance(error, FileError)
    assert (error.line, error.field) == (2, "metadata.big")
    assert "longer than 1024" in error.message
    many = ", ".join(f"k{i}: {i}" for i in range(65))
    (error,) = parse("journal", journal(many))
    assert isinstance(error, FileError) and (error.line, error.field) == (1, "metadata")


def test_the_journal_writer_writes_the_tags_after_the_comments_text() -> None:
    text = journal("from the old books", 'order_id: A-17, amount: 12.50, note: "A\\u002c B"')
    entry = only("journal", text)
    assert FORMATS["journal"].writer().entry(entry) == (
        "2026-01-02 (e1) m  ; from the old books\n"
        '    ; order_id: A-17, amount: 12.50, note: "A\\u002c B"\n'
        "    5100  1.00 EUR\n"
        "    1000  -1.00 EUR\n\n"
    )
    bare = dataclasses.replace(entry, comment=None, metadata={"order_id": "A-17"})
    assert (
        FORMATS["journal"]
        .writer()
        .entry(bare)
        .startswith("2026-01-02 (e1) m  ; order_id: A-17\n    5100")
    )
    colon = dataclasses.replace(entry, metadata={"stripe:charge": "ch_1"})
    with pytest.raises(BadInput, match=r"'stripe:charge'.*export as jsonl or csv"):
        FORMATS["journal"].writer().entry(colon)


WORDS = ["a", "k1", ":", ": ", ",", ", ", " ", "x-y", "(", '"', "é", "12.5", "http", "//", "\n"]


def random_comment(rng: random.Random) -> str:
    text = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 16)))
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line) or "x"


def test_taking_tags_out_and_writing_them_back_reads_the_same_tags() -> None:
    """What hledger reads in the exported comment (its text, then the tag line) is what it
    read in the original (tags_of reads as hledger does: test_metadata_io checks it with
    hledger itself), and the text left reads as no metadata."""
    rng = random.Random(20)
    for _ in range(2000):
        comment = random_comment(rng)
        lines = comment.split("\n")
        try:
            kept, metadata = take_tags(lines, list(range(len(lines))))
        except TagProblem as problem:  # a key tagged twice with two values
            assert "twice" in problem.message
            continue
        again, none = take_tags(kept or [""], [0] * max(len(kept), 1))
        assert none is None and again == (kept or [""]), comment
        written = "\n".join([*kept, *([tag_text(metadata)] if metadata else [])])
        before = {(t.name, value_of_text(t.value, field="")) for t in tags_of(comment)}
        after = {(t.name, value_of_text(t.value, field="")) for t in tags_of(written)}
        assert typed_set(after) == typed_set(before), (comment, written)
        # And the written comment imports as the same text and metadata.
        lines = written.split("\n")
        assert take_tags(lines, list(range(len(lines))))[0] == kept
        assert typed(take_tags(lines, list(range(len(lines))))[1]) == typed(metadata)


def typed_set(tags: set[tuple[str, object]]) -> set[tuple[str, str, str]]:
    return {(name, type(value).__name__, str(value)) for name, value in tags}


# ---------------------------------------------------------------- every format


def test_only_what_a_client_may_write_is_exported() -> None:
    stored = {
        "hledger": {"status": "*"},
        "dialect": "pismo",
        "program_id": 5,
        "script_ids": [1, 2],
        "amount": Decimal("12.50"),
    }
    assert client_metadata(stored) == {"program_id": 5, "amount": Decimal("12.50")}
    assert client_metadata({"hledger": {"status": "*"}}) is None
    assert client_metadata(None) is None


METADATA = st.dictionaries(
    st.from_regex(r"\A[A-Za-z0-9_.-]{1,12}\Z").filter(lambda key: key not in RESERVED),
    VALUES.filter(lambda value: not isinstance(value, str) or len(value) <= 1024).map(
        lambda value: (
            int(value)
            if isinstance(value, Decimal) and "E" not in str(value) and "." not in str(value)
            else value
        )
    ),
    max_size=5,
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=80, deadline=None)
@given(entry=file_entries(), metadata=METADATA)
def test_what_a_writer_writes_its_parser_reads_back_metadata_included(
    fmt: str, entry: FileEntry, metadata: dict[str, Any]
) -> None:
    entry = dataclasses.replace(entry, metadata=metadata or None)
    writer = FORMATS[fmt].writer()
    text = writer.header(sorted(metadata)) + writer.entry(entry)
    read = only(fmt, text)
    assert typed(read.metadata) == typed(entry.metadata)
    assert read.comment is None  # the tags are not left in the comment too


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("value", ["\x85", "a\u2028b", "\u2029"])
def test_a_value_with_a_unicode_line_break_stays_on_its_line(fmt: str, value: str) -> None:
    """U+0085, U+2028 and U+2029 end a line for str.splitlines: a writer escapes them (a
    case hypothesis found: ``; 0: "\\x85"`` read back as two lines)."""
    lines = [FileLine("1000", debit=Decimal("0.01")), FileLine("1000", credit=Decimal("0.01"))]
    entry = FileEntry(line=1, date=dt.date(2000, 1, 1), memo="m", lines=lines, external_id="0")
    entry = dataclasses.replace(entry, metadata={"k": value})
    writer = FORMATS[fmt].writer()
    text = writer.header(["k"]) + writer.entry(entry)
    assert not any(raw in text for raw in ("\x85", "\u2028", "\u2029"))
    assert only(fmt, text).metadata == {"k": value}
