"""Queries: read the tenant's books through the ledger core's reports.

A bad argument raises the core's LedgerError; the schema's error extension
turns it into a top-level error carrying its code and field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.ledger import accounts, balances, general_ledger, listings, paging, reference, report_csv
from app.ledger.errors import BadInput
from app.ledger.validation import parse_id
from graphql_schema.context import Info
from graphql_schema.events import LedgerEvent
from graphql_schema.known_at import KnownAt, moment
from graphql_schema.mutations import entry_id as parse_entry_id
from graphql_schema.scalars import Metadata
from graphql_schema.types import (
    Account,
    AccountOrder,
    AccountType,
    Connection,
    EntryLine,
    EntryOrder,
    EntryStatus,
    GeneralLedger,
    Journal,
    JournalEntry,
    JournalType,
    TrialBalance,
)


@strawberry.type
class Query:
    @strawberry.field(
        description="The chart of accounts, ordered by code (orderBy: ID, by id); `ids` and "
        "`codes` keep the accounts listed. A cursor is good for its own order only."
    )
    async def accounts(
        self,
        info: Info,
        type: AccountType | None = None,
        active: bool | None = None,
        first: int = 100,
        after: str | None = None,
        ids: list[strawberry.ID] | None = None,
        codes: list[str] | None = None,
        order_by: AccountOrder = AccountOrder.CODE,
        metadata: Annotated[
            Metadata | None,
            strawberry.argument(
                description="Keeps the accounts whose metadata has every key with the value given."
            ),
        ] = None,
        metadata_has: Annotated[
            list[str] | None,
            strawberry.argument(description="Keeps the accounts whose metadata has every key."),
        ] = None,
    ) -> Connection[Account]:
        ctx = info.context
        filtered = metadata is not None or metadata_has is not None
        if order_by is AccountOrder.CODE and ids is None and codes is None and not filtered:
            page = await accounts.list_accounts(
                ctx.db,
                ctx.tenant_id,
                type=type.value if type else None,
                active=active,
                first=first,
                after=after,
            )
        else:
            page = await reference.list_accounts_by_id(
                ctx.db,
                ctx.tenant_id,
                ids=ids,
                codes=codes,
                type=type.value if type else None,
                active=active,
                by_code=order_by is AccountOrder.CODE,
                first=first,
                after=after,
                metadata=metadata,
                metadata_has=metadata_has,
            )
        return Connection.of([Account.of(row) for row in page.items], page)  # type: ignore[arg-type]

    @strawberry.field(
        description="One account by its code or by its id (exactly one of them); null when "
        "the tenant has none."
    )
    async def account(
        self, info: Info, code: str | None = None, id: strawberry.ID | None = None
    ) -> Account | None:
        ctx = info.context
        if (code is None) == (id is None):
            raise BadInput("give exactly one of code and id", field="code" if id else "id")
        if id is not None:
            row = await reference.get_account_by_id(ctx.db, ctx.tenant_id, id)
        else:
            row = await accounts.get_account(ctx.db, ctx.tenant_id, code or "")
        return Account.of(row) if row else None

    @strawberry.field(description="One journal by its id; null when the tenant has none.")
    async def journal(self, info: Info, id: strawberry.ID) -> Journal | None:
        row = await reference.get_journal(info.context.db, info.context.tenant_id, id)
        return Journal.of(row) if row else None

    @strawberry.field(
        description="Journals in id order; `type` (one or a list) and `ids` keep those listed."
    )
    async def journals(
        self,
        info: Info,
        type: list[JournalType] | None = None,
        ids: list[strawberry.ID] | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Journal]:
        page = await reference.list_journals(
            info.context.db,
            info.context.tenant_id,
            types=[t.value for t in type] if type is not None else None,
            ids=ids,
            first=first,
            after=after,
        )
        return Connection.of([Journal.of(row) for row in page.items], page)  # type: ignore[arg-type]

    @strawberry.field
    async def journal_entry(self, info: Info, id: strawberry.ID) -> JournalEntry | None:
        view = await listings.get_entry(info.context.db, info.context.tenant_id, parse_entry_id(id))
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
        ids: list[strawberry.ID] | None = None,
        journal_ids: list[strawberry.ID] | None = None,
        order: EntryOrder = EntryOrder.DATE,
        metadata: Annotated[
            Metadata | None,
            strawberry.argument(
                description="Keeps the entries whose metadata has every key with the value "
                'given (12.5 finds 12.50; the string "1" does not find the number 1).'
            ),
        ] = None,
        metadata_has: Annotated[
            list[str] | None,
            strawberry.argument(description="Keeps the entries whose metadata has every key."),
        ] = None,
        memo_contains: Annotated[
            str | None,
            strawberry.argument(
                description="Keeps the entries whose memo holds this text, in any case (% and "
                f"_ match themselves; at most {listings.MAX_MEMO_SEARCH} characters). No "
                "index serves it: it reads the tenant's entries the other filters leave, so "
                "on big books give a date range or another filter with it."
            ),
        ] = None,
    ) -> Connection[JournalEntry]:
        page = await listings.list_entries(
            info.context.db,
            info.context.tenant_id,
            date_from=from_,
            date_to=to,
            account_code=account_code,
            status=status.value if status else None,
            first=first,
            after=after,
            ids=_ids(ids, "ids"),
            journal_ids=_ids(journal_ids, "journalIds"),
            order=order.value,
            metadata=metadata,
            metadata_has=metadata_has,
            memo_contains=memo_contains,
        )
        return Connection.of([JournalEntry.of(view) for view in page.items], page)  # type: ignore[arg-type]

    @strawberry.field(
        description="Journal lines by id (order ID_DESC: newest first) with their entry's id "
        "and journal; each filter keeps the lines it lists; dates are posting dates."
    )
    async def journal_entry_lines(
        self,
        info: Info,
        ids: list[strawberry.ID] | None = None,
        account_ids: list[strawberry.ID] | None = None,
        journal_ids: list[strawberry.ID] | None = None,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        order: EntryOrder = EntryOrder.ID,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[EntryLine]:
        if order not in (EntryOrder.ID, EntryOrder.ID_DESC):
            raise BadInput("lines are ordered by ID or ID_DESC", field="order")
        page = await listings.list_lines(
            info.context.db,
            info.context.tenant_id,
            ids=_ids(ids, "ids"),
            account_ids=_ids(account_ids, "accountIds"),
            journal_ids=_ids(journal_ids, "journalIds"),
            date_from=from_,
            date_to=to,
            descending=order is EntryOrder.ID_DESC,
            first=first,
            after=after,
        )
        return Connection.of([EntryLine.of(line) for line in page.items], page)  # type: ignore[arg-type]

    @strawberry.field(
        description="Lines of one account with a running balance, the opening balance before "
        "`from` and the closing balance through `to`; `journalId` or `journalCode` keeps the "
        "lines of that journal's entries (the balances are then of those lines)."
    )
    async def general_ledger(
        self,
        info: Info,
        account_code: str,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        currency: str | None = None,
        first: int = 100,
        after: str | None = None,
        journal_id: strawberry.ID | None = None,
        journal_code: str | None = None,
        known_at: KnownAt = None,
    ) -> GeneralLedger:
        ledger = await general_ledger.general_ledger(
            info.context.db,
            info.context.tenant_id,
            account_code,
            currency=currency,
            date_from=from_,
            date_to=to,
            first=first,
            after=after,
            default_currency=info.context.principal.base_currency,
            journal_id=journal_id,
            journal_code=journal_code,
            known_at=moment(known_at),
        )
        return GeneralLedger.of(ledger)

    @strawberry.field(
        description="The general ledger of an account as CSV text (an opening row, the lines "
        "with their running balance, a closing row); past "
        f"{report_csv.MAX_GL_ROWS:,} lines, use `ledgerql report general-ledger --csv`."
    )
    async def general_ledger_csv(
        self,
        info: Info,
        account_code: str,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        currency: str | None = None,
        known_at: KnownAt = None,
    ) -> str:
        then = moment(known_at)
        return await report_csv.general_ledger_csv(
            info.context.db,
            info.context.tenant_id,
            account_code,
            date_from=from_,
            date_to=to,
            currency=currency,
            default_currency=info.context.principal.base_currency,
            max_rows=report_csv.MAX_GL_ROWS,
            known_at=then,
        )

    @strawberry.field(description="The trial balance as CSV text, now or at the end of asOf.")
    async def trial_balance_csv(
        self,
        info: Info,
        as_of: dt.date | None = None,
        currency: str | None = None,
        known_at: KnownAt = None,
    ) -> str:
        then = moment(known_at)
        return await report_csv.trial_balance_csv(
            info.context.db, info.context.tenant_id, as_of=as_of, currency=currency, known_at=then
        )

    @strawberry.field(
        description="Posted totals per account and currency, now or at the end of asOf."
    )
    async def trial_balance(
        self,
        info: Info,
        as_of: dt.date | None = None,
        currency: str | None = None,
        known_at: KnownAt = None,
    ) -> TrialBalance:
        then = moment(known_at)
        report = await balances.trial_balance(
            info.context.db, info.context.tenant_id, as_of=as_of, currency=currency, known_at=then
        )
        return TrialBalance.of(report, currency, then)

    @strawberry.field(description="The tenant's events, oldest first.")
    async def events(
        self,
        info: Info,
        first: int = 100,
        after: str | None = None,
        entry_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Keeps that entry's events (its status history); an entry the "
                "tenant does not have gives none."
            ),
        ] = None,
    ) -> Connection[LedgerEvent]:
        page = await listings.list_events(
            info.context.db,
            info.context.tenant_id,
            first=first,
            after=after,
            entry_id=None if entry_id is None else parse_entry_id(entry_id, "entryId"),
        )
        return Connection.of([LedgerEvent.of(row) for row in page.items], page)  # type: ignore[arg-type]


def _ids(values: list[strawberry.ID] | None, field: str) -> list[int] | None:
    if values is None:
        return None
    if len(values) > paging.MAX_PAGE:
        raise BadInput(f"at most {paging.MAX_PAGE} ids", field=field)
    return [parse_id(value, field=f"{field}.{i}") for i, value in enumerate(values)]
