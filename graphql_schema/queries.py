"""Queries: read the tenant's books through the ledger core's reports.

A bad argument raises the core's LedgerError; the schema's error extension
turns it into a top-level error carrying its code and field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.ledger import reports
from graphql_schema.context import Info
from graphql_schema.mutations import entry_id
from graphql_schema.types import (
    Account,
    AccountType,
    Connection,
    EntryStatus,
    GeneralLedger,
    JournalEntry,
    LedgerEvent,
    TrialBalance,
)


@strawberry.type
class Query:
    @strawberry.field(description="The chart of accounts, ordered by code.")
    async def accounts(
        self,
        info: Info,
        type: AccountType | None = None,
        active: bool | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Account]:
        page = await reports.list_accounts(
            info.context.db,
            info.context.tenant_id,
            type=type.value if type else None,
            active=active,
            first=first,
            after=after,
        )
        return Connection.of([Account.of(row) for row in page.items], page)  # type: ignore[arg-type]

    @strawberry.field
    async def account(self, info: Info, code: str) -> Account | None:
        row = await reports.get_account(info.context.db, info.context.tenant_id, code)
        return Account.of(row) if row else None

    @strawberry.field
    async def journal_entry(self, info: Info, id: strawberry.ID) -> JournalEntry | None:
        view = await reports.get_entry(info.context.db, info.context.tenant_id, entry_id(id))
        return JournalEntry.of(view) if view else None

    @strawberry.field(
        description="Entries ordered by date then id; `accountCode` keeps those touching it, "
        "`status` those in that status (default: all, SCHEDULED ones included)."
    )
    async def journal_entries(
        self,
        info: Info,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        account_code: str | None = None,
        status: EntryStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[JournalEntry]:
        page = await reports.list_entries(
            info.context.db,
            info.context.tenant_id,
            date_from=from_,
            date_to=to,
            account_code=account_code,
            status=status.value if status else None,
            first=first,
            after=after,
        )
        return Connection.of([JournalEntry.of(view) for view in page.items], page)  # type: ignore[arg-type]

    @strawberry.field(description="Lines of one account with a running balance.")
    async def general_ledger(
        self,
        info: Info,
        account_code: str,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        currency: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> GeneralLedger:
        ledger = await reports.general_ledger(
            info.context.db,
            info.context.tenant_id,
            account_code,
            currency=currency,
            date_from=from_,
            date_to=to,
            first=first,
            after=after,
            default_currency=info.context.principal.base_currency,
        )
        return GeneralLedger.of(ledger)

    @strawberry.field(
        description="Posted totals per account and currency, now or at the end of asOf."
    )
    async def trial_balance(
        self, info: Info, as_of: dt.date | None = None, currency: str | None = None
    ) -> TrialBalance:
        report = await reports.trial_balance(
            info.context.db, info.context.tenant_id, as_of=as_of, currency=currency
        )
        return TrialBalance.of(report)

    @strawberry.field(description="The tenant's events, oldest first.")
    async def events(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[LedgerEvent]:
        page = await reports.list_events(
            info.context.db, info.context.tenant_id, first=first, after=after
        )
        return Connection.of([LedgerEvent.of(row) for row in page.items], page)  # type: ignore[arg-type]
