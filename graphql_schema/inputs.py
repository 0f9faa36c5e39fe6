"""GraphQL input types; each converts itself to the ledger core's input."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.ledger.accounts import AccountInput
from app.ledger.posting import EntryInput, LineInput
from graphql_schema.scalars import Money
from graphql_schema.types import AccountType


@strawberry.input
class CreateAccountInput:
    code: str
    name: str
    type: AccountType
    category: str | None = None
    parent_code: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="Restrict the account to this ISO 4217 currency."
    )

    def to_core(self) -> AccountInput:
        return AccountInput(
            code=self.code,
            name=self.name,
            type=self.type.value,
            category=self.category,
            parent_code=self.parent_code,
            currency=self.currency,
        )


@strawberry.input
class CreateJournalInput:
    code: str
    name: str


@strawberry.input
class JournalLineInput:
    account_code: str
    debit: Money | None = None
    credit: Money | None = None
    description: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="Defaults to the entry's currency."
    )

    def to_core(self) -> LineInput:
        return LineInput(
            account_code=self.account_code,
            debit=self.debit,
            credit=self.credit,
            description=self.description,
            currency=self.currency,
        )


@strawberry.input
class PostJournalEntryInput:
    date: dt.date
    memo: str
    lines: list[JournalLineInput]
    currency: str | None = strawberry.field(
        default=None, description="Defaults to the tenant's base currency."
    )
    journal_code: str | None = strawberry.field(
        default=None, description="Defaults to the GENERAL journal."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="The same key with the same input returns the original entry; "
        "with a different input it is a CONFLICT.",
    )

    def to_core(self) -> EntryInput:
        return EntryInput(
            date=self.date,
            memo=self.memo,
            lines=[line.to_core() for line in self.lines],
            currency=self.currency,
            journal_code=self.journal_code,
            idempotency_key=self.idempotency_key,
        )
