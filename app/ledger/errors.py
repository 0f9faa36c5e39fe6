"""Errors of the ledger core.

    LedgerError                 a request the ledger refuses; carries a stable code
      ├─ BadInput               BAD_USER_INPUT: malformed or rule-breaking input
      ├─ NotFound               NOT_FOUND: a referenced record does not exist
      ├─ Conflict               CONFLICT: clashes with what is already recorded
      ├─ Forbidden              FORBIDDEN: the caller may not do this
      ├─ Unauthenticated        UNAUTHENTICATED: no valid key
      ├─ RateLimited            RATE_LIMITED: too many requests
      ├─ InsufficientFunds      INSUFFICIENT_FUNDS: a posting would overdraw a limited account
      ├─ LimitExceeded          LIMIT_EXCEEDED: a posting would pass an account's max balance
      ├─ ConditionFailed        CONDITION_FAILED: a balance condition of the entry does not hold
      └─ TryAgain               TRY_AGAIN: lost to concurrent writes; safe to retry as is

Each transport maps ``code`` to its own form (GraphQL UserError, HTTP status).
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def at(self, prefix: str) -> LedgerError:
        """The same error with ``prefix`` put in front of its field path."""
        self.field = f"{prefix}.{self.field}" if self.field else prefix
        return self


class BadInput(LedgerError):
    code = "BAD_USER_INPUT"


class NotFound(LedgerError):
    code = "NOT_FOUND"


class Conflict(LedgerError):
    code = "CONFLICT"


class Forbidden(LedgerError):
    code = "FORBIDDEN"


class Unauthenticated(LedgerError):
    code = "UNAUTHENTICATED"


class RateLimited(LedgerError):
    code = "RATE_LIMITED"


@dataclass(frozen=True)
class Breach:
    """The numbers of a refused posting, in minor units of ``currency``: the account's
    available balance before the entry, what the entry asked (the amount it takes off,
    or adds), and the limit (the overdraft limit, 0 under no-overdraft, or the max
    balance)."""

    account_code: str
    currency: str
    available_minor: int
    requested_minor: int
    limit_minor: int


class LimitBreach(LedgerError):
    """A posting refused by an account's balance limits (app/ledger/limits.py)."""

    def __init__(self, message: str, breach: Breach, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.breach = breach


class InsufficientFunds(LimitBreach):
    code = "INSUFFICIENT_FUNDS"


class LimitExceeded(LimitBreach):
    code = "LIMIT_EXCEEDED"


@dataclass(frozen=True)
class Failure:
    """The numbers of a failed balance condition (app/ledger/conditions.py), in minor
    units of ``currency``: the value the layer would have after the entry, and the
    bounds asked (None: no bound on that side)."""

    account_code: str
    currency: str
    layer: str
    actual_minor: int
    at_least_minor: int | None
    at_most_minor: int | None


class ConditionFailed(LedgerError):
    code = "CONDITION_FAILED"

    def __init__(self, message: str, failure: Failure, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.failure = failure


class TryAgain(LedgerError):
    code = "TRY_AGAIN"

    @classmethod
    def contended(cls) -> TryAgain:
        """A write that lost to concurrent writes after its retries: nothing was written."""
        return cls("the ledger is busy with concurrent writes to the same records: try again")
