"""Period close: closePeriod, reopenPeriod and closeYear. Rules are in ``app.ledger.closing``."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.ledger import closing
from graphql_schema.context import Context, Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.tenant import TenantSettings
from graphql_schema.types import JournalEntry


@strawberry.type
class PeriodPayload:
    tenant: TenantSettings | None = strawberry.field(description="With its new lockDate.")
    errors: list[UserError]


@strawberry.type
class CloseYearPayload:
    entry: JournalEntry | None = strawberry.field(
        description="The closing entry (source closing, metadata {closing: true}); "
        "null when every income and expense balance was already zero."
    )
    replayed: bool = strawberry.field(
        description="True when the year was closed before: the entry is the earlier one."
    )
    tenant: TenantSettings | None
    errors: list[UserError]


def actor_of(ctx: Context) -> closing.Actor:
    """Who a mutation acts for, as events record it."""
    return closing.Actor(user_id=ctx.principal.user_id, key_id=ctx.principal.key_id)


@strawberry.type
class ClosingMutation:
    @strawberry.mutation(
        description="Closes the books through throughDate (the lock date): posting, reversing "
        "or scheduling on or before it is refused. Never moves the lock date back."
    )
    async def close_period(self, info: Info, through_date: dt.date) -> PeriodPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: closing.close_period(ctx.db, ctx.writable_tenant(), through_date, actor_of(ctx))
        )
        return PeriodPayload(tenant=TenantSettings.of(view) if view else None, errors=errors)

    @strawberry.mutation(
        description="Moves the lock date back to throughDate, or clears it; the reason and "
        "who did it are recorded in a period.reopened event."
    )
    async def reopen_period(
        self, info: Info, reason: str, through_date: dt.date | None = None
    ) -> PeriodPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: closing.reopen_period(
                ctx.db, ctx.writable_tenant(), reason, actor_of(ctx), through_date
            )
        )
        return PeriodPayload(tenant=TenantSettings.of(view) if view else None, errors=errors)

    @strawberry.mutation(
        description="Posts, dated yearEnd, the entry moving every income and expense balance "
        "to the EQUITY account retainedEarningsAccount, then closes the books through yearEnd. "
        "Running it again posts nothing."
    )
    async def close_year(
        self, info: Info, year_end: dt.date, retained_earnings_account: str
    ) -> CloseYearPayload:
        ctx = info.context
        done, errors = await attempt(
            lambda: closing.close_year(
                ctx.db, ctx.writable_tenant(), year_end, retained_earnings_account, actor_of(ctx)
            )
        )
        return CloseYearPayload(
            entry=JournalEntry.of(done.entry) if done and done.entry else None,
            replayed=bool(done and done.replayed),
            tenant=TenantSettings.of(done.tenant) if done else None,
            errors=errors,
        )
