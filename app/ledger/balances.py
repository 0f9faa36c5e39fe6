"""Balances: posted debit and credit totals per account and currency, and the trial balance.

They come from the maintained tables (``account_balances`` for now, ``balance_days``
for a past date), never from scanning journal lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from app.ledger import known_at as known_at_module
from app.ledger.money import check_currency
from db.engine import Database
from db.tables import Account, AccountBalance, BalanceDay


@dataclass(frozen=True)
class Balance:
    currency: str
    debit_minor: int
    credit_minor: int
    net_minor: int
    # Of open holds (docs/holds.md); 0 as of a past date.
    pending_debit_minor: int = 0
    pending_credit_minor: int = 0


async def balances_by_account(
    db: Database,
    tenant_id: int,
    *,
    as_of: dt.date | None = None,
    currency: str | None = None,
    account_ids: list[int] | None = None,
    known_at: dt.datetime | None = None,
) -> dict[tuple[int, str], tuple[int, int]]:
    """Posted (debit, credit) totals per (account id, currency); with ``known_at`` (a
    moment in the past, ``known_at.known_moment``) as they stood then."""
    if currency is not None:
        check_currency(currency)
    if as_of is None:
        table: Any = AccountBalance
        query = select(
            table.account_id, table.currency, table.debit_minor, table.credit_minor
        ).where(table.tenant_id == tenant_id)
    else:
        table = BalanceDay
        query = (
            select(
                table.account_id,
                table.currency,
                func.sum(table.debit_minor),
                func.sum(table.credit_minor),
            )
            .where(table.tenant_id == tenant_id, table.day <= as_of)
            .group_by(table.account_id, table.currency)
        )
    if currency is not None:
        query = query.where(table.currency == currency)
    if account_ids is not None:
        query = query.where(table.account_id.in_(account_ids))
    async with known_at_module.snapshot(db, known_at is not None) as session:
        rows = (await session.execute(query)).all()
        if known_at is not None:
            gone = await known_at_module.late(session, tenant_id, known_at)
            late = await known_at_module.late_sums(
                session, tenant_id, gone, [(None, as_of)], currency=currency
            )
    # asyncpg returns SUM(bigint) as Decimal: make every total an int.
    found = {(row[0], row[1]): (int(row[2] or 0), int(row[3] or 0)) for row in rows}
    if known_at is None:
        return found
    wanted = None if account_ids is None else set(account_ids)
    return {
        key: (debit - late.get(key, [0, 0])[0], credit - late.get(key, [0, 0])[1])
        for key, (debit, credit) in found.items()
        if wanted is None or key[0] in wanted
    }


async def current_balances(
    db: Database,
    tenant_id: int,
    *,
    currency: str | None = None,
    account_ids: list[int] | None,
    known_at: dt.datetime | None = None,
) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """Posted (debit, credit) and pending (debit, credit) totals of open holds per
    (account id, currency), now (docs/holds.md): one query, of ``account_ids`` or (None)
    of every account of the tenant; with ``known_at`` as they stood then."""
    if currency is not None:
        check_currency(currency)
    table: Any = AccountBalance
    query: Any = core_select(
        table.account_id,
        table.currency,
        table.debit_minor,
        table.credit_minor,
        table.pending_debit_minor,
        table.pending_credit_minor,
    ).where(table.tenant_id == tenant_id)
    if account_ids is not None:
        query = query.where(table.account_id.in_(account_ids))
    if currency is not None:
        query = query.where(table.currency == currency)
    async with known_at_module.snapshot(db, known_at is not None) as session:
        rows = (await session.execute(query)).all()
        if known_at is not None:
            gone = await known_at_module.late(session, tenant_id, known_at)
            late = await known_at_module.late_sums(
                session, tenant_id, gone, [(None, None)], currency=currency
            )
            pending = await known_at_module.pending_change(
                session, tenant_id, gone, currency=currency, account_ids=account_ids
            )
    found = {(row[0], row[1]): (int(row[2]), int(row[3]), int(row[4]), int(row[5])) for row in rows}
    if known_at is None:
        return found
    then: dict[tuple[int, str], tuple[int, int, int, int]] = {}
    for key, (debit, credit, pending_debit, pending_credit) in found.items():
        late_debit, late_credit = late.get(key, [0, 0])
        more_debit, more_credit = pending.get(key, [0, 0])
        then[key] = (
            debit - late_debit,
            credit - late_credit,
            pending_debit + more_debit,
            pending_credit + more_credit,
        )
    return then


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class TrialBalanceTotal:
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class TrialBalance:
    as_of: dt.date | None
    rows: list[TrialBalanceRow]
    totals: list[TrialBalanceTotal]

    @property
    def balanced(self) -> bool:
        return all(total.debit_minor == total.credit_minor for total in self.totals)


async def trial_balance(
    db: Database,
    tenant_id: int,
    *,
    as_of: dt.date | None = None,
    currency: str | None = None,
    known_at: dt.datetime | None = None,
) -> TrialBalance:
    """Posted debit and credit totals per account and currency, with totals per currency;
    with ``known_at`` as they stood then."""
    totals = await balances_by_account(
        db, tenant_id, as_of=as_of, currency=currency, known_at=known_at
    )
    async with db.read() as session:
        accounts = {
            account.id: account
            for account in await session.scalars(
                select(Account).where(col(Account.tenant_id) == tenant_id)
            )
        }
    rows = [
        TrialBalanceRow(accounts[account_id], cur, debit, credit)
        for (account_id, cur), (debit, credit) in totals.items()
        if debit or credit
    ]
    rows.sort(key=lambda row: (row.currency, row.account.code))
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        sums[row.currency][0] += row.debit_minor
        sums[row.currency][1] += row.credit_minor
    return TrialBalance(
        as_of=as_of,
        rows=rows,
        totals=[TrialBalanceTotal(cur, d, c) for cur, (d, c) in sorted(sums.items())],
    )
