"""The per-request context: the database and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeAlias

import strawberry
from strawberry.dataloader import DataLoader

from app.ledger.errors import BadInput, Forbidden, Unauthenticated
from app.ledger.tenants import Principal
from db.engine import Database
from graphql_schema.loaders import (
    BalanceKey,
    Current,
    CurrentKey,
    Totals,
    account_code_loader,
    balance_loader,
    current_loader,
)

# What one request may post, whatever its shape (one postJournalEntries call, or
# hundreds of aliased postJournalEntry); one postJournalEntries call may post as much
# (mutations.MAX_CALL_*). One request must not hold the writer for long (1,000 entries
# of up to 20 lines).
MAX_REQUEST_ENTRIES = 1000
MAX_REQUEST_LINES = 20_000


@dataclass
class PostingBudget:
    """Entries and lines the mutations of one request have asked to post so far."""

    entries: int = 0
    lines: int = 0

    def charge(self, entries: int, lines: int, field: str | None = None) -> None:
        """Counts a posting about to be made; refused (nothing counted) past the budget."""
        if self.entries + entries > MAX_REQUEST_ENTRIES:
            raise BadInput(
                f"at most {MAX_REQUEST_ENTRIES:,} entries per request "
                f"(MAX_REQUEST_ENTRIES); this request has asked for {self.entries + entries:,}",
                field=field,
            )
        if self.lines + lines > MAX_REQUEST_LINES:
            raise BadInput(
                f"at most {MAX_REQUEST_LINES:,} lines per request "
                f"(MAX_REQUEST_LINES); this request has asked for {self.lines + lines:,}",
                field=field,
            )
        self.entries += entries
        self.lines += lines

    def take_all(self, what: str) -> None:
        """The whole budget, for a mutation bounded by other means (importLedger's body cap)."""
        if self.entries or self.lines:
            raise BadInput(f"{what} must be the only posting in its request", field=None)
        self.entries, self.lines = MAX_REQUEST_ENTRIES, MAX_REQUEST_LINES


@dataclass
class Context:
    db: Database
    # None only while the GraphiQL page is served, which runs no operation.
    authenticated: Principal | None
    posting: PostingBudget = field(default_factory=PostingBudget)

    @property
    def principal(self) -> Principal:
        if self.authenticated is None:
            raise Unauthenticated("an API key is required")
        return self.authenticated

    @property
    def tenant_id(self) -> int:
        return self.principal.tenant_id

    @cached_property
    def balances(self) -> DataLoader[BalanceKey, Totals]:
        """Batches the balance look-ups of one request into one query per (asOf, currency)."""
        return balance_loader(self.db, self.tenant_id)

    @cached_property
    def current_balances(self) -> DataLoader[CurrentKey, Current]:
        """The current balances a trial balance's pending layers read: one query per
        currency filter, when first selected."""
        return current_loader(self.db, self.tenant_id)

    @cached_property
    def account_codes(self) -> DataLoader[int, str | None]:
        """Accounts' codes by id (Account.parentCode), batched per request."""
        return account_code_loader(self.db, self.tenant_id)

    def writable_tenant(self) -> int:
        """The tenant to write to; a read-only key is refused."""
        if self.principal.read_only:
            raise Forbidden("this API key is read-only")
        return self.principal.tenant_id


Info: TypeAlias = strawberry.Info[Context, None]
