"""The journal's whole-transaction reading (ledgerfile/journal_plain.py) and what the bulk
load does with it: the same entries as the line reader, the same plan, and rows built
ahead of the write (bulk_load/ahead.py) sent only when the write finds what they were
built against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from app.ledger import importing
from app.ledger.audit_verify import verify
from app.ledger.batch_store import read_tenant
from app.ledger.bulk_load import Planned, Stored, plan_plain_file, write_planned
from app.ledger.bulk_load.ahead import still
from app.ledger.bulk_load.from_file import plan_file
from app.ledger.entries import EntryInput, LineInput
from app.ledger.importing import IMPORT_SCOPE, IMPORT_SOURCE
from app.ledger.ledgerfile import FileEntry, FileError
from app.ledger.ledgerfile.journal import parse_journal
from app.ledger.ledgerfile.journal_plain import PlainRecord, read_journal, to_file_entry
from app.ledger.posting import post_entries
from app.ledger.posting_rules import Tenant
from app.ledger.validation import AccountRef, _amount_key, minor_key
from db.engine import Database
from tests.conftest import make_tenant
from tests.test_bulk_load import sales_with_a_refused_fourth
from tests.test_import import chart, run_import

NAMES = ["assets:bank", "expenses:food", "income:sales", "a b", "1000", "x" * 51]
PLAIN_AMOUNTS = [
    "EUR 12.50",
    "12.50 EUR",
    "EUR -3",
    "-3 EUR",
    "EUR-7.125",
    "JPY 500",
    "BHD 1.005",
    "$12.50",
    "-$3",
    "$ -3",
    "+€7.125",
    "12.50€",
    "-4 £",
    "US$1",
    "€ -1",
    "$1,000.00",
    "-1,234,567.5 EUR",
]
ODD_AMOUNTS = [
    "EUR 0.00",
    "EUR -0",
    "XYZ 4",
    "$5.",
    "EUR 1.5.0",
    "EUR 123456789012345678901",
    "-$-5",
    "+$-5",
    "$  5",
    "- $5",
    "$5 EUR",
    "1,000 EUR",
    "1,000. EUR",
    "$1,00.00",
    "$12,345",
    "$1,000,00.00",
    "kr5",
    "5",
]
# Mostly plain postings and headers, some with one odd part each: the fast reading has to
# take the plain ones and leave each odd one to the line reader.
plain_posting = st.builds(
    lambda indent, name, amount: f"{indent}{name}{'  ' + amount if amount else ''}\n",
    st.sampled_from(["    ", "\t", " "]),
    st.sampled_from(NAMES[:5]),
    st.one_of(st.none(), st.sampled_from(PLAIN_AMOUNTS)),
)
odd_posting = st.builds(
    lambda indent, name, separator, amount, tail: (
        f"{indent}{name}{separator + amount if amount else ''}{tail}\n"
    ),
    st.sampled_from(["    ", "\t", " ", "  * "]),
    st.sampled_from(NAMES),
    st.sampled_from(["  ", "\t", " ", "   "]),
    st.one_of(st.none(), st.sampled_from(PLAIN_AMOUNTS + ODD_AMOUNTS)),
    st.sampled_from(["", "  ", "  ; note", " \u00a0", "\t"]),
)
posting = st.one_of(plain_posting, plain_posting, plain_posting, odd_posting)
COMMENT_LINES = [
    "    ; under the header\n",
    "\t;\n",
    "    ;  order: A-17, amount: 12.50\n",
    "  ; :tag1:\n",
]
# Comment lines the line reader refuses (a tag it reads as a date, a comment too long) or
# reads otherwise (an indent that is not a space or a tab).
ODD_COMMENT_LINES = [
    "    ; date: soon\n",
    "    ; kind: a\x1cb\n",
    "    ; " + "c" * 2001 + "\n",
    "  \u00a0; odd\n",
]


def headers(comment_lines: list[str]) -> st.SearchStrategy[str]:
    """Transaction headers in plain spellings, their comment lines drawn from these."""
    return st.builds(
        lambda date, day, status, code, memo, comment, lines: (
            f"{date}{day}{status}{code}{memo}{comment}\n" + "".join(lines)
        ),
        st.sampled_from(["2026-03-0", "2026/03/0", "2026.3.", "2026/3/0"]),
        st.integers(1, 9),
        st.sampled_from(["", " *", " !"]),
        st.sampled_from(["", " (inv-1)", " ( )"]),
        st.sampled_from(["", " Lunch", " Lunch  ", " Lunch \t", " é\u00a0", " t\tab", " a (b) c"]),
        st.sampled_from(["", "", "  ; a note", " ;kind: sale", "\t; x; y", " ; ", " ;:t1:t2:"]),
        st.lists(st.sampled_from(comment_lines), max_size=3),
    )


plain_header = headers(COMMENT_LINES + ODD_COMMENT_LINES)
odd_header = st.builds(
    lambda date, status, code, memo: f"{date}{status}{code}{memo}\n",
    st.sampled_from(
        ["2026-03-01", "2026-02-30", "2026/02/30", "2026/3/1=2026/3/2", "2026-3-03", "26-03-01"]
    ),
    st.sampled_from(["", " *", " !", " *!", "*"]),
    st.sampled_from(["", " (inv-1)", " ( )", " (a;b)", " (x", "(y)", " (" + "z" * 201 + ")"]),
    st.sampled_from(["", " Lunch", " (note) memo", " * star", " a ; comment", "x", "  ;"]),
)
header = st.one_of(plain_header, plain_header, plain_header, odd_header)
transaction = st.builds(
    lambda head, lines: head + "".join(lines), header, st.lists(posting, min_size=1, max_size=4)
)
other = st.sampled_from(
    [
        "\n",
        "   \n",
        "; a comment\n",
        "# another\n",
        "commodity EUR\n",
        "commodity $1000.00\n  ; iso: USD\n",
        "commodity €1000.00\n  ; iso: GBP\n",
        "commodity $1,000.00  ; iso: CAD\n",
        "account assets:bank  ; type: A\n",
        "comment\n2026-03-01 hidden\n    a  EUR 1\nend comment\n",
        "Y 2026\n",
        "alias a=b\n",
        "    indented outside\n",
        "    ; a comment under the transaction before\n",
        "  \u00a0x\n",
    ]
)
piece = st.one_of(transaction, transaction, other)


def line_reading(text: str) -> list[object]:
    lines = text.split("\n")
    last = lines.pop()
    return list(parse_journal([line + "\n" for line in lines] + ([last] if last else [])))


def blocks_of(text: str, cuts: list[int]) -> list[str]:
    """``text`` cut after some of its newlines, as ``importing._Lines.blocks`` cuts a file."""
    ends = sorted({text.find("\n", min(cut, len(text))) + 1 for cut in cuts} - {0})
    starts = [0, *ends]
    return [text[a:b] for a, b in zip(starts, [*ends, len(text)], strict=True) if text[a:b]]


def as_entries(items: Sequence[object]) -> list[object]:
    return [to_file_entry(item) if isinstance(item, PlainRecord) else item for item in items]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(piece, max_size=8),
    crlf=st.booleans(),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=4),
)
def test_the_whole_transaction_reading_gives_the_line_readers_entries(
    pieces: list[str], crlf: bool, trailing: bool, cuts: list[int]
) -> None:
    text = "".join(pieces)
    if crlf:
        text = text.replace("\n", "\r\n", 1)  # one line of the file ends with CRLF
    if not trailing:
        text = text.removesuffix("\n")
    read = list(read_journal(blocks_of(text, cuts)))
    assert as_entries(read) == line_reading(text)


@settings(max_examples=200, deadline=None)
@given(
    head=headers(COMMENT_LINES),
    lines=st.lists(
        st.builds(
            lambda indent, name, amount: f"{indent}{name}  {amount}\n",
            st.sampled_from(["    ", "\t", " "]),
            st.sampled_from(NAMES[:5]),
            st.sampled_from(
                ["EUR 12.50", "12.50 EUR", "EUR -3", "-3 EUR", "EUR-7.125", "$12.50", "-€3"]
            ),
        ),
        min_size=1,
        max_size=5,
    ),
    elided=st.sampled_from(["", "    income:sales\n", "\tincome:sales \n"]),
)
def test_a_plain_transaction_is_read_whole(head: str, lines: list[str], elided: str) -> None:
    """Plain is what the fast reading takes: every such transaction (but one whose
    amounts leave nothing to a left-out line) is one record, the line reader's entry."""
    text = head + "".join(lines) + elided
    read = list(read_journal([text]))
    assert as_entries(read) == line_reading(text)
    if not (elided and isinstance(line_reading(text)[0], FileError)):
        assert [type(item) for item in read] == [PlainRecord]


@pytest.mark.parametrize("amount", PLAIN_AMOUNTS + ODD_AMOUNTS)
@pytest.mark.parametrize("date", ["2026-03-01", "2026/3/1", "2026.03.01", "2026/02/30"])
def test_each_amount_and_date_spelling_reads_as_the_line_reader_reads_it(
    amount: str, date: str
) -> None:
    """Every spelling on its own, one transaction each (hypothesis mixes them, and may
    miss one): the same entry or refusal, and the plain ones read whole."""
    text = f"{date} x\n    assets:bank  {amount}\n    income:sales\n"
    read = list(read_journal([text]))
    assert as_entries(read) == line_reading(text)
    if amount in PLAIN_AMOUNTS and date != "2026/02/30":
        assert [type(item) for item in read] == [PlainRecord]


def test_a_plain_journal_is_read_whole_transaction_by_transaction() -> None:
    """The fast reading is taken where it should be: every transaction here is plain."""
    text = (
        "; generated\n\n"
        "2026-03-01 (g-1) Hooli fee 80618\n"
        "    assets:fixed:buildings  EUR 2476.92\n"
        "    income:sales  EUR -3980.56\n"
        "    assets:bank:savings\n\n"
        "2026-03-02 * Lunch\n"
        "\texpenses:food\t12.50 EUR\n"
        "\tassets:bank  -12.50 EUR\n"
        "2026-03-02 ! (x) Yen\n"
        "    assets:bank  JPY 500\n"
        "    income:sales  JPY -500\n"
    )
    read = list(read_journal([text[:120], text[120:]]))
    assert [type(item) for item in read] == [PlainRecord] * 3
    assert as_entries(read) == line_reading(text)
    first = read[0]
    assert isinstance(first, PlainRecord)
    assert first.line == 3 and first.external_id == "g-1" and first.elided == 2
    assert first.postings[2] == ("assets:bank:savings", "EUR", 150364, 2, 6)


# ------------------------------------------------------------------------ the plan

BY_CODE = {
    code: AccountRef(index, code, None, True) for index, code in enumerate(NAMES[:5], start=1)
}
nice_posting = st.builds(
    lambda name, amount: f"    {name}  {amount}\n",
    st.sampled_from(NAMES[:5]),
    st.sampled_from(
        [
            "EUR 12.50",
            "EUR -3",
            "-3 EUR",
            "EUR 7.125",
            "EUR 12.5",
            "3 EUR",
            "JPY 500",
            "JPY -1.5",
            "BHD 1.005",
            "EUR 0.00",
            "EUR 9223372036854775.808",
            "$12.50",
            "-€3",
            "¥-500",
        ]
    ),
)
nice = st.builds(
    lambda memo, notes, lines, elided: (
        f"2026-03-0{len(lines)} {memo}\n"
        + "".join(notes)
        + "".join(lines)
        + ("    income:sales\n" if elided else "")
    ),
    st.sampled_from(
        [
            *["Lunch", " x\u0007", "é", "* Paid", "! (c-1) Due", 'Tab\there \\ "q"'],
            *["Sale  ; kind: sale", "* Paid ; :t1:", "x ; é", "y ; amount: 12.50, n: 2"],
        ]
    ),
    st.lists(st.sampled_from([*COMMENT_LINES, "    ; order: A-17\n"]), max_size=2),
    st.lists(nice_posting, min_size=1, max_size=4),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    transactions=st.lists(nice, min_size=1, max_size=5),
    lock=st.sampled_from([None, dt.date(2026, 3, 2)]),
)
def test_a_record_is_planned_as_the_entry_it_stands_for(
    transactions: list[str], lock: dt.date | None
) -> None:
    """The plan of the records equals the plan of their entries: the batch, each line's
    event JSON and the request hashes; both give up on the same ones. Each transaction
    on its own, then all of them as one chunk."""
    read = [item for item in read_journal(["\n".join(transactions)]) if not _is_error(item)]
    entries = [item for item in as_entries(read) if isinstance(item, FileEntry)]
    records = [item for item in read if isinstance(item, FileEntry | PlainRecord)]
    assert_planned_alike(records, entries, lock)


def assert_planned_alike(
    records: Sequence[FileEntry | PlainRecord], entries: Sequence[FileEntry], lock: dt.date | None
) -> None:
    """The records and the entries they stand for are planned alike: each on its own
    (keys by position), and all of them as one chunk."""

    def planned(items: Sequence[FileEntry | PlainRecord], start: int) -> object:
        return plan_file(
            items,
            [f"k{start + index}" for index in range(len(items))],
            scope=IMPORT_SCOPE,
            source=IMPORT_SOURCE,
            base_currency="EUR",
            lock_date=lock,
            by_code=BY_CODE,
        )

    for index, (record, entry) in enumerate(zip(records, entries, strict=True)):
        assert planned([record], index) == planned([entry], index)
    assert planned(records, 0) == planned(entries, 0)


def _is_error(item: object) -> bool:
    return not isinstance(item, FileEntry | PlainRecord)


@settings(max_examples=500, deadline=None)
@given(minor=st.integers(0, 2**63 - 1) | st.integers(1, 99).map(lambda n: n * 10**12))
def test_an_amounts_key_from_minor_units_is_the_decimals(minor: int) -> None:
    for scale in (0, 2, 3, 4):
        assert minor_key(minor, scale) == _amount_key(Decimal(minor).scaleb(-scale))


# ------------------------------------------------------------ rows built ahead

JOURNAL = """2026-03-01 (a-1) One
    1000  USD 10.00
    4000
2026-03-02 (a-2) Two
    1000  USD 20.00
    4000
2026-03-03 (a-3) Three
    1000  USD 30.00
    4000
2026-03-04 (a-4) Four
    1000  USD 40.00
    4000
"""


async def _planned_pair(db: Database, tenant_id: int) -> tuple[Planned, Planned]:
    records = [item for item in read_journal([JOURNAL]) if isinstance(item, PlainRecord)]
    assert len(records) == 4
    first = await plan_plain_file(
        db, tenant_id, records[:2], ["a-1", "a-2"], scope=IMPORT_SCOPE, source=IMPORT_SOURCE
    )
    assert first is not None
    ahead = first.prebuilt.after if first.prebuilt is not None else None
    second = await plan_plain_file(
        db,
        tenant_id,
        records[2:],
        ["a-3", "a-4"],
        scope=IMPORT_SCOPE,
        source=IMPORT_SOURCE,
        expected=ahead,
    )
    assert second is not None
    assert first.prebuilt is not None and second.prebuilt is not None
    return first, second


async def _numbers(db: Database, tenant_id: int) -> list[tuple[str, str]]:
    def read(conn: Connection) -> list[tuple[str, str]]:
        rows = conn.exec_driver_sql(
            "SELECT memo, number FROM journal_entries WHERE tenant_id = ? ORDER BY id"
            if db.sqlite
            else "SELECT memo, number FROM journal_entries WHERE tenant_id = $1 ORDER BY id",
            (tenant_id,),
        )
        return [(row[0], row[1]) for row in rows]

    return await db.run_read(read)


async def test_chunks_built_ahead_are_written_as_built(db: Database) -> None:
    """Two chunks planned one after the other, the second against what the first leaves:
    both written, numbered and chained in order; the chain verifies."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    first, second = await _planned_pair(db, tenant.id)
    if first.prebuilt is not None:
        prebuilt = first.prebuilt

        def found(conn: Connection) -> bool:
            row = read_tenant(conn, tenant.id, lock=True)
            assert row is not None
            return still(conn, row, prebuilt.before.journal_id, prebuilt.before)

        assert await db.run_write(found)
    for planned in (first, second):
        stored = await write_planned(db, tenant.id, planned)
        assert stored is not None and stored.written == 2
    numbers = await _numbers(db, tenant.id)
    assert [memo for memo, _ in numbers] == ["One", "Two", "Three", "Four"]
    assert len({number for _, number in numbers}) == 4
    assert (await verify(db, tenant.id)).ok


async def test_chunks_built_ahead_of_another_write_are_built_again(db: Database) -> None:
    """An entry posted between the plans and the writes moves the counter, the ids and
    the chain's head: the chunks built ahead no longer fit, and are built again under
    the lock (the first finds the post, the second what the first really left)."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    first, second = await _planned_pair(db, tenant.id)
    other = EntryInput(
        date=dt.date(2026, 3, 1),
        memo="Between",
        lines=[
            LineInput(account_code="1000", debit=Decimal("1.00")),
            LineInput(account_code="4000", credit=Decimal("1.00")),
        ],
    )
    (posted,) = await post_entries(db, tenant.id, [other], atomic=False)
    assert posted.error is None
    if first.prebuilt is not None:
        prebuilt = first.prebuilt

        def found(conn: Connection) -> bool:
            row = read_tenant(conn, tenant.id, lock=True)
            assert isinstance(row, Tenant)
            return still(conn, row, prebuilt.before.journal_id, prebuilt.before)

        assert not await db.run_write(found)
    for planned in (first, second):
        stored = await write_planned(db, tenant.id, planned)
        assert stored is not None and stored.written == 2
    numbers = await _numbers(db, tenant.id)
    memos = [memo for memo, _ in numbers]
    # On PostgreSQL the plans drew their ids from the sequences before the post did.
    assert memos == (["Between", "One", "Two", "Three", "Four"] if db.sqlite else [*memos])
    assert sorted(memos) == sorted(["Between", "One", "Two", "Three", "Four"])
    assert len({number for _, number in numbers}) == 5
    assert (await verify(db, tenant.id)).ok


async def test_chunks_after_one_the_general_path_took_are_built_ahead_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of two, the second with a refused entry (the general path's): the chunks
    after it are still written as built ahead, the third planned once the second
    is written, instead of each being built again under the lock."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    text = sales_with_a_refused_fourth()
    outcomes: list[bool] = []

    async def observed(db: Database, tenant_id: int, planned: Planned) -> Stored | None:
        stored = await write_planned(db, tenant_id, planned)
        outcomes.append(stored is not None and stored.as_built)
        return stored

    monkeypatch.setattr(importing, "write_planned", observed)
    summary = await run_import(db, tenant.id, text, "journal", chunk_size=2)
    assert (summary.posted, summary.failed) == (7, 1)
    assert outcomes == [True, True, True]
    assert (await verify(db, tenant.id)).ok
