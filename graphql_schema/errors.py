"""User errors: expected failures returned as data in every mutation payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

import strawberry

from app.ledger.errors import ConditionFailed, LedgerError, LimitBreach
from app.ledger.money import from_minor
from graphql_schema.scalars import Money
from graphql_schema.types import BalanceLayer

T = TypeVar("T")


@strawberry.enum
class ErrorCode(Enum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RATE_LIMITED = "RATE_LIMITED"
    TRY_AGAIN = "TRY_AGAIN"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    CONDITION_FAILED = "CONDITION_FAILED"


@strawberry.type(
    description="Why a posting was refused by an account's balance limits (docs/holds.md)."
)
class BalanceLimitBreach:
    account_code: str
    currency: str
    available: Money = strawberry.field(
        description="The account's available balance before the refused entry, on its "
        "normal side (entries earlier in the same batch included)."
    )
    requested: Money = strawberry.field(
        description="What the entry asked: the amount it takes off the account "
        "(INSUFFICIENT_FUNDS) or adds to it (LIMIT_EXCEEDED)."
    )
    limit: Money = strawberry.field(
        description="The overdraft limit (0 under noOverdraft) for INSUFFICIENT_FUNDS; "
        "the max balance for LIMIT_EXCEEDED."
    )


@strawberry.type(description="Why an entry's balance condition failed (docs/holds.md).")
class ConditionFailure:
    account_code: str
    currency: str
    layer: BalanceLayer
    actual: Money = strawberry.field(
        description="The layer's balance as the entry would have left it, normal side."
    )
    at_least: Money | None
    at_most: Money | None

    @classmethod
    def of(cls, error: ConditionFailed) -> ConditionFailure:
        found = error.failure
        cur = found.currency

        def amount(minor: int | None) -> Money | None:
            return None if minor is None else Money(from_minor(minor, cur))

        return cls(
            account_code=found.account_code,
            currency=cur,
            layer=BalanceLayer(found.layer),
            actual=Money(from_minor(found.actual_minor, cur)),
            at_least=amount(found.at_least_minor),
            at_most=amount(found.at_most_minor),
        )


@strawberry.type
class UserError:
    code: ErrorCode
    field: str | None = strawberry.field(
        description="Path of the offending input, e.g. lines.1.debit; null when no one field."
    )
    message: str
    balance_limit: BalanceLimitBreach | None = strawberry.field(
        default=None,
        description="Set for INSUFFICIENT_FUNDS and LIMIT_EXCEEDED: the account, currency "
        "and amounts of the refusal.",
    )
    condition: ConditionFailure | None = strawberry.field(
        default=None,
        description="Set for CONDITION_FAILED: the condition and the actual value.",
    )

    @classmethod
    def of(cls, error: LedgerError) -> UserError:
        breach = None
        if isinstance(error, LimitBreach):
            found = error.breach
            cur = found.currency
            breach = BalanceLimitBreach(
                account_code=found.account_code,
                currency=cur,
                available=Money(from_minor(found.available_minor, cur)),
                requested=Money(from_minor(found.requested_minor, cur)),
                limit=Money(from_minor(found.limit_minor, cur)),
            )
        return cls(
            code=ErrorCode(error.code),
            field=error.field,
            message=error.message,
            balance_limit=breach,
            condition=ConditionFailure.of(error) if isinstance(error, ConditionFailed) else None,
        )


async def attempt(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Calls ``work``; a LedgerError becomes the payload's errors instead of a crash.

    A callable, so that what it evaluates first (e.g. the read-only check of
    ``writable_tenant()``) fails inside the guard too.
    """
    try:
        return await work(), []
    except LedgerError as error:
        return None, [UserError.of(error)]
