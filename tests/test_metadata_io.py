"""Client metadata everywhere an entry travels (issue 20, item 4): stored exactly, and kept
by ``ledgerql export`` / ``import`` (and the importLedger upload) in JSON Lines, CSV and
hledger journals, on both engines; hledger itself finds the exported entries by tag."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import random
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from app.ledger import posting
from app.ledger.accounts import AccountInput, create_account
from app.ledger.balance_of import balance_of
from app.ledger.exporting import external_id_of
from app.ledger.ledgerfile import FORMATS
from app.ledger.ledgerfile.metadata_text import text_of_value
from app.ledger.ledgerfile.tags import tags_of
from db.engine import Database
from db.tables import Account, Event, JournalEntry, Tenant
from tests.conftest import make_tenant
from tests.test_export import export_text
from tests.test_import import _cli, chart, run_import, upload
from tests.test_metadata_files import random_comment, typed

EXACT: dict[str, Any] = {
    "order_id": "A-17",
    "amount": Decimal("12.50"),
    "rate": Decimal("0.123456789012345678901234567890"),
    "big": Decimal("1E+2"),
    "count": 3,
    "wide": 2**70,
    "paid": True,
    "note": None,
}


def exact_input(memo: str) -> posting.EntryInput:
    """An entry of 1.00 carrying EXACT as its metadata."""
    return posting.EntryInput(
        date=dt.date(2026, 1, 2),
        memo=memo,
        metadata=EXACT,
        lines=[
            posting.LineInput(account_code="5100", debit="1.00"),
            posting.LineInput(account_code="1000", credit="1.00"),
        ],
    )


async def test_metadata_numbers_are_stored_as_exact_json_numbers(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    result = await posting.post_entry(
        db,
        tenant.id,
        exact_input("exact"),
    )
    async with db.read() as session:
        stored = await session.scalar(
            select(col(JournalEntry.metadata_json)).where(col(JournalEntry.id) == result.entry.id)
        )
        (view,) = await posting.load_entries(session, tenant.id, [result.entry.id])
        payload = await session.scalar(
            select(col(Event.payload_json)).where(col(Event.entry_id) == result.entry.id)
        )
    # Numbers, not strings, digit for digit; read back as what was posted, types and all.
    assert '"amount":12.50,' in (stored or "")
    assert '"rate":0.123456789012345678901234567890,' in (stored or "")
    assert '"big":1E+2,' in (stored or "") and f'"wide":{2**70},' in (stored or "")
    assert view.metadata == EXACT
    assert [type(value) for value in (view.metadata or {}).values()] == [
        type(value) for value in EXACT.values()
    ]
    assert str((view.metadata or {})["amount"]) == "12.50"
    # The event's payload says the same.
    document = json.loads(payload or "", parse_float=Decimal)
    assert document["metadata"] == EXACT
    assert str(document["metadata"]["amount"]) == "12.50"


async def test_a_hold_event_keeps_metadata_numbers_exact(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    held = await posting.hold_entry(
        db,
        tenant.id,
        exact_input("held"),
    )
    await posting.void_hold(db, tenant.id, held.entry.id, "changed mind")
    async with db.read() as session:
        payloads = (
            await session.scalars(
                select(col(Event.payload_json))
                .where(col(Event.entry_id) == held.entry.id)
                .order_by(col(Event.id))
            )
        ).all()
    assert len(payloads) == 2  # held, then voided
    for payload in payloads:
        assert json.loads(payload, parse_float=Decimal)["metadata"] == EXACT
        assert '"amount":12.50,' in payload


# ---------------------------------------------------------------- import and export


def _line(date: str, memo: str, key: str, metadata: str, amount: str) -> str:
    lines = (
        f'"lines":[{{"account":"5100","debit":"{amount}"}},'
        f'{{"account":"1000","credit":"{amount}"}}]'
    )
    meta = f'"metadata":{metadata},' if metadata else ""
    return f'{{"date":"{date}","memo":"{memo}","external_id":"{key}",{meta}{lines}}}\n'


BOOKS = (
    _line(
        "2026-01-15",
        "Office chairs",
        "inv-1",
        '{"order_id":"A-17","amount":420.00,"paid":true,"note":"A, B"}',
        "420.00",
    )
    + _line(
        "2026-01-16",
        "Desk",
        "inv-2",
        '{"order_id":"B-2","count":3,"ref":"012","flag":null,"label":"12.50","empty":""}',
        "99.90",
    )
    + _line("2026-01-17", "Chairs again", "inv-3", f'{{"order_id":"A-17","wide":{2**70}}}', "5.00")
    + _line("2026-01-18", "Pens", "inv-4", "", "3.00")
)
EXPECTED: dict[str, Any] = {
    "inv-1": {"order_id": "A-17", "amount": Decimal("420.00"), "paid": True, "note": "A, B"},
    "inv-2": {
        "order_id": "B-2",
        "count": 3,
        "ref": "012",
        "flag": None,
        "label": "12.50",
        "empty": "",
    },
    "inv-3": {"order_id": "A-17", "wide": 2**70},
    "inv-4": None,
}
# How each format spells inv-1's and inv-2's metadata.
SPELLED = {
    "jsonl": [
        '"metadata":{"order_id":"A-17","amount":420.00,"paid":true,"note":"A, B"},"lines":',
        '"metadata":{"order_id":"B-2","count":3,"ref":"012","flag":null,"label":"12.50",'
        '"empty":""},"lines":',
    ],
    "csv": [
        "date,external_id,memo,currency,account,debit,credit,description,meta.amount,"
        "meta.count,meta.empty,meta.flag,meta.label,meta.note,meta.order_id,meta.paid,"
        "meta.ref,meta.wide\n",
        '2026-01-15,inv-1,Office chairs,USD,5100,420.00,,,420.00,,,,,"A, B",A-17,true,,\n'
        "2026-01-15,inv-1,Office chairs,USD,1000,,420.00,,,,,,,,,,,\n",
        '2026-01-16,inv-2,Desk,USD,5100,99.90,,,,3,"""""",null,"""12.50""",,B-2,,012,\n',
    ],
    "journal": [
        "2026-01-15 (inv-1) Office chairs  ; order_id: A-17, amount: 420.00, paid: true, "
        'note: "A\\u002c B"\n',
        "2026-01-16 (inv-2) Desk  ; order_id: B-2, count: 3, ref: 012, flag: null, "
        'label: "12.50", empty: ""\n',
    ],
}


async def metadata_by_id(db: Database, tenant_id: int) -> dict[str, Any]:
    """Every entry's stored metadata, typed, by the id an export writes for it."""
    async with db.read() as session:
        ids = (
            await session.scalars(
                select(col(JournalEntry.id)).where(col(JournalEntry.tenant_id) == tenant_id)
            )
        ).all()
        views = await posting.load_entries(session, tenant_id, [i for i in ids if i is not None])
    return {external_id_of(view): typed(view.metadata) for view in views}


async def books(db: Database) -> int:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    summary = await run_import(db, tenant.id, BOOKS, "jsonl")
    assert (summary.posted, summary.failed) == (4, 0), summary.errors
    assert await metadata_by_id(db, tenant.id) == {k: typed(v) for k, v in EXPECTED.items()}
    return tenant.id


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_metadata_survives_export_and_import_in_every_format(db: Database, fmt: str) -> None:
    source = await books(db)
    text = await export_text(db, source, fmt)
    for spelled in SPELLED[fmt]:
        assert spelled in text, text
    # Into an empty tenant: the same metadata, types and digits included, the same text.
    copy = await make_tenant(db, "USD")
    summary = await run_import(db, copy.id, text, fmt, create_accounts=True)
    assert (summary.posted, summary.failed) == (4, 0), summary.errors
    assert await metadata_by_id(db, copy.id) == await metadata_by_id(db, source)
    assert await export_text(db, copy.id, fmt) == text
    # Metadata is part of what an import asks for: the first file and the export replay.
    for again in (BOOKS, text):
        summary = await run_import(db, source, again, "jsonl" if again is BOOKS else fmt)
        assert (summary.posted, summary.already_imported, summary.failed) == (0, 4, 0)
    summary = await run_import(db, copy.id, text, fmt)
    assert (summary.posted, summary.already_imported, summary.failed) == (0, 4, 0)


async def test_the_same_id_with_other_metadata_conflicts(db: Database) -> None:
    source = await books(db)
    changed = BOOKS.replace('"paid":true', '"paid":false')
    summary = await run_import(db, source, changed, "jsonl")
    assert (summary.posted, summary.already_imported, summary.failed) == (0, 3, 1)
    (error,) = summary.errors
    assert (error.line, error.code) == (1, "CONFLICT"), error
    # How the file lays its JSON out does not count.
    spaced = BOOKS.replace('"amount":420.00,', '"amount" :  420.00 ,')
    assert spaced != BOOKS
    summary = await run_import(db, source, spaced, "jsonl")
    assert (summary.already_imported, summary.failed) == (4, 0)


@pytest.mark.parametrize(
    ("fmt", "text", "line", "field"),
    [
        (
            "jsonl",
            BOOKS.replace('"count":3', '"count":[3]'),
            2,
            "metadata.count",
        ),
        (
            "csv",
            "date,external_id,memo,account,debit,credit,meta.order_id\n"
            "2026-01-15,e1,ok,5100,1.00,,A-17\n2026-01-15,e1,ok,1000,,1.00,\n"
            "2026-01-16,e2,bad,5100,1.00,,A-17\n2026-01-16,e2,bad,1000,,1.00,A-18\n",
            5,
            "metadata.order_id",
        ),
        (
            "journal",
            "2026-01-15 (e1) ok  ; order_id: A-17\n    5100  1.00 USD\n    1000\n\n"
            "2026-01-16 (e2) bad\n    ; note: " + "x" * 1025 + "\n    5100  1.00 USD\n    1000\n",
            6,
            "metadata.note",
        ),
    ],
)
async def test_refused_metadata_names_the_line_and_the_key(
    db: Database, fmt: str, text: str, line: int, field: str
) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    summary = await run_import(db, tenant.id, text, fmt)
    assert summary.failed == 1 and summary.posted >= 1, summary
    (error,) = summary.errors
    assert (error.line, error.field, error.code) == (line, field, "BAD_USER_INPUT")


JOURNAL = """\
account 1000  ; type: A
account 5100  ; type: X

2026-03-01 * (open-1) Chairs  ; from the old books, see https://example.com/r/1
    ; order_id: A-17, amount: 12.50
    * 5100  420.00 USD  ; four chairs, colour: red
    1000  -420.00 USD

2026-03-02 ! (inv-7) Desk  ; order_id: B-2, paid: false, label: "12.50"
    5100  99.90 USD
    1000  -99.90 USD

"""


async def test_a_journals_tags_and_marks_travel_without_repeating(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    summary = await run_import(db, tenant.id, JOURNAL, "journal")
    assert (summary.posted, summary.failed) == (2, 0), summary.errors
    async with db.read() as session:
        stored = dict(
            (
                await session.execute(
                    select(col(JournalEntry.idempotency_key), col(JournalEntry.metadata_json))
                    .where(col(JournalEntry.tenant_id) == tenant.id)
                    .order_by(col(JournalEntry.id))
                )
            ).all()
        )
    # The tags are metadata; the comment keeps the rest (a URL is prose, not a tag); a
    # posting's tags stay its description.
    assert json.loads(stored["open-1"] or "", parse_float=Decimal) == {
        "order_id": "A-17",
        "amount": Decimal("12.50"),
        "hledger": {
            "status": "*",
            "comment": "from the old books, see https://example.com/r/1",
            "posting_status": ["*", ""],
        },
    }
    assert json.loads(stored["inv-7"] or "") == {
        "order_id": "B-2",
        "paid": False,
        "label": "12.50",
        "hledger": {"status": "!"},
    }
    text = await export_text(db, tenant.id, "journal")
    assert text == JOURNAL  # canonical: the comment's text, then its tags, once
    assert text.count("order_id:") == 2
    again = await run_import(db, tenant.id, text, "journal")
    assert (again.posted, again.already_imported) == (0, 2)


# ---------------------------------------------------------------- hledger itself


def hledger_codes(hledger: str, journal: Path, *query: str) -> set[str]:
    """The codes of the transactions ``hledger reg QUERY`` lists."""
    done = subprocess.run(
        [hledger, "reg", *query, "-f", str(journal), "-O", "csv"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {row["code"] for row in csv.DictReader(done.stdout.splitlines())}


def hledger_tags(hledger: str, journal: Path) -> list[list[list[str]]]:
    done = subprocess.run(
        [hledger, "print", "-O", "json", "-f", str(journal)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [transaction["ttags"] for transaction in json.loads(done.stdout)]


async def test_hledger_finds_by_tag_the_entries_the_ledger_has_that_metadata(
    db: Database, hledger: str, tmp_path: Path
) -> None:
    source = await books(db)
    exported = tmp_path / "exported.journal"
    exported.write_text(await export_text(db, source, "journal"))
    ours = await metadata_by_id(db, source)

    def having(key: str, value: object) -> set[str]:
        return {
            code
            for code, metadata in ours.items()
            if metadata and metadata.get(key) == typed({key: value})[key]
        }

    assert hledger_codes(hledger, exported, "tag:order_id=A-17") == having("order_id", "A-17")
    assert having("order_id", "A-17") == {"inv-1", "inv-3"}
    assert hledger_codes(hledger, exported, "tag:order_id=^B-2$") == {"inv-2"}
    assert hledger_codes(hledger, exported, "tag:paid=true") == having("paid", True)
    assert hledger_codes(hledger, exported, "tag:amount=^420.00$") == {"inv-1"}
    assert hledger_codes(hledger, exported, "tag:ref=^012$") == {"inv-2"}
    # Every tag hledger reads is the entry's metadata, each value as written.
    async with db.read() as session:
        ids = (
            await session.scalars(
                select(col(JournalEntry.id))
                .where(col(JournalEntry.tenant_id) == source)
                .order_by(col(JournalEntry.date), col(JournalEntry.id))
            )
        ).all()
        views = await posting.load_entries(session, source, [i for i in ids if i is not None])
    assert hledger_tags(hledger, exported) == [
        [[key, text_of_value(value, tag=True)] for key, value in (view.metadata or {}).items()]
        for view in views
    ]


def test_tags_are_read_as_hledger_reads_them(hledger: str, tmp_path: Path) -> None:
    rng = random.Random(4)
    comments = [random_comment(rng) for _ in range(600)]
    journal = tmp_path / "tags.journal"
    journal.write_text(
        "".join(
            f"2026-01-01 t{index}  ; {lines[0]}\n"
            + "".join(f"    ; {line}\n" for line in lines[1:])
            + "    a  1 EUR\n    b\n\n"
            for index, lines in enumerate(comment.split("\n") for comment in comments)
        )
    )
    theirs = hledger_tags(hledger, journal)
    assert sum(map(len, theirs)) > 300  # the comments have tags to read
    assert theirs == [[[tag.name, tag.value] for tag in tags_of(c)] for c in comments]


# ---------------------------------------------------------------- the rest of the way


async def test_the_csv_header_lists_keys_from_every_page(db: Database) -> None:
    source = await books(db)
    whole = await export_text(db, source, "csv")
    assert await export_text(db, source, "csv", page_size=1) == whole
    assert whole.splitlines()[-1] == "2026-01-18,inv-4,Pens,USD,1000,,3.00,,,,,,,,,,,"


async def test_only_metadata_a_client_could_write_is_exported(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await posting.post_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=dt.date(2026, 1, 2),
            memo="a dialect's entry",
            source="pismo",  # a dialect writes the ledger's own keys, a client may not
            metadata={"dialect": "pismo", "program_id": 5, "script_ids": [1, 2]},
            lines=[
                posting.LineInput(account_code="5100", debit="1.00"),
                posting.LineInput(account_code="1000", credit="1.00"),
            ],
        ),
    )
    text = await export_text(db, tenant.id, "jsonl")
    assert '"metadata":{"program_id":5},"lines"' in text
    copy = await make_tenant(db, "USD")
    summary = await run_import(db, copy.id, text, "jsonl", create_accounts=True)
    assert (summary.posted, summary.failed) == (1, 0), summary.errors


async def test_the_commands_and_the_upload_keep_metadata(
    db: Database, db_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    source = await books(db)
    source_slug = await _slug(db, source)
    target = tmp_path / "books.csv"
    result = await asyncio.to_thread(
        _cli, db_url, "export", "--tenant", source_slug, "-o", str(target)
    )
    assert result.exit_code == 0, result.output
    copy = await make_tenant(db, "USD")
    result = await asyncio.to_thread(
        _cli, db_url, "import", str(target), "--tenant", copy.slug, "--create-accounts"
    )
    assert result.exit_code == 0, result.output
    assert await metadata_by_id(db, copy.id) == await metadata_by_id(db, source)
    # The importLedger upload reads files the same way.
    uploaded = await make_tenant(db, "USD")
    response = await upload(client, uploaded.key, target.read_text(), "CSV", create=True)
    assert response.json()["data"]["importLedger"]["posted"] == 4, response.text
    assert await metadata_by_id(db, uploaded.id) == await metadata_by_id(db, source)


async def _slug(db: Database, tenant_id: int) -> str:
    async with db.read() as session:
        tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant.slug


WALLETS = {  # code: metadata (issue 20: a wallet per customer)
    "2101": {"customer_id": 41, "kind": "wallet"},
    "2102": {"customer_id": 42, "kind": "wallet", "fee": Decimal("12.50")},
    "2103": {"customer_id": 42, "kind": "wallet"},
}


async def account_metadata(db: Database, tenant_id: int) -> dict[str, Any]:
    async with db.read() as session:
        rows = await session.execute(
            select(col(Account.code), col(Account.metadata_json)).where(
                col(Account.tenant_id) == tenant_id
            )
        )
        return {code: json.loads(text, parse_float=Decimal) for code, text in rows if text}


@pytest.mark.parametrize("fmt", ["jsonl", "journal"])
async def test_account_metadata_travels_with_the_accounts_an_export_declares(
    db: Database, fmt: str
) -> None:
    """An export declares the accounts its entries use with their metadata (a JSON Lines
    account line, tags on a journal's ``account`` directive); an import that creates them
    gives it back, so balanceOf chooses the same wallets in the copy."""
    await wallets_round_trip(db, fmt)


async def wallets_round_trip(db: Database, fmt: str) -> int:
    """Wallets of two customers, four tagged top-ups, exported and imported: the source."""
    source = await make_tenant(db, "USD")
    await create_account(db, source.id, AccountInput(code="1000", name="Cash", type="ASSET"))
    for code, metadata in WALLETS.items():
        wallet = AccountInput(code=code, name=code, type="LIABILITY", metadata=metadata)
        await create_account(db, source.id, wallet)
    for n, code in enumerate(["2101", "2102", "2103", "2102"]):
        await posting.post_entry(
            db,
            source.id,
            posting.EntryInput(
                date=dt.date(2026, 12, 1 + n),
                memo=f"top-up {n}",
                lines=[
                    posting.LineInput(account_code="1000", debit=f"{10 * (n + 1)}.00"),
                    posting.LineInput(account_code=code, credit=f"{10 * (n + 1)}.00"),
                ],
                metadata={"order_id": f"A-{16 + n}"},
            ),
        )
    expires = dt.datetime(2099, 1, 1, 12, tzinfo=dt.UTC)
    for memo, expiry in (("card auth", expires), ("open auth", None)):
        held = posting.EntryInput(
            date=dt.date(2026, 12, 6),
            memo=memo,
            lines=[
                posting.LineInput(account_code="2102", debit="4.50"),
                posting.LineInput(account_code="1000", credit="4.50"),
            ],
            metadata={"order_id": "A-20"},
        )
        await posting.hold_entry(db, source.id, held, expiry)
    text = await export_text(db, source.id, fmt)
    assert "customer_id" in text and "12.50" in text, text
    copy = await make_tenant(db, "USD")
    summary = await run_import(db, copy.id, text, fmt, create_accounts=True)
    # JSON Lines carries the two holds still pending, with their expiry; a journal cannot.
    holds = 2 if fmt == "jsonl" else 0
    assert (summary.posted, summary.failed) == (4 + holds, 0), summary.errors
    if fmt == "jsonl":
        assert '"hold":{"expires_at":"2099-01-01T12:00:00+00:00"}' in text
        assert '"hold":{"expires_at":null}' in text
    assert await account_metadata(db, copy.id) == WALLETS
    wallets = {"customer_id": 42}
    found = [
        await balance_of(db, tenant, currency="USD", metadata=wallets, metadata_has=None)
        for tenant in (source.id, copy.id)
    ]
    # 20.00 + 30.00 + 40.00 credited to customer 42's two wallets, 2 x 4.50 held.
    assert found[0].net_minor == found[1].net_minor == 9000
    assert found[0].available_minor == 9000 - 900
    assert found[1].available_minor == (9000 - 900 if fmt == "jsonl" else 9000)
    assert found[0].accounts == found[1].accounts == 2
    assert await export_text(db, copy.id, fmt) == text
    return source.id


async def test_hledger_finds_the_wallets_by_account_tag(
    db: Database, hledger: str, tmp_path: Path
) -> None:
    source = await wallets_round_trip(db, "journal")
    exported = tmp_path / "wallets.journal"
    exported.write_text(await export_text(db, source, "journal"))
    assert hledger_accounts(hledger, exported, "tag:customer_id=42") == ["2102", "2103"]


def hledger_accounts(hledger: str, journal: Path, query: str) -> list[str]:
    """The accounts ``hledger accounts QUERY`` lists."""
    found = subprocess.run(
        [hledger, "-f", str(journal), "accounts", query],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return found.stdout.split()


@pytest.mark.parametrize(
    ("hold", "words"),
    [
        ('{"expires_at":"2020-01-01T00:00:00+00:00"}', "expire"),
        ('{"expires_at":"2099-01-01T00:00:00"}', "offset"),
        ('{"expires_at":"soon"}', "ISO 8601"),
        ('{"until":null}', "unknown field"),
        ("true", "is an object"),
    ],
)
async def test_a_hold_in_a_file_is_refused_naming_its_field(
    db: Database, hold: str, words: str
) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    line = (
        '{"date":"2026-12-06","memo":"auth","external_id":"h-1","hold":HOLD,'
        '"lines":[{"account":"1000","debit":"1.00"},{"account":"4000","credit":"1.00"}]}'
    ).replace("HOLD", hold)
    summary = await run_import(db, tenant.id, line + "\n", "jsonl")
    assert (summary.posted, summary.failed) == (0, 1)
    (error,) = summary.errors
    assert error.field in ("hold", "hold.expires_at", "hold.until") and words in error.message
