"""Metadata a client attaches to its entries (docs/metadata.md): what it may hold, and the
flat key/value form it is indexed and found by.

A client's metadata is a JSON object of at most 64 keys; a key is 1-64 characters of
``[A-Za-z0-9_.:-]``; a value is a string (at most 1,024 characters, under the text rule),
a number (exact: kept as given, compared as a decimal, so 12.5 finds 12.50), a boolean or
null; at most 8 KiB in all, as canonical JSON. A few keys are the ledger's own (an
hledger file's marks, a dialect's document, a year-end close): a client may not write
them, and they are not indexed.

``index_rows`` turns metadata into the (key, value) rows of the lookup tables: a value is
typed text, so the string "1" and the number 1 never meet, and a number is its
normalised decimal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from app.ledger.errors import BadInput
from app.ledger.text import check_text

MAX_KEYS = 64
MAX_VALUE = 1024
MAX_BYTES = 8192
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Written by the ledger itself, never by a client: an hledger file's marks, the Pismo and
# Bookeeping dialects' documents, a year-end close. Not indexed (their values are not flat).
RESERVED = frozenset({"hledger", "bookeeping", "closing", "dialect"})
# The longest indexed value: a typed string of MAX_VALUE characters.
INDEX_VALUE_LENGTH = MAX_VALUE + 2
# What the REST dialects record of a request's fields the ledger does not model, as flat
# keys ``<dialect>.<field>`` (docs/metadata.md "What the REST dialects record"), so they
# are indexed and found. Each repeats a field that is itself part of the request (the
# external id, the attachment, Bookeeping's document), so none is part of an idempotent
# request's hash (app.ledger.validation.ANNOTATION_KEYS): entries posted before they
# were recorded still replay.
DIALECT_KEYS = frozenset(
    {
        "bookeeping.refNo",
        "bookeeping.paymentMethod",
        "bookeeping.isReconciled",
        "journal_entries.external_id",
        "pennylane.ledger_attachment_id",
    }
)


def check_metadata(value: object, *, field: str = "metadata") -> dict[str, Any] | None:
    """A client's metadata checked against the rules; None for none or an empty object.
    A bad key or value is BadInput naming ``metadata.<key>``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadInput("metadata must be a JSON object", field=field)
    if len(value) > MAX_KEYS:
        raise BadInput(f"metadata has at most {MAX_KEYS} keys, not {len(value)}", field=field)
    checked: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{field}.{key}"
        check_key(key, where)
        checked[key] = check_value(item, field=where)
    if _json_size(checked) > MAX_BYTES:
        raise BadInput(f"metadata is larger than {MAX_BYTES} bytes as JSON", field=field)
    return checked or None


def check_key(key: object, field: str) -> str:
    """A key under the key rule, and not one of the ledger's own; BadInput on ``field``."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise BadInput(
            f"metadata key {key!r} must be 1-64 characters of letters, digits and _ . : -",
            field=field,
        )
    if key in RESERVED:
        raise BadInput(f"metadata key {key!r} is the ledger's own", field=field)
    return key


def _json_size(checked: Mapping[str, Any]) -> int:
    try:
        return len(orjson.dumps(checked, default=str))
    except TypeError:  # an integer past 64 bits, which orjson does not write
        return len(json.dumps(checked, default=str, separators=(",", ":")).encode())


def check_value(item: object, *, field: str) -> object:
    """One value: a string, an exact number, a boolean or null."""
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, str):
        return check_text(item, field=field, max_length=MAX_VALUE, required=False, strip=False)
    if isinstance(item, int):
        return item
    if isinstance(item, Decimal):
        if not item.is_finite():
            raise BadInput("a metadata number must be finite", field=field)
        return item
    if isinstance(item, float):
        # A float reached here from JSON whose decoder made one (GraphQL variables): its
        # shortest text is what the client wrote for any number of up to 15 digits.
        try:
            exact = Decimal(repr(item))
        except InvalidOperation:
            raise BadInput("a metadata number must be finite", field=field) from None
        if not exact.is_finite():
            raise BadInput("a metadata number must be finite", field=field)
        return exact
    raise BadInput(
        "a metadata value is a string, a number, true, false or null (no objects or lists)",
        field=field,
    )


def indexed_value(item: object) -> str | None:
    """A value as the lookup tables hold it: typed text; None for what is not indexed."""
    if item is None:
        return "z"
    if isinstance(item, bool):
        return "b1" if item else "b0"
    if isinstance(item, str):
        return "s" + item
    if isinstance(item, int | Decimal | float):
        number = Decimal(repr(item)) if isinstance(item, float) else Decimal(item)
        if not number.is_finite():
            return None
        normal = number.normalize()
        # normalize() writes 100 as 1E+2: the plain form is what is stored.
        return "n" + format(normal, "f") if normal != 0 else "n0"
    return None


def index_rows(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The (key, typed value) rows of ``metadata``'s flat values, reserved keys left out."""
    if not metadata:
        return []
    rows = []
    for key, item in metadata.items():
        if key in RESERVED or not KEY_PATTERN.fullmatch(key):
            continue
        found = indexed_value(item)
        if found is not None and len(found) <= INDEX_VALUE_LENGTH:
            rows.append((key, found))
    return rows


def recorded(dialect: str, fields: Mapping[str, object]) -> dict[str, object]:
    """A dialect's ``fields`` as its documented keys (``<dialect>.<field>``); a field
    the request leaves out (None) is left out. Only keys of DIALECT_KEYS are written."""
    keys = {f"{dialect}.{name}": value for name, value in fields.items() if value is not None}
    unknown = sorted(keys.keys() - DIALECT_KEYS)
    if unknown:
        raise ValueError(f"undocumented dialect metadata keys: {', '.join(unknown)}")
    return keys


def merged(current: Mapping[str, Any] | None, change: Mapping[str, Any]) -> dict[str, Any]:
    """``change`` merged into ``current``: a key set to null is deleted (setEntryMetadata)."""
    result = dict(current or {})
    for key, item in change.items():
        if item is None:
            result.pop(key, None)
        else:
            result[key] = item
    return result
