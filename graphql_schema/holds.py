"""Holds (two-phase entries, docs/holds.md): holdJournalEntry(ies), postHold, voidHold and
the hold query. Each translates its input and calls the core (app.ledger.posting)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from app.ledger import posting
from app.ledger.dry_run import Previewed
from app.ledger.hold_rules import HoldRow
from app.ledger.holds import HoldResult, created
from app.ledger.validation import parse_id
from graphql_schema.context import Info
from graphql_schema.dry_run import EntryPreview
from graphql_schema.errors import UserError, attempt
from graphql_schema.inputs import PostJournalEntryInput
from graphql_schema.mutations import DRY_RUN, preview_payloads, refuse_oversized
from graphql_schema.scalars import Money
from graphql_schema.types import JournalEntry, money


def hold_id(value: strawberry.ID) -> int:
    return parse_id(value, field="entryId", what="journal entry id")


@strawberry.enum
class HoldStatus(Enum):
    PENDING = "PENDING"
    POSTED = "POSTED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="What one line of a hold held.")
class HeldLine:
    account_code: str
    currency: str
    debit: Money
    credit: Money


@strawberry.type(
    description="A hold: a PENDING entry until posted (POSTED), voided (VOIDED) or "
    "expired (EXPIRED). The posted amounts are the entry's lines; the held ones are here."
)
class Hold:
    entry_id: strawberry.ID
    status: HoldStatus
    held: list[HeldLine]
    expires_at: dt.datetime | None = strawberry.field(
        description="When it is released (EXPIRED) unless posted or voided before."
    )
    reason: str | None = strawberry.field(description="The reason given by voidHold.")

    @classmethod
    def of(cls, row: HoldRow, entry: posting.EntryView) -> Hold:
        return cls(
            entry_id=strawberry.ID(str(row.entry_id)),
            status=HoldStatus(row.status),
            held=[
                HeldLine(
                    account_code=line.account_code,
                    currency=line.currency,
                    debit=money(debit, line.currency),
                    credit=money(credit, line.currency),
                )
                for line, (debit, credit) in zip(entry.lines, row.held, strict=True)
            ],
            expires_at=row.expires_at,
            reason=row.reason,
        )


@strawberry.type
class HoldPayload:
    entry: JournalEntry | None
    hold: Hold | None
    replayed: bool = strawberry.field(
        description="True when the idempotency key matched an earlier, identical request."
    )
    errors: list[UserError]
    preview: EntryPreview | None = strawberry.field(
        default=None,
        description="With dryRun: what the hold would be; entry and hold are null.",
    )


def _previews(
    items: list[Previewed] | None, errors: list[UserError], count: int
) -> list[HoldPayload]:
    return [
        HoldPayload(
            entry=None,
            hold=None,
            replayed=payload.replayed,
            errors=payload.errors,
            preview=payload.preview,
        )
        for payload in preview_payloads(items, errors, count)
    ]


@strawberry.input(description="Posts a PENDING hold, in full or in part; the rest is released.")
class PostHoldInput:
    entry_id: strawberry.ID
    amount: Money | None = strawberry.field(
        default=None,
        description="Posts this much (at most what is held) of a two-line hold.",
    )
    lines: list[Money] | None = strawberry.field(
        default=None,
        description="One amount per held line, in order (each > 0, at most what the line "
        "holds, balanced per currency). Neither amount nor lines: posts it in full.",
    )
    date: dt.date | None = strawberry.field(
        default=None, description="The posted entry's date; default: today."
    )
    idempotency_key: str | None = None


@strawberry.input(description="Releases a PENDING hold: status VOIDED.")
class VoidHoldInput:
    entry_id: strawberry.ID
    reason: str | None = None


async def _payload(
    info: Info, result: posting.PostResult | None, errors: list[UserError]
) -> HoldPayload:
    if result is None:
        return HoldPayload(entry=None, hold=None, replayed=False, errors=errors)
    ctx = info.context
    if isinstance(result, HoldResult) and result.hold is not None:
        row = result.hold  # as the transaction left it
    else:  # a replay: as it is now
        row = await posting.load_hold(ctx.db, result.entry.tenant_id, result.entry.id)
    return HoldPayload(
        entry=JournalEntry.of(result.entry),
        hold=Hold.of(row, result.entry),
        replayed=result.replayed,
        errors=errors,
    )


@strawberry.type
class HoldMutation:
    @strawberry.mutation(
        description="Checks an entry like postJournalEntry (limits against posted + "
        "pending) and records it PENDING: it moves only pendingDebit/pendingCredit until "
        "postHold, voidHold or expiresAt (then EXPIRED, released by the expiry job; a "
        "postHold after it is refused). A hold.created event."
    )
    async def hold_journal_entry(
        self,
        info: Info,
        input: PostJournalEntryInput,
        expires_at: dt.datetime | None = None,
        dry_run: Annotated[bool, DRY_RUN] = False,
    ) -> HoldPayload:
        ctx = info.context
        if dry_run:

            async def preview() -> list[Previewed]:
                tenant_id = ctx.writable_tenant()
                ctx.posting.charge(1, len(input.lines), field="input")
                return await posting.preview_entries(
                    ctx.db, tenant_id, [input.to_core()], hold=True, expires_at=expires_at
                )

            return _previews(*await attempt(preview), 1)[0]

        async def hold() -> posting.PostResult:
            tenant_id = ctx.writable_tenant()
            ctx.posting.charge(1, len(input.lines), field="input")
            held = await posting.hold_entry(ctx.db, tenant_id, input.to_core(), expires_at)
            return created(held, expires_at)

        return await _payload(info, *await attempt(hold))

    @strawberry.mutation(
        description="Makes several holds. atomic (default true): all or none; else each "
        "input stands alone. One result per input, in order."
    )
    async def hold_journal_entries(
        self,
        info: Info,
        inputs: list[PostJournalEntryInput],
        atomic: bool = True,
        expires_at: dt.datetime | None = None,
        dry_run: Annotated[bool, DRY_RUN] = False,
    ) -> list[HoldPayload]:
        ctx = info.context
        refused = refuse_oversized(inputs, ctx.posting)
        if refused is not None:
            return [HoldPayload(entry=None, hold=None, replayed=False, errors=refused[0].errors)]
        if dry_run:
            previews, refusals = await attempt(
                lambda: posting.preview_entries(
                    ctx.db,
                    ctx.writable_tenant(),
                    [i.to_core() for i in inputs],
                    atomic=atomic,
                    bulk=True,
                    hold=True,
                    expires_at=expires_at,
                )
            )
            return _previews(previews, refusals, len(inputs))
        items, errors = await attempt(
            lambda: posting.hold_entries(
                ctx.db,
                ctx.writable_tenant(),
                [i.to_core() for i in inputs],
                atomic=atomic,
                expires_at=expires_at,
            )
        )
        if items is None:
            return [
                HoldPayload(entry=None, hold=None, replayed=False, errors=errors) for _ in inputs
            ]
        return [
            await _payload(
                info,
                created(item.result, expires_at) if item.result is not None else None,
                [UserError.of(item.error)] if item.error else [],
            )
            for item in items
        ]

    @strawberry.mutation(
        description="Posts a PENDING hold: in full, or partly by amount (two-line hold) or "
        "by lines; the rest is released. Status POSTED, an ordinary posted entry from then "
        "on. CONFLICT when the hold is no longer PENDING or has expired. A hold.posted event."
    )
    async def post_hold(self, info: Info, input: PostHoldInput) -> HoldPayload:
        ctx = info.context
        result, errors = await attempt(
            lambda: posting.post_hold(
                ctx.db,
                ctx.writable_tenant(),
                hold_id(input.entry_id),
                amount=input.amount,
                lines=input.lines,
                date=input.date,
                idempotency_key=input.idempotency_key,
            )
        )
        return await _payload(info, result, errors)

    @strawberry.mutation(
        description="Releases a PENDING hold: status VOIDED. CONFLICT when it is no longer "
        "PENDING. A hold.voided event."
    )
    async def void_hold(self, info: Info, input: VoidHoldInput) -> HoldPayload:
        ctx = info.context
        result, errors = await attempt(
            lambda: posting.void_hold(
                ctx.db, ctx.writable_tenant(), hold_id(input.entry_id), input.reason
            )
        )
        return await _payload(info, result, errors)


@strawberry.type
class HoldQuery:
    @strawberry.field(description="A hold's state and held amounts; null when there is none.")
    async def hold(self, info: Info, entry_id: strawberry.ID) -> Hold | None:
        ctx = info.context
        entry_ids = hold_id(entry_id)
        row, _ = await attempt(lambda: posting.load_hold(ctx.db, ctx.tenant_id, entry_ids))
        if row is None:
            return None
        async with ctx.db.read() as session:
            entry = await posting.load_entry(session, ctx.tenant_id, entry_ids)
        return Hold.of(row, entry)
