"""The five types of account, in a module of its own so that the ledger files (which
write and read them) need not load the chart's machinery (app.ledger.accounts, which
re-exports the type)."""

from __future__ import annotations

from enum import StrEnum


class AccountType(StrEnum):
    ASSET = "ASSET"
    LIABILITY = "LIABILITY"
    EQUITY = "EQUITY"
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"
