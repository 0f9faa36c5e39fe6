"""Exporting a tenant's posted entries as a ledger file, in (date, id) order.

Entries are read in keyset pages on (date, id) inside one read transaction (a
snapshot: REPEATABLE READ on PostgreSQL, a WAL read transaction on SQLite), so
memory stays flat and the file is one consistent state of the books. Reversed
entries and their reversals are written as the ordinary entries they are.

A format that declares accounts (an hledger journal) first gets the accounts the
exported entries use, with their types, in code order. Only the used ones: an
import of the file creates just those, so exporting the copy gives the same text.

An entry's client metadata goes with it (ledgerfile.metadata_text.client_metadata): a
JSON Lines ``metadata`` object, CSV ``meta.<key>`` columns (the header lists the keys of
every exported entry, read in a first pass over the same snapshot), journal tags.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col, select

from app.ledger import export_reads
from app.ledger.entry_reads import read_metadata
from app.ledger.export_reads import HELD
from app.ledger.ledgerfile import FileAccount, FileEntry, Format
from app.ledger.ledgerfile.metadata_text import client_metadata
from app.ledger.posting import EntryView
from db.bulk import stored_datetime
from db.engine import Database
from db.tables import Account, Hold, JournalEntry, JournalLine

PAGE_SIZE = 5000
# Scheduled entries do not count yet; a reversed one stays posted, its reversal counters it.
EXPORTED_STATUSES = ("POSTED", "REVERSED")


def external_id_of(entry: EntryView) -> str:
    """The id an export writes for ``entry`` (export_reads.external_id_of)."""
    return export_reads.external_id_of(entry.source, entry.idempotency_key, entry.number)


async def used_accounts(
    session: AsyncSession, tenant_id: int, statuses: tuple[str, ...] = EXPORTED_STATUSES
) -> list[FileAccount]:
    """The tenant's accounts that exported entries post to, in code order.

    Per account of the chart, the (account, date, id) line index is read up to
    its first exported line, so the cost follows the chart, not the entry count.
    """
    posted = (
        select(col(JournalLine.id))
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(
            col(JournalLine.account_id) == col(Account.id),
            col(JournalEntry.status).in_(statuses),
        )
    )
    rows = await session.execute(
        select(col(Account.code), col(Account.type), col(Account.metadata_json)).where(
            col(Account.tenant_id) == tenant_id, exists(posted)
        )
    )
    accounts = [
        FileAccount(
            code, kind, client_metadata(json.loads(text, parse_float=Decimal)) if text else None
        )
        for code, kind, text in rows.all()
    ]
    # Sorted here: the databases' collations need not agree on the order of codes.
    return sorted(accounts, key=lambda a: a.code)


async def metadata_keys(session: AsyncSession, tenant_id: int, page_size: int) -> list[str]:
    """The client metadata keys of the tenant's exported entries, sorted; read in the
    export's keyset pages on (date, id), memory following the keys, not the entries."""
    keys: set[str] = set()
    query = (
        select(col(JournalEntry.id), col(JournalEntry.date), col(JournalEntry.metadata_json))
        .where(
            col(JournalEntry.tenant_id) == tenant_id,
            col(JournalEntry.status).in_(EXPORTED_STATUSES),
        )
        .order_by(col(JournalEntry.date), col(JournalEntry.id))
        .limit(page_size)
    )
    page = (await session.execute(query)).all()
    while page:
        for _, _, text in page:
            keys.update(client_metadata(read_metadata(text)) or ())
        if len(page) < page_size:
            break
        last_id, last_date, _ = page[-1]
        page = (
            await session.execute(
                query.where(
                    tuple_(col(JournalEntry.date), col(JournalEntry.id))
                    > tuple_(last_date, last_id)
                )
            )
        ).all()
    return sorted(keys)


async def export_ledger(
    db: Database,
    tenant_id: int,
    fmt: Format,
    write: Callable[[str], object],
    *,
    page_size: int = PAGE_SIZE,
) -> int:
    """Writes the tenant's entries in ``fmt`` through ``write``; returns how many."""
    writer = fmt.writer()
    count = 0
    async with db.read() as session:
        if not db.sqlite:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        keys = (
            await metadata_keys(session, tenant_id, page_size) if writer.lists_metadata_keys else []
        )
        if header := writer.header(keys):
            write(header)
        statuses = (*EXPORTED_STATUSES, HELD) if writer.exports_holds else EXPORTED_STATUSES
        if writer.declares_accounts and (
            declared := writer.accounts(await used_accounts(session, tenant_id, statuses))
        ):
            write(declared)
        after: export_reads.Cursor = None
        while True:
            page = await session.run_sync(_read_page, tenant_id, statuses, after, page_size)
            held = [entry_id for entry_id, _, status, _ in page if status == HELD]
            expiries = await _expiries(session, held)
            write(
                "".join(
                    writer.entry(
                        replace(entry, expires_at=expiries.get(entry_id))
                        if status == HELD
                        else entry
                    )
                    for entry_id, _, status, entry in page
                )
            )
            count += len(page)
            if len(page) < page_size:
                break
            after = (page[-1][0], page[-1][1])
    return count


def _read_page(
    sync: Session, tenant_id: int, statuses: tuple[str, ...], after: export_reads.Cursor, size: int
) -> list[tuple[int, Any, str, FileEntry]]:
    return export_reads.read_page(sync.connection(), tenant_id, statuses, after, size)


async def _expiries(session: AsyncSession, held: list[int]) -> dict[int, dt.datetime | None]:
    """When each of the ``held`` entries' holds expires (None: never)."""
    if not held:
        return {}
    rows = await session.execute(
        select(col(Hold.entry_id), col(Hold.expires_at)).where(col(Hold.entry_id).in_(held))
    )
    return {
        int(entry_id): stored_datetime(expires) if expires is not None else None
        for entry_id, expires in rows.all()
    }
