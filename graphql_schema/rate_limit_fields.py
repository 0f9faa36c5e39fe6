"""The GraphQL fields of the caller's key's own rate limits: read them, and lower them.

A key may set its own limits at most to the server's defaults (a leaked key cannot
raise its ceiling); raising one above them is the operator's (``ledgerql key limits``).
A read-only key changes nothing. Rules: ``app.ledger.key_rate_limits``.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from app.ledger import key_rate_limits
from app.runtime.settings import SURFACES, Settings
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt


@strawberry.enum
class RateLimitSurface(Enum):
    GRAPHQL = "graphql"
    PISMO = "pismo"
    JOURNAL_ENTRIES = "journal_entries"
    PENNYLANE = "pennylane"
    BOOKEEPING = "bookeeping"


@strawberry.type
class RateLimits:
    """Requests allowed to the caller's key on one surface, per window."""

    surface: RateLimitSurface
    read_per_minute: int
    read_per_day: int
    write_per_minute: int
    write_per_day: int


@strawberry.input
class SetRateLimitsInput:
    surface: RateLimitSurface
    read_per_minute: int | None = strawberry.field(
        default=None, description="Omitted or null: unchanged (the default after reset)."
    )
    read_per_day: int | None = None
    write_per_minute: int | None = None
    write_per_day: int | None = None
    reset: bool = strawberry.field(
        default=False, description="Drops the key's own limits on the surface first."
    )


@strawberry.type
class SetRateLimitsPayload:
    rate_limits: RateLimits | None
    errors: list[UserError]


def _limits_of(overrides: str | None) -> list[RateLimits]:
    limits = key_rate_limits.effective(Settings.from_env().rate_limits.limits, overrides)
    return [
        RateLimits(
            surface=RateLimitSurface(surface),
            read_per_minute=limits[(surface, "read", "minute")],
            read_per_day=limits[(surface, "read", "day")],
            write_per_minute=limits[(surface, "write", "minute")],
            write_per_day=limits[(surface, "write", "day")],
        )
        for surface in SURFACES
    ]


@strawberry.type
class RateLimitsQuery:
    @strawberry.field(description="The caller's key's rate limits on every surface.")
    async def rate_limits(self, info: Info) -> list[RateLimits]:
        ctx = info.context
        return _limits_of(await key_rate_limits.key_overrides(ctx.db, ctx.principal.key_id))


@strawberry.type
class RateLimitsMutation:
    @strawberry.mutation(
        description="Sets the caller's key's own limits on a surface, at most the defaults."
    )
    async def set_rate_limits(self, info: Info, input: SetRateLimitsInput) -> SetRateLimitsPayload:
        ctx = info.context
        surface = input.surface.value

        async def update() -> RateLimits:
            ctx.writable_tenant()
            changes = {
                ("read", "minute"): input.read_per_minute,
                ("read", "day"): input.read_per_day,
                ("write", "minute"): input.write_per_minute,
                ("write", "day"): input.write_per_day,
            }
            stored = await key_rate_limits.set_key_limits(
                ctx.db,
                ctx.principal.key_id,
                surface,
                {window: limit for window, limit in changes.items() if limit is not None},
                reset=input.reset,
                ceiling=Settings.from_env().rate_limits.limits,
            )
            return next(r for r in _limits_of(stored) if r.surface == input.surface)

        found, errors = await attempt(update)
        return SetRateLimitsPayload(rate_limits=found, errors=errors)
