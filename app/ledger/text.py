"""The one rule for text a client sends, so both engines store exactly the same strings.

A text is a ``str`` without control characters other than tab, line feed and
carriage return, without lone surrogates, and no longer than its column, counted
in characters. PostgreSQL refuses NUL and unencodable surrogates and enforces
VARCHAR lengths; SQLite would store all three: the rule refuses them first, on
both. Lengths come from the table definitions, so a rule cannot drift from its column.
"""

from __future__ import annotations

import re
from typing import Any

from app.ledger.errors import BadInput

# C0 controls but tab, LF and CR; DEL; and the surrogate code points, which are
# only ever lone in a Python str (a valid pair decodes to one character).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(value: str) -> bool:
    """Whether ``value`` has only characters the text rule allows (its length aside)."""
    return _FORBIDDEN.search(value) is None


def column_length(table: Any, column: str) -> int:
    """The declared length of ``table.column`` (a SQLModel class), e.g. 100 for a VARCHAR(100)."""
    length = table.__table__.c[column].type.length
    assert isinstance(length, int), f"{table.__name__}.{column} has no length"
    return length


def check_text(
    value: object,
    *,
    field: str,
    max_length: int,
    what: str | None = None,
    required: bool = True,
    strip: bool = True,
) -> str:
    """``value`` (stripped when ``strip``) if it meets the text rule, else BadInput on ``field``.

    ``required``: an empty text is refused; otherwise it is returned as ``""``.
    """
    label = what or field
    if not isinstance(value, str):
        raise BadInput(f"{label} must be a string", field=field)
    forbidden = _FORBIDDEN.search(value)
    if forbidden is not None:
        raise BadInput(
            f"{label} contains the character U+{ord(forbidden.group()):04X}, which is not "
            "allowed in text (control characters other than tab and line breaks, lone surrogates)",
            field=field,
        )
    text = value.strip() if strip else value
    if required and not text.strip():
        raise BadInput(f"{label} must not be empty", field=field)
    if len(text) > max_length:
        raise BadInput(f"{label} is longer than {max_length} characters", field=field)
    return text


def check_optional_text(
    value: object, *, field: str, max_length: int, what: str | None = None
) -> str | None:
    """None for None or a blank text, else ``check_text``."""
    if value is None:
        return None
    text = check_text(value, field=field, max_length=max_length, what=what, required=False)
    return text or None


def check_lookup(value: str, *, field: str, what: str | None = None) -> str:
    """A text used only to find a record, as sent: refused if no engine could hold it.

    Only the characters are checked: a text too long for its column just finds nothing.
    """
    forbidden = _FORBIDDEN.search(value)
    if forbidden is not None:
        raise BadInput(
            f"{what or field} contains the character U+{ord(forbidden.group()):04X}, "
            "which no stored text contains",
            field=field,
        )
    return value
