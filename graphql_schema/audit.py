"""The audit trail's GraphQL side (docs/audit.md): ``ledgerHead``, the chain's head."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.ledger import audit_chain
from graphql_schema.context import Info


@strawberry.type(
    description="The head of the tenant's hash chain (docs/audit.md): keep it, and "
    "`ledgerql verify --from LINK:HASH` later proves nothing before it changed."
)
class LedgerHead:
    link: strawberry.ID = strawberry.field(
        description="The last link's number (1, 2, ...; 0 before any change)."
    )
    hash: str = strawberry.field(description="The last link's SHA-256, 64 hex digits.")
    at: dt.datetime | None = strawberry.field(description="When the last link was written.")


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The head of the tenant's hash chain: link, hash and time.")
    async def ledger_head(self, info: Info) -> LedgerHead:
        head = await audit_chain.current_head(info.context.db, info.context.tenant_id)
        return LedgerHead(link=strawberry.ID(str(head.link)), hash=head.hash, at=head.at)
