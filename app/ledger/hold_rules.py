"""The rules of holds (two-phase entries, docs/holds.md), decided in memory: which
transitions a hold's state allows, what a post of it (in full or in part) posts, and
the digest a post's idempotency key is checked against. No statement is sent from here;
holds.py reads what these rules need and writes what they decide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from app.ledger.entries import PENDING, EntryView
from app.ledger.errors import BadInput, Conflict
from app.ledger.money import format_minor, to_minor

# The idempotency scope of postHold's keys: they never meet an entry's key.
HOLD_POST_SCOPE = "hold_post"


@dataclass(frozen=True)
class HoldRow:
    """A hold as stored: its state, expiry and the [debit, credit] held per line."""

    entry_id: int
    status: str
    expires_at: dt.datetime | None
    held: Sequence[tuple[int, int]]
    reason: str | None = None


def check_open(hold: HoldRow, action: str) -> None:
    """Refuses a transition of a hold that is no longer PENDING: CONFLICT naming its state."""
    if hold.status != PENDING:
        raise Conflict(
            f"hold {hold.entry_id} is {hold.status}: it cannot be {action}", field="entryId"
        )


def check_expiry(expires_at: dt.datetime | None, now: dt.datetime) -> None:
    """A hold's expiresAt: with a time zone, after ``now``."""
    if expires_at is None:
        return
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise BadInput("expiresAt needs a time zone (2026-06-01T12:00:00Z)", field="expiresAt")
    if expires_at <= now:
        raise BadInput("expiresAt must be in the future", field="expiresAt")


def check_not_expired(hold: HoldRow, now: dt.datetime) -> None:
    """Refuses to post a hold past its expiry, even before the expiry job has released it."""
    if hold.expires_at is not None and hold.expires_at <= now:
        raise Conflict(
            f"hold {hold.entry_id} expired at {hold.expires_at.isoformat()}: "
            "it can no longer be posted",
            field="entryId",
        )


def posted_amounts(
    view: EntryView, held: Sequence[tuple[int, int]], amount: object, lines: Sequence[object] | None
) -> list[tuple[int, int]]:
    """The [debit, credit] a post takes of each held line: all of it when neither ``amount``
    nor ``lines`` is given; ``amount`` (at most what is held) on both lines of a two-line
    hold; or ``lines``, one amount per held line (each > 0, at most what it holds), which
    must balance per currency. What is not posted is released."""
    if amount is None and lines is None:
        return list(held)
    if amount is not None and lines is not None:
        raise BadInput("give amount or lines, not both", field="amount")
    if amount is not None:
        if len(held) != 2:
            raise BadInput(
                f"amount posts a two-line hold; this one has {len(held)} lines: give lines",
                field="amount",
            )
        currency = view.lines[0].currency
        minor = _minor(amount, currency, "amount")
        most = max(held[0])
        if minor > most:
            raise BadInput(
                f"{format_minor(minor, currency)} is more than the "
                f"{format_minor(most, currency)} {currency} held",
                field="amount",
            )
        return [(minor if debit else 0, minor if credit else 0) for debit, credit in held]
    assert lines is not None
    if len(lines) != len(held):
        raise BadInput(
            f"give one amount per held line: the hold has {len(held)}, {len(lines)} given",
            field="lines",
        )
    posted: list[tuple[int, int]] = []
    sums: dict[str, int] = {}
    for index, (raw, (debit, credit), line) in enumerate(zip(lines, held, view.lines, strict=True)):
        minor = _minor(raw, line.currency, f"lines.{index}")
        most = debit or credit
        if minor > most:
            raise BadInput(
                f"{format_minor(minor, line.currency)} is more than the "
                f"{format_minor(most, line.currency)} {line.currency} the line holds",
                field=f"lines.{index}",
            )
        posted.append((minor if debit else 0, minor if credit else 0))
        sums[line.currency] = sums.get(line.currency, 0) + (minor if debit else -minor)
    for currency, difference in sorted(sums.items()):
        if difference:
            raise BadInput(
                f"the posted lines do not balance in {currency}: debits and credits differ "
                f"by {format_minor(abs(difference), currency)}",
                field="lines",
            )
    return posted


def _minor(raw: object, currency: str, field: str) -> int:
    try:
        return to_minor(raw, currency)
    except BadInput as error:
        raise BadInput(error.message, field=field) from None


def post_digest(
    entry_id: int, amount: object, lines: Sequence[object] | None, on: dt.date | None
) -> str:
    """The digest of a postHold request, for its idempotency key."""
    document = {
        "entry_id": entry_id,
        "amount": None if amount is None else str(amount),
        "lines": None if lines is None else [str(line) for line in lines],
        "date": None if on is None else on.isoformat(),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
