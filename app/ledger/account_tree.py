"""The chart of accounts as a forest: each account's parent and level, and figures
rolled up from an account to its ancestors (what the statements show per subtree).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from app.ledger.period_sums import Key
from db.engine import Database
from db.tables import Account


async def load_chart(db: Database, tenant_id: int) -> dict[int, Account]:
    """The tenant's accounts by id."""
    async with db.read() as session:
        found = await session.scalars(select(Account).where(col(Account.tenant_id) == tenant_id))
        return {account.id: account for account in found if account.id is not None}


@dataclass(frozen=True)
class Tree:
    """The accounts as a forest: each account's parent (in this view) and level (0: top)."""

    accounts: dict[int, Account]
    parent: dict[int, int | None]
    level: dict[int, int]

    @classmethod
    def of(cls, accounts: dict[int, Account], *, same_type: bool = False) -> Tree:
        """``same_type``: an account's parent is its nearest ancestor of its own type, so
        a statement section never mixes types."""
        parent: dict[int, int | None] = {}
        for account_id, account in accounts.items():
            up = account.parent_id
            seen = {account_id}
            while up is not None and up in accounts and up not in seen:
                if not same_type or accounts[up].type == account.type:
                    break
                seen.add(up)
                up = accounts[up].parent_id
            parent[account_id] = up if up in accounts and up not in seen else None
        level: dict[int, int] = {}
        for account_id in accounts:
            chain = []
            node: int | None = account_id
            while node is not None and node not in level and node not in chain:
                chain.append(node)
                node = parent[node]
            base = level[node] + 1 if node is not None and node in level else 0
            for depth, item in enumerate(reversed(chain)):
                level[item] = base + depth
        return cls(accounts, parent, level)

    def ancestors(self, account_id: int) -> list[int]:
        """The account itself, then its parent, up to its top account."""
        chain = [account_id]
        up = self.parent[account_id]
        while up is not None and up not in chain:
            chain.append(up)
            up = self.parent[up]
        return chain

    def top(self, account_id: int) -> int:
        return self.ancestors(account_id)[-1]

    def roll_up(self, own: dict[Key, list[int]]) -> dict[Key, list[int]]:
        """Each account's figures plus those of its whole subtree."""
        rolled: dict[Key, list[int]] = {}
        for (account_id, currency), figures in own.items():
            if account_id not in self.accounts:
                continue
            for node in self.ancestors(account_id):
                total = rolled.setdefault((node, currency), [0] * len(figures))
                for index, value in enumerate(figures):
                    total[index] += value
        return rolled
