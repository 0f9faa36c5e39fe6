"""``ledgerql verify`` (docs/audit.md, "Verifying"): an untouched ledger verifies on both
engines, and each tamper done directly in SQL is found and named: by the chain pass (an
event changed or deleted, a checkpoint), the books pass (amounts, accounts, entries
deleted or inserted, order, status, metadata) or the balances pass."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from app.cli.main import main
from app.ledger.accounts import AccountInput, create_account
from app.ledger.audit_verify import Checkpoint, Verification, verify
from app.ledger.posting import EntryInput, LineInput, post_due, post_entries
from db.engine import Database
from db.migrate import upgrade
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts, entry

CHART = [
    ("1000", "Cash", "ASSET"),
    ("2100", "Wallet", "LIABILITY"),
    ("4000", "Revenue", "INCOME"),
    ("5000", "Rent", "EXPENSE"),
]
ERRORS = "errors { code field message }"
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id number status }} {ERRORS} }} }}"""
REVERSE = f"""mutation($id: ID!) {{ reverseJournalEntry(id: $id) {{ entry {{ id }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
POST_HOLD = f"""mutation($input: PostHoldInput!) {{ postHold(input: $input) {{ {ERRORS} }} }}"""
VOID_HOLD = f"""mutation($input: VoidHoldInput!) {{ voidHold(input: $input) {{ {ERRORS} }} }}"""
SET_META = f"""mutation($id: ID!, $m: JSON!) {{
  setEntryMetadata(entryId: $id, metadata: $m) {{ {ERRORS} }} }}"""
SET_ACCOUNT_META = f"""mutation($code: String!, $m: JSON!) {{
  setAccountMetadata(accountCode: $code, metadata: $m) {{ {ERRORS} }} }}"""
CLOSE = f"""mutation {{ closePeriod(throughDate: "2026-01-31") {{ {ERRORS} }} }}"""


@dataclass
class Books:
    """A small ledger with one of everything that writes a link."""

    db: Database
    url: str
    tenant: TenantFixture
    sale: int
    rent: int
    other_sale: int
    reversal: int
    posted_hold: int
    voided_hold: int
    scheduled: int


async def _one(gql: GraphQLClient, query: str, field: str, **variables: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await gql(query, variables))[field]
    assert data["errors"] == [], data
    return data


async def _entry(gql: GraphQLClient, input: dict[str, Any], query: str = POST) -> int:
    field = "postJournalEntry" if query == POST else "holdJournalEntry"
    return int((await _one(gql, query, field, input=input))["entry"]["id"])


@pytest.fixture
async def books(db: Database, db_url: str, gql: GraphQLClient, tenant: TenantFixture) -> Books:
    await create_accounts(gql, CHART)
    metadata = {"order": "A-1", "amount": 12.5, "paid": True}
    sale = await _entry(gql, entry("1000", "4000", "12.00", metadata=metadata))
    rent = await _entry(gql, entry("5000", "1000", "3.00", date="2026-01-16"))
    other_sale = await _entry(gql, entry("1000", "4000", "7.00", date="2026-01-17"))
    reversal = int((await _one(gql, REVERSE, "reverseJournalEntry", id=rent))["entry"]["id"])
    posted_hold = await _entry(gql, entry("2100", "1000", "5.00"), HOLD)
    await _one(gql, POST_HOLD, "postHold", input={"entryId": posted_hold, "amount": "4.00"})
    voided_hold = await _entry(gql, entry("2100", "1000", "2.00"), HOLD)
    await _one(gql, VOID_HOLD, "voidHold", input={"entryId": voided_hold, "reason": "no"})
    await _entry(gql, entry("2100", "1000", "1.00"), HOLD)  # left pending
    await _one(gql, SET_META, "setEntryMetadata", id=sale, m={"order": "A-2", "paid": None})
    await _one(gql, SET_ACCOUNT_META, "setAccountMetadata", code="1000", m={"bank": "B"})
    scheduled = await _entry(gql, entry("5000", "1000", "1.50", accrualDate="2099-01-01"))
    await _one(gql, CLOSE, "closePeriod")
    return Books(
        db, db_url, tenant, sale, rent, other_sale, reversal, posted_hold, voided_hold, scheduled
    )


async def _verify(books: Books, start: Checkpoint | None = None) -> Verification:
    return await verify(books.db, books.tenant.id, start=start)


def _tamper_sqlite(path: str, statements: Sequence[str]) -> None:
    with sqlite3.connect(path) as conn:  # a plain connection: foreign keys off by default
        for statement in statements:
            conn.execute(statement)


async def tamper(books: Books, *statements: str) -> None:
    """``statements`` run directly in SQL, foreign keys off, as a tamperer would."""
    url = make_url(books.url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        await asyncio.to_thread(_tamper_sqlite, url.database, statements)
        return

    def work(conn: Connection) -> None:
        # Triggers, foreign keys among them, off for this transaction (the test
        # database's user is a superuser): a tamperer with the table rights can.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))

    await books.db.run_write(work)


def _messages(result: Verification) -> str:
    assert not result.ok
    return "\n".join(str(problem) for problem in result.problems)


async def test_an_untouched_ledger_verifies(books: Books) -> None:
    result = await _verify(books)
    assert result.ok, _messages(result) if result.problems else ""
    # 4 posted, 1 reversal, 3 hold events + 1 posted + 1 voided, 1 metadata change each,
    # the period close: every link checked; the scheduled entry has none yet.
    assert result.head.link == result.counts.links == 12
    assert result.counts.entries == 8 and result.counts.scheduled == 1
    assert result.counts.lines == 16 and result.counts.balances > 0
    again = await _verify(books, Checkpoint(result.head.link, result.head.hash))
    assert again.ok and again.counts.links == 0
    middle = await _verify(books, Checkpoint.parse(f"5:{await _hash_of(books, 5)}"))
    assert middle.ok and middle.counts.links == 7


async def _hash_of(books: Books, link: int) -> str:
    def read(conn: Connection) -> str:
        return str(
            conn.execute(
                text("SELECT chain_hash FROM events WHERE tenant_id = :t AND link = :l"),
                {"t": books.tenant.id, "l": link},
            ).scalar_one()
        )

    return await books.db.run_read(read)


async def _number(books: Books, entry_id: int) -> str:
    def read(conn: Connection) -> str:
        return str(
            conn.execute(
                text("SELECT number FROM journal_entries WHERE id = :id"), {"id": entry_id}
            ).scalar_one()
        )

    return await books.db.run_read(read)


def _has(result: Verification, *parts: str) -> None:
    shown = _messages(result)
    assert any(all(part in str(p) for part in parts) for p in result.problems), shown


async def test_an_amount_changed_is_named(books: Books) -> None:
    number = await _number(books, books.other_sale)
    await tamper(
        books,
        f"UPDATE journal_lines SET debit_minor = 800 WHERE entry_id = {books.other_sale} "
        "AND debit_minor = 700",
    )
    result = await _verify(books)
    _has(result, f"entry {books.other_sale} ({number}): lines.0.debit is 8.00 in the books, 7.00")
    _has(result, "balances: account 1000", "debit")  # the balances were not moved with it


async def test_a_line_moved_to_another_account_is_named(books: Books) -> None:
    await tamper(
        books,
        f"UPDATE journal_lines SET account_id = (SELECT id FROM accounts WHERE tenant_id = "
        f"{books.tenant.id} AND code = '5000') WHERE entry_id = {books.other_sale} "
        "AND debit_minor = 700",
    )
    _has(await _verify(books), f"entry {books.other_sale}", "lines.0.account_code is 5000", "1000")


async def test_an_entry_deleted_is_named(books: Books) -> None:
    gone = books.other_sale
    await tamper(
        books,
        f"DELETE FROM journal_lines WHERE entry_id = {gone}",
        f"DELETE FROM entry_metadata WHERE entry_id = {gone}",
        f"DELETE FROM journal_entries WHERE id = {gone}",
    )
    _has(await _verify(books), f"entry {gone}", "not in the books: it was deleted")


async def test_an_entry_inserted_is_named(books: Books) -> None:
    new_id = books.scheduled + 1000
    await tamper(
        books,
        "INSERT INTO journal_entries (id, tenant_id, journal_id, number, date, memo, currency, "
        "status, source, created_at) SELECT "
        f"{new_id}, tenant_id, journal_id, 'JE-FAKE', date, 'fake', currency, 'POSTED', "
        f"source, created_at FROM journal_entries WHERE id = {books.sale}",
        "INSERT INTO journal_lines (entry_id, tenant_id, account_id, date, currency, "
        "debit_minor, credit_minor, line_no) SELECT "
        f"{new_id}, tenant_id, account_id, date, currency, debit_minor, credit_minor, line_no "
        f"FROM journal_lines WHERE entry_id = {books.sale}",
    )
    _has(await _verify(books), f"entry {new_id} (JE-FAKE)", "has no link")


async def test_two_entries_swapped_are_named(books: Books) -> None:
    one, two = books.sale, books.other_sale
    first, second = await _number(books, one), await _number(books, two)
    await tamper(
        books,
        f"UPDATE journal_entries SET number = 'swap' WHERE id = {one}",
        f"UPDATE journal_entries SET number = '{first}', date = '2026-01-15' WHERE id = {two}",
        f"UPDATE journal_entries SET number = '{second}', date = '2026-01-17' WHERE id = {one}",
    )
    result = await _verify(books)
    _has(result, f"entry {one} ({second}): number is {second} in the books, {first}")
    _has(result, f"entry {one}", "date is 2026-01-17 in the books, 2026-01-15")
    _has(result, f"entry {two} ({first}): number is {first} in the books, {second}")


async def test_a_status_changed_is_named(books: Books) -> None:
    await tamper(books, f"UPDATE journal_entries SET status = 'POSTED' WHERE id = {books.rent}")
    _has(await _verify(books), f"entry {books.rent}", "status is POSTED in the books, REVERSED")


async def test_a_memo_and_a_line_description_changed_are_named(books: Books) -> None:
    await tamper(books, f"UPDATE journal_entries SET memo = 'edited' WHERE id = {books.other_sale}")
    await tamper(
        books,
        f"UPDATE journal_lines SET description = 'moved' WHERE entry_id = {books.other_sale} "
        "AND debit_minor = 700",
    )
    result = await _verify(books)
    _has(result, f"entry {books.other_sale}", "memo is 'edited' in the books")
    _has(result, f"entry {books.other_sale}", "lines.0.description is 'moved' in the books, None")


async def test_a_voided_hold_made_posted_is_named(books: Books) -> None:
    hold = books.voided_hold
    await tamper(books, f"UPDATE journal_entries SET status = 'POSTED' WHERE id = {hold}")
    result = await _verify(books)
    _has(result, f"entry {hold}", "status is POSTED in the books, VOIDED")
    _has(result, "balances:", "balance_days")  # its lines now count as posted


async def test_a_reversal_unlinked_from_its_original_is_named(books: Books) -> None:
    await tamper(
        books,
        f"UPDATE journal_entries SET status = 'POSTED', reversed_by_id = NULL "
        f"WHERE id = {books.rent}",
    )
    _has(await _verify(books), f"entry {books.rent}", "status is POSTED", "the reversal")


async def test_a_balance_changed_without_a_line_is_named(books: Books) -> None:
    await tamper(
        books,
        "UPDATE account_balances SET credit_minor = credit_minor + 100 WHERE account_id = "
        f"(SELECT id FROM accounts WHERE tenant_id = {books.tenant.id} AND code = '4000')",
    )
    _has(
        await _verify(books),
        "balances: account 4000",
        "credit is 20.00 in account_balances, 19.00 from the posted lines",
    )


async def test_a_metadata_value_changed_is_named(books: Books) -> None:
    await tamper(
        books,
        "UPDATE journal_entries SET metadata_json = "
        f'\'{{"order": "A-3", "amount": 12.5}}\' WHERE id = {books.sale}',
    )
    _has(await _verify(books), f"entry {books.sale}", "metadata.order is 'A-3' in the books, 'A-2'")


async def test_a_metadata_index_row_changed_is_named(books: Books) -> None:
    await tamper(
        books,
        f"UPDATE entry_metadata SET value = 'sA-9' WHERE entry_id = {books.sale} AND key = 'order'",
    )
    _has(await _verify(books), f"entry {books.sale}", "entry_metadata", "extra order=sA-9")


async def test_an_event_edited_breaks_its_link(books: Books) -> None:
    await tamper(
        books,
        "UPDATE events SET payload_json = REPLACE(payload_json, '7.00', '8.00') "
        f"WHERE entry_id = {books.other_sale}",
    )
    _has(await _verify(books), "chain: link 3 (event", "does not match its hash")


async def test_an_event_deleted_leaves_a_gap(books: Books) -> None:
    await tamper(books, f"DELETE FROM events WHERE tenant_id = {books.tenant.id} AND link = 4")
    _has(await _verify(books), "chain: link 4 missing before link 5", "deleted")


async def test_the_last_event_deleted_cuts_the_chain(books: Books) -> None:
    await tamper(books, f"DELETE FROM events WHERE tenant_id = {books.tenant.id} AND link = 12")
    _has(await _verify(books), "chain ends at link 11 but the head is link 12")


async def test_a_checkpoint_proves_the_links_before_it(books: Books) -> None:
    kept = await _hash_of(books, 6)
    assert (await _verify(books, Checkpoint(6, kept))).ok
    # The chain rewritten from link 3 on (every hash after it recomputed): only a kept
    # head tells; here the stored hash of link 6 is not the one the auditor kept.
    await tamper(
        books,
        f"UPDATE events SET chain_hash = '{'0' * 64}' WHERE tenant_id = {books.tenant.id} "
        "AND link = 6",
    )
    _has(await _verify(books, Checkpoint(6, kept)), "the books before link 6 changed")
    wrong = await _verify(books, Checkpoint(6, "f" * 64))
    _has(wrong, "the books before link 6 changed")


def _cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["verify", *args], env={"DATABASE_URL": url})


async def test_the_command_prints_the_head_and_exits_1_on_a_tamper(books: Books) -> None:
    slug = books.tenant.slug
    good = await asyncio.to_thread(_cli, books.url, "--tenant", slug)
    assert good.exit_code == 0, good.output
    head = await _hash_of(books, 12)
    assert f"head: link 12 sha256 {head}" in good.stdout
    assert "verified" in good.stdout
    checked = await asyncio.to_thread(_cli, books.url, "--tenant", slug, "--from", f"12:{head}")
    assert checked.exit_code == 0, checked.output
    await tamper(books, f"UPDATE journal_entries SET status = 'VOIDED' WHERE id = {books.sale}")
    bad = await asyncio.to_thread(_cli, books.url, "--tenant", slug)
    assert bad.exit_code == 1, bad.output
    assert "FAILED" in bad.stdout and f"entry {books.sale}" in bad.stdout
    wrong = await asyncio.to_thread(_cli, books.url, "--from", "x")
    assert wrong.exit_code == 2


async def test_every_tenant_verifies_and_a_scheduled_entry_posted_later_too(
    tmp_path: Path,
) -> None:
    """Without --tenant, every tenant: here a new database of two tenants, one with an
    entry scheduled then posted by post-due (its link comes with its posting)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        slugs = []
        for _ in range(2):
            tenant = await make_tenant(db)
            slugs.append(tenant.slug)
            for code, name, kind in CHART:
                await create_account(db, tenant.id, AccountInput(code=code, name=name, type=kind))
            lines = [
                LineInput(account_code="5000", debit="4.00"),
                LineInput(account_code="1000", credit="4.00"),
            ]
            later = EntryInput(
                date=dt.date(2030, 1, 1), memo="rent", lines=lines, accrual_date=dt.date(2030, 2, 1)
            )
            (item,) = await post_entries(db, tenant.id, [later], atomic=True)
            assert item.result is not None and item.result.entry.status == "SCHEDULED"
        scheduled = await asyncio.to_thread(_cli, url)
        assert scheduled.exit_code == 0, scheduled.output
        assert "1 scheduled, not yet linked" in scheduled.stdout
        assert await post_due(db, today=dt.date(2030, 2, 1)) == 2
    finally:
        await db.dispose()
    done = await asyncio.to_thread(_cli, url)
    assert done.exit_code == 0, done.output
    assert all(f"tenant {slug}" in done.stdout for slug in slugs)
    assert done.stdout.count("head: link 1 sha256 ") == 2
    assert "0 scheduled" in done.stdout
