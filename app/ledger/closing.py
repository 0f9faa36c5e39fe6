"""Period close: the lock date moved forward or back with an event, and the year-end close.

The lock date itself is enforced by the write path (``validation.check_not_locked``,
re-checked under the tenant row's lock): posting, reversing and scheduling on or
before it are refused. This module only moves it, always in one transaction with
the event that says who moved it, under the same tenant-row lock every posting
takes first, so a close and a posting into the period it closes are serialised.

The year-end close posts, in that same transaction and through the same write
path (``posting.post_in``), the entry that brings every INCOME and EXPENSE balance
as of the year end to zero against a retained-earnings account, then closes the
period through the year end. It takes the balances as of the year end over all
time, not over the twelve months before it: earlier years were closed already,
so for them this is the year's result, and a year never closed is swept into
retained earnings too instead of being left on income accounts for ever.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import posting
from app.ledger.accounts import AccountType
from app.ledger.audit_chain import read_head
from app.ledger.entries import MAX_MEMO, EntryInput, EntryView, LineInput
from app.ledger.errors import BadInput, NotFound, TryAgain
from app.ledger.money import format_minor
from app.ledger.outbox import write_event
from app.ledger.tenants import TenantView
from app.ledger.text import check_lookup, check_text
from app.ledger.validation import check_date
from db.engine import Database, WriteContention
from db.tables import Account, BalanceDay, IdempotencyRecord, Tenant

PERIOD_CLOSED = "period.closed"
PERIOD_REOPENED = "period.reopened"
# The closing entry's markers: ``source`` survives a reversal (which copies the
# source but not the metadata), so reports exclude both with one indexed column.
CLOSING_SOURCE = "closing"
CLOSING_METADATA_KEY = "closing"
# Its idempotency keys (``year-end:YYYY-MM-DD``) live in a scope of their own.
YEAR_END_SCOPE = "year-end"
MAX_REASON = MAX_MEMO

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who moves the lock date, as recorded in the event: a key's user, or the CLI's operator."""

    user_id: int | None = None
    key_id: str | None = None
    via: str = "graphql"

    @classmethod
    def cli(cls) -> Actor:
        return cls(via="cli")

    def document(self) -> dict[str, Any]:
        if self.via == "cli":
            try:
                operator: str | None = getpass.getuser()
            except (KeyError, OSError):  # no login name in some containers
                operator = None
            return {"via": "cli", "os_user": operator}
        return {"via": self.via, "user_id": self.user_id, "key_id": self.key_id}


@dataclass(frozen=True)
class YearEndClose:
    """The closing entry (None when every balance was zero) and the tenant after the close."""

    entry: EntryView | None
    replayed: bool
    tenant: TenantView


# ---------------------------------------------------------------- lock date


async def _locked_tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    """The tenant row, locked as every posting locks it first (SQLite: the write lock)."""
    tenant = await session.scalar(
        select(Tenant).where(col(Tenant.id) == tenant_id).with_for_update()
    )
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return tenant


async def _move_lock(
    session: AsyncSession,
    tenant: Tenant,
    to: dt.date | None,
    event_type: str,
    payload: dict[str, Any],
) -> TenantView:
    """Sets the lock date and writes its event, in the caller's transaction."""
    assert tenant.id is not None
    # A core UPDATE: the write path may have bumped entry_seq under this ORM object.
    await session.execute(update(Tenant).where(col(Tenant.id) == tenant.id).values(lock_date=to))
    tenant_id = tenant.id

    def write(conn: Connection) -> None:
        document = payload
        if event_type == PERIOD_CLOSED:
            # The chain's head as the books stood when closed (docs/audit.md): an auditor
            # who keeps it can later prove nothing before it changed (verify --from).
            head = read_head(conn, tenant_id)
            document = {**payload, "chain_head": {"link": head.link, "hash": head.hash}}
        write_event(conn, tenant_id, event_type, json.dumps(document, separators=(",", ":")))

    await session.run_sync(lambda sync: write(sync.connection()))
    await session.refresh(tenant)
    return TenantView.of(tenant)


async def _write(db: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        return await db.run_write_session(work)
    except WriteContention:
        raise TryAgain.contended() from None


def _closed_payload(previous: dt.date | None, through: dt.date, actor: Actor) -> dict[str, Any]:
    return {
        "through_date": through.isoformat(),
        "from": previous.isoformat() if previous else None,
        "by": actor.document(),
    }


async def close_period(db: Database, tenant_id: int, through: dt.date, actor: Actor) -> TenantView:
    """Closes the books through ``through`` (inclusive); never moves the lock date back.

    Closing through the current lock date again changes nothing and records nothing.
    """
    check_date(through, field="throughDate")

    async def work(session: AsyncSession) -> TenantView:
        tenant = await _locked_tenant(session, tenant_id)
        current = tenant.lock_date
        if current is not None and through < current:
            raise BadInput(
                f"the books are closed through {current.isoformat()}: closing through "
                f"{through.isoformat()} would reopen them; use reopenPeriod for that",
                field="throughDate",
            )
        if current == through:
            return TenantView.of(tenant)
        payload = _closed_payload(current, through, actor)
        return await _move_lock(session, tenant, through, PERIOD_CLOSED, payload)

    return await _write(db, work)


async def reopen_period(
    db: Database, tenant_id: int, reason: str, actor: Actor, through: dt.date | None = None
) -> TenantView:
    """Moves the lock date back to ``through``, or clears it; ``reason`` is recorded."""
    text = check_text(reason, field="reason", max_length=MAX_REASON)
    if through is not None:
        check_date(through, field="throughDate")

    async def work(session: AsyncSession) -> TenantView:
        tenant = await _locked_tenant(session, tenant_id)
        current = tenant.lock_date
        if current is None:
            raise BadInput("the books are not closed: there is nothing to reopen")
        if through is not None and through >= current:
            raise BadInput(
                f"the books are closed through {current.isoformat()}: reopening moves the "
                f"lock date back, {through.isoformat()} is not before it (use closePeriod)",
                field="throughDate",
            )
        payload = {
            "from": current.isoformat(),
            "to": through.isoformat() if through else None,
            "reason": text,
            "by": actor.document(),
        }
        return await _move_lock(session, tenant, through, PERIOD_REOPENED, payload)

    return await _write(db, work)


# ---------------------------------------------------------------- year-end close


def year_end_key(year_end: dt.date) -> str:
    return f"year-end:{year_end.isoformat()}"


async def _retained_earnings(session: AsyncSession, tenant_id: int, code: str) -> Account:
    field = "retainedEarningsAccount"
    check_lookup(code, field=field, what="account code")
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
    )
    if account is None:
        raise BadInput(f"account {code} does not exist", field=field)
    if account.type != AccountType.EQUITY.value:
        raise BadInput(
            f"account {code} is {account.type}: retained earnings must be an EQUITY account",
            field=field,
        )
    if account.deactivated_at is not None:
        raise BadInput(f"account {code} is deactivated", field=field)
    return account


async def _result_balances(
    session: AsyncSession, tenant_id: int, through: dt.date
) -> list[tuple[Account, str, int]]:
    """(account, currency, debit - credit) of every INCOME and EXPENSE account as of
    ``through``, non-zero only, in (currency, code) order: the order of the entry's lines."""
    query = (
        select(
            col(BalanceDay.account_id),
            col(BalanceDay.currency),
            func.sum(col(BalanceDay.debit_minor)),
            func.sum(col(BalanceDay.credit_minor)),
        )
        .join(Account, col(Account.id) == col(BalanceDay.account_id))
        .where(
            col(BalanceDay.tenant_id) == tenant_id,
            col(BalanceDay.day) <= through,
            col(Account.type).in_([AccountType.INCOME.value, AccountType.EXPENSE.value]),
        )
        .group_by(col(BalanceDay.account_id), BalanceDay.currency)
    )
    # asyncpg returns SUM(bigint) as Decimal.
    nets = {
        (row[0], row[1]): int(row[2] or 0) - int(row[3] or 0)
        for row in (await session.execute(query)).all()
    }
    nets = {pair: net for pair, net in nets.items() if net}
    if not nets:
        return []
    ids = sorted({account_id for account_id, _ in nets})
    accounts = {
        account.id: account
        for account in await session.scalars(select(Account).where(col(Account.id).in_(ids)))
    }
    found = [(accounts[account_id], currency, net) for (account_id, currency), net in nets.items()]
    found.sort(key=lambda item: (item[1], item[0].code))
    return found


def _line(code: str, currency: str, debit_minus_credit: int) -> LineInput:
    amount = format_minor(abs(debit_minus_credit), currency)
    debit = debit_minus_credit > 0
    return LineInput(
        account_code=code,
        currency=currency,
        debit=amount if debit else None,
        credit=None if debit else amount,
    )


def _closing_lines(balances: list[tuple[Account, str, int]], retained: Account) -> list[LineInput]:
    """Per currency: one line per account taking its balance to zero, then the
    retained-earnings line for the difference (net income is a credit, a loss a debit)."""
    by_currency: dict[str, list[tuple[Account, int]]] = defaultdict(list)
    for account, currency, net in balances:
        by_currency[currency].append((account, net))
    lines: list[LineInput] = []
    for currency, nets in sorted(by_currency.items()):
        lines.extend(_line(account.code, currency, -net) for account, net in nets)
        net_loss = sum(net for _, net in nets)  # debit - credit of the result accounts
        if net_loss:
            lines.append(_line(retained.code, currency, net_loss))
    return lines


async def _last_closing_entry(
    session: AsyncSession, tenant_id: int, year_end: dt.date
) -> EntryView | None:
    key = year_end_key(year_end)
    entry_id = await session.scalar(
        select(func.max(col(IdempotencyRecord.entry_id))).where(
            col(IdempotencyRecord.tenant_id) == tenant_id,
            col(IdempotencyRecord.scope) == YEAR_END_SCOPE,
            or_(col(IdempotencyRecord.key) == key, col(IdempotencyRecord.key).like(f"{key}#%")),
        )
    )
    if entry_id is None:
        return None
    return await posting.load_entry(session, tenant_id, entry_id)


async def _next_key(session: AsyncSession, tenant_id: int, year_end: dt.date) -> str:
    """``year-end:DATE`` the first time; ``year-end:DATE#2``... for a year closed again
    after it was reopened and changed (the first key would be a conflict then)."""
    key = year_end_key(year_end)
    taken = await session.scalar(
        select(func.count()).where(
            col(IdempotencyRecord.tenant_id) == tenant_id,
            col(IdempotencyRecord.scope) == YEAR_END_SCOPE,
            or_(col(IdempotencyRecord.key) == key, col(IdempotencyRecord.key).like(f"{key}#%")),
        )
    )
    return key if not taken else f"{key}#{int(taken) + 1}"


async def close_year(
    db: Database, tenant_id: int, year_end: dt.date, retained_code: str, actor: Actor
) -> YearEndClose:
    """Posts the year-end closing entry dated ``year_end`` and closes the books through it.

    All in one transaction under the tenant row's lock: no posting can slip into the
    year between the balances read and the lock date set. Run again, it posts nothing
    (every balance is zero) and answers the closing entry already posted, ``replayed``.
    The books may already be closed through ``year_end`` exactly (a monthly close of
    the last month): the closing entry is the one posting the close itself makes there.
    """
    check_date(year_end, field="yearEnd")

    async def work(session: AsyncSession) -> YearEndClose:
        tenant = await _locked_tenant(session, tenant_id)
        retained = await _retained_earnings(session, tenant_id, retained_code)
        current = tenant.lock_date
        balances = await _result_balances(session, tenant_id, year_end)
        if not balances:
            entry = await _last_closing_entry(session, tenant_id, year_end)
            replayed = entry is not None
        else:
            if current is not None and current > year_end:
                raise BadInput(
                    f"the books are closed through {current.isoformat()}, after "
                    f"{year_end.isoformat()}: reopen them to close that year",
                    field="yearEnd",
                )
            for account, currency, _ in balances:
                if account.deactivated_at is not None:
                    raise BadInput(
                        f"account {account.code} is deactivated but has a balance in "
                        f"{currency} as of {year_end.isoformat()}",
                        field="retainedEarningsAccount",
                    )
            if retained.currency is not None:
                other = next((c for _, c, _ in balances if c != retained.currency), None)
                if other is not None:
                    raise BadInput(
                        f"account {retained.code} only takes {retained.currency}, and the "
                        f"year has results in {other}",
                        field="retainedEarningsAccount",
                    )
            if current == year_end:
                # Let the closing entry (dated year_end) through, in this transaction only.
                await session.execute(
                    update(Tenant)
                    .where(col(Tenant.id) == tenant_id)
                    .values(lock_date=year_end - dt.timedelta(days=1))
                )
            data = EntryInput(
                date=year_end,
                memo=f"Year-end close {year_end.year}",
                lines=_closing_lines(balances, retained),
                idempotency_key=await _next_key(session, tenant_id, year_end),
                idempotency_scope=YEAR_END_SCOPE,
                source=CLOSING_SOURCE,
                metadata={CLOSING_METADATA_KEY: True, "year_end": year_end.isoformat()},
            )
            try:
                result = await posting.post_in(session, tenant_id, data)
            except BadInput as error:
                if error.field == "date":  # the only date is the year end the caller gave
                    error.field = "yearEnd"
                raise
            entry, replayed = result.entry, result.replayed
            if current == year_end:
                await session.execute(
                    update(Tenant).where(col(Tenant.id) == tenant_id).values(lock_date=current)
                )
        if current is None or current < year_end:
            payload = _closed_payload(current, year_end, actor)
            payload["closing_entry_id"] = entry.id if entry else None
            view = await _move_lock(session, tenant, year_end, PERIOD_CLOSED, payload)
        else:
            await session.refresh(tenant)
            view = TenantView.of(tenant)
        return YearEndClose(entry=entry, replayed=replayed, tenant=view)

    return await _write(db, work)
