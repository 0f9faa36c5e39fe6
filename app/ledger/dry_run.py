"""Dry runs (docs/holds.md): what a posting or a hold would be, and the balances it would
leave, after every check of the write path and with nothing written.

``batch.preview_batch`` runs the same plan and the same decisions as a real write, under
the same lock, then stops before the first statement that writes: no number is taken,
no id allocated, no idempotency record, balance or event written. This module turns
what the decisions saw into the answer; no statement is sent from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.ledger.accounts import net_of
from app.ledger.entries import PENDING, POSTED, SCHEDULED, EntryView, LineView
from app.ledger.errors import Conflict, LedgerError
from app.ledger.limit_rules import Totals, available_of, sum_totals
from app.ledger.posting_rules import Fate, New, movement
from app.ledger.validation import AccountRef, PreparedLine


@dataclass(frozen=True)
class PreviewBalance:
    """One account's balance in one currency as the entry would leave it."""

    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int
    net_minor: int
    pending_debit_minor: int
    pending_credit_minor: int
    available_minor: int


@dataclass(frozen=True)
class Preview:
    """An entry as it would be written, without id or number (none is taken)."""

    status: str  # POSTED, SCHEDULED or PENDING (a hold)
    date: dt.date
    accrual_date: dt.date | None
    memo: str
    currency: str
    journal_code: str
    lines: Sequence[PreparedLine | LineView]
    # After this entry (and the batch's earlier ones); empty for a replay, which moves nothing.
    balances: Sequence[PreviewBalance]
    expires_at: dt.datetime | None = None
    # A replay: the stored entry's id (None when it replays an earlier input of the batch).
    replay_of: int | None = None
    replayed: bool = False


@dataclass(frozen=True)
class Previewed:
    """The dry-run answer to one input: its preview, or the error a real write would give."""

    preview: Preview | None = None
    error: LedgerError | None = None


# The balances a New would leave, keyed by id() of the New.
Seen = dict[int, list[PreviewBalance]]


def balances_after(
    new: New,
    posted: Sequence[Totals],
    pending: Sequence[Totals],
    accounts: Mapping[int, AccountRef],
) -> list[PreviewBalance]:
    """The balances of the accounts and currencies ``new``'s lines touch, from the sums
    of ``posted`` and of ``pending`` (each: read under the lock + the batch so far)."""
    found = []
    for pair in movement(new.prepared.lines):
        account = accounts[pair[0]]
        debit, credit = sum_totals(posted, pair)
        held_debit, held_credit = sum_totals(pending, pair)
        net = net_of(account.type, debit, credit)
        found.append(
            PreviewBalance(
                account.code,
                pair[1],
                debit,
                credit,
                net,
                held_debit,
                held_credit,
                available_of(account.type, debit, credit, held_debit, held_credit),
            )
        )
    return found


def previewed(fate: Fate, seen: Seen, stored: Mapping[int, EntryView], today: dt.date) -> Previewed:
    """The answer to one input from its fate (batch.preview_batch)."""
    if isinstance(fate, LedgerError):
        return Previewed(error=fate)
    if isinstance(fate, New):
        return Previewed(_of_new(fate, seen.get(id(fate), []), today))
    if isinstance(fate, tuple):
        return Previewed(replace(_of_new(fate[0], [], today), replayed=True))
    view = stored.get(fate)
    if view is None:  # the key's entry is gone: cannot happen while entries are never deleted
        return Previewed(error=Conflict("the idempotency key's entry no longer exists"))
    return Previewed(
        Preview(
            status=view.status,
            date=view.date,
            accrual_date=view.accrual_date,
            memo=view.memo,
            currency=view.currency,
            journal_code=view.journal_code,
            lines=view.lines,
            balances=[],
            replay_of=view.id,
            replayed=True,
        )
    )


def _of_new(new: New, balances: Sequence[PreviewBalance], today: dt.date) -> Preview:
    prepared = new.prepared
    status = POSTED
    if new.hold:
        status = PENDING
    elif prepared.accrual_date is not None and prepared.accrual_date > today:
        status = SCHEDULED
    return Preview(
        status=status,
        date=prepared.date,
        accrual_date=prepared.accrual_date,
        memo=prepared.memo,
        currency=prepared.currency,
        journal_code=prepared.journal_code,
        lines=prepared.lines,
        balances=balances,
        expires_at=new.expires_at,
    )
