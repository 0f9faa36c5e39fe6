"""The answer to a dry run (dryRun: true, docs/holds.md): the entry as it would be, without
id or number, and the balances it would leave. Built from app.ledger.dry_run's Preview."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.ledger.dry_run import Preview, PreviewBalance
from graphql_schema.scalars import Money
from graphql_schema.types import Balance, EntryStatus, money


@strawberry.type(description="A line of a dry run's entry.")
class PreviewLine:
    account_code: str
    currency: str
    debit: Money
    credit: Money
    description: str | None


@strawberry.type(description="An account's balance in one currency as the entry would leave it.")
class AccountBalancePreview:
    account_code: str
    balance: Balance

    @classmethod
    def of(cls, found: PreviewBalance) -> AccountBalancePreview:
        cur = found.currency
        return cls(
            account_code=found.account_code,
            balance=Balance(
                currency=cur,
                debit=money(found.debit_minor, cur),
                credit=money(found.credit_minor, cur),
                net=money(found.net_minor, cur),
                pending_debit=money(found.pending_debit_minor, cur),
                pending_credit=money(found.pending_credit_minor, cur),
                available=money(found.available_minor, cur),
            ),
        )


@strawberry.type(
    description="What a dry run found: the entry as it would be written (no id, no number: "
    "none is taken) and the balances it would leave. Nothing was written: no entry, "
    "idempotency record, balance or event."
)
class EntryPreview:
    status: EntryStatus = strawberry.field(
        description="POSTED, SCHEDULED (accrualDate after today) or PENDING (a hold); a "
        "replay's is its entry's."
    )
    date: dt.date
    accrual_date: dt.date | None
    memo: str
    currency: str
    journal_code: str
    lines: list[PreviewLine]
    balances: list[AccountBalancePreview] = strawberry.field(
        description="Each account and currency the lines touch, after this entry (and the "
        "earlier inputs of the same call); empty for a replay, which moves nothing."
    )
    expires_at: dt.datetime | None = strawberry.field(description="A hold's expiry.")
    replayed: bool = strawberry.field(
        description="The idempotency key or external id names an earlier identical "
        "request: the real call would return that entry (replayOf) and write nothing."
    )
    replay_of: strawberry.ID | None = strawberry.field(
        description="The id of the entry a replay would return; null when it is an "
        "earlier input of the same call."
    )

    @classmethod
    def of(cls, preview: Preview) -> EntryPreview:
        return cls(
            status=EntryStatus(preview.status),
            date=preview.date,
            accrual_date=preview.accrual_date,
            memo=preview.memo,
            currency=preview.currency,
            journal_code=preview.journal_code,
            lines=[
                PreviewLine(
                    account_code=line.account_code,
                    currency=line.currency,
                    debit=money(line.debit_minor, line.currency),
                    credit=money(line.credit_minor, line.currency),
                    description=line.description,
                )
                for line in preview.lines
            ],
            balances=[AccountBalancePreview.of(found) for found in preview.balances],
            expires_at=preview.expires_at,
            replayed=preview.replayed,
            replay_of=(
                strawberry.ID(str(preview.replay_of)) if preview.replay_of is not None else None
            ),
        )
