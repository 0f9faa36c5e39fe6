"""Journal entries as the core takes them in and gives them back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.ledger.entry_size import MAX_LINES as MAX_LINES
from app.ledger.errors import LedgerError
from app.ledger.text import column_length
from db.tables import IdempotencyRecord, JournalEntry, JournalLine

MAX_MEMO = column_length(JournalEntry, "memo")
MAX_DESCRIPTION = column_length(JournalLine, "description")
MAX_KEY = column_length(IdempotencyRecord, "key")
MAX_EXTERNAL_ID = column_length(JournalEntry, "external_id")
# The dates an entry may carry. Wide enough for any real book (historic records,
# leases and bonds running a century ahead), narrow enough that no date arithmetic
# of a report leaves the calendar Python and both engines share (years 1 to 9999).
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
IDEMPOTENCY_SCOPE = "entry"
# External ids are idempotency keys of their own scope: they never meet an idempotencyKey.
EXTERNAL_SCOPE = "external"
# The source of entries posted through GraphQL (and the REST dialects that translate to it).
GRAPHQL_SOURCE = "graphql"
POSTED = "POSTED"
# The event a posted entry writes (outbox), unless its input names another.
POSTED_EVENT = "journal_entry.posted"
SCHEDULED = "SCHEDULED"
REVERSED = "REVERSED"
# A hold's states (docs/holds.md): PENDING until posted (POSTED), voided or expired.
PENDING = "PENDING"
VOIDED = "VOIDED"
EXPIRED = "EXPIRED"
HOLD_STATUSES = (PENDING, VOIDED, EXPIRED)
# Entries whose lines no report counts: not posted (yet), or a hold that never posted.
UNPOSTED = (SCHEDULED, *HOLD_STATUSES)


@dataclass(frozen=True)
class LineInput:
    """One line as a client sent it; amounts are raw (str, int or Decimal), checked by the core."""

    account_code: str | None = None
    debit: object = None
    credit: object = None
    description: str | None = None
    currency: str | None = None
    account_id: int | None = None  # for dialects that name accounts by id


@dataclass(frozen=True)
class ConditionInput:
    """A bound on an account's balance once the entry is applied (app/ledger/conditions.py);
    amounts raw like a line's, checked by the core."""

    account_code: str
    currency: str
    layer: str  # POSTED or AVAILABLE
    at_least: object = None
    at_most: object = None


@dataclass(frozen=True)
class EntryInput:
    date: dt.date
    memo: str
    lines: Sequence[LineInput]
    currency: str | None = None
    journal_code: str | None = None
    idempotency_key: str | None = None
    source: str = "graphql"  # GRAPHQL_SOURCE: its metadata is the client's (metadata.py)
    metadata: Mapping[str, Any] | None = None
    event_type: str = POSTED_EVENT
    # The scope in which idempotency_key is unique (dialects keep their own keys apart).
    idempotency_scope: str = IDEMPOTENCY_SCOPE
    # Pismo answers a reused key with 409 instead of a replay.
    replay_allowed: bool = True
    # The currency the lines are also reported in; None: no reporting amounts.
    reporting_currency: str | None = None
    # When set, the entry posts on this date (SCHEDULED until then when it is after today).
    accrual_date: dt.date | None = None
    # The client's id of the entry, unique per tenant; an idempotency key (EXTERNAL_SCOPE).
    external_id: str | None = None
    # The journal by id (dialects that name journals by id); not together with journal_code.
    journal_id: int | None = None
    # One attachment of the tenant the entry references (its supporting document).
    attachment_id: int | None = None
    # A hold (docs/holds.md): written PENDING, moving only the pending totals.
    hold: bool = False
    expires_at: dt.datetime | None = None
    # Balance conditions checked under the lock; not part of the idempotency hash (a
    # replay returns the entry they let through).
    conditions: Sequence[ConditionInput] = ()


@dataclass(frozen=True)
class LineView:
    id: int
    account_id: int
    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int
    description: str | None
    line_no: int
    # In minor units of the entry's reporting currency; None when it has none.
    reporting_debit_minor: int | None = None
    reporting_credit_minor: int | None = None


@dataclass(frozen=True)
class EntryView:
    id: int
    tenant_id: int
    number: str
    date: dt.date
    memo: str
    currency: str
    status: str
    source: str
    journal_code: str
    idempotency_key: str | None
    reversal_of_id: int | None
    reversed_by_id: int | None
    metadata: Mapping[str, Any] | None
    created_at: dt.datetime
    lines: list[LineView] = field(default_factory=list)
    external_id: str | None = None
    accrual_date: dt.date | None = None
    reporting_currency: str | None = None
    exchange_rate: str | None = None  # the entry currency's rate, 11 decimals
    rate_source: str | None = None
    rate_date: dt.date | None = None
    journal_id: int | None = None
    attachment_id: int | None = None
    attachment_filename: str | None = None

    @property
    def posting_date(self) -> dt.date:
        """The day the entry moves balances: its accrual date when it has one."""
        return self.accrual_date or self.date


@dataclass(frozen=True)
class PostResult:
    entry: EntryView
    replayed: bool = False


@dataclass(frozen=True)
class BulkItem:
    """The outcome of one input of a batch: its result, or the error that refused it."""

    result: PostResult | None = None
    error: LedgerError | None = None


@dataclass(frozen=True)
class Request:
    """What one caller asked to post: several inputs, all or none when ``atomic``."""

    tenant_id: int
    inputs: Sequence[EntryInput]
    atomic: bool = True
