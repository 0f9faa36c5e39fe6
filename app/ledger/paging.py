"""Keyset pagination, shared by every listing: page sizes, cursors, pages, index bounds.

A page is read past the last row of the one before, never at an offset, so a page
boundary neither skips nor repeats a row whatever is written meanwhile. The cursor of
a row is its sort key, base64 of ``|``-joined parts; a client may only send back one
it was given, and anything else is its mistake (``BadInput`` on ``after``).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Date, literal

from app.ledger.errors import BadInput, LedgerError
from app.ledger.text import check_lookup
from app.ledger.validation import parse_id

MAX_PAGE = 500
_CURSOR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
T = TypeVar("T")
# The largest row id (BIGINT): the upper bound of a (date, id) key on a date.
MAX_ROW_ID = 2**63 - 1


def encode_cursor(*parts: object) -> str:
    text = "|".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, kinds: tuple[type, ...], field: str = "after") -> tuple[Any, ...]:
    """The parts of a cursor made by ``encode_cursor``, converted to ``kinds``.

    Each part must be what ``encode_cursor`` writes of its kind: an id (1 to 2^63-1),
    a YYYY-MM-DD date, or a text the text rule allows. Anything else, decoded or
    not, is the client's mistake, never a failed query.
    """
    invalid = BadInput("the cursor is not valid", field=field)
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (ValueError, UnicodeError):
        raise invalid from None
    parts = text.split("|")
    if len(parts) != len(kinds):
        raise invalid
    try:
        return tuple(_cursor_part(part, kind) for part, kind in zip(parts, kinds, strict=True))
    except (ValueError, LedgerError):
        raise invalid from None


def _cursor_part(part: str, kind: type) -> object:
    if kind is int:
        return parse_id(part)
    if kind is dt.date:
        if not _CURSOR_DATE.fullmatch(part):
            raise ValueError(part)
        return dt.date.fromisoformat(part)
    return check_lookup(part, field="after")


def check_page_size(first: int) -> int:
    if first < 1 or first > MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    return first


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    cursors: list[str]


def typed_key(owner_id: int, date: dt.date, row_id: int) -> tuple[Any, ...]:
    """Bound values of a row-value bound, typed as the index columns are (asyncpg
    otherwise binds an int as INTEGER, too small for a BIGINT id)."""
    return (literal(owner_id, BigInteger), literal(date, Date), literal(row_id, BigInteger))
