"""Balances aggregated over the accounts a metadata filter selects (``balanceOf``,
docs/metadata.md): Formance's aggregated balances, e.g. "the available balance of every
wallet of customer 42".

Each account's figures are taken on its own normal side (accounts.net_of) and then
summed, so wallets (credit-normal) add up as wallets do; the posted debits and credits
are summed as they are. One query for the accounts, one for their balances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlmodel import col, select

from app.ledger.accounts import net_of
from app.ledger.balances import current_balances
from app.ledger.errors import BadInput
from app.ledger.limit_rules import available_of
from app.ledger.metadata_filter import ACCOUNTS, matching_ids, metadata_conditions
from app.ledger.money import check_currency
from db.engine import Database
from db.tables import Account


@dataclass(frozen=True)
class AggregateBalance:
    currency: str
    accounts: int  # how many accounts the filter selected
    debit_minor: int
    credit_minor: int
    net_minor: int  # each account's net on its normal side, summed
    pending_debit_minor: int
    pending_credit_minor: int
    available_minor: int  # each account's available balance, summed


async def balance_of(
    db: Database,
    tenant_id: int,
    *,
    currency: str,
    metadata: Mapping[str, object] | None,
    metadata_has: Sequence[str] | None,
) -> AggregateBalance:
    """The balances in ``currency`` of the accounts whose metadata matches, summed."""
    check_currency(currency)
    conditions = metadata_conditions(ACCOUNTS, tenant_id, metadata, metadata_has)
    if not conditions:
        raise BadInput("give metadata or metadataHas to choose the accounts", field="accounts")
    async with db.read() as session:
        found = await matching_ids(session, ACCOUNTS, conditions)
        query = select(col(Account.id), col(Account.type)).where(
            col(Account.tenant_id) == tenant_id, col(Account.id).in_(found)
        )
        rows = (await session.execute(query)).all()
    types = {int(cast(int, row[0])): str(row[1]) for row in rows}
    totals = await current_balances(db, tenant_id, currency=currency, account_ids=list(types))
    debit = credit = net = pending_debit = pending_credit = available = 0
    for (account_id, _), (d, c, pd, pc) in totals.items():
        kind = types[account_id]
        debit += d
        credit += c
        net += net_of(kind, d, c)
        pending_debit += pd
        pending_credit += pc
        available += available_of(kind, d, c, pd, pc)
    return AggregateBalance(
        currency, len(types), debit, credit, net, pending_debit, pending_credit, available
    )
