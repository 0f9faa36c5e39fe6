"""SQLModel tables of ledgerql.

Money columns are ``BigInteger`` minor units (cents for EUR, yen for JPY):
SQLite has no decimal type and would store a ``Numeric`` as a REAL.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import BigInteger, Column, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

import db.attachment_tables  # noqa: F401  (JournalEntry.attachment_id refers to attachments)

# SQLite only autoincrements INTEGER PRIMARY KEY; BIGINT keeps PostgreSQL ids 64-bit.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _id_column() -> Column[int]:
    return Column(BigId, primary_key=True, autoincrement=True)


def _minor_column() -> Column[int]:
    return Column(BigInteger, nullable=False, default=0)


def _pending_column() -> Column[int]:
    return Column(BigInteger, nullable=False, default=0, server_default=text("0"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, sa_column=_id_column())
    name: str = Field(max_length=200, unique=True)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: int | None = Field(default=None, sa_column=_id_column())
    slug: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=200)
    owner_user_id: int = Field(foreign_key="users.id", sa_type=BigInteger, index=True)
    base_currency: str = Field(max_length=3)
    journal_prefix: str = Field(max_length=20, default="JE")
    # Full domain naming the tenant in the journal-entry API (``domain_url``), lower-case.
    domain: str | None = Field(default=None, max_length=253, unique=True, index=True)
    lock_date: dt.date | None = None
    # Next journal number; incremented in the posting transaction.
    entry_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # The head of the tenant's hash chain (app/ledger/audit_chain.py): the last link's
    # number and hash, moved in every transaction that writes events.
    chain_link: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default="0")
    )
    chain_hash: str = Field(
        default="0" * 64,
        sa_column=Column(String(64), nullable=False, default="0" * 64, server_default="0" * 64),
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, sa_column=_id_column())
    # Public part of the key, shown in listings and used to revoke it.
    key_id: str = Field(max_length=40, unique=True)
    # sha256 of the secret part; the secret itself is shown once and never stored.
    secret_hash: str = Field(max_length=64)
    user_id: int = Field(foreign_key="users.id", sa_type=BigInteger, index=True)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", sa_type=BigInteger)
    read_only: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None
    # This key's own rate limits as JSON, over the server's defaults (app/http/rate_limits.py):
    # {"bookeeping": {"write": {"minute": 10, "day": 600}}}; None: the defaults.
    rate_limits: str | None = None


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_accounts_tenant_code"),)

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    type: str = Field(max_length=20)
    category: str | None = Field(default=None, max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="accounts.id", sa_type=BigInteger)
    currency: str | None = Field(default=None, max_length=3)
    program_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = Field(default_factory=utcnow)
    deactivated_at: dt.datetime | None = None
    # Bookeeping's 24-hex category id (random, the form of a MongoDB ObjectId); nullable
    # only because migration 0010 adds the column in place (it fills every existing row).
    public_id: str | None = Field(
        default_factory=lambda: secrets.token_hex(12), max_length=24, unique=True, index=True
    )
    # The account's balance limits (app/ledger/limits.py), as JSON text; NULL for the
    # unlimited accounts, which is nearly all of them: posting then parses nothing.
    limits_json: str | None = None
    # The client's metadata on the account (app/ledger/metadata.py), as JSON text.
    metadata_json: str | None = None


class Journal(SQLModel, table=True):
    __tablename__ = "journals"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_journals_tenant_code"),)

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    # Pennylane's journal type (sales, purchases, bank, payroll, miscellaneous); the
    # server default fills the rows that existed before it (migration 0007).
    type: str = Field(
        default="miscellaneous",
        max_length=20,
        sa_column_kwargs={"server_default": "miscellaneous"},
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


class JournalEntry(SQLModel, table=True):
    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_tenant_date", "tenant_id", "date", "id"),
        # Reports as known at a moment read the entries recorded after it (knownAt).
        Index("ix_journal_entries_tenant_created", "tenant_id", "created_at", "id"),
        # post_due seeks the SCHEDULED entries that are due. Partial indexes: the rows
        # of ordinary postings (POSTED, no external id) add no index entry.
        Index(
            "ix_journal_entries_scheduled",
            "accrual_date",
            sqlite_where=text("status = 'SCHEDULED'"),
            postgresql_where=text("status = 'SCHEDULED'"),
        ),
        # Unique where set; an index, not a constraint: SQLite adds it without copying
        # the table.
        Index(
            "uq_journal_entries_tenant_external",
            "tenant_id",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        # The income statement leaves year-end closing entries out: a handful per tenant.
        Index(
            "ix_journal_entries_closing",
            "tenant_id",
            "date",
            sqlite_where=text("source = 'closing'"),
            postgresql_where=text("source = 'closing'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    journal_id: int = Field(foreign_key="journals.id", sa_type=BigInteger)
    number: str = Field(max_length=60)
    date: dt.date
    memo: str = Field(max_length=500)
    currency: str = Field(max_length=3)
    status: str = Field(max_length=12, default="POSTED")
    source: str = Field(max_length=30, default="graphql")
    idempotency_key: str | None = Field(default=None, max_length=200)
    reversal_of_id: int | None = Field(
        default=None, foreign_key="journal_entries.id", sa_type=BigInteger
    )
    reversed_by_id: int | None = Field(
        default=None, foreign_key="journal_entries.id", sa_type=BigInteger
    )
    # Vendor metadata (Pismo ids, attachments...) as a JSON document.
    metadata_json: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    # The client's id of the entry (an idempotency key of its own scope).
    external_id: str | None = Field(default=None, max_length=200)
    # The day a scheduled entry posts (status SCHEDULED until then).
    accrual_date: dt.date | None = None
    # Reporting: all NULL for entries posted without a reporting currency (and before 0005).
    reporting_currency: str | None = Field(default=None, max_length=3)
    # The entry currency's rate as an exact decimal text with 11 decimals: SQLite has
    # no exact decimal type.
    exchange_rate: str | None = Field(default=None, max_length=40)
    rate_source: str | None = Field(default=None, max_length=20)
    rate_date: dt.date | None = None
    # The document the entry is booked from (Pennylane's ledger_attachment_id), of its tenant.
    attachment_id: int | None = Field(
        default=None, foreign_key="attachments.id", sa_type=BigInteger
    )


class JournalLine(SQLModel, table=True):
    __tablename__ = "journal_lines"
    __table_args__ = (
        # General ledger pages are keyset scans on (account, date, id).
        Index("ix_journal_lines_account_date", "account_id", "date", "id"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    entry_id: int = Field(foreign_key="journal_entries.id", sa_type=BigInteger, index=True)
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger)
    # Copy of the entry date so ledger pages need no join.
    date: dt.date
    currency: str = Field(max_length=3)
    debit_minor: int = Field(default=0, sa_column=_minor_column())
    credit_minor: int = Field(default=0, sa_column=_minor_column())
    description: str | None = Field(default=None, max_length=500)
    line_no: int = 0
    # Minor units of the entry's reporting currency; NULL when the entry has none.
    reporting_debit_minor: int | None = Field(default=None, sa_type=BigInteger)
    reporting_credit_minor: int | None = Field(default=None, sa_type=BigInteger)


class AccountBalance(SQLModel, table=True):
    """Running totals per account and currency, updated in each posting transaction."""

    __tablename__ = "account_balances"

    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    debit_minor: int = Field(default=0, sa_column=_minor_column())
    credit_minor: int = Field(default=0, sa_column=_minor_column())
    # Of open holds (docs/holds.md): added when a hold is made, taken off when it ends.
    pending_debit_minor: int = Field(default=0, sa_column=_pending_column())
    pending_credit_minor: int = Field(default=0, sa_column=_pending_column())


class Hold(SQLModel, table=True):
    """A hold (a PENDING entry): its state, expiry and the amounts held per line."""

    __tablename__ = "holds"
    __table_args__ = (
        Index(
            "ix_holds_open_expiry",
            "expires_at",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    entry_id: int = Field(foreign_key="journal_entries.id", sa_type=BigInteger, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    status: str = Field(max_length=12, default="PENDING")
    expires_at: dt.datetime | None = None
    # The held [debit, credit] minor units per line, in line order (JSON).
    held_json: str
    reason: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None


class EntryMetadata(SQLModel, table=True):
    """An entry's metadata as flat (key, typed value) rows, so that a lookup by key and
    value is an index range on both engines (app/ledger/metadata.py, docs/metadata.md)."""

    __tablename__ = "entry_metadata"
    # An entry's rows, replaced when its metadata changes (setEntryMetadata).
    __table_args__ = (Index("ix_entry_metadata_entry", "entry_id"),)

    # No foreign keys: a derived index written only with its entry, and each key cost a
    # parent-row lock per row on PostgreSQL (migration 0019).
    tenant_id: int = Field(sa_type=BigInteger, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    # "s" + a string, "n" + a normalised decimal, "b1"/"b0", or "z" for null.
    value: str = Field(max_length=1026, primary_key=True)
    entry_id: int = Field(sa_type=BigInteger, primary_key=True)


class AccountMetadata(SQLModel, table=True):
    """An account's metadata as flat (key, typed value) rows, as ``EntryMetadata``."""

    __tablename__ = "account_metadata"
    __table_args__ = (Index("ix_account_metadata_account", "account_id"),)

    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(max_length=1026, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, primary_key=True)


class BalanceDay(SQLModel, table=True):
    """Movements per account, currency and day: a balance as of a date sums these rows.

    A backdated entry adds to its own day, so every later as-of balance stays right
    without rewriting any other row.
    """

    __tablename__ = "balance_days"
    __table_args__ = (Index("ix_balance_days_tenant_day", "tenant_id", "day"),)

    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    day: dt.date = Field(primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    debit_minor: int = Field(default=0, sa_column=_minor_column())
    credit_minor: int = Field(default=0, sa_column=_minor_column())


class BalanceMonth(SQLModel, table=True):
    """Movements per account, currency and calendar month (``month`` is its first day).

    The sum of a month's ``balance_days`` rows, written by the same upsert: a report
    over a range reads whole months here and only the edge days from ``balance_days``,
    so its cost grows with accounts and months, not with lines or posting days.
    """

    __tablename__ = "balance_months"
    __table_args__ = (Index("ix_balance_months_tenant_month", "tenant_id", "month"),)

    account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    month: dt.date = Field(primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    debit_minor: int = Field(default=0, sa_column=_minor_column())
    credit_minor: int = Field(default=0, sa_column=_minor_column())


class Event(SQLModel, table=True):
    """Outbox: one row per posting, written in the posting's transaction."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id", "tenant_id", "id"),
        # The tenant's hash chain in order (app/ledger/audit_chain.py), one row a link.
        Index("ix_events_chain", "tenant_id", "link", unique=True),
        # An entry's links in order: ledgerql verify reads them by ranges of entries.
        Index("ix_events_entry", "entry_id", "link"),
        # Reports as known at a moment read the status changes recorded after it (knownAt).
        Index("ix_events_tenant_created", "tenant_id", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    type: str = Field(max_length=60)
    entry_id: int | None = Field(default=None, foreign_key="journal_entries.id", sa_type=BigInteger)
    payload_json: str
    created_at: dt.datetime = Field(default_factory=utcnow)
    # The event's link of the tenant's hash chain: its number and hash (docs/audit.md).
    link: int | None = Field(default=None, sa_type=BigInteger)
    chain_hash: str | None = Field(default=None, max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    """A claimed idempotency key; the unique constraint makes concurrent claims race-free."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("tenant_id", "scope", "key", name="uq_idempotency_tenant_scope_key"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    scope: str = Field(max_length=30)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    entry_id: int | None = Field(default=None, foreign_key="journal_entries.id", sa_type=BigInteger)
    created_at: dt.datetime = Field(default_factory=utcnow)
