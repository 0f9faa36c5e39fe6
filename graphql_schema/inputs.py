"""GraphQL input types; each converts itself to the ledger core's input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar, cast

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from app.ledger.accounts import AccountInput
from app.ledger.entries import ConditionInput
from app.ledger.errors import BadInput
from app.ledger.limits import LimitsChange
from app.ledger.posting import EntryInput, LineInput
from app.ledger.validation import parse_id
from graphql_schema.scalars import Metadata, Money
from graphql_schema.types import AccountType, BalanceLayer, JournalType


class Coercible(Protocol):
    @classmethod
    def from_coerced(cls, value: Mapping[str, Any]) -> Self: ...


C = TypeVar("C", bound=type[Coercible])


# Strawberry converts an input value by walking its type for every value: per
# field it resolves the annotation, converts the name and tests a dozen type
# kinds. For a bulk of 1,000 entries that was 170 ms, two thirds of the request
# without a database. graphql-core has already validated and coerced the value
# (required fields, nulls, unknown fields, the Money and Date scalars), so only
# the renaming of the fields is left: ``from_coerced`` does that. ``from_input``
# is Strawberry's hook for types that build their own value; the schema (SDL)
# does not change. tests/test_bulk_input.py fails if a field is left out.
def built_from_coerced(cls: C) -> C:
    """Has Strawberry build ``cls`` with its ``from_coerced`` instead of its generic conversion."""

    def from_input(type_: type, value: Mapping[str, Any], _context: InputContext) -> Coercible:
        # type_ is cls, or a subclass of it.
        return cast("type[Coercible]", type_).from_coerced(value)

    get_object_definition(cls, strict=True).from_input = from_input
    return cls


@strawberry.input(description="An amount in one currency.")
class CurrencyAmountInput:
    currency: str
    amount: Money = strawberry.field(description="At most the currency's decimals; >= 0.")


def _pairs(amounts: list[CurrencyAmountInput] | None) -> list[tuple[str, object]] | None:
    return None if amounts is None else [(a.currency, a.amount) for a in amounts]


@strawberry.input(
    description="Balance limits, on the account's normal side (docs/holds.md). A field "
    "left out leaves that setting as it is; an empty list clears it."
)
class AccountLimitsInput:
    no_overdraft: bool | None = strawberry.field(
        default=None, description="Keep the available balance >= 0 in every currency."
    )
    overdraft_limits: list[CurrencyAmountInput] | None = strawberry.field(
        default=None, description="Per currency: keep the available balance >= -amount."
    )
    max_balances: list[CurrencyAmountInput] | None = strawberry.field(
        default=None, description="Per currency: keep the balance <= amount."
    )

    def to_core(self) -> LimitsChange:
        return LimitsChange(
            self.no_overdraft, _pairs(self.overdraft_limits), _pairs(self.max_balances)
        )


@strawberry.input(
    description="Sets an account's balance limits. A field left out leaves that setting "
    "as it is; an empty list clears it."
)
class SetAccountLimitsInput(AccountLimitsInput):
    account_code: str


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
    limits: AccountLimitsInput | None = strawberry.field(
        default=None, description="Balance limits from the start (setAccountLimits changes them)."
    )
    metadata: Metadata | None = strawberry.field(
        default=None,
        description="Your data on the account (docs/metadata.md), e.g. {customer_id: 42}: "
        "found by accounts(metadata:) and balanceOf.",
    )

    def to_core(self) -> AccountInput:
        return AccountInput(
            code=self.code,
            name=self.name,
            type=self.type.value,
            category=self.category,
            parent_code=self.parent_code,
            currency=self.currency,
            limits=self.limits.to_core() if self.limits is not None else None,
            metadata=self.metadata,
        )


@strawberry.input
class CreateJournalInput:
    code: str
    name: str
    type: JournalType = JournalType.MISCELLANEOUS


@built_from_coerced
@strawberry.input
class JournalLineInput:
    account_code: str | None = strawberry.field(
        default=None, description="The line's account; or name it by accountId."
    )
    debit: Money | None = None
    credit: Money | None = None
    description: str | None = None
    currency: str | None = strawberry.field(
        default=None, description="Defaults to the entry's currency."
    )
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="The line's account by id, instead of accountCode."
    )

    @classmethod
    def from_coerced(cls, value: Mapping[str, Any]) -> Self:
        """The input from graphql-core's coerced value, keyed by GraphQL field names."""
        return cls(
            account_code=value.get("accountCode"),
            debit=value.get("debit"),
            credit=value.get("credit"),
            description=value.get("description"),
            currency=value.get("currency"),
            account_id=value.get("accountId"),
        )

    def to_core(self, where: str = "lines") -> LineInput:
        account_id = None
        if self.account_id is not None:
            if self.account_code is not None:
                raise BadInput(
                    "give an accountCode or an accountId, not both", field=f"{where}.accountId"
                )
            account_id = parse_id(self.account_id, field=f"{where}.accountId", what="account id")
        return LineInput(
            account_code=self.account_code,
            debit=self.debit,
            credit=self.credit,
            description=self.description,
            currency=self.currency,
            account_id=account_id,
        )


@built_from_coerced
@strawberry.input(
    description="A bound on an account's balance as the entry would leave it (docs/holds.md), "
    "checked under the lock with the batch's earlier entries counted: CONDITION_FAILED "
    "with the actual value when it does not hold, and nothing is written."
)
class BalanceConditionInput:
    account_code: str
    currency: str
    layer: BalanceLayer = strawberry.field(
        description="POSTED: the posted balance (Balance.net); AVAILABLE: Balance.available."
    )
    at_least: Money | None = strawberry.field(
        default=None, description="The balance must be >= this (may be negative)."
    )
    at_most: Money | None = strawberry.field(
        default=None, description="The balance must be <= this (may be negative)."
    )

    @classmethod
    def from_coerced(cls, value: Mapping[str, Any]) -> Self:
        return cls(
            account_code=value["accountCode"],
            currency=value["currency"],
            layer=value["layer"],
            at_least=value.get("atLeast"),
            at_most=value.get("atMost"),
        )

    def to_core(self) -> ConditionInput:
        return ConditionInput(
            account_code=self.account_code,
            currency=self.currency,
            layer=BalanceLayer(self.layer).value,
            at_least=self.at_least,
            at_most=self.at_most,
        )


@built_from_coerced
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
    reporting_currency: str | None = strawberry.field(
        default=None,
        description="Also record every line in this ISO 4217 currency, at the rate of the "
        "entry's date (the tenant's rates, else the ECB's). Absent: no reporting amounts.",
    )
    accrual_date: dt.date | None = strawberry.field(
        default=None,
        description="The entry posts on this date: after today it is SCHEDULED and moves "
        "no balance until then.",
    )
    external_id: str | None = strawberry.field(
        default=None,
        description="Your id of the entry, unique per tenant, and its idempotency key: the "
        "same id with the same input returns the original entry; with a different input it "
        "is a CONFLICT. Not together with idempotencyKey.",
    )
    journal_id: strawberry.ID | None = strawberry.field(
        default=None, description="The journal by id, instead of journalCode."
    )
    attachment_id: strawberry.ID | None = strawberry.field(
        default=None, description="An attachment of the tenant: the entry's supporting document."
    )
    metadata: Metadata | None = strawberry.field(
        default=None,
        description="Your data on the entry (docs/metadata.md): a JSON object of at most 64 "
        "keys; values strings, numbers, booleans or null. Part of the idempotency key's "
        "request. Found by journalEntries(metadata).",
    )
    conditions: list[BalanceConditionInput] | None = strawberry.field(
        default=None,
        description="Bounds on balances as the entry would leave them, checked under the "
        "lock; one that does not hold refuses the entry (CONDITION_FAILED). Not part of the "
        "idempotency key's request: a replay returns the entry they let through.",
    )

    @classmethod
    def from_coerced(cls, value: Mapping[str, Any]) -> Self:
        """The input from graphql-core's coerced value, keyed by GraphQL field names."""
        return cls(
            date=value["date"],
            memo=value["memo"],
            lines=[JournalLineInput.from_coerced(line) for line in value["lines"]],
            currency=value.get("currency"),
            journal_code=value.get("journalCode"),
            idempotency_key=value.get("idempotencyKey"),
            reporting_currency=value.get("reportingCurrency"),
            accrual_date=value.get("accrualDate"),
            external_id=value.get("externalId"),
            journal_id=value.get("journalId"),
            attachment_id=value.get("attachmentId"),
            metadata=value.get("metadata"),
            conditions=(
                None
                if value.get("conditions") is None
                else [BalanceConditionInput.from_coerced(c) for c in value["conditions"]]
            ),
        )

    def to_core(self) -> EntryInput:
        return EntryInput(
            date=self.date,
            memo=self.memo,
            lines=[line.to_core(f"lines.{i}") for i, line in enumerate(self.lines)],
            currency=self.currency,
            journal_code=self.journal_code,
            idempotency_key=self.idempotency_key,
            reporting_currency=self.reporting_currency,
            accrual_date=self.accrual_date,
            external_id=self.external_id,
            journal_id=_optional_id(self.journal_id, "journalId", "journal id"),
            attachment_id=_optional_id(self.attachment_id, "attachmentId", "attachment id"),
            conditions=tuple(c.to_core() for c in self.conditions or ()),
            metadata=self.metadata,
        )


def _optional_id(value: strawberry.ID | None, field: str, what: str) -> int | None:
    return None if value is None else parse_id(value, field=field, what=what)
