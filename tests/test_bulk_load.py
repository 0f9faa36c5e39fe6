"""The bulk load (app/ledger/bulk_load) writes the rows the general write path writes, and
gives up, leaving the general path to decide, whenever it cannot prove an entry passes.

Both engines: an import through the bulk load and the same entries through the general
path (and through GraphQL's postJournalEntries) give equal rows, timestamps and ids
aside; a limit, a lock date or a refused entry send the chunk to the general path with
its usual refusal; the planner accepts only entries ``validation.prepare`` accepts, with
the same amounts (hypothesis); the faster canonical digest equals the JSON encoder's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from app.ledger import accounts
from app.ledger.audit_verify import verify
from app.ledger.bulk_load import plan, plan_plain, write_planned
from app.ledger.bulk_load.from_file import plan_file
from app.ledger.bulk_load.plain import Planner
from app.ledger.entries import EntryInput, LineInput
from app.ledger.entry_reads import load_views
from app.ledger.errors import LedgerError
from app.ledger.importing import IMPORT_SCOPE, IMPORT_SOURCE, _input
from app.ledger.ledgerfile import FORMATS, FileEntry, FileLine
from app.ledger.limits import LimitsChange
from app.ledger.money import exponent, format_minor
from app.ledger.outbox import entry_payload
from app.ledger.posting import post_entries
from app.ledger.posting_rules import claim_of
from app.ledger.validation import (
    _CANONICAL,
    AccountRef,
    canonical_digest,
    prepare,
    request_hash,
)
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.test_import import chart, entry_count, run_import

# Metadata, descriptions, two currencies in one entry, ids and none, elided amounts.
JOURNAL = """\
2026-01-15 * (inv-1) Office chairs  ; order_id: A-17
    5100          420.00 USD   ; chairs
    1000

2026-01-16 Sale
    1000    USD 1000
    4000

2026-01-17 Sale in yen
    1000    5000 JPY
    4000    -5000 JPY

2026-01-18 (inv-2) Mixed
    5100    10.55 USD
    1000    -10.55 USD
    1000    700 JPY
    4000    -700 JPY
"""

# (table, columns compared, the column each row is ordered by)
TABLES: list[tuple[str, str, str]] = [
    (
        "journal_entries",
        "id, number, date, memo, currency, status, source, idempotency_key, "
        "reversal_of_id, reversed_by_id, metadata_json, external_id, accrual_date",
        "id",
    ),
    (
        "journal_lines",
        "id, entry_id, account_id, date, currency, debit_minor, credit_minor, description, "
        "line_no, reporting_debit_minor, reporting_credit_minor",
        "id",
    ),
    ("idempotency_records", "scope, key, request_hash, entry_id", "key"),
    ("events", "type, entry_id, payload_json, link", "link"),
    (
        "account_balances",
        "account_id, currency, debit_minor, credit_minor, pending_debit_minor, "
        "pending_credit_minor",
        "account_id, currency",
    ),
    ("balance_days", "account_id, currency, day, debit_minor, credit_minor", "account_id, day"),
    (
        "balance_months",
        "account_id, currency, month, debit_minor, credit_minor",
        "account_id, month",
    ),
    ("entry_metadata", "key, value, entry_id", "key, value"),
]


def tenant_mark(conn: Connection) -> str:
    """The driver's placeholder for the one parameter of these tests' plain statements."""
    return "?" if conn.dialect.name == "sqlite" else "$1"


def rows_of(conn: Connection, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    """The tenant's rows of TABLES, its ids as their ranks (entries, lines) or codes
    (accounts), so two tenants' rows compare; timestamps and chain hashes left out."""
    mark = tenant_mark(conn)
    param = (tenant_id,)
    found_codes = conn.exec_driver_sql(
        f"SELECT id, code FROM accounts WHERE tenant_id = {mark}", param
    )
    codes = {int(row[0]): str(row[1]) for row in found_codes}
    entry_rank: dict[int, int] = {}
    line_rank: dict[int, int] = {}
    dumped: dict[str, list[dict[str, Any]]] = {}
    for table, columns, order in TABLES:
        found = conn.exec_driver_sql(
            f"SELECT {columns} FROM {table} WHERE tenant_id = {mark} ORDER BY {order}", param
        ).mappings()
        rows = []
        for found_row in found:
            row = {
                key: str(value) if value is not None else None for key, value in found_row.items()
            }
            if table == "journal_entries":
                entry_rank[int(found_row["id"])] = len(entry_rank)
            if table == "journal_lines":
                line_rank[int(found_row["id"])] = len(line_rank)
                row["id"] = str(line_rank[int(found_row["id"])])
            if "entry_id" in row and found_row["entry_id"] is not None:
                row["entry_id"] = str(entry_rank[int(found_row["entry_id"])])
            if table == "journal_entries":
                row["id"] = str(entry_rank[int(found_row["id"])])
            if "account_id" in row:
                row["account_id"] = codes[int(found_row["account_id"])]
            if table == "events":
                payload = json.loads(str(found_row["payload_json"]))
                payload["entry_id"] = entry_rank[payload["entry_id"]]
                for line in payload["lines"]:
                    line["id"] = line_rank[line["id"]]
                row["payload_json"] = json.dumps(payload, sort_keys=True)
            rows.append(row)
        if table in ("journal_lines", "entry_metadata", "balance_days", "balance_months"):
            rows.sort(key=lambda row: json.dumps(row, sort_keys=True))
        dumped[table] = rows
    return dumped


async def tenant_rows(db: Database, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    return await db.run_read(lambda conn: rows_of(conn, tenant_id))


def inputs_of(text: str, key_prefix: str) -> list[EntryInput]:
    """The journal's entries as ``import_file`` hands them to the write path."""
    parsed = [item for item in FORMATS["journal"].parse(text.splitlines(True))]
    entries = [item for item in parsed if isinstance(item, FileEntry)]
    assert len(entries) == len(parsed)
    return [
        _input(entry, "USD", entry.external_id or f"{key_prefix}:{entry.line}") for entry in entries
    ]


async def test_the_bulk_load_writes_the_rows_of_the_general_path(db: Database) -> None:
    bulk, general = await make_tenant(db, "USD"), await make_tenant(db, "USD")
    for tenant in (bulk, general):
        await chart(db, tenant.id)
    inputs = inputs_of(JOURNAL, "f")
    planned = await plan_plain(db, bulk.id, inputs)
    assert planned is not None and len(planned.batch.entries) == 4  # the bulk load takes all
    summary = await run_import(db, bulk.id, JOURNAL, "journal")
    assert (summary.posted, summary.failed) == (4, 0), summary.errors
    items = await post_entries(db, general.id, inputs, atomic=False)
    assert [item.error for item in items] == [None] * 4
    # The import's keys name the file's hash; the inputs above name "f": made equal here.
    bulk_rows, general_rows = await tenant_rows(db, bulk.id), await tenant_rows(db, general.id)
    sha = summary.sha256[:32]
    for rows in (bulk_rows["journal_entries"], bulk_rows["idempotency_records"]):
        for row in rows:
            for column in ("idempotency_key", "key"):
                if row.get(column) and row[column].startswith(sha):
                    row[column] = "f" + row[column][len(sha) :]
    general_keys = {row["key"]: row["request_hash"] for row in general_rows["idempotency_records"]}
    for row in bulk_rows["idempotency_records"]:  # the hash of the same request, both ways
        assert general_keys[row["key"]] == row["request_hash"]
    assert bulk_rows == general_rows

    # Byte for byte: each event's payload is the one outbox.entry_payload writes for the
    # stored entry, and the books verify against their hash chain.
    def payloads(conn: Connection) -> list[tuple[str, str]]:
        events = conn.exec_driver_sql(
            f"SELECT entry_id, payload_json FROM events WHERE tenant_id = {tenant_mark(conn)} "
            "ORDER BY link",
            (bulk.id,),
        ).all()
        views = load_views(conn, bulk.id, [int(entry_id) for entry_id, _ in events])
        return [
            (str(payload), entry_payload(view))
            for (_, payload), view in zip(events, views, strict=True)
        ]

    stored = await db.run_read(payloads)
    assert [written for written, _ in stored] == [expected for _, expected in stored]
    assert (await verify(db, bulk.id)).problems == []
    assert {table: len(rows) for table, rows in bulk_rows.items()} == {
        "journal_entries": 4,
        "journal_lines": 10,
        "idempotency_records": 4,
        "events": 4,
        "account_balances": 5,
        "balance_days": 10,
        "balance_months": 5,
        "entry_metadata": 1,
    }


POST_MANY = """
mutation($inputs: [PostJournalEntryInput!]!) {
  postJournalEntries(inputs: $inputs, atomic: true) { entry { id } errors { field message } }
}"""


async def test_an_import_and_post_journal_entries_leave_the_same_books(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    """The entries, lines, balances and roll-ups of an import equal those of the same
    entries sent to postJournalEntries; only what says how they came differs (the
    source, the idempotency scope and key, and so the request hash and the event's source)."""
    imported = await make_tenant(db, "USD")
    for tenant_id in (imported.id, tenant.id):
        await chart(db, tenant_id)
    summary = await run_import(db, imported.id, JOURNAL, "journal")
    assert summary.posted == 4
    graphql_inputs = [
        {
            "date": data.date.isoformat(),
            "memo": data.memo,
            "currency": data.currency,
            "lines": [
                {
                    "accountCode": line.account_code,
                    "debit": str(line.debit) if line.debit is not None else None,
                    "credit": str(line.credit) if line.credit is not None else None,
                    "currency": line.currency,
                    "description": line.description,
                }
                for line in data.lines
            ],
        }
        for data in inputs_of(JOURNAL, "f")
    ]
    posted = (await gql(POST_MANY, {"inputs": graphql_inputs}))["postJournalEntries"]
    assert [result["errors"] for result in posted] == [[]] * 4
    mine, theirs = await tenant_rows(db, imported.id), await tenant_rows(db, tenant.id)
    for table in ("journal_lines", "account_balances", "balance_days", "balance_months"):
        assert mine[table] == theirs[table], table
    same = ("id", "number", "date", "memo", "currency", "status")
    assert [{k: row[k] for k in same} for row in mine["journal_entries"]] == [
        {k: row[k] for k in same} for row in theirs["journal_entries"]
    ]


async def test_a_chunk_the_bulk_load_cannot_prove_goes_to_the_general_path(
    db: Database,
) -> None:
    """A limited account and a missing one: each chunk is decided by the general path, with
    its usual refusal naming the file line (and field)."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await accounts.set_account_limits(db, tenant.id, "1000", LimitsChange(no_overdraft=True))
    text = (
        "2026-01-15 Sale\n    1000    5.00 USD\n    4000\n\n"
        "2026-01-16 Overdraft\n    1000    -50.00 USD\n    5100\n"
    )
    assert await plan_plain(db, tenant.id, inputs_of(text, "x")) is None
    summary = await run_import(db, tenant.id, text, "journal")
    assert (summary.posted, summary.failed) == (1, 1)
    (error,) = summary.errors
    assert str(error) == (
        "line 6: insufficient funds on account 1000: 5.00 USD available, 50.00 asked, "
        "no overdraft allowed"
    )
    refused = "2026-01-17 Typo\n    1000    1.00 USD\n    4O00\n"
    assert await plan_plain(db, tenant.id, inputs_of(refused, "y")) is None
    summary = await run_import(db, tenant.id, refused, "journal")
    assert [str(error) for error in summary.errors] == [
        "line 3 (account): account 4O00 does not exist (import with --create-accounts to create it)"
    ]


def sales_with_a_refused_fourth() -> str:
    """Eight one-sale entries; the fourth names an account that does not exist."""
    return "".join(
        f"2026-02-{day:02d} Sale {day}\n    1000    {day}.00 USD\n"
        f"    {'4O00' if day == 4 else '4000'}\n\n"
        for day in range(1, 9)
    )


async def test_entries_are_numbered_and_identified_in_file_order_around_a_refusal(
    db: Database,
) -> None:
    """Chunks of two: the second has a refused entry and goes to the general path, the
    others to the bulk load (on PostgreSQL with ids drawn while the one before is
    written): ids still follow the numbers, which follow the file."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    text = sales_with_a_refused_fourth()
    summary = await run_import(db, tenant.id, text, "journal", chunk_size=2)
    assert (summary.posted, summary.failed) == (7, 1)
    rows = await db.run_read(
        lambda conn: conn.exec_driver_sql(
            f"SELECT id, number, memo FROM journal_entries WHERE tenant_id = {tenant_mark(conn)} "
            "ORDER BY id",
            (tenant.id,),
        ).all()
    )
    assert [row[2] for row in rows] == [f"Sale {day}" for day in range(1, 9) if day != 4]
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)


async def test_a_key_stored_between_the_plan_and_the_write_writes_nothing(db: Database) -> None:
    """The plan reads the keys; one stored meanwhile (another import of the same file)
    fails the write on the records' unique index: nothing is written, and the general
    path decides the batch (here: one replay, one new entry)."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    inputs = inputs_of(JOURNAL, "race")[:2]
    planned = await plan_plain(db, tenant.id, inputs)
    assert planned is not None and not planned.replayed
    (first,) = await post_entries(db, tenant.id, inputs[:1], atomic=False)
    assert first.error is None
    assert await write_planned(db, tenant.id, planned) is None
    assert await entry_count(db, tenant.id) == 1
    items = await post_entries(db, tenant.id, inputs, atomic=False)
    assert [(item.error, item.result and item.result.replayed) for item in items] == [
        (None, True),
        (None, False),
    ]
    again = await plan_plain(db, tenant.id, inputs)
    assert again is not None and again.replayed  # every key stored, same requests


# ---------------------------------------------------------------- the planner's proof

ACCOUNTS = {
    "cash": AccountRef(1, "cash", None, True),
    "sales": AccountRef(2, "sales", None, True),
    "yen": AccountRef(3, "yen", "JPY", True),
    "closed": AccountRef(4, "closed", None, False),
    "capped": AccountRef(5, "capped", None, True, limits_json='{"no_overdraft": true}'),
}
LOCK = dt.date(2026, 1, 31)

amounts = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("-10"), max_value=Decimal("100000"), places=3),
    st.sampled_from([Decimal(0), Decimal("1E+2"), Decimal("9223372036854775807")]),
)
lines = st.builds(
    LineInput,
    account_code=st.sampled_from([*ACCOUNTS, "missing", ""]),
    debit=amounts,
    credit=amounts,
    currency=st.sampled_from([None, None, "JPY", "EUR", "eur"]),
    description=st.one_of(st.none(), st.text(max_size=5)),
)
inputs = st.builds(
    EntryInput,
    date=st.dates(min_value=dt.date(2026, 1, 25), max_value=dt.date(2026, 2, 5)),
    memo=st.text(max_size=6),
    lines=st.lists(lines, min_size=1, max_size=4),
    currency=st.sampled_from([None, "USD", "JPY"]),
    idempotency_key=st.one_of(st.none(), st.text(min_size=1, max_size=4)),
    source=st.just("import"),
)


def left_alone(data: EntryInput) -> bool:
    """What the planner gives up on though ``prepare`` takes it: a limited account, a line
    with both sides given (one zero), a key the idempotency record would refuse."""
    if any(line.debit is not None and line.credit is not None for line in data.lines):
        return True
    if any(line.account_code == "capped" for line in data.lines):
        return True
    try:
        claim_of(data)
    except LedgerError:
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(data=inputs)
def test_the_planner_takes_only_what_prepare_takes_with_the_same_amounts(
    data: EntryInput,
) -> None:
    planned = plan([data], base_currency="USD", lock_date=LOCK, by_code=ACCOUNTS)
    try:
        prepared = prepare(
            data,
            base_currency="USD",
            lock_date=LOCK,
            by_code=ACCOUNTS,
            by_id={},
            default_journal="GENERAL",
        )
    except LedgerError:
        assert planned is None
        return
    if planned is None:  # allowed only for what the planner leaves alone by design
        assert left_alone(data), "a plain entry that prepare takes was left to the general path"
        return
    (entry,) = planned.entries
    assert (entry.date, entry.memo, entry.currency) == (
        prepared.date,
        prepared.memo,
        prepared.currency,
    )
    assert entry.lines == [
        (
            line.account_id,
            line.account_code,
            line.currency,
            line.debit_minor,
            line.credit_minor,
            line.description,
        )
        for line in prepared.lines
    ]


@pytest.mark.parametrize("engine_free", [True])
@settings(max_examples=300, deadline=None)
@given(
    document=st.recursive(
        st.one_of(st.none(), st.integers(), st.text(), st.booleans()),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_the_canonical_digest_is_the_json_encoders(engine_free: bool, document: object) -> None:
    import hashlib

    wrapped = {"metadata": None, "memo": document, "lines": [[document]]}
    expected = hashlib.sha256(_CANONICAL.encode(wrapped).encode()).hexdigest()
    assert canonical_digest(wrapped) == expected


file_lines = st.builds(
    FileLine,
    account=st.sampled_from([*ACCOUNTS, "missing", ""]),
    debit=amounts,
    credit=amounts,
    currency=st.sampled_from([None, None, "USD", "JPY", "EUR", "eur"]),
    description=st.one_of(st.none(), st.text(max_size=5)),
    status=st.sampled_from([None, None, "*", "!"]),
)
file_entries = st.builds(
    FileEntry,
    line=st.integers(min_value=1, max_value=10**6),
    date=st.dates(min_value=dt.date(2026, 1, 25), max_value=dt.date(2026, 2, 5)),
    memo=st.text(max_size=6),
    lines=st.lists(file_lines, min_size=1, max_size=4),
    currency=st.sampled_from([None, "USD", "JPY"]),
    external_id=st.one_of(st.none(), st.text(min_size=1, max_size=4)),
    status=st.sampled_from([None, "*", "!"]),
    comment=st.one_of(st.none(), st.text(max_size=5)),
    metadata=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["order_id", "amount", "n"]),
            st.one_of(st.text(max_size=3), st.integers(), st.decimals(places=2, allow_nan=False)),
            max_size=2,
        ),
    ),
    hold=st.sampled_from([False, False, True]),
)


@st.composite
def balanced_file_entries(draw: st.DrawFn) -> FileEntry:
    """Entries the bulk load takes, mostly: accounts that exist, balanced per currency."""
    entry = draw(file_entries)
    currency = draw(st.sampled_from([None, "USD", "EUR"]))
    amounts = draw(
        st.lists(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2),
            min_size=1,
            max_size=3,
        )
    )
    lines = [
        FileLine(
            draw(st.sampled_from(["cash", "sales"])),
            debit=amount,
            currency=draw(st.sampled_from([None, currency])),
            description=draw(st.one_of(st.none(), st.text(max_size=3))),
            status=draw(st.sampled_from([None, "*"])),
        )
        for amount in amounts
    ]
    lines.append(FileLine("sales", credit=sum(amounts, Decimal(0)), currency=currency))
    return replace(entry, lines=lines, currency=currency, hold=False)


@settings(max_examples=400, deadline=None)
@given(
    entries=st.lists(
        st.one_of(file_entries, balanced_file_entries(), balanced_file_entries()),
        min_size=1,
        max_size=3,
    ),
    key=st.text(min_size=1, max_size=4),
)
def test_a_file_is_planned_as_the_inputs_it_is_posted_as(
    entries: list[FileEntry], key: str
) -> None:
    """bulk_load.from_file plans a file's entries to the batch ``plan`` makes of the
    inputs importing posts them as: the same checks, rows, event lines and request hash."""
    keys = [entry.external_id or f"{key}:{index}" for index, entry in enumerate(entries)]
    inputs = [_input(entry, "USD", k) for entry, k in zip(entries, keys, strict=True)]
    expected = plan(inputs, base_currency="USD", lock_date=LOCK, by_code=ACCOUNTS)
    found = plan_file(
        entries,
        keys,
        scope=IMPORT_SCOPE,
        source=IMPORT_SOURCE,
        base_currency="USD",
        lock_date=LOCK,
        by_code=ACCOUNTS,
    )
    assert found == expected
    if found is not None:
        assert [e.request_hash for e in found.entries] == [request_hash(d) for d in inputs]


@settings(max_examples=300, deadline=None)
@given(
    minor=st.one_of(st.just(0), st.integers(min_value=1, max_value=2**63 - 1)),
    currency=st.sampled_from(["EUR", "JPY", "BHD", "CLF", "USD"]),
)
def test_a_lines_amount_text_is_format_minors(minor: int, currency: str) -> None:
    """The plan writes an event line's amounts as money.format_minor does, every scale."""
    planner = Planner("EUR", None, {})
    assert planner.amount_text(minor, currency, exponent(currency)) == (
        format_minor(minor, currency).encode()
    )
