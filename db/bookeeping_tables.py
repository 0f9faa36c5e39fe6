"""Bookeeping.ai records: category details of accounts, counterparties, bank accounts.

Bookeeping names every record by a 24-hex id (a MongoDB ObjectId to its clients):
each row has its own random ``public_id`` besides the integer key. A transaction is a
journal entry (its Bookeeping fields are the entry's metadata), so it has no table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

import db.tables  # noqa: F401  (the foreign keys name accounts and tenants)

_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BookeepingCategory(SQLModel, table=True):
    """What Bookeeping's category object adds to a ledger account (all optional)."""

    __tablename__ = "bookeeping_categories"

    account_id: int = Field(
        sa_column=Column(_BigId, ForeignKey("accounts.id"), primary_key=True, autoincrement=False)
    )
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    emoji: str | None = Field(default=None, max_length=32)
    # "group" is an SQL keyword: the column has another name.
    group_name: str | None = Field(default=None, max_length=100)
    parent_category: str | None = Field(default=None, max_length=30)
    updated_at: dt.datetime = Field(default_factory=_utcnow)


class BookeepingCounterparty(SQLModel, table=True):
    __tablename__ = "bookeeping_counterparties"

    id: int | None = Field(
        default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True)
    )
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    account_name: str | None = Field(default=None, max_length=200)
    account_number: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    # A JSON array of addresses.
    other_emails_json: str | None = None
    type: str | None = Field(default=None, max_length=10)
    tax_id: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    updated_at: dt.datetime = Field(default_factory=_utcnow)


class BookeepingBankAccount(SQLModel, table=True):
    __tablename__ = "bookeeping_bank_accounts"

    id: int | None = Field(
        default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True)
    )
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    account_type: str = Field(max_length=20)
    nick_name: str | None = Field(default=None, max_length=200)
    account_name: str | None = Field(default=None, max_length=200)
    account_number: str | None = Field(default=None, max_length=100)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    updated_at: dt.datetime = Field(default_factory=_utcnow)
