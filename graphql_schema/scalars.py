"""Money: a decimal carried as a string, never a GraphQL Float.

Input accepts strings ("10.50") and integers; floats, NaN, Infinity and
exponents are refused before any resolver runs. Whether the decimals fit the
currency is the ledger core's check, because only it knows the currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from app.ledger.errors import LedgerError
from app.ledger.money import parse_decimal

Money = NewType("Money", Decimal)


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
    raise ValueError("Money must be a decimal string")


MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description='A decimal amount as a string, e.g. "1000.00"; never a float.',
    serialize=_serialize,
    parse_value=_parse_value,
    parse_literal=_parse_literal,
)

SCALAR_MAP: dict[object, Any] = {Money: MONEY_SCALAR}
