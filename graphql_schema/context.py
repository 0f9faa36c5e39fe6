"""The per-request context: the database and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypeAlias

import strawberry
from strawberry.dataloader import DataLoader

from app.ledger.errors import Forbidden, Unauthenticated
from app.ledger.tenants import Principal
from db.engine import Database
from graphql_schema.loaders import BalanceKey, Totals, balance_loader


@dataclass
class Context:
    db: Database
    # None only while the GraphiQL page is served, which runs no operation.
    authenticated: Principal | None

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

    def writable_tenant(self) -> int:
        """The tenant to write to; a read-only key is refused."""
        if self.principal.read_only:
            raise Forbidden("this API key is read-only")
        return self.principal.tenant_id


Info: TypeAlias = strawberry.Info[Context, None]
