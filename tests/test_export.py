"""Exporting a tenant's books on both engines: import -> export -> import elsewhere gives
the same books and the same text; reversals and keyset pages; the export command."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest

from app.ledger import posting
from app.ledger.errors import BadInput
from app.ledger.exporting import export_ledger
from app.ledger.ledgerfile import FORMATS
from db.engine import Database
from tests.conftest import make_tenant
from tests.test_import import JOURNAL, JSONL, _cli, balances, chart, entry_count, run_import

# Written as the exporter writes: importing it and exporting it gives this text back.
# The accounts the entries use come first, in code order, each with hledger's type code.
# Status marks, codes and comments (the transaction's and the postings') come back too.
CANONICAL_JOURNAL = """\
account assets:bank  ; type: A
account assets:usd  ; type: A
account assets:yen  ; type: A
account equity:opening  ; type: E
account expenses:office  ; type: X
account income:fx  ; type: R

2026-03-01 * (open-1) Opening balance  ; from the old books
    ; checked: 2026-03-05
    assets:bank  5000.00 EUR
    equity:opening  -5000.00 EUR

2026-03-02 ! (inv-7) Office chairs
    * expenses:office  420.00 EUR  ; four chairs
    ; from the catalogue
    assets:bank  -420.00 EUR

2026-03-02 (fx-1) Dollars and yen
    assets:usd  12.34 USD
    income:fx  -12.34 USD
    assets:yen  1500 JPY
    income:fx  -1500 JPY

"""


async def export_text(db: Database, tenant_id: int, fmt: str, page_size: int = 500) -> str:
    out = io.StringIO()
    await export_ledger(db, tenant_id, FORMATS[fmt], out.write, page_size=page_size)
    return out.getvalue()


async def books(db: Database) -> int:
    """A tenant with imported entries, an entry posted through the API and a reversal."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await run_import(db, tenant.id, JSONL, "jsonl")
    # Between imported entries: export follows dates.
    await posted_and_reversed(
        db, tenant.id, ("5100", "2000"), dt.date(2026, 1, 16), dt.date(2026, 1, 20)
    )
    return tenant.id


async def posted_and_reversed(
    db: Database, tenant_id: int, accounts: tuple[str, str], on: dt.date, reversed_on: dt.date
) -> None:
    """An entry posted through the API on ``on`` (3.00 from ``accounts[1]`` to
    ``accounts[0]``, "pens") and reversed on ``reversed_on``."""
    debit, credit = accounts
    posted = await posting.post_entry(
        db,
        tenant_id,
        posting.EntryInput(
            date=on,
            memo="Posted by hand",
            lines=[
                posting.LineInput(account_code=debit, debit="3.00", description="pens"),
                posting.LineInput(account_code=credit, credit="3.00"),
            ],
        ),
    )
    await posting.reverse_entry(db, tenant_id, posted.entry.id, date=reversed_on)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_import_export_import_gives_the_same_books_and_text(db: Database, fmt: str) -> None:
    source = await books(db)
    first = await export_text(db, source, fmt)
    copy = await make_tenant(db, "USD")
    summary = await run_import(db, copy.id, first, fmt, create_accounts=True)
    # 4 imported, the hand-posted entry and its reversal: all ordinary entries now.
    assert (summary.posted, summary.failed) == (6, 0), summary.errors
    assert await balances(db, copy.id) == await balances(db, source)
    assert await export_text(db, copy.id, fmt) == first
    again = await run_import(db, copy.id, first, fmt)  # the ids in the file replay
    assert (again.posted, again.already_imported) == (0, 6)


async def test_entries_come_in_date_order_across_keyset_pages(db: Database) -> None:
    source = await books(db)
    whole = await export_text(db, source, "jsonl")
    assert await export_text(db, source, "jsonl", page_size=1) == whole
    assert await export_text(db, source, "jsonl", page_size=2) == whole
    declared: list[str] = []
    entries: list[str] = []
    for line in whole.splitlines():  # the accounts used come first, then the entries
        (declared if line.startswith('{"account":') and not entries else entries).append(line)
    codes = [line.split('"')[3] for line in declared]
    assert codes == ["1000", "2000", "4000", "5100"]
    dates = [line[9:19] for line in entries]
    assert dates == sorted(dates) and len(dates) == 6
    assert '"external_id":"inv-1"' in entries[0]
    assert '"memo":"Reversal of ' in entries[-1]


async def test_a_journal_in_canonical_form_exports_as_itself(db: Database) -> None:
    tenant = await make_tenant(db, "EUR")
    summary = await run_import(db, tenant.id, CANONICAL_JOURNAL, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (3, 0), summary.errors
    assert await export_text(db, tenant.id, "journal") == CANONICAL_JOURNAL


async def test_a_journal_declares_the_used_accounts_with_their_types(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    numeric = [
        ("3000", "EQUITY"),
        ("1000", "ASSET"),
        ("5000", "INCOME"),  # a type its code's first digit would not give
        ("2000", "LIABILITY"),
        ("4000", "EXPENSE"),
        ("1100", "ASSET"),  # never posted to: not declared
    ]
    await chart(db, tenant.id, numeric)
    for debit, credit in (("1000", "3000"), ("4000", "2000"), ("1000", "5000")):
        await posting.post_entry(
            db,
            tenant.id,
            posting.EntryInput(
                date=dt.date(2026, 2, 1),
                memo="move",
                lines=[
                    posting.LineInput(account_code=debit, debit="5.00"),
                    posting.LineInput(account_code=credit, credit="5.00"),
                ],
            ),
        )
    text = await export_text(db, tenant.id, "journal")
    assert text.startswith(
        "account 1000  ; type: A\n"
        "account 2000  ; type: L\n"
        "account 3000  ; type: E\n"
        "account 4000  ; type: X\n"
        "account 5000  ; type: R\n"
        "\n2026-02-01 "
    ), text
    # The other formats have no declarations; the journal reader skips them.
    for fmt in ("csv", "jsonl"):
        assert "type:" not in await export_text(db, tenant.id, fmt)
    copy = await make_tenant(db, "USD")
    await chart(db, copy.id, numeric)
    summary = await run_import(db, copy.id, text, "journal")
    assert (summary.posted, summary.failed) == (3, 0), summary.errors
    assert await export_text(db, copy.id, "journal") == text
    # Into a tenant with no chart, --create-accounts takes the declared types (5000 is
    # income here, not the expense its first digit suggests): the same text again.
    empty = await make_tenant(db, "USD")
    summary = await run_import(db, empty.id, text, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (3, 0), summary.errors
    assert await export_text(db, empty.id, "journal") == text


async def test_an_empty_export_declares_no_accounts(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    assert await export_text(db, tenant.id, "journal") == ""


async def test_a_memo_a_journal_cannot_hold_is_a_clear_error(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await run_import(db, tenant.id, JSONL.replace("Office chairs", "Chairs; four"), "jsonl")
    with pytest.raises(BadInput, match=r"inv-1.*export as jsonl or csv"):
        await export_text(db, tenant.id, "journal")
    assert "Chairs; four" in await export_text(db, tenant.id, "csv")


async def test_the_export_command(db: Database, db_url: str, tmp_path: Path) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await run_import(db, tenant.id, JOURNAL, "journal")
    target = tmp_path / "books.journal"
    result = await asyncio.to_thread(
        _cli, db_url, "export", "--tenant", tenant.slug, "-o", str(target)
    )
    assert result.exit_code == 0, result.output
    assert "exported 4 entries" in result.stderr
    assert target.read_text() == await export_text(db, tenant.id, "journal")
    assert not (tmp_path / "books.journal.part").exists()
    result = await asyncio.to_thread(
        _cli, db_url, "export", "--tenant", tenant.slug, "--format", "csv"
    )
    assert result.exit_code == 0 and result.stdout == await export_text(db, tenant.id, "csv")
    copy = await make_tenant(db, "USD")
    result = await asyncio.to_thread(
        _cli, db_url, "import", str(target), "--tenant", copy.slug, "--create-accounts"
    )
    assert result.exit_code == 0, result.output
    assert await balances(db, copy.id) == await balances(db, tenant.id)
    assert await entry_count(db, copy.id) == 4


async def test_a_refusal_in_a_later_page_ends_the_export_cleanly(db: Database) -> None:
    """The writer refuses the second entry while (on PostgreSQL) the next page's lines are
    being read: the error is the writer's, and the connection is left fit for the next
    export."""
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    await run_import(
        db, tenant.id, JSONL.replace('"memo":"Sale",', '"memo":"Sale; cash",'), "jsonl"
    )
    for _ in range(3):  # more times than the pool has connections
        with pytest.raises(BadInput, match=r"the memo 'Sale; cash'"):
            await export_text(db, tenant.id, "journal", page_size=1)
    assert "Sale; cash" in await export_text(db, tenant.id, "csv", page_size=1)
