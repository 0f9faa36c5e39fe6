"""Metadata beyond entries' own fields (docs/metadata.md): setEntryMetadata,
setAccountMetadata and balanceOf. Each translates its input and calls the core
(app.ledger.metadata_changes, app.ledger.balance_of)."""

from __future__ import annotations

import strawberry

from app.ledger import balance_of, metadata_changes
from app.ledger.validation import parse_id
from graphql_schema.closing import actor_of
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.scalars import Metadata, Money
from graphql_schema.types import Account, JournalEntry, money


@strawberry.type
class EntryMetadataPayload:
    entry: JournalEntry | None
    errors: list[UserError]


@strawberry.type
class AccountMetadataPayload:
    account: Account | None
    errors: list[UserError]


@strawberry.input(description="Chooses accounts by their metadata (every condition holds).")
class AccountsByMetadataInput:
    metadata: Metadata | None = strawberry.field(
        default=None, description="Every key with the value given, e.g. {customer_id: 42}."
    )
    metadata_has: list[str] | None = strawberry.field(
        default=None, description="Every key, whatever its value."
    )


@strawberry.type(
    description="Balances in one currency summed over the accounts a filter chose: debit and "
    "credit as they are, net and available each on its account's normal side, then summed."
)
class AggregateBalance:
    currency: str
    accounts: int = strawberry.field(description="How many accounts the filter chose.")
    debit: Money
    credit: Money
    net: Money
    pending_debit: Money
    pending_credit: Money
    available: Money

    @classmethod
    def of(cls, found: balance_of.AggregateBalance) -> AggregateBalance:
        cur = found.currency
        return cls(
            currency=cur,
            accounts=found.accounts,
            debit=money(found.debit_minor, cur),
            credit=money(found.credit_minor, cur),
            net=money(found.net_minor, cur),
            pending_debit=money(found.pending_debit_minor, cur),
            pending_credit=money(found.pending_credit_minor, cur),
            available=money(found.available_minor, cur),
        )


@strawberry.type
class MetadataQuery:
    @strawberry.field(
        description="Posted, pending and available balances in a currency summed over the "
        "accounts whose metadata matches (e.g. every wallet of customer 42)."
    )
    async def balance_of(
        self, info: Info, accounts: AccountsByMetadataInput, currency: str
    ) -> AggregateBalance:
        ctx = info.context
        found = await balance_of.balance_of(
            ctx.db,
            ctx.tenant_id,
            currency=currency,
            metadata=accounts.metadata,
            metadata_has=accounts.metadata_has,
        )
        return AggregateBalance.of(found)


@strawberry.type
class MetadataMutation:
    @strawberry.mutation(
        description="Merges metadata into an entry's (a key set to null is deleted); any "
        "entry, whatever its status or date: amounts never change. A "
        "journal_entry.metadata_changed event records each key before and after, and who."
    )
    async def set_entry_metadata(
        self, info: Info, entry_id: strawberry.ID, metadata: Metadata
    ) -> EntryMetadataPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: metadata_changes.set_entry_metadata(
                ctx.db,
                ctx.writable_tenant(),
                parse_id(entry_id, field="entryId", what="journal entry id"),
                metadata,
                actor_of(ctx),
            )
        )
        return EntryMetadataPayload(entry=JournalEntry.of(view) if view else None, errors=errors)

    @strawberry.mutation(
        description="Merges metadata into an account's (a key set to null is deleted). An "
        "account.metadata_changed event records each key before and after, and who."
    )
    async def set_account_metadata(
        self, info: Info, account_code: str, metadata: Metadata
    ) -> AccountMetadataPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: metadata_changes.set_account_metadata(
                ctx.db, ctx.writable_tenant(), account_code, metadata, actor_of(ctx)
            )
        )
        return AccountMetadataPayload(account=Account.of(row) if row else None, errors=errors)
