"""The caller's tenant: its settings in a query, the settable ones in a mutation.

The tenant is the one the key selects (X-Tenant): a key never names another.
Rules are in ``app.ledger.tenants``; this only translates.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from app.ledger import tenants
from app.ledger.errors import BadInput
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt


@strawberry.type(name="Tenant")
class TenantSettings:
    slug: str
    name: str
    base_currency: str
    domain: str | None = strawberry.field(
        description="Full domain naming the tenant in the journal-entry API's domain_url."
    )
    journal_prefix: str = strawberry.field(description="PREFIX of PREFIX-YYYY-MM-DD-NNNN.")
    lock_date: dt.date | None

    @classmethod
    def of(cls, view: tenants.TenantView) -> TenantSettings:
        return cls(
            slug=view.slug,
            name=view.name,
            base_currency=view.base_currency,
            domain=view.domain,
            journal_prefix=view.journal_prefix,
            lock_date=view.lock_date,
        )


@strawberry.input
class UpdateTenantInput:
    domain: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A full domain such as acme-corp.example.com (lower-cased, unique); "
        "null clears it; omitted keeps it.",
    )
    journal_prefix: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="1-20 letters A-Z or digits (upper-cased); applies to new entries only.",
    )


@strawberry.type
class UpdateTenantPayload:
    tenant: TenantSettings | None
    errors: list[UserError]


@strawberry.type
class TenantQuery:
    @strawberry.field(description="The tenant the key selects.")
    async def tenant(self, info: Info) -> TenantSettings:
        ctx = info.context
        return TenantSettings.of(await tenants.get_tenant(ctx.db, ctx.tenant_id))


@strawberry.type
class TenantMutation:
    @strawberry.mutation(description="Changes the caller's tenant; fields left out are kept.")
    async def update_tenant(self, info: Info, input: UpdateTenantInput) -> UpdateTenantPayload:
        ctx = info.context
        domain_given = input.domain is not strawberry.UNSET
        prefix = None if input.journal_prefix is strawberry.UNSET else input.journal_prefix

        async def update() -> tenants.TenantView:
            ctx.writable_tenant()
            if prefix is None and input.journal_prefix is not strawberry.UNSET:
                raise BadInput("journalPrefix cannot be null", field="journalPrefix")
            changes = tenants.TenantChanges(
                domain=input.domain if domain_given else None,
                clear_domain=domain_given and input.domain is None,
                journal_prefix=prefix,
            )
            return await tenants.update_tenant(ctx.db, ctx.principal.tenant_slug, changes)

        view, errors = await attempt(update)
        return UpdateTenantPayload(
            tenant=None if view is None else TenantSettings.of(view), errors=errors
        )
