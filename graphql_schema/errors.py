"""User errors: expected failures returned as data in every mutation payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

import strawberry

from app.ledger.errors import LedgerError

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


@strawberry.type
class UserError:
    code: ErrorCode
    field: str | None = strawberry.field(
        description="Path of the offending input, e.g. lines.1.debit; null when no one field."
    )
    message: str

    @classmethod
    def of(cls, error: LedgerError) -> UserError:
        return cls(code=ErrorCode(error.code), field=error.field, message=error.message)


async def attempt(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Calls ``work``; a LedgerError becomes the payload's errors instead of a crash.

    A callable, so that what it evaluates first (e.g. the read-only check of
    ``writable_tenant()``) fails inside the guard too.
    """
    try:
        return await work(), []
    except LedgerError as error:
        return None, [UserError.of(error)]
