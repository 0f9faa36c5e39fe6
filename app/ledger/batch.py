"""Set-based posting: a batch of entries in one transaction, in a constant number of statements.

Every posting of the ledger is written here, whoever asked for it (GraphQL,
REST dialects, Pismo events, imports, reversals), in two phases per tenant:

1. ``plan_batch``, no lock: read the tenant, accounts and journals the batch
   names (one statement each) and check every entry in memory, each on its own,
   so one bad entry never fails its neighbours (unless its caller asked for all
   or none); hash the idempotent requests;
2. ``commit_batch``: lock the tenant row (``SELECT .. FOR UPDATE``; SQLite's
   write lock is global), read the batch's idempotency keys and balances as they
   are now (one statement each), decide replays, conflicts and overflow, number
   the entries with one update, insert entries, lines, idempotency records and
   events with one multi-row statement each, and add the lines to the running
   balances and per-day movements aggregated per (account, currency[, day]).

``write_batch`` is both in one transaction; group commit on PostgreSQL plans one
batch while the previous one commits.

Locks are taken in one order by every writer: tenant rows by id, then
idempotency keys sorted, then balance rows sorted. Keys and balances belong to
a tenant and are only written while its row is locked, so writers cannot
deadlock; overflow past 2^63-1 is caught in memory against the balances read
under that lock.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, select, update
from sqlmodel import SQLModel

from app.ledger.entries import (
    EXTERNAL_SCOPE,
    POSTED,
    REVERSED,
    SCHEDULED,
    BulkItem,
    EntryInput,
    EntryView,
    LineView,
    PostResult,
    Request,
)
from app.ledger.errors import BadInput, Conflict, LedgerError, NotFound
from app.ledger.fx import Rate, resolve_rate
from app.ledger.money import MAX_MINOR, format_minor
from app.ledger.outbox import announce
from app.ledger.reporting_currency import Reporting, report_lines, same_currency, usable
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from app.ledger.text import storable
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
from app.runtime.metrics import POSTED_ENTRIES, POSTING_BATCH_ENTRIES
from db.bulk import (
    add_to_totals,
    allocate_ids,
    db_date,
    db_datetime,
    find_keys,
    insert_rows,
    let_others_run,
)
from db.tables import utcnow

logger = logging.getLogger("ledgerql.batch")
# Planning yields to the event loop this often, so the batch committing meanwhile
# is not kept from sending its next statement.
_PLAN_SLICE = 100
_IDS_PER_QUERY = 10_000

_tables = SQLModel.metadata.tables
TENANTS: Table = _tables["tenants"]
ACCOUNTS: Table = _tables["accounts"]
JOURNALS: Table = _tables["journals"]
ENTRIES: Table = _tables["journal_entries"]
LINES: Table = _tables["journal_lines"]
BALANCES: Table = _tables["account_balances"]
ATTACHMENTS: Table = _tables["attachments"]

ENTRY_COLUMNS = (
    "id",
    "tenant_id",
    "journal_id",
    "number",
    "date",
    "memo",
    "currency",
    "status",
    "source",
    "idempotency_key",
    "reversal_of_id",
    "reversed_by_id",
    "metadata_json",
    "created_at",
)
# Written only in batches where an entry has one of them (else left NULL): every bound
# value costs SQLite's executemany time, and most batches have none.
ENTRY_EXTRA_COLUMNS = (
    "external_id",
    "accrual_date",
    "reporting_currency",
    "exchange_rate",
    "rate_source",
    "rate_date",
)
_NO_EXTRAS = (None,) * len(ENTRY_EXTRA_COLUMNS)
# Likewise written only in batches where an entry references an attachment.
ENTRY_ATTACHMENT_COLUMNS = ("attachment_id",)
LINE_COLUMNS = (
    "id",
    "entry_id",
    "tenant_id",
    "account_id",
    "date",
    "currency",
    "debit_minor",
    "credit_minor",
    "description",
    "line_no",
)
LINE_REPORTING_COLUMNS = ("reporting_debit_minor", "reporting_credit_minor")
KEY_COLUMNS = ("tenant_id", "scope", "key", "request_hash", "entry_id", "created_at")
EVENT_COLUMNS = ("tenant_id", "type", "entry_id", "payload_json", "created_at")

# Statements built once; SQLAlchemy caches their compiled form.
_READ_TENANT = select(
    TENANTS.c.id,
    TENANTS.c.lock_date,
    TENANTS.c.base_currency,
    TENANTS.c.journal_prefix,
    TENANTS.c.entry_seq,
).where(TENANTS.c.id == bindparam("tenant_id"))
_LOCK_TENANT = _READ_TENANT.with_for_update()
_SET_SEQ = (
    update(TENANTS).where(TENANTS.c.id == bindparam("tenant_id")).values(entry_seq=bindparam("seq"))
)
_ACCOUNT_COLUMNS = (ACCOUNTS.c.id, ACCOUNTS.c.code, ACCOUNTS.c.currency, ACCOUNTS.c.deactivated_at)
_ACCOUNTS_BY_CODE = select(*_ACCOUNT_COLUMNS).where(
    ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
    ACCOUNTS.c.code.in_(bindparam("codes", expanding=True)),
)
_ACCOUNTS_BY_ID = select(*_ACCOUNT_COLUMNS).where(
    ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
    ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)),
)
_JOURNALS = select(JOURNALS.c.code, JOURNALS.c.id).where(
    JOURNALS.c.tenant_id == bindparam("tenant_id"),
    JOURNALS.c.code.in_(bindparam("codes", expanding=True)),
)
_JOURNALS_BY_ID = select(JOURNALS.c.id, JOURNALS.c.code).where(
    JOURNALS.c.tenant_id == bindparam("tenant_id"),
    JOURNALS.c.id.in_(bindparam("ids", expanding=True)),
)
_ATTACHMENTS_BY_ID = select(ATTACHMENTS.c.id, ATTACHMENTS.c.filename).where(
    ATTACHMENTS.c.tenant_id == bindparam("tenant_id"),
    ATTACHMENTS.c.id.in_(bindparam("ids", expanding=True)),
)
_BALANCES = select(
    BALANCES.c.account_id, BALANCES.c.currency, BALANCES.c.debit_minor, BALANCES.c.credit_minor
).where(BALANCES.c.account_id.in_(bindparam("ids", expanding=True)))


@dataclass
class _Tenant:
    id: int
    lock_date: dt.date | None
    base_currency: str
    journal_prefix: str
    entry_seq: int


@dataclass(frozen=True)
class _New:
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


# What became of one input: written (a _New), a replay of a stored entry (its id),
# a replay of an entry written earlier in the same batch (that _New), or refused.
_Fate = _New | int | tuple[_New] | LedgerError

_Totals = dict[tuple[int, str], list[int]]


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Automatic garbage collection off while batches are written.

    A batch allocates a few dozen short-lived objects per entry and no cycles; the
    collector ran hundreds of times per batch and took a fifth of its time
    (measured: 180 -> 145 us per 4-line entry). A counter keeps it off while
    batches overlap (the writer thread and a dialect's own transaction) and puts
    it back as it was when the last one ends.
    """
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def write_batch(conn: Connection, requests: Sequence[Request]) -> list[list[BulkItem]]:
    """Posts every request of the batch; one list of outcomes per request, in order."""
    return commit_batch(conn, plan_batch(conn, requests))


@dataclass(frozen=True)
class _Checked:
    """One input checked before the lock: its request hash, and its entry or why not."""

    data: EntryInput
    digest: str | None
    key_error: LedgerError | None
    outcome: _New | LedgerError
    claim: tuple[str, str] | None = None  # set with ``digest``


@dataclass(frozen=True)
class Plan:
    """A batch checked without locks, for ``commit_batch``; ``checked`` follows ``requests``."""

    requests: Sequence[Request]
    checked: list[list[_Checked]]


def plan_batch(conn: Connection, requests: Sequence[Request]) -> Plan:
    """Everything about a batch that needs no lock: accounts, journals, every check, the hashes.

    It may run while another batch commits (the pipeline of group commit on
    PostgreSQL); what may change meanwhile (keys, balances, the lock date) is
    read again under the tenant's lock by ``commit_batch``.
    """
    with _collector_paused():
        checked: list[list[_Checked]] = [[] for _ in requests]
        for tenant_id, indexes in _by_tenant(requests).items():
            tenant = _read_tenant(conn, tenant_id, lock=False)
            if tenant is None:  # commit_batch answers NOT_FOUND
                continue
            inputs = [data for i in indexes for data in requests[i].inputs]
            by_code, by_id = _accounts(conn, tenant_id, inputs)
            journals = _Journals(
                _journals(
                    conn,
                    tenant_id,
                    {
                        data.journal_code or DEFAULT_JOURNAL_CODE
                        for data in inputs
                        if data.journal_id is None
                    },
                ),
                _journals_by_id(conn, tenant_id, {d.journal_id for d in inputs if d.journal_id}),
                _attachments(conn, tenant_id, {d.attachment_id for d in inputs if d.attachment_id}),
            )
            rate_of = _rates(conn, tenant_id)
            done = 0
            for i in indexes:
                for data in requests[i].inputs:
                    checked[i].append(_check(data, tenant, by_code, by_id, journals, rate_of))
                    done += 1
                    if done % _PLAN_SLICE == 0:
                        let_others_run()
        return Plan(requests, checked)


def commit_batch(conn: Connection, plan: Plan) -> list[list[BulkItem]]:
    """Writes a planned batch under the locks; one list of outcomes per request, in order."""
    with _collector_paused():
        requests = plan.requests
        outcomes: list[list[BulkItem]] = [[] for _ in requests]
        today = server_today()
        for tenant_id, indexes in _by_tenant(requests).items():  # tenant rows in id order
            written = _commit_tenant(
                conn, tenant_id, [(requests[i], plan.checked[i]) for i in indexes], today
            )
            for index, items in zip(indexes, written, strict=True):
                outcomes[index] = items
        return outcomes


def _by_tenant(requests: Sequence[Request]) -> dict[int, list[int]]:
    """Indexes of the requests per tenant, tenants in id order: the order their rows are locked."""
    indexes: dict[int, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        indexes[request.tenant_id].append(index)
    return {tenant_id: indexes[tenant_id] for tenant_id in sorted(indexes)}


def _read_tenant(conn: Connection, tenant_id: int, *, lock: bool) -> _Tenant | None:
    row = conn.execute(_LOCK_TENANT if lock else _READ_TENANT, {"tenant_id": tenant_id}).first()
    if row is None:
        return None
    return _Tenant(row.id, row.lock_date, row.base_currency, row.journal_prefix, row.entry_seq)


def server_today() -> dt.date:
    """The server's date: an accrual after it is scheduled, one on or before it posts."""
    return dt.date.today()


_RateOf = Callable[[str, str, dt.date], Rate]


def _rates(conn: Connection, tenant_id: int) -> _RateOf:
    """``fx.resolve_rate`` for one tenant, asked once per (currency, reporting, date)."""
    known: dict[tuple[str, str, dt.date], Rate | LedgerError] = {}

    def rate_of(base: str, quote: str, on: dt.date) -> Rate:
        found = known.get((base, quote, on))
        if found is None:
            try:
                found = usable(
                    same_currency(base, on)
                    if base == quote
                    else resolve_rate(conn, tenant_id, base, quote, on)
                )
            except LedgerError as error:
                found = error
            known[(base, quote, on)] = found
        if isinstance(found, LedgerError):
            # A fresh error per entry: LedgerError.at changes the error it is given.
            raise type(found)(found.message, field=found.field)
        return found

    return rate_of


def _reporting(prepared: Prepared, rate_of: _RateOf) -> Reporting | None:
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


def _claim(data: EntryInput) -> tuple[str, str] | None:
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


@dataclass(frozen=True)
class _Journals:
    """What a batch's entries name beside accounts, read once per batch."""

    by_code: Mapping[str, int]
    code_of: Mapping[int, str]  # journals named by id: their codes
    attachments: Mapping[int, str]  # attachments named by id: their filenames


def _check(
    data: EntryInput,
    tenant: _Tenant,
    by_code: Mapping[str, AccountRef],
    by_id: Mapping[int, AccountRef],
    journals: _Journals,
    rate_of: _RateOf,
) -> _Checked:
    digest = key_error = claim = None
    if data.idempotency_key is not None or data.external_id is not None:
        try:
            claim = _claim(data)
            digest = request_hash(data)
        except LedgerError as error:
            key_error = error
            claim = None
    outcome: _New | LedgerError
    try:
        default_journal = DEFAULT_JOURNAL_CODE
        if data.journal_id is not None and data.journal_code is None:
            named = journals.code_of.get(data.journal_id)
            if named is None:  # another tenant's journal too: ids are never told apart
                raise NotFound(f"journal {data.journal_id} does not exist", field="journalId")
            default_journal = named
        prepared = prepare(
            data,
            base_currency=tenant.base_currency,
            lock_date=tenant.lock_date,
            by_code=by_code,
            by_id=by_id,
            default_journal=default_journal,
        )
        journal_id = journals.by_code.get(prepared.journal_code)
        if data.journal_id is not None:
            journal_id = data.journal_id
        elif journal_id is None:
            raise BadInput(f"journal {prepared.journal_code} does not exist", field="journalCode")
        attachment = None
        if data.attachment_id is not None:
            filename = journals.attachments.get(data.attachment_id)
            if filename is None:
                raise NotFound(
                    f"attachment {data.attachment_id} does not exist", field="attachmentId"
                )
            attachment = (data.attachment_id, filename)
        outcome = _New(
            prepared=prepared,
            journal_id=journal_id,
            source=data.source,
            event_type=data.event_type,
            metadata=data.metadata,
            idempotency_key=data.idempotency_key,
            claim=claim,
            request_hash=digest,
            external_id=data.external_id,
            reporting=_reporting(prepared, rate_of),
            attachment=attachment,
        )
    except LedgerError as error:
        outcome = error
    return _Checked(data, digest, key_error, outcome, claim)


class _Commit:
    """One tenant's part of a batch under its lock: keys and balances as they are now."""

    def __init__(
        self, conn: Connection, tenant: _Tenant, checked: Iterable[_Checked], today: dt.date
    ) -> None:
        self.tenant = tenant
        self.today = today
        checked = list(checked)
        self.stored = _stored_keys(
            conn, tenant.id, {item.claim for item in checked if item.claim is not None}
        )
        self.totals = _balances(
            conn,
            {
                line.account_id
                for item in checked
                if isinstance(item.outcome, _New)
                for line in item.outcome.prepared.lines
            },
        )
        self.claimed: dict[tuple[str, str], tuple[str, _New]] = {}

    def decide(
        self, item: _Checked, claims: dict[tuple[str, str], tuple[str, _New]], deltas: _Totals
    ) -> _Fate:
        """What to do with ``item``; its key claim and movements go to ``claims`` and ``deltas``.

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
                _check_replay(data, pair, item.digest == stored_hash and entry_id is not None)
                assert entry_id is not None
                return entry_id
            in_batch = claims.get(pair) or self.claimed.get(pair)
            if in_batch is not None:
                _check_replay(data, pair, item.digest == in_batch[0])
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
                if pair is not None and item.digest is not None:
                    claims[pair] = (item.digest, new)
                return new
        movement = _movement(new.prepared.lines)
        _check_totals(movement, self.totals, deltas, new.prepared.lines)
        for pair_totals, (debit, credit) in movement.items():
            total = deltas.setdefault(pair_totals, [0, 0])
            total[0] += debit
            total[1] += credit
        if pair is not None and item.digest is not None:
            claims[pair] = (item.digest, new)
        return new

    def accept(self, claims: dict[tuple[str, str], tuple[str, _New]], deltas: _Totals) -> None:
        self.claimed.update(claims)
        for pair, (debit, credit) in deltas.items():
            total = self.totals.setdefault(pair, [0, 0])
            total[0] += debit
            total[1] += credit


def _check_replay(data: EntryInput, pair: tuple[str, str], same: bool) -> None:
    scope, key = pair
    field, what = (
        ("externalId", "external id") if scope == EXTERNAL_SCOPE else ("idempotencyKey", "key")
    )
    if not data.replay_allowed:
        raise Conflict(f"{what} {key!r} was already used", field=field)
    if not same:
        label = what if scope == EXTERNAL_SCOPE else "idempotency key"
        raise Conflict(f"{label} {key!r} was used for a different entry", field=field)


def _movement(lines: Iterable[PreparedLine | LineView]) -> _Totals:
    movement: _Totals = {}
    for line in lines:
        total = movement.setdefault((line.account_id, line.currency), [0, 0])
        total[0] += line.debit_minor
        total[1] += line.credit_minor
    return movement


def _check_totals(
    movement: _Totals,
    totals: _Totals,
    deltas: _Totals,
    lines: Sequence[PreparedLine] | Sequence[LineView],
) -> None:
    """Refuses an entry that would take a running total past 2^63-1 minor units.

    Per-day totals are parts of the running totals, so checking these is enough.
    """
    for pair, (debit, credit) in movement.items():
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


def _commit_tenant(
    conn: Connection,
    tenant_id: int,
    planned: Sequence[tuple[Request, list[_Checked]]],
    today: dt.date,
) -> list[list[BulkItem]]:
    tenant = _read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        missing = NotFound(f"tenant {tenant_id} does not exist")
        return [[BulkItem(error=missing) for _ in request.inputs] for request, _ in planned]
    commit = _Commit(conn, tenant, [item for _, checked in planned for item in checked], today)
    fates: list[list[_Fate]] = []
    for request, checked in planned:
        claims: dict[tuple[str, str], tuple[str, _New]] = {}
        deltas: _Totals = {}
        decided: list[_Fate] = []
        for item in checked:
            try:
                decided.append(commit.decide(item, claims, deltas))
            except LedgerError as error:
                decided.append(error)
                if request.atomic:
                    break
        failed = next((i for i, fate in enumerate(decided) if isinstance(fate, LedgerError)), None)
        if request.atomic and failed is not None:
            fates.append(_atomic_failure(len(request.inputs), failed, decided[failed]))
            continue
        # Not atomic: each input stands alone; the refused ones added no claim or movement.
        commit.accept(claims, deltas)
        fates.append(decided)
    news = [fate for decided in fates for fate in decided if isinstance(fate, _New)]
    written = dict(zip(map(id, news), write_entries(conn, tenant, news, today), strict=True))
    stored_ids = sorted({fate for decided in fates for fate in decided if isinstance(fate, int)})
    stored = {view.id: view for view in load_views(conn, tenant_id, stored_ids)}
    return [[_outcome(fate, written, stored) for fate in decided] for decided in fates]


def _atomic_failure(count: int, failed: int, error: _Fate) -> list[_Fate]:
    assert isinstance(error, LedgerError)
    return [
        error
        if index == failed
        else BadInput(f"not posted: the batch is atomic and inputs.{failed} failed")
        for index in range(count)
    ]


def _outcome(fate: _Fate, written: dict[int, EntryView], stored: dict[int, EntryView]) -> BulkItem:
    if isinstance(fate, LedgerError):
        return BulkItem(error=fate)
    if isinstance(fate, _New):
        return BulkItem(result=PostResult(written[id(fate)]))
    if isinstance(fate, tuple):
        return BulkItem(result=PostResult(written[id(fate[0])], replayed=True))
    view = stored.get(fate)
    if view is None:  # the key's entry is gone: cannot happen while entries are never deleted
        return BulkItem(error=Conflict("the idempotency key's entry no longer exists"))
    return BulkItem(result=PostResult(view, replayed=True))


# ---------------------------------------------------------------- reads


def _stored_keys(
    conn: Connection, tenant_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, int | None]]:
    """The stored records of ``(scope, key)`` pairs."""
    found = {
        (scope, key): (request_hash, entry_id)
        for scope, key, request_hash, entry_id in find_keys(conn, tenant_id, sorted(keys))
    }
    return {pair: found[pair] for pair in keys if pair in found}


def _accounts(
    conn: Connection, tenant_id: int, inputs: Sequence[EntryInput]
) -> tuple[dict[str, AccountRef], dict[int, AccountRef]]:
    # A code no engine could store is left for ``prepare`` to refuse: PostgreSQL
    # would fail the whole query on a NUL.
    codes = {
        line.account_code
        for data in inputs
        for line in data.lines
        if line.account_code and storable(line.account_code)
    }
    ids = {
        line.account_id
        for data in inputs
        for line in data.lines
        if line.account_id is not None and not line.account_code
    }
    by_code: dict[str, AccountRef] = {}
    by_id: dict[int, AccountRef] = {}
    if codes:
        for row in conn.execute(
            _ACCOUNTS_BY_CODE, {"tenant_id": tenant_id, "codes": sorted(codes)}
        ):
            by_code[row.code] = _account_ref(row)
    if ids:
        for row in conn.execute(_ACCOUNTS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)}):
            by_id[row.id] = _account_ref(row)
    return by_code, by_id


def _account_ref(row: Any) -> AccountRef:
    return AccountRef(row.id, row.code, row.currency, row.deactivated_at is None)


def _journals(conn: Connection, tenant_id: int, codes: set[str]) -> dict[str, int]:
    wanted = sorted(code for code in codes if storable(code))  # the others: see _accounts
    if not wanted:
        return {}
    rows = conn.execute(_JOURNALS, {"tenant_id": tenant_id, "codes": wanted})
    return {row.code: row.id for row in rows}


def _journals_by_id(conn: Connection, tenant_id: int, ids: set[int]) -> dict[int, str]:
    """The codes of the tenant's journals among ``ids``; another tenant's are left out."""
    if not ids:
        return {}
    rows = conn.execute(_JOURNALS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)})
    return {row.id: row.code for row in rows}


def _attachments(conn: Connection, tenant_id: int, ids: set[int]) -> dict[int, str]:
    """The filenames of the tenant's attachments among ``ids``; another tenant's are left out."""
    if not ids:
        return {}
    rows = conn.execute(_ATTACHMENTS_BY_ID, {"tenant_id": tenant_id, "ids": sorted(ids)})
    return {row.id: row.filename for row in rows}


def _balances(conn: Connection, account_ids: set[int]) -> _Totals:
    if not account_ids:
        return {}
    rows = conn.execute(_BALANCES, {"ids": sorted(account_ids)})
    return {(row.account_id, row.currency): [row.debit_minor, row.credit_minor] for row in rows}


# ---------------------------------------------------------------- writes


def write_entries(
    conn: Connection, tenant: _Tenant, news: Sequence[_New], today: dt.date | None = None
) -> list[EntryView]:
    """Writes checked entries with their lines, keys, events and balances; their views, in order.

    The caller holds the tenant's lock and has checked every entry. An entry whose
    accrual date is after ``today`` is written SCHEDULED: its lines, number and key,
    but no balance, day movement or event (``post_due`` adds those when it posts).
    """
    if not news:
        return []
    seq = tenant.entry_seq
    conn.execute(_SET_SEQ, {"tenant_id": tenant.id, "seq": seq + len(news)})
    tenant.entry_seq = seq + len(news)
    entry_ids = allocate_ids(conn, "journal_entries", len(news))
    line_ids = iter(allocate_ids(conn, "journal_lines", sum(len(n.prepared.lines) for n in news)))
    created_at = utcnow()
    created_db = db_datetime(conn, created_at)
    entry_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    key_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    views: list[EntryView] = []
    movements = _Movements()
    balances, days = movements.balances, movements.days
    extras = any(
        n.external_id is not None or n.prepared.accrual_date is not None or n.reporting is not None
        for n in news
    )
    reported_lines = extras and any(n.reporting is not None for n in news)
    attached = any(n.attachment is not None for n in news)
    for offset, (new, entry_id) in enumerate(zip(news, entry_ids, strict=True), start=1):
        prepared = new.prepared
        number = f"{tenant.journal_prefix}-{prepared.date.isoformat()}-{seq + offset:04d}"
        accrual = prepared.accrual_date
        scheduled = accrual is not None and today is not None and accrual > today
        status = SCHEDULED if scheduled else POSTED
        posting_date = accrual or prepared.date
        on = db_date(conn, posting_date)
        metadata_json = _json(new.metadata) if new.metadata else None
        reporting = new.reporting
        row: tuple[Any, ...] = (
            entry_id,
            tenant.id,
            new.journal_id,
            number,
            db_date(conn, prepared.date) if accrual is not None else on,
            prepared.memo,
            prepared.currency,
            status,
            new.source,
            new.idempotency_key,
            new.reversal_of_id,
            None,
            metadata_json,
            created_db,
        )
        if extras:
            row += (
                new.external_id,
                on if accrual is not None else None,
                *(
                    (
                        reporting.currency,
                        reporting.rate_text,
                        reporting.source,
                        db_date(conn, reporting.rate_date),
                    )
                    if reporting is not None
                    else _NO_EXTRAS[2:]
                ),
            )
        if attached:
            row += (new.attachment[0] if new.attachment is not None else None,)
        entry_rows.append(row)
        lines: list[LineView] = []
        for line_no, line in enumerate(prepared.lines):
            line_id = next(line_ids)
            line_row: tuple[Any, ...] = (
                line_id,
                entry_id,
                tenant.id,
                line.account_id,
                on,
                line.currency,
                line.debit_minor,
                line.credit_minor,
                line.description,
                line_no,
            )
            if reporting is None:
                if reported_lines:
                    line_row += (None, None)
                view_line = LineView(
                    line_id,
                    line.account_id,
                    line.account_code,
                    line.currency,
                    line.debit_minor,
                    line.credit_minor,
                    line.description,
                    line_no,
                )
            else:
                reported = reporting.lines[line_no]
                line_row += reported
                view_line = LineView(
                    line_id,
                    line.account_id,
                    line.account_code,
                    line.currency,
                    line.debit_minor,
                    line.credit_minor,
                    line.description,
                    line_no,
                    *reported,
                )
            line_rows.append(line_row)
            lines.append(view_line)
            if not scheduled:
                balance = balances[(line.account_id, line.currency)]
                balance[0] += line.debit_minor
                balance[1] += line.credit_minor
                day = days[(line.account_id, line.currency, posting_date)]
                day[0] += line.debit_minor
                day[1] += line.credit_minor
        if new.claim is not None:
            scope, key = new.claim
            key_rows.append((tenant.id, scope, key, new.request_hash, entry_id, created_db))
        view = EntryView(
            id=entry_id,
            tenant_id=tenant.id,
            number=number,
            date=prepared.date,
            memo=prepared.memo,
            currency=prepared.currency,
            status=status,
            source=new.source,
            journal_code=prepared.journal_code,
            idempotency_key=new.idempotency_key,
            reversal_of_id=new.reversal_of_id,
            reversed_by_id=None,
            metadata=new.metadata,
            created_at=created_at,
            lines=lines,
            external_id=new.external_id,
            accrual_date=accrual,
            reporting_currency=reporting.currency if reporting is not None else None,
            exchange_rate=reporting.rate_text if reporting is not None else None,
            rate_source=reporting.source if reporting is not None else None,
            rate_date=reporting.rate_date if reporting is not None else None,
            journal_id=new.journal_id,
            attachment_id=new.attachment[0] if new.attachment is not None else None,
            attachment_filename=new.attachment[1] if new.attachment is not None else None,
        )
        views.append(view)
        if not scheduled:
            event_rows.append(
                (tenant.id, new.event_type, entry_id, _event_payload(view), created_db)
            )
    entry_columns: tuple[str, ...] = (
        ENTRY_COLUMNS + ENTRY_EXTRA_COLUMNS if extras else ENTRY_COLUMNS
    ) + (ENTRY_ATTACHMENT_COLUMNS if attached else ())
    line_columns = LINE_COLUMNS + LINE_REPORTING_COLUMNS if reported_lines else LINE_COLUMNS
    insert_rows(conn, "journal_entries", entry_columns, entry_rows)
    insert_rows(conn, "journal_lines", line_columns, line_rows)
    key_rows.sort(key=lambda row: (row[1], row[2]))  # keys in sorted order: the lock order
    insert_rows(conn, "idempotency_records", KEY_COLUMNS, key_rows)
    insert_rows(conn, "events", EVENT_COLUMNS, event_rows)
    if event_rows:
        announce(conn, tenant.id)
    movements.write(conn, tenant.id)
    POSTED_ENTRIES.inc(len(event_rows))  # one event per entry posted now (not scheduled)
    POSTING_BATCH_ENTRIES.observe(len(news))
    return views


class _Movements:
    """What a batch adds to the running balances and the per-day and per-month movements."""

    def __init__(self) -> None:
        self.balances: _Totals = defaultdict(lambda: [0, 0])
        self.days: dict[tuple[int, str, dt.date], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, on: dt.date, lines: Iterable[PreparedLine | LineView]) -> None:
        for line in lines:
            balance = self.balances[(line.account_id, line.currency)]
            balance[0] += line.debit_minor
            balance[1] += line.credit_minor
            day = self.days[(line.account_id, line.currency, on)]
            day[0] += line.debit_minor
            day[1] += line.credit_minor

    def write(self, conn: Connection, tenant_id: int) -> None:
        """One upsert per table, rows in sorted order (the lock order)."""
        balances, days = self.balances, self.days
        add_to_totals(
            conn,
            "account_balances",
            ("account_id", "currency"),
            ("bigint", "varchar"),
            [(*pair, tenant_id, *balances[pair]) for pair in sorted(balances)],
        )
        add_to_totals(
            conn,
            "balance_days",
            ("account_id", "currency", "day"),
            ("bigint", "varchar", "date"),
            [
                (
                    account_id,
                    currency,
                    db_date(conn, day),
                    tenant_id,
                    *days[(account_id, currency, day)],
                )
                for account_id, currency, day in sorted(days)
            ],
        )
        months: dict[tuple[int, str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
        for (account_id, currency, day), (debit, credit) in days.items():
            month = months[(account_id, currency, day.replace(day=1))]
            month[0] += debit
            month[1] += credit
        add_to_totals(
            conn,
            "balance_months",
            ("account_id", "currency", "month"),
            ("bigint", "varchar", "date"),
            [
                (account_id, currency, db_date(conn, month), tenant_id, *months[key])
                for key in sorted(months)
                for account_id, currency, month in [key]
            ],
        )


def _event_payload(view: EntryView) -> str:
    payload: dict[str, Any] = {
        "entry_id": view.id,
        "number": view.number,
        "date": view.date.isoformat(),
        "currency": view.currency,
        "source": view.source,
        "reversal_of_id": view.reversal_of_id,
        "metadata": view.metadata,
        "lines": [
            {
                # The journal line's id: Pismo's accounting_entry_id of a script's entry.
                "id": line.id,
                "account_code": line.account_code,
                "currency": line.currency,
                "debit": format_minor(line.debit_minor, line.currency),
                "credit": format_minor(line.credit_minor, line.currency),
            }
            for line in view.lines
        ],
    }
    if view.accrual_date is not None:
        payload["accrual_date"] = view.accrual_date.isoformat()
    return _json(payload)


def _json(document: object) -> str:
    """Compact JSON text; orjson, because encoding every event took a tenth of a posting."""
    try:
        return orjson.dumps(document, default=str).decode()
    except TypeError:  # an integer past 64 bits in vendor metadata: json takes any int
        return json.dumps(document, default=str, separators=(",", ":"))


# ---------------------------------------------------------------- reversals


def reverse(
    conn: Connection,
    tenant_id: int,
    entry_id: int,
    *,
    on: dt.date | None,
    memo: str | None,
    today: dt.date,
) -> EntryView:
    """Posts the mirror of ``entry_id`` and marks it REVERSED, under the same locks as posting."""
    tenant = _read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    found = load_views(conn, tenant_id, [entry_id])
    if not found:
        raise NotFound(f"journal entry {entry_id} does not exist", field="id")
    original = found[0]
    if original.reversal_of_id is not None:
        raise Conflict(
            f"entry {entry_id} is itself a reversal; post a new entry instead", field="id"
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
    check_not_locked(on, tenant.lock_date)
    claimed = conn.execute(
        update(ENTRIES)
        .where(ENTRIES.c.id == entry_id, ENTRIES.c.status == POSTED)
        .values(status=REVERSED)
        .returning(ENTRIES.c.id)
    ).first()
    if claimed is None:
        raise Conflict(f"entry {entry_id} is already reversed", field="id")
    prepared = Prepared(
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
    movement = _movement(prepared.lines)
    _check_totals(movement, _balances(conn, {pair[0] for pair in movement}), {}, prepared.lines)
    journal_id = _journals(conn, tenant_id, {original.journal_code})[original.journal_code]
    (view,) = write_entries(
        conn,
        tenant,
        [
            _New(
                prepared=prepared,
                journal_id=journal_id,
                source=original.source,
                event_type="journal_entry.reversed",
                metadata=None,
                reversal_of_id=entry_id,
                reporting=_mirrored_reporting(original),
            )
        ],
    )
    conn.execute(update(ENTRIES).where(ENTRIES.c.id == entry_id).values(reversed_by_id=view.id))
    return view


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


# ---------------------------------------------------------------- scheduled entries

_DUE_TENANTS = (
    select(ENTRIES.c.tenant_id)
    .distinct()
    .where(ENTRIES.c.status == SCHEDULED, ENTRIES.c.accrual_date <= bindparam("today"))
    .order_by(ENTRIES.c.tenant_id)
)
_DUE_ENTRIES = (
    select(ENTRIES.c.id)
    .where(
        ENTRIES.c.tenant_id == bindparam("tenant_id"),
        ENTRIES.c.status == SCHEDULED,
        ENTRIES.c.accrual_date <= bindparam("today"),
        ENTRIES.c.id > bindparam("after"),
    )
    .order_by(ENTRIES.c.id)
    .limit(bindparam("limit"))
)
_MARK_POSTED = (
    update(ENTRIES)
    .where(ENTRIES.c.id.in_(bindparam("ids", expanding=True)), ENTRIES.c.status == SCHEDULED)
    .values(status=POSTED)
)


def due_tenants(conn: Connection, today: dt.date) -> list[int]:
    """The tenants with a scheduled entry due on or before ``today``."""
    return [int(tenant_id) for tenant_id in conn.execute(_DUE_TENANTS, {"today": today}).scalars()]


def post_due_in(
    conn: Connection, tenant_id: int, today: dt.date, *, after: int, limit: int
) -> tuple[int, int | None]:
    """Posts the tenant's scheduled entries due by ``today`` with ids after ``after``, at
    most ``limit``; returns how many posted and the id to go on after (None: no more).

    Under the tenant's lock, the one every posting takes first: a second process
    doing the same waits for it, then finds the entries POSTED, so each posts
    exactly once. Posting is the set-based write of a normal posting: one status
    update, one insert of events, one upsert of balances and of day movements.
    An entry that may not post now (its date locked meanwhile, a total past
    2^63-1) stays SCHEDULED and is logged.
    """
    tenant = _read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        return 0, None
    ids = list(
        conn.execute(
            _DUE_ENTRIES, {"tenant_id": tenant_id, "today": today, "after": after, "limit": limit}
        ).scalars()
    )
    if not ids:
        return 0, None
    views = load_views(conn, tenant_id, ids)
    totals = _balances(conn, {line.account_id for view in views for line in view.lines})
    deltas: _Totals = {}
    movements = _Movements()
    created_at = utcnow()
    created_db = db_datetime(conn, created_at)
    event_rows: list[tuple[Any, ...]] = []
    posted: list[int] = []
    for view in views:
        try:
            check_not_locked(view.posting_date, tenant.lock_date, "accrualDate")
            movement = _movement(view.lines)
            _check_totals(movement, totals, deltas, view.lines)
        except LedgerError as error:
            logger.warning(
                "scheduled entry %s of tenant %s stays scheduled: %s",
                view.id,
                tenant_id,
                error.message,
            )
            continue
        for pair, (debit, credit) in movement.items():
            total = deltas.setdefault(pair, [0, 0])
            total[0] += debit
            total[1] += credit
        movements.add(view.posting_date, view.lines)
        event_rows.append(
            (tenant_id, "journal_entry.posted", view.id, _event_payload(view), created_db)
        )
        posted.append(view.id)
    if posted:
        conn.execute(_MARK_POSTED, {"ids": posted})
        insert_rows(conn, "events", EVENT_COLUMNS, event_rows)
        if event_rows:
            announce(conn, tenant_id)
        movements.write(conn, tenant_id)
        POSTED_ENTRIES.inc(len(posted))
    return len(posted), ids[-1] if len(ids) == limit else None


# ---------------------------------------------------------------- reading entries back


def load_views(conn: Connection, tenant_id: int, entry_ids: Sequence[int]) -> list[EntryView]:
    """Entries with their lines, in the order of ``entry_ids``; unknown ids are left out."""
    distinct = sorted(set(entry_ids))
    rows: list[Any] = []
    line_rows: list[Any] = []
    # In slices: both drivers take at most 32,767 bound values (a rerun of a large
    # import replays, and reads back, every entry of its chunk).
    for start in range(0, len(distinct), _IDS_PER_QUERY):
        ids = distinct[start : start + _IDS_PER_QUERY]
        rows.extend(
            row
            for row in conn.execute(
                select(
                    ENTRIES,
                    JOURNALS.c.code.label("journal_code"),
                    ATTACHMENTS.c.filename.label("attachment_filename"),
                )
                .join(JOURNALS, JOURNALS.c.id == ENTRIES.c.journal_id)
                .outerjoin(ATTACHMENTS, ATTACHMENTS.c.id == ENTRIES.c.attachment_id)
                # By primary key alone, the tenant checked here: with ``tenant_id = ?``
                # in SQL, PostgreSQL without statistics ANDs in a bitmap of the tenant's
                # whole ix_journal_entries_tenant_date range (and SQLite may walk it).
                .where(ENTRIES.c.id.in_(ids))
            )
            if row.tenant_id == tenant_id
        )
        line_rows.extend(
            conn.execute(
                select(LINES, ACCOUNTS.c.code.label("account_code"))
                .join(ACCOUNTS, ACCOUNTS.c.id == LINES.c.account_id)
                # The id range adds no condition (ids are sorted); it is there for the
                # planner: without statistics PostgreSQL takes each ``entry_id = ?`` for
                # 0.5% of the table, so 50 ids look like a quarter of it and it reads the
                # whole table; with a range of unknown width ix_journal_lines_entry_id wins.
                .where(LINES.c.entry_id.in_(ids), LINES.c.entry_id.between(ids[0], ids[-1]))
                .order_by(LINES.c.entry_id, LINES.c.line_no)
            )
        )
    lines: dict[int, list[LineView]] = defaultdict(list)
    for line in line_rows:
        lines[line.entry_id].append(
            LineView(
                id=line.id,
                account_id=line.account_id,
                account_code=line.account_code,
                currency=line.currency,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                description=line.description,
                line_no=line.line_no,
                reporting_debit_minor=line.reporting_debit_minor,
                reporting_credit_minor=line.reporting_credit_minor,
            )
        )
    views = {
        row.id: EntryView(
            id=row.id,
            tenant_id=row.tenant_id,
            number=row.number,
            date=row.date,
            memo=row.memo,
            currency=row.currency,
            status=row.status,
            source=row.source,
            journal_code=row.journal_code,
            idempotency_key=row.idempotency_key,
            reversal_of_id=row.reversal_of_id,
            reversed_by_id=row.reversed_by_id,
            metadata=json.loads(row.metadata_json) if row.metadata_json else None,
            created_at=row.created_at,
            lines=lines[row.id],
            external_id=row.external_id,
            accrual_date=row.accrual_date,
            reporting_currency=row.reporting_currency,
            exchange_rate=row.exchange_rate,
            rate_source=row.rate_source,
            rate_date=row.rate_date,
            journal_id=row.journal_id,
            attachment_id=row.attachment_id,
            attachment_filename=row.attachment_filename,
        )
        for row in rows
    }
    return [views[entry_id] for entry_id in entry_ids if entry_id in views]
