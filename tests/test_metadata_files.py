"""Client metadata in ledger files, without a database: how a value is written as text and
read back, JSON Lines' ``metadata``, CSV's ``meta.<key>`` columns, hledger tags
(docs/metadata.md, "Import and export")."""

from __future__ import annotations

import pytest

from app.ledger.errors import BadInput
from app.ledger.metadata import check_metadata


def test_an_integer_past_64_bits_is_checked_like_any_number() -> None:
    assert check_metadata({"wide": 2**70}) == {"wide": 2**70}
    with pytest.raises(BadInput, match="8192 bytes"):
        check_metadata({"wide": 2**70, **{f"k{i}": "x" * 200 for i in range(60)}})
