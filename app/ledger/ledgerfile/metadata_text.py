"""An entry's client metadata in a ledger file (docs/metadata.md, "Import and export").

Which of an entry's metadata a file carries (``client_metadata``), and how one value is
written as text where a file has only text (a CSV ``meta.<key>`` cell, an hledger tag's
value) and read back, exactly and with its type:

- ``true``, ``false``, ``null`` and JSON numbers are those values (``12.50`` is the number
  12.50, digit for digit: an integer is an int, a fraction or exponent a Decimal);
- a JSON string in double quotes is that string (``"12.50"`` is the text 12.50);
- anything else is the text itself, stripped (``A-17`` is the text A-17).

A string is written as it is unless it would read back as something else (empty, spaces
at an end, a leading ``"``, ``true``/``false``/``null``, a number, a line break, and in a
tag a comma, which ends hledger's tag value): then it is written as a JSON string, a tag's
commas as ``\\u002c``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.ledger.errors import BadInput
from app.ledger.metadata import check_metadata

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}


def value_of_text(text: str, *, field: str) -> object:
    """The value a cell or tag value writes (the module's rule); BadInput on ``field`` for
    an integer too long for Python to read."""
    text = text.strip()
    if text in _LITERALS:
        return _LITERALS[text]
    number = _NUMBER.fullmatch(text)
    if number is not None:
        if number[1] or number[2]:
            return Decimal(text)
        try:
            return int(text)
        except ValueError:  # past Python's limit on the digits of an int
            raise BadInput("the number has too many digits", field=field) from None
    if text.startswith('"'):
        try:
            quoted = json.loads(text)
        except ValueError:
            return text
        if isinstance(quoted, str):
            return quoted
    return text


# What str.splitlines (and so a reader splitting a file by it) takes for a line break
# besides "\n" and "\r": written raw, a value holding one would cut its line in two.
# JSON escapes the C0 ones itself; these three it leaves raw with ensure_ascii=False.
_RAW_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e") | _RAW_BREAKS.keys()


def _json_string(text: str) -> str:
    """``text`` as a JSON string on one line whatever splits it: every line break escaped."""
    quoted = json.dumps(text, ensure_ascii=False)
    for raw, escaped in _RAW_BREAKS.items():
        quoted = quoted.replace(raw, escaped)
    return quoted


def _plain(text: str, tag: bool) -> bool:
    """Whether ``text`` written as it is reads back as itself."""
    return (
        text != ""
        and text == text.strip()
        and not text.startswith('"')
        and text not in _LITERALS
        and _NUMBER.fullmatch(text) is None
        and _BREAKS.isdisjoint(text)
        and not (tag and "," in text)
    )


def text_of_value(value: object, *, tag: bool = False) -> str:
    """``value`` written as ``value_of_text`` reads it back; ``tag``: as an hledger tag value
    (no comma)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return str(Decimal(repr(value)) if isinstance(value, float) else value)
    text = str(value)
    if _plain(text, tag):
        return text
    quoted = _json_string(text)
    # A comma in a JSON string is always inside the text: its escape reads back the same.
    return quoted.replace(",", "\\u002c") if tag else quoted


def json_value(value: object) -> str:
    """``value`` as a JSON scalar, a number digit for digit (json.dumps would refuse a
    Decimal; orjson, an integer past 64 bits)."""
    if isinstance(value, str):
        return _json_string(value)
    return text_of_value(value)


def metadata_json(metadata: Mapping[str, Any]) -> str:
    """Flat metadata as a compact JSON object, its numbers exact."""
    return (
        "{"
        + ",".join(f"{_json_string(key)}:{json_value(value)}" for key, value in metadata.items())
        + "}"
    )


def is_client_key(key: str) -> bool:
    """Whether a client may write ``key`` (the key rule, and not one of the ledger's own)."""
    try:
        check_metadata({key: None})
    except BadInput:
        return False
    return True


def client_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The metadata a file carries for an entry: each key a client could have written with
    its value, when the value is one a client could write (a string, number, boolean or
    null). The ledger's own keys (an hledger file's marks, a dialect's document, a close)
    and a dialect's lists and objects are left out: the import would refuse them."""
    kept: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        try:
            kept.update(check_metadata({key: value}) or {})
        except BadInput:
            continue
    return kept or None
