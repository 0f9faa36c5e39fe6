"""SQLModel table of the tenants' own exchange rates.

One row per tenant, pair and effective date (the primary key): setting a rate for
a key that exists replaces its value (and ``created_at``), it never adds a second
rate for the same day. Entries keep the rate they were posted with, so replacing
a rate changes no posted entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, String
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from db.tables import utcnow

# Room for NUMERIC(30,11): 19 integer digits, a point and 11 decimals.
RATE_TEXT_LENGTH = 32


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its plain decimal string.

    SQLite has no decimal type (SQLAlchemy's Numeric goes through a float there), so
    both engines store the text and hand back the exact Decimal that was written.
    """

    impl = String(RATE_TEXT_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"a rate is stored from a Decimal, not {type(value).__name__}")
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class ExchangeRate(SQLModel, table=True):
    """Units of ``quote`` for one unit of ``base``, from ``effective_date`` on."""

    __tablename__ = "exchange_rates"

    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, primary_key=True)
    base: str = Field(max_length=3, primary_key=True)
    quote: str = Field(max_length=3, primary_key=True)
    effective_date: dt.date = Field(primary_key=True)
    rate: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
