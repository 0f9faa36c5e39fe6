"""Set-based posting: a batch of entries in one transaction, in a constant number of statements.

Every posting of the ledger is written here, whoever asked for it (GraphQL,
REST dialects, Pismo events, imports, reversals), in two phases per tenant:

1. ``plan_batch``, no lock: read the tenant, accounts and journals the batch
   names (one statement each) and check every entry in memory, each on its own,
   so one bad entry never fails its neighbours (unless its caller asked for all
   or none); hash the idempotent requests;
2. ``commit_batch``: lock the tenant row (``SELECT .. FOR UPDATE``; SQLite's
   write lock is global), read the batch's idempotency keys and balances as they
   are now (one statement each), decide replays, conflicts, overflow, the
   limits of limited accounts (``limit_rules.check_limits``) and the entries' balance
   conditions (``conditions.check_conditions``), number the
   entries with one update, insert entries, lines, idempotency records and
   events with one multi-row statement each, and add the lines to the running
   balances and per-day movements aggregated per (account, currency[, day]).

``write_batch`` is both in one transaction; group commit on PostgreSQL plans one
batch while the previous one commits. ``preview_batch`` is both without the writes
(dry runs, dry_run.py). Reversals (``reverse``) and scheduled
entries falling due (``post_due_in``) are written the same way, under the same
locks.

This module only orchestrates: the rules live in posting_rules.py (no database),
the statements in batch_store.py, the events in outbox.py, the roll-ups in
rollups.py and reading entries back in entry_reads.py.

Locks are taken in one order by every writer: tenant rows by id, then
idempotency keys sorted, then balance rows sorted. Keys and balances belong to
a tenant and are only written while its row is locked, so writers cannot
deadlock; overflow past 2^63-1 is caught in memory against the balances read
under that lock.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection

from app.ledger.batch_store import (
    accounts,
    attachments,
    balances,
    claim_reversal,
    due_entries,
    journals,
    journals_by_id,
    limited_accounts,
    limited_of,
    post_scheduled,
    read_tenant,
    set_reversed_by,
    stored_keys,
    write_entries,
)
from app.ledger.dry_run import Previewed, Seen, balances_after, previewed
from app.ledger.entries import BulkItem, EntryView, Request
from app.ledger.entry_reads import load_views
from app.ledger.errors import Conflict, LedgerError, NotFound
from app.ledger.fx import Rate, resolve_rate
from app.ledger.limit_rules import Limited, LimitedAccounts, Totals, check_limits
from app.ledger.posting_rules import (
    Checked,
    Decisions,
    Fate,
    Named,
    New,
    Tenant,
    check,
    check_totals,
    decide_request,
    due_to_post,
    mirror,
    movement,
    outcome,
    reversal,
    reversal_date,
)
from app.ledger.reporting_currency import RateLookup, same_currency, usable
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from app.ledger.validation import AccountRef
from db.bulk import let_others_run

logger = logging.getLogger("ledgerql.batch")
# Planning yields to the event loop this often, so the batch committing meanwhile
# is not kept from sending its next statement.
_PLAN_SLICE = 100

_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
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
class Plan:
    """A batch checked without locks, for ``commit_batch``; ``checked`` follows ``requests``."""

    requests: Sequence[Request]
    checked: list[list[Checked]]
    # The limited accounts the batch names (account ids are unique across tenants),
    # read with the accounts: their limits as planned, their balances under the lock.
    limited: LimitedAccounts
    # Every account the batch names, by id (dry runs show their balances).
    named: dict[int, AccountRef]


def plan_batch(conn: Connection, requests: Sequence[Request]) -> Plan:
    """Everything about a batch that needs no lock: accounts, journals, every check, the hashes.

    It may run while another batch commits (the pipeline of group commit on
    PostgreSQL); what may change meanwhile (keys, balances, the lock date) is
    read again under the tenant's lock by ``commit_batch``.
    """
    with collector_paused():
        checked: list[list[Checked]] = [[] for _ in requests]
        limited: dict[int, Limited] = {}
        named_accounts: dict[int, AccountRef] = {}
        for tenant_id, indexes in _by_tenant(requests).items():
            tenant = read_tenant(conn, tenant_id, lock=False)
            if tenant is None:  # commit_batch answers NOT_FOUND
                continue
            inputs = [data for i in indexes for data in requests[i].inputs]
            by_code, by_id = accounts(conn, tenant_id, inputs)
            limited.update(limited_of(by_code.values()))
            limited.update(limited_of(by_id.values()))
            named_accounts.update((ref.id, ref) for ref in by_code.values())
            named_accounts.update((ref.id, ref) for ref in by_id.values())
            named = Named(
                journals(
                    conn,
                    tenant_id,
                    {
                        data.journal_code or DEFAULT_JOURNAL_CODE
                        for data in inputs
                        if data.journal_id is None
                    },
                ),
                journals_by_id(conn, tenant_id, {d.journal_id for d in inputs if d.journal_id}),
                attachments(conn, tenant_id, {d.attachment_id for d in inputs if d.attachment_id}),
            )
            rate_of = _rates(conn, tenant_id)
            done = 0
            for i in indexes:
                for data in requests[i].inputs:
                    checked[i].append(check(data, tenant, by_code, by_id, named, rate_of))
                    done += 1
                    if done % _PLAN_SLICE == 0:
                        let_others_run()
        return Plan(requests, checked, limited, named_accounts)


def commit_batch(conn: Connection, plan: Plan) -> list[list[BulkItem]]:
    """Writes a planned batch under the locks; one list of outcomes per request, in order."""
    with collector_paused():
        requests = plan.requests
        outcomes: list[list[BulkItem]] = [[] for _ in requests]
        today = server_today()
        for tenant_id, indexes in _by_tenant(requests).items():  # tenant rows in id order
            written = _commit_tenant(
                conn,
                tenant_id,
                [(requests[i], plan.checked[i]) for i in indexes],
                today,
                plan.limited,
            )
            for index, items in zip(indexes, written, strict=True):
                outcomes[index] = items
        return outcomes


def preview_batch(conn: Connection, requests: Sequence[Request]) -> list[list[Previewed]]:
    """A dry run of ``requests`` (dry_run.py): planned and decided as ``write_batch`` would,
    under the same lock and against the same keys, balances and limits, and then nothing
    is written; one list of answers per request, in order."""
    plan = plan_batch(conn, requests)
    answers: list[list[Previewed]] = [[] for _ in requests]
    today = server_today()
    for tenant_id, indexes in _by_tenant(requests).items():
        for index, found in _preview_tenant(conn, plan, tenant_id, indexes, today).items():
            answers[index] = found
    return answers


def _preview_tenant(
    conn: Connection, plan: Plan, tenant_id: int, indexes: list[int], today: dt.date
) -> dict[int, list[Previewed]]:
    """One tenant's part of a dry run, under its lock, as ``_commit_tenant`` decides it."""
    requests = plan.requests
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        missing = NotFound(f"tenant {tenant_id} does not exist")
        return {i: [Previewed(error=missing) for _ in requests[i].inputs] for i in indexes}
    items = [item for i in indexes for item in plan.checked[i]]
    decisions = _decisions(conn, tenant, items, today, plan.limited)
    seen: Seen = {}

    def watch(new: New, deltas: Totals, held: Totals) -> None:
        posted_parts = (decisions.totals, deltas)
        pending_parts = (decisions.pending, held)
        seen[id(new)] = balances_after(new, posted_parts, pending_parts, plan.named)

    fates = {i: decide_request(decisions, requests[i], plan.checked[i], watch) for i in indexes}
    replays = sorted({f for decided in fates.values() for f in decided if isinstance(f, int)})
    stored = {view.id: view for view in load_views(conn, tenant_id, replays)}
    return {i: [previewed(f, seen, stored, today) for f in decided] for i, decided in fates.items()}


def _by_tenant(requests: Sequence[Request]) -> dict[int, list[int]]:
    """Indexes of the requests per tenant, tenants in id order: the order their rows are locked."""
    indexes: dict[int, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        indexes[request.tenant_id].append(index)
    return {tenant_id: indexes[tenant_id] for tenant_id in sorted(indexes)}


def server_today() -> dt.date:
    """The server's date: an accrual after it is scheduled, one on or before it posts."""
    return dt.date.today()


def _rates(conn: Connection, tenant_id: int) -> RateLookup:
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


def _commit_tenant(
    conn: Connection,
    tenant_id: int,
    planned: Sequence[tuple[Request, list[Checked]]],
    today: dt.date,
    limited: LimitedAccounts,
) -> list[list[BulkItem]]:
    """One tenant's part of a batch, under its lock: keys and balances as they are now."""
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        missing = NotFound(f"tenant {tenant_id} does not exist")
        return [[BulkItem(error=missing) for _ in request.inputs] for request, _ in planned]
    items = [item for _, checked in planned for item in checked]
    decisions = _decisions(conn, tenant, items, today, limited)
    fates: list[list[Fate]] = [
        decide_request(decisions, request, checked) for request, checked in planned
    ]
    news = [fate for decided in fates for fate in decided if isinstance(fate, New)]
    written = dict(zip(map(id, news), write_entries(conn, tenant, news, today), strict=True))
    stored_ids = sorted({fate for decided in fates for fate in decided if isinstance(fate, int)})
    stored = {view.id: view for view in load_views(conn, tenant_id, stored_ids)}
    return [[outcome(fate, written, stored) for fate in decided] for decided in fates]


def _decisions(
    conn: Connection,
    tenant: Tenant,
    items: Sequence[Checked],
    today: dt.date,
    limited: LimitedAccounts,
) -> Decisions:
    """The decisions for ``items`` under the tenant's lock: their keys' records and their
    accounts' balances and pending totals as they are now (one statement each)."""
    totals, pending = balances(conn, _touched(items))
    claims = {item.claim for item in items if item.claim is not None}
    return Decisions(tenant, today, stored_keys(conn, tenant.id, claims), totals, limited, pending)


def _touched(items: Sequence[Checked]) -> set[int]:
    """The accounts whose balances the checked entries need: their lines' and conditions'."""
    ids: set[int] = set()
    for item in items:
        if isinstance(item.outcome, New):
            ids.update(line.account_id for line in item.outcome.prepared.lines)
            ids.update(condition.account_id for condition in item.outcome.conditions)
    return ids


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
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    found = load_views(conn, tenant_id, [entry_id])
    if not found:
        raise NotFound(f"journal entry {entry_id} does not exist", field="id")
    original = found[0]
    on = reversal_date(original, on, today, tenant.lock_date)
    if not claim_reversal(conn, entry_id):
        raise Conflict(f"entry {entry_id} is already reversed", field="id")
    prepared = mirror(original, on, memo)
    moved = movement(prepared.lines)
    account_ids = {pair[0] for pair in moved}
    totals, pending = balances(conn, account_ids)
    check_totals(moved, totals, {}, prepared.lines)
    check_limits(moved, totals, {}, prepared.lines, limited_accounts(conn, account_ids), pending)
    journal_id = journals(conn, tenant_id, {original.journal_code})[original.journal_code]
    (view,) = write_entries(conn, tenant, [reversal(original, prepared, journal_id)])
    set_reversed_by(conn, entry_id, view.id)
    return view


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
    2^63-1, an account's balance limits) stays SCHEDULED and is logged.
    """
    tenant = read_tenant(conn, tenant_id, lock=True)
    if tenant is None:
        return 0, None
    ids = due_entries(conn, tenant_id, today, after=after, limit=limit)
    if not ids:
        return 0, None
    views = load_views(conn, tenant_id, ids)
    account_ids = {line.account_id for view in views for line in view.lines}
    totals, pending = balances(conn, account_ids)
    limited = limited_accounts(conn, account_ids)
    postable, refused = due_to_post(views, tenant.lock_date, totals, limited, pending)
    for view, error in refused:
        logger.warning(
            "scheduled entry %s of tenant %s stays scheduled: %s",
            view.id,
            tenant_id,
            error.message,
        )
    if postable:
        post_scheduled(conn, tenant_id, postable)
    return len(postable), ids[-1] if len(ids) == limit else None
