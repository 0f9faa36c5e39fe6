"""Errors of the ledger core.

    LedgerError                 a request the ledger refuses; carries a stable code
      ├─ BadInput               BAD_USER_INPUT: malformed or rule-breaking input
      ├─ NotFound               NOT_FOUND: a referenced record does not exist
      ├─ Conflict               CONFLICT: clashes with what is already recorded
      ├─ Forbidden              FORBIDDEN: the caller may not do this
      ├─ Unauthenticated        UNAUTHENTICATED: no valid key
      ├─ RateLimited            RATE_LIMITED: too many requests
      └─ TryAgain               TRY_AGAIN: lost to concurrent writes; safe to retry as is

Each transport maps ``code`` to its own form (GraphQL UserError, HTTP status).
"""

from __future__ import annotations


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


class TryAgain(LedgerError):
    code = "TRY_AGAIN"

    @classmethod
    def contended(cls) -> TryAgain:
        """A write that lost to concurrent writes after its retries: nothing was written."""
        return cls("the ledger is busy with concurrent writes to the same records: try again")
