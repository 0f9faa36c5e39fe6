"""The metadata rules of app/ledger/metadata.py, table by table (docs/metadata.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.ledger.errors import BadInput
from app.ledger.metadata import check_metadata, index_rows, indexed_value, merged


def test_good_metadata_is_kept_as_given() -> None:
    given = {"order_id": "A-17", "n": 3, "price": Decimal("12.50"), "ok": True, "x": None}
    assert check_metadata(given) == given
    assert check_metadata({}) is None and check_metadata(None) is None


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ([1], "metadata", "JSON object"),
        ({"": 1}, "metadata.", "1-64 characters"),
        ({"a b": 1}, "metadata.a b", "1-64 characters"),
        ({"k" * 65: 1}, "metadata." + "k" * 65, "1-64 characters"),
        ({"hledger": "x"}, "metadata.hledger", "ledger's own"),
        ({"a": {"b": 1}}, "metadata.a", "no objects or lists"),
        ({"a": [1]}, "metadata.a", "no objects or lists"),
        ({"a": "x" * 1025}, "metadata.a", "longer than 1024"),
        ({"a": "\x00"}, "metadata.a", "U+0000"),
        ({"a": Decimal("NaN")}, "metadata.a", "finite"),
        ({f"k{i}": i for i in range(65)}, "metadata", "at most 64 keys"),
        ({f"k{i}": "x" * 200 for i in range(60)}, "metadata", "8192 bytes"),
    ],
)
def test_bad_metadata_names_its_key(bad: Any, field: str, words: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_metadata(bad)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_float_becomes_the_decimal_it_was_written_as() -> None:
    assert check_metadata({"p": 12.5}) == {"p": Decimal("12.5")}


@pytest.mark.parametrize(
    ("value", "indexed"),
    [
        ("A-17", "sA-17"),
        ("1", "s1"),
        (1, "n1"),
        (Decimal("12.50"), "n12.5"),
        (12.5, "n12.5"),
        (Decimal("100"), "n100"),
        (Decimal("-0.00"), "n0"),
        (True, "b1"),
        (False, "b0"),
        (None, "z"),
        ({"nested": 1}, None),
    ],
)
def test_indexed_values_are_typed_and_numbers_normalised(value: object, indexed: str) -> None:
    assert indexed_value(value) == indexed


def test_index_rows_leave_out_the_ledgers_own_keys() -> None:
    rows = index_rows({"order_id": "A-17", "hledger": {"status": "*"}, "dialect": "pismo"})
    assert rows == [("order_id", "sA-17")]


def test_merge_sets_and_deletes() -> None:
    assert merged({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "c": 3}
