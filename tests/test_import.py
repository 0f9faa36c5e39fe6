"""Importing ledger files on both engines: each format, reruns, missing accounts,
refused entries, the command line and the GraphQL upload."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func
from sqlmodel import col, select

from app.cli.main import main
from app.ledger import accounts, importing
from app.ledger.balances import trial_balance
from app.ledger.errors import BadInput
from app.ledger.importing import ImportSummary, import_file
from app.ledger.ledgerfile import FORMATS
from app.ledger.tenants import create_key
from db.engine import Database
from db.tables import Account, JournalEntry
from tests.conftest import TenantFixture, make_tenant

CHART = [("1000", "ASSET"), ("2000", "LIABILITY"), ("4000", "INCOME"), ("5100", "EXPENSE")]

# One ledger, three spellings; the trial balance they must all give is EXPECTED.
JSONL = """\
{"date":"2026-01-15","memo":"Office chairs","external_id":"inv-1","lines":[{"account":"5100","debit":"420.00"},{"account":"1000","credit":"420.00","description":"card"}]}
{"date":"2026-01-16","memo":"Sale","lines":[{"account":"1000","debit":1000},{"account":"4000","credit":"1000.00"}]}
{"date":"2026-01-17","memo":"Sale in yen","currency":"JPY","lines":[{"account":"1000","debit":"5000"},{"account":"4000","credit":"5000"}]}
{"date":"2026-01-18","memo":"Supplies on credit","lines":[{"account":"5100","debit":"10.55"},{"account":"5100","debit":"0.45"},{"account":"2000","credit":"11.00"}]}
"""
CSV = """\
date,external_id,memo,currency,account,debit,credit,description
2026-01-15,inv-1,Office chairs,,5100,420.00,,
2026-01-15,inv-1,Office chairs,,1000,,420.00,card
2026-01-16,,Sale,,1000,1000,,
2026-01-16,,Sale,,4000,,1000.00,
2026-01-17,,Sale in yen,JPY,1000,5000,,
2026-01-17,,Sale in yen,JPY,4000,,5000,
2026-01-18,,Supplies on credit,,5100,10.55,,
2026-01-18,,Supplies on credit,,5100,0.45,,
2026-01-18,,Supplies on credit,,2000,,11.00,
"""
# No status mark on inv-1: a journal's marks are kept with the entry (its metadata),
# so "* (inv-1)" would be other content than the JSON Lines and CSV inv-1.
JOURNAL = """\
2026-01-15 (inv-1) Office chairs
    5100    420.00 USD
    1000   -420.00 USD  ; card

2026-01-16 Sale
    1000    USD 1000
    4000

2026-01-17 Sale in yen
    1000    5000 JPY
    4000    -5000 JPY

2026-01-18 Supplies on credit
    5100    10.55
    5100    0.45
    2000    -11.00
"""
SPELLINGS = {"jsonl": JSONL, "csv": CSV, "journal": JOURNAL}
EXPECTED = {
    ("1000", "JPY"): 5000,
    ("1000", "USD"): 58000,
    ("2000", "USD"): -1100,
    ("4000", "JPY"): -5000,
    ("4000", "USD"): -100000,
    ("5100", "USD"): 43100,
}


async def chart(db: Database, tenant_id: int, chart: list[tuple[str, str]] = CHART) -> None:
    for code, kind in chart:
        await accounts.create_account(
            db, tenant_id, accounts.AccountInput(code=code, name=code, type=kind)
        )


async def run_import(
    db: Database,
    tenant_id: int,
    text: str | bytes,
    fmt: str,
    *,
    create_accounts: bool = False,
    chunk_size: int | None = None,
) -> ImportSummary:
    data = text.encode() if isinstance(text, str) else text
    return await import_file(
        db,
        tenant_id,
        io.BytesIO(data),
        FORMATS[fmt],
        create_accounts=create_accounts,
        chunk_size=chunk_size,
    )


async def balances(db: Database, tenant_id: int) -> dict[tuple[str, str], int]:
    """Net (debit - credit) minor units per (account code, currency), from the ledger."""
    trial = await trial_balance(db, tenant_id)
    assert trial.balanced
    return {(r.account.code, r.currency): r.debit_minor - r.credit_minor for r in trial.rows}


async def entry_count(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).where(col(JournalEntry.tenant_id) == tenant_id)
        )
    return int(count or 0)


async def test_each_format_gives_the_same_trial_balance(db: Database) -> None:
    for fmt, text in SPELLINGS.items():
        tenant = await make_tenant(db, "USD")
        await chart(db, tenant.id)
        summary = await run_import(db, tenant.id, text, fmt)
        assert (summary.posted, summary.failed, summary.errors) == (4, 0, []), fmt
        assert await balances(db, tenant.id) == EXPECTED, fmt


async def test_a_rerun_posts_nothing_twice(db: Database, tenant: TenantFixture) -> None:
    await chart(db, tenant.id)
    for fmt, text in SPELLINGS.items():
        first = await run_import(db, tenant.id, text, fmt, chunk_size=3)
        second = await run_import(db, tenant.id, text, fmt, chunk_size=1)
        assert (second.posted, second.already_imported, second.failed) == (0, 4, 0), fmt
        assert second.sha256 == first.sha256
    # The three files share inv-1 (one entry, spelt three ways) and nothing else.
    assert await entry_count(db, tenant.id) == 10
    expected = {key: value * 3 for key, value in EXPECTED.items()}
    expected[("5100", "USD")] -= 2 * 42000
    expected[("1000", "USD")] += 2 * 42000
    assert await balances(db, tenant.id) == expected


async def test_the_same_external_id_with_other_content_is_refused(
    db: Database, tenant: TenantFixture
) -> None:
    await chart(db, tenant.id)
    await run_import(db, tenant.id, JSONL, "jsonl")
    changed = JSONL.replace('"420.00"', '"421.00"')
    summary = await run_import(db, tenant.id, changed, "jsonl")
    # Entries without an id are keyed by the file's hash: a changed file is a new file.
    assert (summary.posted, summary.already_imported, summary.failed) == (3, 0, 1)
    (error,) = summary.errors
    assert (error.line, error.field, error.code) == (1, "external_id", "CONFLICT")
    assert "inv-1" in error.message


async def test_missing_accounts_are_refused_unless_created(
    db: Database, tenant: TenantFixture
) -> None:
    journal = (
        "2026-02-01 Opening\n    assets:bank  100 USD\n    equity:opening\n\n"
        "2026-02-02 Fees\n    5300  2 USD\n    liabilities:card\n\n"
        "2026-02-03 Sale\n    revenue:web  -7 USD\n    1200  7 USD\n\n"
        "2026-02-04 Unknown\n    misc  1 USD\n    assets:bank\n"
    )
    refused = await run_import(db, tenant.id, journal, "journal")
    assert (refused.posted, refused.failed) == (0, 4)
    assert [(e.line, e.field) for e in refused.errors] == [
        (2, "account"),
        (6, "account"),
        (10, "account"),
        (14, "account"),
    ]
    assert "account assets:bank does not exist" in refused.errors[0].message
    assert "--create-accounts" in refused.errors[0].message
    assert await entry_count(db, tenant.id) == 0

    created = await run_import(db, tenant.id, journal, "journal", create_accounts=True)
    # Six accounts and the four hledger parents of the named ones (assets, equity...).
    assert (created.posted, created.failed, created.accounts_created) == (3, 1, 10)
    (error,) = created.errors
    assert (error.line, error.field) == (14, "account") and "'misc'" in error.message
    async with db.read() as session:
        types = dict(
            (
                await session.execute(
                    select(col(Account.code), col(Account.type)).where(
                        col(Account.tenant_id) == tenant.id
                    )
                )
            ).all()
        )
    assert types == {
        "assets": "ASSET",
        "assets:bank": "ASSET",
        "equity": "EQUITY",
        "equity:opening": "EQUITY",
        "5300": "EXPENSE",
        "liabilities": "LIABILITY",
        "liabilities:card": "LIABILITY",
        "revenue": "INCOME",
        "revenue:web": "INCOME",
        "1200": "ASSET",
    }


async def test_a_refused_entry_is_reported_with_its_line_and_the_rest_is_posted(
    db: Database, tenant: TenantFixture
) -> None:
    await chart(db, tenant.id)
    await accounts.deactivate_account(db, tenant.id, "2000")
    lines = JSONL.splitlines()
    lines.insert(
        1,
        '{"date":"2026-01-15","memo":"Unbalanced","lines":[{"account":"1000","debit":"1"},{"account":"4000","credit":"2"}]}',
    )
    lines.insert(
        3,
        '{"date":"2026-01-15","memo":"Too precise","lines":[{"account":"1000","debit":"1.001"},{"account":"4000","credit":"1.001"}]}',
    )
    summary = await run_import(db, tenant.id, "\n".join(lines) + "\n", "jsonl", chunk_size=2)
    assert (summary.posted, summary.failed) == (3, 3)
    assert [(e.line, e.field) for e in summary.errors] == [
        (2, "lines"),
        (4, "lines.0.debit"),
        (6, "lines.2.account"),  # 2000 is deactivated
    ]
    assert "deactivated" in summary.errors[2].message


async def test_chunks_in_flight_post_in_file_order(db: Database, tenant: TenantFixture) -> None:
    """Two chunks are in the write path at once; entries still take the file's order.

    New accounts appear every few entries, so some chunks wait for account creation
    and others do not: a later chunk must still not overtake an earlier one.
    """
    documents = [
        {
            "date": "2026-01-15",
            "memo": f"entry {index}",
            "lines": [
                {"account": f"expenses:e{index // 3}", "debit": "1.00"},
                {"account": "assets:cash", "credit": "1.00"},
            ],
        }
        for index in range(40)
    ]
    text = "".join(json.dumps(document) + "\n" for document in documents)
    summary = await run_import(db, tenant.id, text, "jsonl", create_accounts=True, chunk_size=2)
    assert (summary.posted, summary.failed) == (40, 0)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(col(JournalEntry.memo), col(JournalEntry.number))
                .where(col(JournalEntry.tenant_id) == tenant.id)
                .order_by(col(JournalEntry.id))
            )
        ).all()
    assert [memo for memo, _ in rows] == [f"entry {index}" for index in range(40)]
    assert [int(number.rsplit("-", 1)[1]) for _, number in rows] == list(range(1, 41))


async def test_a_file_that_is_not_utf8_is_refused_before_any_write(
    db: Database, tenant: TenantFixture
) -> None:
    await chart(db, tenant.id)
    data = JSONL.encode() + b'{"date":"2026-01-19","memo":"caf\xe9","lines":[]}\n'
    with pytest.raises(BadInput, match="not UTF-8"):
        await run_import(db, tenant.id, data, "jsonl")
    assert await entry_count(db, tenant.id) == 0


# ---------------------------------------------------------------- command line


def _cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


async def test_the_import_command(db: Database, db_url: str, tmp_path: Path) -> None:
    tenant = await make_tenant(db, "USD")
    path = tmp_path / "books.hledger"
    path.write_text(JOURNAL)
    result = await asyncio.to_thread(_cli, db_url, "import", str(path), "--tenant", tenant.slug)
    assert result.exit_code == 1  # no accounts yet: every entry refused, said on stderr
    assert "posted 0, already imported 0, failed 4" in result.stdout
    assert "line 2 (account): account 5100 does not exist" in result.stderr

    result = await asyncio.to_thread(
        _cli, db_url, "import", str(path), "--tenant", tenant.slug, "--create-accounts"
    )
    assert result.exit_code == 0, result.output
    assert "posted 4, already imported 0, failed 0, 4 accounts created" in result.stdout
    assert await balances(db, tenant.id) == EXPECTED

    odd = tmp_path / "books.txt"
    odd.write_text(JSONL)
    result = await asyncio.to_thread(_cli, db_url, "import", str(odd), "--tenant", tenant.slug)
    assert result.exit_code == 1 and "--format" in result.output
    result = await asyncio.to_thread(
        _cli, db_url, "import", str(odd), "--tenant", tenant.slug, "--format", "jsonl"
    )
    assert result.exit_code == 0 and "already imported 1" in result.stdout  # inv-1
    result = await asyncio.to_thread(
        _cli, db_url, "import", str(odd), "--tenant", "no-such", "--format", "jsonl"
    )
    assert result.exit_code == 1 and "does not exist" in result.output


# ---------------------------------------------------------------- GraphQL upload

IMPORT_LEDGER = """
mutation($file: Upload!, $format: ImportFormat!, $create: Boolean) {
  importLedger(file: $file, format: $format, createAccounts: $create) {
    posted alreadyImported failed accountsCreated
    failures { line field code message }
    errors { code field message }
  }
}"""


async def upload(
    client: httpx.AsyncClient,
    key: str | None,
    text: str,
    fmt: str,
    create: bool = False,
) -> httpx.Response:
    """A GraphQL multipart request: operations, then map, then the file."""
    operations = {
        "query": IMPORT_LEDGER,
        "variables": {"file": None, "format": fmt, "create": create},
    }
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("books.journal", text.encode(), "application/octet-stream")},
        headers={"Authorization": f"Bearer {key}"} if key else {},
    )


async def test_import_ledger_mutation_takes_a_multipart_upload(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    bad = JOURNAL + "\n2026-01-19 Broken\n    1000  1 USD\n    4000  -2 USD\n"
    response = await upload(client, tenant.key, bad, "JOURNAL", create=True)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["importLedger"] == {
        "posted": 4,
        "alreadyImported": 0,
        "failed": 1,
        "accountsCreated": 4,
        "failures": [
            {
                "line": 18,
                "field": "lines",
                "code": "BAD_USER_INPUT",
                "message": "entry does not balance in USD: debits 1.00 != credits 2.00",
            }
        ],
        "errors": [],
    }
    assert await balances(db, tenant.id) == EXPECTED
    again = (await upload(client, tenant.key, bad, "JOURNAL")).json()["data"]["importLedger"]
    assert (again["posted"], again["alreadyImported"], again["failed"]) == (0, 4, 1)


async def test_import_ledger_refuses_a_missing_or_read_only_key(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    # A cross-site form can send multipart but no key header: refused before Strawberry.
    response = await upload(client, None, JOURNAL, "JOURNAL", create=True)
    assert response.status_code == 401
    read_only = await create_key(db, slug=tenant.slug, read_only=True)
    response = await upload(client, read_only.key, JOURNAL, "JOURNAL", create=True)
    assert response.json()["data"]["importLedger"]["errors"] == [
        {"code": "FORBIDDEN", "field": None, "message": "this API key is read-only"}
    ]
    assert await entry_count(db, tenant.id) == 0
    async with db.read() as session:
        assert (
            await session.scalar(select(func.count()).where(col(Account.tenant_id) == tenant.id))
            == 0
        )


async def test_a_journals_marks_annotate_the_entry_without_conflicting(
    db: Database, tenant: TenantFixture
) -> None:
    await chart(db, tenant.id)
    pending = "2026-01-15 ! (inv-9) Chairs  ; ordered\n    5100  5 USD\n    1000\n"
    first = await run_import(db, tenant.id, pending, "journal")
    again = await run_import(db, tenant.id, pending, "journal")
    assert (first.posted, again.already_imported) == (1, 1)
    # Cleared since, comment reworded: the same entry, already imported (a posted entry is
    # never edited, so the first import's marks stay).
    cleared = pending.replace("!", "*").replace("ordered", "paid")
    rerun = await run_import(db, tenant.id, cleared, "journal")
    assert (rerun.posted, rerun.already_imported, rerun.failed) == (0, 1, 0), rerun.errors
    # A change of content is still a conflict on the code.
    changed = await run_import(db, tenant.id, pending.replace("5 USD", "6 USD"), "journal")
    (error,) = changed.errors
    assert (error.line, error.field, error.code) == (1, "code", "CONFLICT")
    async with db.read() as session:
        metadata = await session.scalar(
            select(col(JournalEntry.metadata_json)).where(col(JournalEntry.tenant_id) == tenant.id)
        )
    assert json.loads(metadata or "") == {"hledger": {"status": "!", "comment": "ordered"}}


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 20])
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"a\n",
        b"\xef\xbb\xbfa\nb",
        b"a\r\nb\n\nc",
        "é\n日本\nx".encode(),
        b"\n\n",
        b"a\x0bb\x0cc\n\x1cd",
    ],
)
def test_the_lines_read_a_block_at_a_time_are_the_files_lines(
    data: bytes, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """importing._Lines gives the lines binary iteration gives (split at "\\n" only, a
    leading BOM dropped), wherever its blocks cut the file."""
    monkeypatch.setattr(importing, "_READ_BLOCK", block)
    expected = [raw.decode() for raw in io.BytesIO(data)]
    if expected:
        expected[0] = expected[0].removeprefix("\ufeff")
    lines = importing._Lines(io.BytesIO(data))
    assert list(lines) == expected
    assert lines.bytes_read == len(data)
