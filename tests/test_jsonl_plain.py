"""JSON Lines read as records where plain (ledgerfile/jsonl_plain.py): the same entries
and refusals as the line-by-line reading (jsonl.parse_jsonl), plain entries read whole,
and records planned as their entries are."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.ledgerfile import FileEntry
from app.ledger.ledgerfile.journal_plain import PlainRecord
from app.ledger.ledgerfile.jsonl import parse_jsonl
from app.ledger.ledgerfile.jsonl_plain import read_jsonl
from tests.test_journal_plain import NAMES, as_entries, assert_planned_alike, blocks_of

PLAIN_AMOUNTS = ["12.50", "3", "007.10", "0.001", "123456789012345678", "92233720368547.807"]
ODD_AMOUNTS = ["0", "0.00", "-5", "+5", " 5", "1e3", "1.", ".5", "1234567890123456789", "x", "٣"]
plain_line = st.fixed_dictionaries(
    {"account": st.sampled_from([*NAMES[:5], " assets:bank "])},
    optional={},
).flatmap(
    lambda line: st.sampled_from(["debit", "credit"]).flatmap(
        lambda side: st.sampled_from(PLAIN_AMOUNTS).map(lambda amount: {**line, side: amount})
    )
)
odd_line = st.one_of(
    st.builds(
        lambda name, side, amount: {"account": name, side: amount},
        st.sampled_from([*NAMES, "", 5]),
        st.sampled_from(["debit", "credit"]),
        st.one_of(st.sampled_from(ODD_AMOUNTS), st.integers(0, 10), st.just(2.5)),
    ),
    st.just({"account": "income:sales", "debit": "1", "credit": "1"}),
    st.just({"account": "income:sales"}),
    st.just({"account": "income:sales", "debit": "1", "currency": "USD"}),
    st.just({"account": "income:sales", "debit": "1", "description": "d"}),
    st.just({"account": "income:sales", "debit": None, "credit": "1"}),
    st.just(["income:sales", "1"]),
)
entry = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2026-03-01", "2026-03-02", "2026-02-30", "2026/03/01", 5]),
        "memo": st.sampled_from(["Lunch", " x ", "é\u0007", "", 7]),
        "lines": st.lists(
            st.one_of(plain_line, plain_line, plain_line, odd_line), min_size=0, max_size=4
        ),
    },
    optional={
        "currency": st.sampled_from(["EUR", "EUR", "JPY", "eur", "XYZ", None, 3]),
        "external_id": st.sampled_from(["inv-1", " inv-2 ", "", "a)b", None, 12, "x" * 201]),
        "metadata": st.sampled_from([None, {}, {"order": "A-17"}]),
        "hold": st.sampled_from([None, {"expires_at": None}]),
    },
)
other = st.sampled_from(
    [
        "",
        "   ",
        "\u00a0",
        "not json",
        "[1, 2]",
        '{"account": "assets:bank", "type": "ASSET"}',
        '{"date": "2026-03-01", "memo": "m", "currency": "EUR", "lines": [], "x": 1}',
        '{"date": "2026-03-01", "memo": "m", "currency": "EUR", "lines": [{"account": '
        '"a", "debit": 1.50}]}',
        '{"date": "2026-03-01", "memo": "\\ud800", "currency": "EUR", "lines": []}',
        '{"date": "2026-03-01", "memo": NaN, "currency": "EUR", "lines": []}',
        '{"date": "2026-03-01", "memo": "a", "memo": "b", "currency": "EUR", '
        '"lines": [{"account": "a", "debit": "1"}]}',
    ]
)


def _text(item: object) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(
    items=st.lists(st.one_of(entry, entry, other), max_size=8),
    crlf=st.booleans(),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=4),
)
def test_the_plain_reading_gives_the_line_by_line_readings_entries(
    items: list[object], crlf: bool, trailing: bool, cuts: list[int]
) -> None:
    text = "\n".join(_text(item) for item in items) + ("\n" if trailing else "")
    if crlf:
        text = text.replace("\n", "\r\n", 1)
    lines = text.split("\n")
    last = lines.pop()
    by_line = list(parse_jsonl([line + "\n" for line in lines] + ([last] if last else [])))
    assert as_entries(list(read_jsonl(blocks_of(text, cuts)))) == by_line


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {
                "date": st.sampled_from(["2026-03-01", "2026-03-02"]),
                "memo": st.sampled_from(["Lunch", " x ", "é\u0007", ""]),
                "currency": st.sampled_from(["EUR", "JPY", "BHD"]),
                "lines": st.lists(plain_line, min_size=1, max_size=4),
            },
            optional={"external_id": st.sampled_from(["inv-1", " inv-2 ", ""])},
        ),
        min_size=1,
        max_size=5,
    )
)
def test_plain_entries_are_read_whole_and_planned_as_their_entries(
    entries: list[dict[str, object]],
) -> None:
    """Every plain entry is one record; the plan of the records equals the plan of the
    entries parse_jsonl gives, entry by entry and as one chunk."""
    text = "".join(_text(item) + "\n" for item in entries)
    read = list(read_jsonl([text]))
    assert [type(item) for item in read] == [PlainRecord] * len(entries)
    by_line = list(parse_jsonl(text.splitlines(keepends=True)))
    assert as_entries(read) == by_line

    records = [item for item in read if isinstance(item, PlainRecord)]
    files = [item for item in by_line if isinstance(item, FileEntry)]
    assert_planned_alike(records, files, None)


BASE = {"date": "2026-03-01", "memo": "m", "currency": "EUR"}
TWO_LINES = [
    {"account": "assets:bank", "debit": "1.50"},
    {"account": "income:sales", "credit": "1.5"},
]


@pytest.mark.parametrize(
    "odd",
    [
        {"metadata": {"order": "A-17"}},
        {"metadata": {}},
        {"metadata": None},
        {"hold": {"expires_at": None}},
        {"currency": "eur"},
        {"currency": None},
        {"external_id": 12},
        {"external_id": "a)b"},
        {"date": "2026-02-30"},
        {"lines": [{**TWO_LINES[0], "currency": "USD"}, TWO_LINES[1]]},
        {"lines": [{**TWO_LINES[0], "description": "d"}, TWO_LINES[1]]},
        {"lines": [{**TWO_LINES[0], "debit": 1.5}, TWO_LINES[1]]},
        {"lines": [{**TWO_LINES[0], "debit": "-1.50"}, TWO_LINES[1]]},
        {"lines": [{"account": " ", "debit": "1.50"}, TWO_LINES[1]]},
        {"lines": [{"account": "x" * 51, "debit": "1.50"}, TWO_LINES[1]]},
    ],
)
def test_each_odd_part_is_read_as_the_line_by_line_reading_reads_it(odd: dict[str, object]) -> None:
    """One odd part at a time (hypothesis mixes them, and may miss one): the same entry
    or refusal as parse_jsonl."""
    text = json.dumps({**BASE, "lines": TWO_LINES, **odd}) + "\n"
    assert as_entries(list(read_jsonl([text]))) == list(parse_jsonl([text]))
