"""User errors: expected failures returned as data in every mutation payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

import strawberry

from app.ledger.errors import LedgerError, LimitBreach
from app.ledger.money import from_minor
from graphql_schema.scalars import Money

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
