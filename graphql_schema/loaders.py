"""Per-request DataLoaders: one query for the balances of every account in a response, one
for the current balances of every account a trial balance's pending layers need, and one
for the codes of the accounts' parents."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from strawberry.dataloader import DataLoader

from app.ledger import balances, reference
from db.engine import Database

# (account id, as of, currency, known at); currency None means every currency of the
# account, known at None the balances of now.
BalanceKey = tuple[int, dt.date | None, str | None, dt.datetime | None]
# currency -> (posted debits, posted credits, pending debits, pending credits) in minor
# units; nothing is pending as of a past date.
Totals = dict[str, tuple[int, int, int, int]]
# (account id, currency) -> (posted debits, posted credits, pending debits, pending
# credits) in minor units, now.
Current = dict[tuple[int, str], tuple[int, int, int, int]]


def balance_loader(db: Database, tenant_id: int) -> DataLoader[BalanceKey, Totals]:
    async def load(keys: list[BalanceKey]) -> list[Totals]:
        Asked = tuple[dt.date | None, str | None, dt.datetime | None]
        wanted: dict[Asked, set[int]] = defaultdict(set)
        for account_id, as_of, currency, known_at in keys:
            wanted[(as_of, currency, known_at)].add(account_id)
        found: dict[BalanceKey, Totals] = defaultdict(dict)
        for (as_of, currency, known_at), account_ids in wanted.items():
            if as_of is None:
                now = await balances.current_balances(
                    db,
                    tenant_id,
                    currency=currency,
                    account_ids=sorted(account_ids),
                    known_at=known_at,
                )
                for (account_id, cur), four in now.items():
                    found[(account_id, as_of, currency, known_at)][cur] = four
                continue
            totals = await balances.balances_by_account(
                db,
                tenant_id,
                as_of=as_of,
                currency=currency,
                account_ids=sorted(account_ids),
                known_at=known_at,
            )
            for (account_id, cur), (debit, credit) in totals.items():
                found[(account_id, as_of, currency, known_at)][cur] = (debit, credit, 0, 0)
        return [found.get(key, {}) for key in keys]

    return DataLoader(load_fn=load)


# (currency filter, known at): the current totals asked for (known at None: now).
CurrentKey = tuple[str | None, dt.datetime | None]


def current_loader(db: Database, tenant_id: int) -> DataLoader[CurrentKey, Current]:
    """The current posted and pending totals of every account of the tenant, in one
    currency (None: in every currency), now or as known at a moment; read once per
    request and key, only when a trial balance's pendingDebit, pendingCredit or available
    is selected."""

    async def load(keys: list[CurrentKey]) -> list[Current]:
        return [
            await balances.current_balances(
                db, tenant_id, currency=currency, account_ids=None, known_at=known_at
            )
            for currency, known_at in keys
        ]

    return DataLoader(load_fn=load)


def account_code_loader(db: Database, tenant_id: int) -> DataLoader[int, str | None]:
    """Account codes by id: a page of accounts reads its parents' codes in one query."""

    async def load(keys: list[int]) -> list[str | None]:
        found = await reference.account_codes(db, tenant_id, sorted(set(keys)))
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)
