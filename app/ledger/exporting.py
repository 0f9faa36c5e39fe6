"""Exporting a tenant's posted entries as a ledger file, in (date, id) order.

Everything is read in one read transaction (a snapshot: REPEATABLE READ on PostgreSQL,
a WAL read transaction on SQLite), the entries streamed a page at a time, so memory
stays flat and the file is one consistent state of the books (export_reads). Each page
is written from its rows (Writer.page), the text Writer.entry gives for the entries.
Reversed entries and their reversals are written as the ordinary entries they are.

A format that declares accounts (an hledger journal) first gets the accounts the
exported entries use, with their types, in code order. Only the used ones: an
import of the file creates just those, so exporting the copy gives the same text.

An entry's client metadata goes with it (ledgerfile.metadata_text.client_metadata): a
JSON Lines ``metadata`` object, CSV ``meta.<key>`` columns (the header lists the keys of
every exported entry, read in a first pass over the same snapshot), journal tags.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from app.ledger import export_reads
from app.ledger.errors import NotFound
from app.ledger.ledgerfile.rows import HELD

if TYPE_CHECKING:
    from app.ledger.ledgerfile import Format
    from app.ledger.posting import EntryView
    from db.engine import Database

PAGE_SIZE = 5000
# Scheduled entries do not count yet; a reversed one stays posted, its reversal counters it.
EXPORTED_STATUSES = ("POSTED", "REVERSED")


async def tenant_of_slug(db: Database, slug: str) -> int:
    """The id of the tenant ``slug``; NotFound names it (as importing.tenant_by_slug)."""
    async with export_reads.snapshot(db) as snap:
        found = await snap.all("SELECT id FROM tenants WHERE slug = ?", [slug])
    if not found:
        raise NotFound(f"tenant {slug!r} does not exist", field="tenant")
    return int(found[0][0])


def external_id_of(entry: EntryView) -> str:
    """The id an export writes for ``entry`` (export_reads.external_id_of)."""
    return export_reads.external_id_of(entry.source, entry.idempotency_key, entry.number)


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
    statuses = (*EXPORTED_STATUSES, HELD) if writer.exports_holds else EXPORTED_STATUSES
    count = 0
    async with export_reads.snapshot(db) as snap:
        keys = (
            await export_reads.metadata_keys(snap, tenant_id, EXPORTED_STATUSES, page_size)
            if writer.lists_metadata_keys
            else []
        )
        if header := writer.header(keys):
            write(header)
        if writer.declares_accounts and (
            declared := writer.accounts(await export_reads.used_accounts(snap, tenant_id, statuses))
        ):
            write(declared)
        codes = await export_reads.account_codes(snap, tenant_id)
        async with aclosing(
            export_reads.pages(snap, tenant_id, statuses, codes, page_size)
        ) as pages:
            async for page in pages:
                write(writer.page(page))
                count += len(page.entries)
    return count
