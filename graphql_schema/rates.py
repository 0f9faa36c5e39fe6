"""Exchange rates in GraphQL: the tenant's own rates, and the rate an entry would use.

Rates travel as decimal strings (never Float), exact, up to 11 decimals. Resolvers only
translate; the rules are in ``app.ledger.fx``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from app.ledger import fx
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt


def _text(value: Decimal) -> str:
    return format(value, "f")


@strawberry.type(description="A rate the tenant has set: units of quote for one unit of base.")
class ExchangeRate:
    base: str
    quote: str
    effective_date: dt.date = strawberry.field(description="The rate applies from this date on.")
    rate: str = strawberry.field(description="Exact decimal string, at most 11 decimals.")
    created_at: dt.datetime = strawberry.field(description="When this rate was (last) set.")

    @classmethod
    def of(cls, row: fx.TenantRate) -> ExchangeRate:
        return cls(
            base=row.base,
            quote=row.quote,
            effective_date=row.effective,
            rate=_text(row.value),
            created_at=row.created_at,
        )


@strawberry.type(description="The rate an entry of a date would use, and where it comes from.")
class ResolvedExchangeRate:
    base: str
    quote: str
    rate: str = strawberry.field(description="Units of quote for one unit of base, exact.")
    effective_date: dt.date = strawberry.field(
        description="The date of the rate used: the latest on or before the date asked."
    )
    source: str = strawberry.field(
        description='"same-currency", "tenant", "tenant-inverse" (a tenant rate of the other '
        'direction, inverted to 11 decimals) or "ecb" (European Central Bank reference rate, '
        "crossed through EUR where needed)."
    )

    @classmethod
    def of(cls, rate: fx.Rate) -> ResolvedExchangeRate:
        return cls(
            base=rate.base,
            quote=rate.quote,
            rate=_text(rate.value),
            effective_date=rate.effective,
            source=rate.source,
        )


@strawberry.input
class SetExchangeRateInput:
    base: str = strawberry.field(description="ISO 4217 code of the currency converted from.")
    quote: str = strawberry.field(description="ISO 4217 code of the currency converted to.")
    effective_date: dt.date = strawberry.field(
        description="The rate applies from this date; setting the same date again replaces it."
    )
    rate: str = strawberry.field(
        description='Units of quote for one unit of base: a decimal string such as "1.0825", '
        "greater than zero, at most 11 decimals (never rounded)."
    )


@strawberry.type
class SetExchangeRatePayload:
    rate: ExchangeRate | None
    errors: list[UserError]


@strawberry.type
class RatesQuery:
    @strawberry.field(description="The tenant's own exchange rates, by pair and date.")
    async def exchange_rates(
        self, info: Info, base: str | None = None, quote: str | None = None
    ) -> list[ExchangeRate]:
        rows = await fx.list_rates(info.context.db, info.context.tenant_id, base, quote)
        return [ExchangeRate.of(row) for row in rows]

    @strawberry.field(
        description="The rate an entry dated `on` would use to convert base into quote."
    )
    async def exchange_rate(
        self, info: Info, base: str, quote: str, on: dt.date
    ) -> ResolvedExchangeRate:
        rate = await fx.rate_for(info.context.db, info.context.tenant_id, base, quote, on)
        return ResolvedExchangeRate.of(rate)


@strawberry.type
class RatesMutation:
    @strawberry.mutation(
        description="Sets the tenant's rate of a pair from a date on (replacing that date's)."
    )
    async def set_exchange_rate(
        self, info: Info, input: SetExchangeRateInput
    ) -> SetExchangeRatePayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: fx.set_rate(
                ctx.db,
                ctx.writable_tenant(),
                input.base,
                input.quote,
                input.effective_date,
                input.rate,
            )
        )
        return SetExchangeRatePayload(rate=ExchangeRate.of(row) if row else None, errors=errors)
