"""The posting rules of the write path, decided in memory: no statement is sent from here.

Before any lock, ``check`` decides whether one input makes an entry: its accounts,
journal, attachment and reporting amounts, and the idempotency record it claims,
each input on its own so one bad entry never fails its neighbours. Under the
tenant's lock, ``Decisions`` decides what becomes of it against the keys and
balances as they are now: a replay of the entry its key or external id already
names, a conflict, a running total taken past 2^63-1, a scheduled entry (accrual
after today) or a new entry; ``decide_request`` applies that to a request, all or
none when it is atomic. Also here: how entries are numbered, what a reversal
mirrors, and which due scheduled entries may post.

batch.py reads what these rules need (batch_store.py) and writes what they decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.ledger.conditions import Condition, check_conditions, prepare_conditions
from app.ledger.entries import (
    EXTERNAL_SCOPE,
    GRAPHQL_SOURCE,
    HOLD_STATUSES,
    SCHEDULED,
    BulkItem,
    EntryInput,
    EntryView,
    LineView,
    PostResult,
    Request,
)
from app.ledger.errors import BadInput, Conflict, LedgerError, NotFound
from app.ledger.limit_rules import LimitedAccounts, Totals, check_limits
from app.ledger.metadata import check_metadata
from app.ledger.money import MAX_MINOR
from app.ledger.reporting_currency import RateLookup, Reporting, report_lines
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from app.ledger.validation import (
    AccountRef,
    Prepared,
    PreparedLine,
    check_external_id,
    check_key,
    check_memo,
    check_not_locked,
    prepare,
    request_hash,
)


@dataclass
class Tenant:
    """The tenant row a batch is checked against and numbered from."""

    id: int
    lock_date: dt.date | None
    base_currency: str
    journal_prefix: str
    entry_seq: int


@dataclass(frozen=True)
class New:
    """An entry that passed every check and will be written."""

    prepared: Prepared
    journal_id: int
    source: str
    event_type: str
    metadata: Mapping[str, Any] | None
    idempotency_key: str | None = None
    # The (scope, key) its idempotency record claims: its key's, or its external id's.
    claim: tuple[str, str] | None = None
    request_hash: str | None = None
    reversal_of_id: int | None = None
    external_id: str | None = None
    reporting: Reporting | None = None
    # The referenced attachment: its id and filename.
    attachment: tuple[int, str] | None = None
    # A hold (docs/holds.md): written PENDING, it moves only the pending totals.
    hold: bool = False
    expires_at: dt.datetime | None = None
    # Balance conditions checked under the lock (conditions.py).
    conditions: tuple[Condition, ...] = ()


# What became of one input: written (a New), a replay of a stored entry (its id),
# a replay of an entry written earlier in the same batch (that New), or refused.
Fate = New | int | tuple[New] | LedgerError

# A (scope, key) claim -> the request hash and the entry claiming it in this batch.
Claims = dict[tuple[str, str], tuple[str, New]]


@dataclass(frozen=True)
class Checked:
    """One input checked before the lock: its request hash, and its entry or why not."""

    data: EntryInput
    digest: str | None
    key_error: LedgerError | None
    outcome: New | LedgerError
    claim: tuple[str, str] | None = None  # set with ``digest``


@dataclass(frozen=True)
class Named:
    """What a batch's entries name beside accounts, read once per batch."""

    by_code: Mapping[str, int]  # journals named by code: their ids
    code_of: Mapping[int, str]  # journals named by id: their codes
    attachments: Mapping[int, str]  # attachments named by id: their filenames


# ---------------------------------------------------------------- before the lock


def check(
    data: EntryInput,
    tenant: Tenant,
    by_code: Mapping[str, AccountRef],
    by_id: Mapping[int, AccountRef],
    named: Named,
    rate_of: RateLookup,
) -> Checked:
    """Everything about one input that needs no lock; a refusal is kept, not raised."""
    metadata = data.metadata
    if metadata and data.source == GRAPHQL_SOURCE:
        # A client's metadata, checked (and its numbers made exact) before it is hashed.
        try:
            metadata = check_metadata(metadata)
        except LedgerError as error:
            return Checked(data, None, None, error)
    digest = key_error = claim = None
    if data.idempotency_key is not None or data.external_id is not None:
        try:
            claim = claim_of(data)
            digest = request_hash(data, metadata)
        except LedgerError as error:
            key_error = error
            claim = None
    outcome: New | LedgerError
    try:
        default_journal = DEFAULT_JOURNAL_CODE
        if data.journal_id is not None and data.journal_code is None:
            journal = named.code_of.get(data.journal_id)
            if journal is None:  # another tenant's journal too: ids are never told apart
                raise NotFound(f"journal {data.journal_id} does not exist", field="journalId")
            default_journal = journal
        if data.hold and data.accrual_date is not None:
            raise BadInput("a hold cannot be scheduled: leave accrualDate out", field="accrualDate")
        if data.hold and data.reporting_currency is not None:
            raise BadInput(
                "a hold takes no reporting currency (a partial post would change its amounts)",
                field="reportingCurrency",
            )
        prepared = prepare(
            data,
            base_currency=tenant.base_currency,
            lock_date=tenant.lock_date,
            by_code=by_code,
            by_id=by_id,
            default_journal=default_journal,
        )
        journal_id = named.by_code.get(prepared.journal_code)
        if data.journal_id is not None:
            journal_id = data.journal_id
        elif journal_id is None:
            raise BadInput(f"journal {prepared.journal_code} does not exist", field="journalCode")
        attachment = None
        if data.attachment_id is not None:
            filename = named.attachments.get(data.attachment_id)
            if filename is None:
                raise NotFound(
                    f"attachment {data.attachment_id} does not exist", field="attachmentId"
                )
            attachment = (data.attachment_id, filename)
        conditions = prepare_conditions(data.conditions, by_code) if data.conditions else ()
        outcome = New(
            prepared=prepared,
            journal_id=journal_id,
            source=data.source,
            event_type=data.event_type,
            metadata=metadata,
            idempotency_key=data.idempotency_key,
            claim=claim,
            request_hash=digest,
            external_id=data.external_id,
            reporting=reporting_of(prepared, rate_of),
            attachment=attachment,
            hold=data.hold,
            expires_at=data.expires_at,
            conditions=conditions,
        )
    except LedgerError as error:
        outcome = error
    return Checked(data, digest, key_error, outcome, claim)


def claim_of(data: EntryInput) -> tuple[str, str] | None:
    """The (scope, key) the entry's idempotency record claims, if it has one."""
    if data.external_id is not None:
        if data.idempotency_key is not None:
            raise BadInput(
                "give an externalId or an idempotencyKey, not both: "
                "the external id is the entry's idempotency key",
                field="externalId",
            )
        return EXTERNAL_SCOPE, check_external_id(data.external_id)
    if data.idempotency_key is not None:
        return data.idempotency_scope, check_key(data.idempotency_key)
    return None


def reporting_of(prepared: Prepared, rate_of: RateLookup) -> Reporting | None:
    """The entry's amounts in its reporting currency, at the rates of its date."""
    quote = prepared.reporting_currency
    if quote is None:
        return None
    rate = rate_of(prepared.currency, quote, prepared.date)
    rates = {prepared.currency: rate.value}
    for line in prepared.lines:
        if line.currency not in rates and line.currency != quote:
            rates[line.currency] = rate_of(line.currency, quote, prepared.date).value
    amounts = report_lines(
        [(line.currency, line.debit_minor, line.credit_minor) for line in prepared.lines],
        quote,
        rates,
    )
    return Reporting(quote, rate.value, rate.source, rate.effective, amounts)


# ---------------------------------------------------------------- under the lock


class Decisions:
    """One tenant's part of a batch under its lock, against its keys and balances as read
    under that lock (``stored``: the records of the batch's claims; ``totals``: the
    running balances of its accounts; ``limited``: the limits of its limited accounts;
    ``pending``: the pending totals of open holds on its accounts)."""

    def __init__(
        self,
        tenant: Tenant,
        today: dt.date,
        stored: Mapping[tuple[str, str], tuple[str, int | None]],
        totals: Totals,
        limited: LimitedAccounts | None = None,
        pending: Totals | None = None,
    ) -> None:
        self.tenant = tenant
        self.today = today
        self.stored = stored
        self.totals = totals
        self.limited = limited or {}
        self.pending = pending if pending is not None else {}
        self.claimed: Claims = {}

    def decide(self, item: Checked, claims: Claims, deltas: Totals, held: Totals) -> Fate:
        """What to do with ``item``; its key claim and movements go to ``claims`` and
        ``deltas`` (``held`` for a hold: what it adds to the pending totals).

        The key comes first: a replay returns the original entry even if the input
        would not pass the checks any more (an account deactivated since, say).
        """
        data = item.data
        if item.key_error is not None:
            raise item.key_error
        pair = item.claim
        if pair is not None:
            earlier = self.stored.get(pair)
            if earlier is not None:
                stored_hash, entry_id = earlier
                check_replay(data, pair, item.digest == stored_hash and entry_id is not None)
                assert entry_id is not None
                return entry_id
            in_batch = claims.get(pair) or self.claimed.get(pair)
            if in_batch is not None:
                check_replay(data, pair, item.digest == in_batch[0])
                return (in_batch[1],)
        new = item.outcome
        if isinstance(new, LedgerError):
            raise new
        # The lock date may have moved since the plan.
        check_not_locked(new.prepared.date, self.tenant.lock_date)
        if new.prepared.accrual_date is not None:
            check_not_locked(new.prepared.accrual_date, self.tenant.lock_date, "accrualDate")
            if new.prepared.accrual_date > self.today:
                # Scheduled: it moves no balance now (post_due checks its totals then).
                check_conditions(new.conditions, (self.totals, deltas), (self.pending, held))
                if pair is not None and item.digest is not None:
                    claims[pair] = (item.digest, new)
                return new
        lines = new.prepared.lines
        moved = movement(lines)
        check_totals(moved, self.totals, deltas, lines)
        pending = self.pending
        if held:
            pending = {pair: list(total) for pair, total in pending.items()}
            add_totals(pending, held)
        if new.hold:
            check_totals(moved, pending, {}, lines)
        check_limits(moved, self.totals, deltas, lines, self.limited, pending)
        if new.conditions:
            if new.hold:
                check_conditions(new.conditions, (self.totals, deltas), (pending, moved))
            else:
                check_conditions(new.conditions, (self.totals, deltas, moved), (pending,))
        add_totals(held if new.hold else deltas, moved)
        if pair is not None and item.digest is not None:
            claims[pair] = (item.digest, new)
        return new

    def accept(self, claims: Claims, deltas: Totals, held: Totals) -> None:
        """Keeps the claims and movements of a request that is written."""
        self.claimed.update(claims)
        add_totals(self.totals, deltas)
        add_totals(self.pending, held)


# Told of each new entry with the batch's movements so far (this entry's included).
Watcher = Callable[[New, Totals, Totals], None]


def decide_request(
    decisions: Decisions,
    request: Request,
    checked: Sequence[Checked],
    watch: Watcher | None = None,
) -> list[Fate]:
    """The fate of each input of ``request``: all refused when it is atomic and one is.

    ``watch`` (dry runs) sees each new entry with the request's posted and pending
    movements up to it, which, added to ``decisions``' totals, are the balances it leaves.
    """
    claims: Claims = {}
    deltas: Totals = {}
    held: Totals = {}
    decided: list[Fate] = []
    for item in checked:
        try:
            fate = decisions.decide(item, claims, deltas, held)
            if watch is not None and isinstance(fate, New):
                watch(fate, deltas, held)
            decided.append(fate)
        except LedgerError as error:
            decided.append(error)
            if request.atomic:
                break
    failed = next((i for i, fate in enumerate(decided) if isinstance(fate, LedgerError)), None)
    if request.atomic and failed is not None:
        return _atomic_failure(len(request.inputs), failed, decided[failed])
    # Not atomic: each input stands alone; the refused ones added no claim or movement.
    decisions.accept(claims, deltas, held)
    return decided


def _atomic_failure(count: int, failed: int, error: Fate) -> list[Fate]:
    assert isinstance(error, LedgerError)
    return [
        error
        if index == failed
        else BadInput(f"not posted: the batch is atomic and inputs.{failed} failed")
        for index in range(count)
    ]


def check_replay(data: EntryInput, pair: tuple[str, str], same: bool) -> None:
    """Refuses a key or external id used before, unless the input may replay and is the same."""
    scope, key = pair
    field, what = (
        ("externalId", "external id") if scope == EXTERNAL_SCOPE else ("idempotencyKey", "key")
    )
    if not data.replay_allowed:
        raise Conflict(f"{what} {key!r} was already used", field=field)
    if not same:
        label = what if scope == EXTERNAL_SCOPE else "idempotency key"
        raise Conflict(f"{label} {key!r} was used for a different entry", field=field)


def movement(lines: Iterable[PreparedLine | LineView]) -> Totals:
    """What ``lines`` add to the running totals."""
    moved: Totals = {}
    for line in lines:
        total = moved.setdefault((line.account_id, line.currency), [0, 0])
        total[0] += line.debit_minor
        total[1] += line.credit_minor
    return moved


def add_totals(into: Totals, moved: Totals) -> None:
    for pair, (debit, credit) in moved.items():
        total = into.setdefault(pair, [0, 0])
        total[0] += debit
        total[1] += credit


def check_totals(
    moved: Totals,
    totals: Totals,
    deltas: Totals,
    lines: Sequence[PreparedLine] | Sequence[LineView],
) -> None:
    """Refuses an entry that would take a running total past 2^63-1 minor units.

    Per-day totals are parts of the running totals, so checking these is enough.
    """
    for pair, (debit, credit) in moved.items():
        base = totals.get(pair, (0, 0))
        pending = deltas.get(pair, (0, 0))
        if base[0] + pending[0] + debit > MAX_MINOR or base[1] + pending[1] + credit > MAX_MINOR:
            account_id, currency = pair
            code = next(line.account_code for line in lines if line.account_id == account_id)
            raise BadInput(
                f"the entry would take the {currency} balance of account {code} "
                f"past {MAX_MINOR} minor units",
                field="lines",
            )


def outcome(
    fate: Fate, written: Mapping[int, EntryView], stored: Mapping[int, EntryView]
) -> BulkItem:
    """The answer to one input: ``written`` holds new entries by ``id()`` of their New,
    ``stored`` the entries replayed by id."""
    if isinstance(fate, LedgerError):
        return BulkItem(error=fate)
    if isinstance(fate, New):
        return BulkItem(result=PostResult(written[id(fate)]))
    if isinstance(fate, tuple):
        return BulkItem(result=PostResult(written[id(fate[0])], replayed=True))
    view = stored.get(fate)
    if view is None:  # the key's entry is gone: cannot happen while entries are never deleted
        return BulkItem(error=Conflict("the idempotency key's entry no longer exists"))
    return BulkItem(result=PostResult(view, replayed=True))


# ---------------------------------------------------------------- numbering, scheduling


def entry_number(journal_prefix: str, date: dt.date, seq: int) -> str:
    """An entry's number: the tenant's prefix, the entry's date, the tenant's counter."""
    return f"{journal_prefix}-{date.isoformat()}-{seq:04d}"


def is_scheduled(accrual_date: dt.date | None, today: dt.date | None) -> bool:
    """An entry accruing after today is written SCHEDULED: no balance, no event until due."""
    return accrual_date is not None and today is not None and accrual_date > today


def due_to_post(
    views: Sequence[EntryView],
    lock_date: dt.date | None,
    totals: Totals,
    limited: LimitedAccounts | None = None,
    pending: Totals | None = None,
) -> tuple[list[EntryView], list[tuple[EntryView, LedgerError]]]:
    """The due scheduled entries that may post now, and those that stay scheduled (their
    date locked meanwhile, a total past 2^63-1, an account's limits) with why."""
    deltas: Totals = {}
    postable: list[EntryView] = []
    refused: list[tuple[EntryView, LedgerError]] = []
    for view in views:
        try:
            check_not_locked(view.posting_date, lock_date, "accrualDate")
            moved = movement(view.lines)
            check_totals(moved, totals, deltas, view.lines)
            check_limits(moved, totals, deltas, view.lines, limited or {}, pending)
        except LedgerError as error:
            refused.append((view, error))
            continue
        add_totals(deltas, moved)
        postable.append(view)
    return postable, refused


# ---------------------------------------------------------------- reversals


def reversal_date(
    original: EntryView, on: dt.date | None, today: dt.date, lock_date: dt.date | None
) -> dt.date:
    """The date of ``original``'s reversal: ``on``, by default the later of its posting date
    and today; refused for a reversal, a scheduled entry or a date before the original's."""
    entry_id = original.id
    if original.reversal_of_id is not None:
        raise Conflict(
            f"entry {entry_id} is itself a reversal; post a new entry instead", field="id"
        )
    if original.status in HOLD_STATUSES:
        raise Conflict(
            f"entry {entry_id} is a hold, {original.status}: only posted entries can be reversed",
            field="id",
        )
    if original.status == SCHEDULED:
        raise BadInput(
            f"entry {entry_id} is scheduled to post on {original.posting_date.isoformat()}: "
            "it can be reversed once it has posted",
            field="id",
        )
    posted_on = original.posting_date
    on = on or max(posted_on, today)
    if on < posted_on:
        raise BadInput("a reversal cannot be dated before the entry it reverses", field="date")
    check_not_locked(on, lock_date)
    return on


def mirror(original: EntryView, on: dt.date, memo: str | None) -> Prepared:
    """``original``'s lines with their sides swapped, dated ``on``."""
    return Prepared(
        date=on,
        memo=check_memo(memo) if memo is not None else f"Reversal of {original.number}",
        currency=original.currency,
        journal_code=original.journal_code,
        lines=[
            PreparedLine(
                line.account_id,
                line.account_code,
                line.currency,
                line.credit_minor,
                line.debit_minor,
                line.description,
            )
            for line in original.lines
        ],
    )


def reversal(original: EntryView, prepared: Prepared, journal_id: int) -> New:
    """The reversal entry of ``original``: its ``mirror``, in its journal and reporting."""
    return New(
        prepared=prepared,
        journal_id=journal_id,
        source=original.source,
        event_type="journal_entry.reversed",
        metadata=None,
        reversal_of_id=original.id,
        reporting=_mirrored_reporting(original),
    )


def _mirrored_reporting(original: EntryView) -> Reporting | None:
    """The original's reporting amounts, sides swapped, at its rate: a reversal undoes
    exactly what the entry reported."""
    if (
        original.reporting_currency is None
        or original.exchange_rate is None
        or original.rate_source is None
        or original.rate_date is None
    ):
        return None
    return Reporting(
        currency=original.reporting_currency,
        rate=Decimal(original.exchange_rate),
        source=original.rate_source,
        rate_date=original.rate_date,
        lines=[
            (line.reporting_credit_minor or 0, line.reporting_debit_minor or 0)
            for line in original.lines
        ],
    )
