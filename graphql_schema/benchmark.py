"""Benchmark-only mutations: the GraphQL side of posting, without the ledger core.

They are in the schema only when ``LEDGERQL_BENCHMARK_MUTATIONS=1`` is set as
``graphql_schema.schema`` is imported (the HTTP benchmarks start their server so);
the production schema never has them. Each goes through the same endpoint
(authentication), checks the write permission, converts its input with
``to_core()`` and answers the same payload as the real mutation, with entries built
in memory and nothing read from or written to the database. Against the real
mutation, on the same server and with the same selection, it gives the share of a
request's time that the write path takes.

The module lives in graphql_schema, not benchmarks/, because it is schema code on
the schema's own types, and graphql_schema is the installed package: the schema
must not import from a directory that is not packaged.
"""

from __future__ import annotations

import datetime as dt
import os

import strawberry

from app.ledger.money import to_minor
from app.ledger.posting import EntryInput, EntryView, LineView, PostResult
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from graphql_schema.context import Info
from graphql_schema.errors import attempt
from graphql_schema.inputs import PostJournalEntryInput
from graphql_schema.mutations import PostJournalEntryPayload, entry_payload, refuse_oversized

ENV_VAR = "LEDGERQL_BENCHMARK_MUTATIONS"
# A fixed instant: the no-op must not pay for a clock read the core makes anyway.
CREATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def enabled() -> bool:
    """Whether the benchmark-only mutations go into the schema."""
    return os.environ.get(ENV_VAR) == "1"


def _amount_minor(value: object, currency: str) -> int:
    return 0 if value is None or value == "" else to_minor(value, currency)


def entry_in_memory(data: EntryInput, tenant_id: int, base_currency: str) -> EntryView:
    """The entry ``data`` would become, numbered 0, with the amounts in minor units."""
    currency = data.currency or base_currency
    lines = []
    for index, line in enumerate(data.lines):
        line_currency = line.currency or currency
        lines.append(
            LineView(
                id=index + 1,
                account_id=0,
                account_code=line.account_code or "",
                currency=line_currency,
                debit_minor=_amount_minor(line.debit, line_currency),
                credit_minor=_amount_minor(line.credit, line_currency),
                description=line.description,
                line_no=index,
            )
        )
    return EntryView(
        id=1,
        tenant_id=tenant_id,
        number=f"NOOP-{data.date.isoformat()}-0000",
        date=data.date,
        memo=data.memo,
        currency=currency,
        status="POSTED",
        source=data.source,
        journal_code=data.journal_code or DEFAULT_JOURNAL_CODE,
        idempotency_key=data.idempotency_key,
        reversal_of_id=None,
        reversed_by_id=None,
        metadata=data.metadata,
        created_at=CREATED_AT,
        lines=lines,
    )


@strawberry.type
class BenchmarkMutation:
    @strawberry.mutation(description="Benchmark only: postJournalEntry without the database.")
    async def noop_journal_entry(
        self, info: Info, input: PostJournalEntryInput
    ) -> PostJournalEntryPayload:
        ctx = info.context

        async def answer() -> PostResult:
            tenant_id = ctx.writable_tenant()
            return PostResult(
                entry_in_memory(input.to_core(), tenant_id, ctx.principal.base_currency)
            )

        return entry_payload(*await attempt(answer))

    @strawberry.mutation(description="Benchmark only: postJournalEntries without the database.")
    async def noop_journal_entries(
        self, info: Info, inputs: list[PostJournalEntryInput], atomic: bool = True
    ) -> list[PostJournalEntryPayload]:
        ctx = info.context
        refused = refuse_oversized(inputs)
        if refused is not None:
            return refused

        async def answer() -> list[PostResult]:
            tenant_id = ctx.writable_tenant()
            base_currency = ctx.principal.base_currency
            return [
                PostResult(entry_in_memory(data, tenant_id, base_currency))
                for data in (i.to_core() for i in inputs)
            ]

        results, errors = await attempt(answer)
        if results is None:
            return [entry_payload(None, errors) for _ in inputs]
        return [entry_payload(result, []) for result in results]
