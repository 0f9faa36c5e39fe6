"""What a tenant holds, counted in the database: its accounts and entries, and its Pismo
reference data (programs, entry and event types, accounting accounts, scripts).

``ledgerql demo`` prints it (app/cli/demo.py) to say what the demo tenant has, whether
it made it just now or found it there already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from app.ledger.importing import tenant_by_slug
from db.engine import Database
from db.pismo_tables import PismoAccountingScript, PismoEntryType, PismoEventType, PismoProgram
from db.tables import Account, JournalEntry


@dataclass(frozen=True)
class TenantSummary:
    """What a tenant has, as counted in the database (not what the demo meant to make)."""

    currency: str
    accounts: int
    entries: int
    scheduled: int
    programs: list[int]
    entry_types: list[int]
    event_types: list[int]
    accounting_accounts: list[str]
    scripts: int


async def tenant_summary(db: Database, slug: str) -> TenantSummary:
    """The counts of tenant ``slug``'s rows, and the ids of its Pismo reference data."""
    tenant = await tenant_by_slug(db, slug)
    async with db.read() as session:

        async def count(table: Any, *where: Any) -> int:
            query = select(func.count()).select_from(table).where(table.tenant_id == tenant.id)
            return int(await session.scalar(query.where(*where)) or 0)

        async def ids(column: Any, *where: Any) -> list[Any]:
            query = select(column).where(column.table.c.tenant_id == tenant.id, *where)
            return list(await session.scalars(query.order_by(column)))

        scheduled = col(JournalEntry.status) == "SCHEDULED"
        return TenantSummary(
            currency=tenant.base_currency,
            accounts=await count(Account),
            entries=await count(JournalEntry, ~scheduled),
            scheduled=await count(JournalEntry, scheduled),
            programs=await ids(col(PismoProgram.program_id)),
            entry_types=await ids(col(PismoEntryType.entry_type_id)),
            event_types=await ids(col(PismoEventType.event_type_id)),
            # Pismo's accounting accounts are ledger accounts of a program.
            accounting_accounts=await ids(col(Account.code), col(Account.program_id).is_not(None)),
            scripts=await count(PismoAccountingScript),
        )
