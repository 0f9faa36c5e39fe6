"""SQLModel tables of the Pismo dialect: programs, entry and event types, accounting scripts.

Pismo's ids (program 12, entry type 2100) are chosen by the client and are unique per
tenant, so each table keeps its own surrogate primary key and a unique
``(tenant_id, <pismo id>)`` constraint that scripts reference with composite foreign keys.
Ids the client leaves out are allocated from ``pismo_id_counters``.
Pismo "accounting accounts" are rows of ``accounts`` (``code`` is Pismo's account
number, ``name`` its description, ``program_id`` its program): one chart, not two.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables import BigId, utcnow


def _id_column() -> Column[int]:
    return Column(BigId, primary_key=True, autoincrement=True)


class PismoProgram(SQLModel, table=True):
    __tablename__ = "pismo_programs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "program_id", name="uq_pismo_programs_tenant_program"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    # Pismo's program id, as the client knows it.
    program_id: int = Field(sa_type=BigInteger)
    name: str = Field(max_length=200)
    # Every amount of the program is in this ISO 4217 currency.
    currency: str = Field(max_length=3)
    created_at: dt.datetime = Field(default_factory=utcnow)


class PismoEntryType(SQLModel, table=True):
    __tablename__ = "pismo_entry_types"
    __table_args__ = (
        UniqueConstraint("tenant_id", "entry_type_id", name="uq_pismo_entry_types_tenant_id"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    entry_type_id: int = Field(sa_type=BigInteger)
    description: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


class PismoEventType(SQLModel, table=True):
    __tablename__ = "pismo_event_types"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_type_id", name="uq_pismo_event_types_tenant_id"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    event_type_id: int = Field(sa_type=BigInteger)
    description: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


class PismoIdCounter(SQLModel, table=True):
    """The highest Pismo id of one kind (program, entry type, event type) a tenant has used.

    An id the client leaves out is this plus one, taken by an UPDATE of this row in the
    transaction that inserts the row: the row lock orders concurrent creates, where a
    ``max(id) + 1`` read lets them all pick the same id. An explicit id raises it.
    """

    __tablename__ = "pismo_id_counters"

    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)
    last_id: int = Field(sa_type=BigInteger)


class PismoAccountingScript(SQLModel, table=True):
    """Routes one amount of an event to a debit and a credit accounting account."""

    __tablename__ = "pismo_accounting_scripts"
    __table_args__ = (
        # processing_code is "" when the script has none: NULLs would never clash here.
        UniqueConstraint(
            "tenant_id",
            "program_id",
            "event_type_id",
            "entry_type_id",
            "entry_name",
            "processing_code",
            name="uq_pismo_scripts_key",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "program_id"],
            ["pismo_programs.tenant_id", "pismo_programs.program_id"],
            name="fk_pismo_scripts_program",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "event_type_id"],
            ["pismo_event_types.tenant_id", "pismo_event_types.event_type_id"],
            name="fk_pismo_scripts_event_type",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "entry_type_id"],
            ["pismo_entry_types.tenant_id", "pismo_entry_types.entry_type_id"],
            name="fk_pismo_scripts_entry_type",
        ),
        # An accounting entry looks its script up by program, entry type and entry name.
        Index("ix_pismo_scripts_entry", "tenant_id", "program_id", "entry_type_id", "entry_name"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger)
    program_id: int = Field(sa_type=BigInteger)
    event_type_id: int = Field(sa_type=BigInteger)
    entry_type_id: int = Field(sa_type=BigInteger)
    entry_name: str = Field(max_length=40)
    processing_code: str = Field(default="", max_length=6)
    debit_account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger)
    credit_account_id: int = Field(foreign_key="accounts.id", sa_type=BigInteger)
    # Pismo's CostCenter: all four numbers or none.
    debit_org: str | None = Field(default=None, max_length=50)
    credit_org: str | None = Field(default=None, max_length=50)
    debit_cost: str | None = Field(default=None, max_length=50)
    credit_cost: str | None = Field(default=None, max_length=50)
    cost_center_deactivated_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
