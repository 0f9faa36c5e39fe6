"""Scalars: Money, a decimal carried as a string, never a GraphQL Float; Date, YYYY-MM-DD.

Money accepts strings ("10.50") and integers; floats, NaN, Infinity and
exponents are refused before any resolver runs. Whether the decimals fit the
currency is the ledger core's check, because only it knows the currency.

A scalar refuses a value with ValueError: graphql-core then reports where it
was written ("Expected value of type 'Money'..., found: 1.5" at its location),
for a literal in the document as for a variable, and the schema's error
extension gives it the code BAD_USER_INPUT and the path of the input field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from app.ledger.errors import LedgerError
from app.ledger.money import parse_decimal

Money = NewType("Money", Decimal)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _serialize(value: Decimal) -> str:
    return format(value, "f")


def _parse_value(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError('Money must be a decimal string such as "10.50", not a float')
    try:
        return parse_decimal(value)
    except LedgerError as error:
        raise ValueError(error.message) from None


def _parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    if isinstance(node, FloatValueNode):
        raise ValueError('Money must be a decimal string such as "10.50", not a float')
    if isinstance(node, StringValueNode | IntValueNode):
        return _parse_value(node.value)
    raise ValueError('Money must be a decimal string such as "10.50"')


MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description='A decimal amount as a string, e.g. "1000.00"; never a float.',
    serialize=_serialize,
    parse_value=_parse_value,
    parse_literal=_parse_literal,
)


def _parse_date(value: Any) -> dt.date:
    # Only the calendar date form: date.fromisoformat also takes "20260115" and "2026-W03-4".
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("a Date is a string YYYY-MM-DD")
    return dt.date.fromisoformat(value)  # ValueError for 2026-13-45


def _parse_date_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> dt.date:
    if not isinstance(node, StringValueNode):
        raise ValueError("a Date is a string YYYY-MM-DD")
    return _parse_date(node.value)


DATE_SCALAR = strawberry.scalar(
    name="Date",
    description="A calendar date, YYYY-MM-DD.",
    serialize=dt.date.isoformat,
    parse_value=_parse_date,
    parse_literal=_parse_date_literal,
)

SCALAR_MAP: dict[object, Any] = {Money: MONEY_SCALAR, dt.date: DATE_SCALAR}
