"""Mutations: each translates its input, calls the ledger core, and returns a payload."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.ledger import accounts, posting
from app.ledger.dry_run import Previewed
from app.ledger.errors import BadInput
from app.ledger.validation import parse_id
from graphql_schema.context import MAX_REQUEST_ENTRIES, MAX_REQUEST_LINES, Info, PostingBudget
from graphql_schema.dry_run import EntryPreview
from graphql_schema.errors import UserError, attempt
from graphql_schema.inputs import (
    CreateAccountInput,
    CreateJournalInput,
    PostJournalEntryInput,
    SetAccountLimitsInput,
)
from graphql_schema.types import Account, Journal, JournalEntry

# What one postJournalEntries call may post: as much as its whole request may
# (context.py), since the whole call is one transaction. Checked first, with a message
# of its own; the benchmark's noop mutation, which charges no budget, raises it.
MAX_CALL_ENTRIES = MAX_REQUEST_ENTRIES
MAX_CALL_LINES = MAX_REQUEST_LINES


def entry_id(value: strawberry.ID, field: str = "id") -> int:
    return parse_id(value, field=field, what="journal entry id")


@strawberry.type
class AccountPayload:
    account: Account | None
    errors: list[UserError]


@strawberry.type
class JournalPayload:
    journal: Journal | None
    errors: list[UserError]


# The dryRun argument of the posting and hold mutations.
DRY_RUN = strawberry.argument(
    description="Run every check (limits and conditions included) under the lock and "
    "answer with preview instead of entry: nothing is written (no entry, number, "
    "idempotency record, balance or event)."
)


@strawberry.type
class PostJournalEntryPayload:
    entry: JournalEntry | None
    replayed: bool = strawberry.field(
        description="True when the idempotency key matched an earlier, identical request."
    )
    errors: list[UserError]
    preview: EntryPreview | None = strawberry.field(
        default=None, description="With dryRun: what the entry would be; entry is null."
    )


@strawberry.type
class ReverseJournalEntryPayload:
    entry: JournalEntry | None = strawberry.field(description="The reversal entry.")
    errors: list[UserError]


def refuse_oversized(
    inputs: list[PostJournalEntryInput], budget: PostingBudget | None = None
) -> list[PostJournalEntryPayload] | None:
    """The answer to a bulk call past the limits of one call or of its request, or None
    when within them (then the call is charged to the request's budget)."""
    lines = sum(len(i.lines) for i in inputs)
    if len(inputs) > MAX_CALL_ENTRIES:
        error = BadInput(f"at most {MAX_CALL_ENTRIES} entries per call", field="inputs")
    elif lines > MAX_CALL_LINES:
        error = BadInput(f"at most {MAX_CALL_LINES} lines per call", field="inputs")
    elif budget is None:
        return None
    else:
        try:
            budget.charge(len(inputs), lines, field="inputs")
        except BadInput as over:
            error = over
        else:
            return None
    return [entry_payload(None, [UserError.of(error)])]


def entry_payload(
    result: posting.PostResult | None, errors: list[UserError]
) -> PostJournalEntryPayload:
    return PostJournalEntryPayload(
        entry=JournalEntry.of(result.entry) if result else None,
        replayed=bool(result and result.replayed),
        errors=errors,
    )


def preview_payloads(
    items: list[Previewed] | None, errors: list[UserError], count: int
) -> list[PostJournalEntryPayload]:
    """The answers of a dry run: one per input (``count``), or ``errors`` for each."""
    if items is None:
        return [entry_payload(None, errors) for _ in range(count)]
    return [
        PostJournalEntryPayload(
            entry=None,
            replayed=bool(item.preview and item.preview.replayed),
            errors=[UserError.of(item.error)] if item.error else [],
            preview=EntryPreview.of(item.preview) if item.preview else None,
        )
        for item in items
    ]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_account(self, info: Info, input: CreateAccountInput) -> AccountPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: accounts.create_account(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return AccountPayload(account=Account.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def deactivate_account(self, info: Info, code: str) -> AccountPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: accounts.deactivate_account(ctx.db, ctx.writable_tenant(), code)
        )
        return AccountPayload(account=Account.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Sets an account's balance limits (docs/holds.md): a field left out "
        "stays as it is, an empty list clears it. Records an account.limits_changed event."
    )
    async def set_account_limits(self, info: Info, input: SetAccountLimitsInput) -> AccountPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: accounts.set_account_limits(
                ctx.db, ctx.writable_tenant(), input.account_code, input.to_core()
            )
        )
        return AccountPayload(account=Account.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def create_journal(self, info: Info, input: CreateJournalInput) -> JournalPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: accounts.create_journal(
                ctx.db,
                ctx.writable_tenant(),
                code=input.code,
                name=input.name,
                type=input.type.value,
            )
        )
        return JournalPayload(journal=Journal.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def post_journal_entry(
        self,
        info: Info,
        input: PostJournalEntryInput,
        dry_run: Annotated[bool, DRY_RUN] = False,
    ) -> PostJournalEntryPayload:
        ctx = info.context
        if dry_run:

            async def preview() -> list[Previewed]:
                tenant_id = ctx.writable_tenant()
                ctx.posting.charge(1, len(input.lines), field="input")
                return await posting.preview_entries(ctx.db, tenant_id, [input.to_core()])

            return preview_payloads(*await attempt(preview), 1)[0]

        async def post() -> posting.PostResult:
            tenant_id = ctx.writable_tenant()
            ctx.posting.charge(1, len(input.lines), field="input")
            return await posting.post_entry(ctx.db, tenant_id, input.to_core())

        return entry_payload(*await attempt(post))

    @strawberry.mutation(
        description="Posts several entries. atomic (default true): all or none; "
        "else each input stands alone. One result per input, in order."
    )
    async def post_journal_entries(
        self,
        info: Info,
        inputs: list[PostJournalEntryInput],
        atomic: bool = True,
        dry_run: Annotated[bool, DRY_RUN] = False,
    ) -> list[PostJournalEntryPayload]:
        ctx = info.context
        refused = refuse_oversized(inputs, ctx.posting)
        if refused is not None:
            return refused
        if dry_run:
            previews, refusals = await attempt(
                lambda: posting.preview_entries(
                    ctx.db,
                    ctx.writable_tenant(),
                    [i.to_core() for i in inputs],
                    atomic=atomic,
                    bulk=True,
                )
            )
            return preview_payloads(previews, refusals, len(inputs))
        items, errors = await attempt(
            lambda: posting.post_entries(
                ctx.db, ctx.writable_tenant(), [i.to_core() for i in inputs], atomic=atomic
            )
        )
        if items is None:
            return [entry_payload(None, errors) for _ in inputs]
        return [
            entry_payload(item.result, [UserError.of(item.error)] if item.error else [])
            for item in items
        ]

    @strawberry.mutation(description="Posts the mirror entry and marks the original REVERSED.")
    async def reverse_journal_entry(
        self, info: Info, id: strawberry.ID, date: dt.date | None = None, memo: str | None = None
    ) -> ReverseJournalEntryPayload:
        ctx = info.context
        result, errors = await attempt(
            lambda: posting.reverse_entry(
                ctx.db, ctx.writable_tenant(), entry_id(id), date=date, memo=memo
            )
        )
        return ReverseJournalEntryPayload(
            entry=JournalEntry.of(result.entry) if result else None, errors=errors
        )
