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

import orjson
import strawberry
from graphql import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)

from app.ledger.errors import LedgerError
from app.ledger.money import parse_decimal

Money = NewType("Money", Decimal)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _serialize(value: Decimal) -> str:
    return format(value, "f")


def _parse_value(value: Any) -> Decimal:
    # A Decimal here came from a JSON number too (app/http/graphql_over_http.decode_json).
    if isinstance(value, float | Decimal):
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

# An entry's or account's metadata (docs/metadata.md): a JSON object. Numbers stay exact:
# one written in the query is read as a Decimal, and a Decimal is answered as the number it
# is (orjson.Fragment: the /graphql endpoint encodes its answers with orjson).
Metadata = NewType("Metadata", dict[str, Any])


def _json_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    if isinstance(node, ObjectValueNode):
        return {field.name.value: _json_literal(field.value, variables) for field in node.fields}
    if isinstance(node, ListValueNode):
        return [_json_literal(item, variables) for item in node.values]
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return Decimal(node.value)
    if isinstance(node, StringValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, VariableNode):
        return (variables or {}).get(node.name.value)
    raise ValueError("JSON is an object of strings, numbers, booleans and null")


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("metadata is a JSON object")
    return value


def _json_out(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else str(value)
    if isinstance(value, dict):
        return {key: _json_out(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_out(item) for item in value]
    return value


JSON_SCALAR = strawberry.scalar(
    name="JSON",
    description='A JSON object, e.g. metadata: {order_id: "A-17", amount: 12.50}; numbers exact.',
    serialize=_json_out,
    parse_value=_json_value,
    parse_literal=_json_literal,
)

SCALAR_MAP: dict[object, Any] = {Money: MONEY_SCALAR, dt.date: DATE_SCALAR, Metadata: JSON_SCALAR}
