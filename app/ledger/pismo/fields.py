"""Pismo's input fields: their limits and the checks every Pismo write shares.

Ids, entry names, processing codes, tracking ids, event dates and amounts are checked
here, the same way for a script, an accounting entry and an accounting event; an error
names the GraphQL input field (``programId``), which the REST shim renames.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from app.ledger import validation
from app.ledger.errors import BadInput, LedgerError
from app.ledger.money import parse_decimal, to_minor
from app.ledger.text import check_text

# Pismo's documented `entry_name` values (seed 001, AccountingScriptPost.entry_name).
ENTRY_NAMES: tuple[str, ...] = (
    "amount",
    "amount-advancement",
    "amount-advancement-dueDate",
    "amount-advancement-shift",
    "amount-advancement-shift-dueDate",
    "amount-anticipation",
    "amount-cancelment-anticipation",
    "amount-clearing",
    "amount-contract",
    "amount-dueDate",
    "amount-dueDate-cancelment",
    "amount-reversal",
    "contractAmount",
    "daily-interest",
    "fine",
    "interest",
    "interest-advancement",
    "interest-advancement-dueDate",
    "interest-anticipation",
    "interest-dueDate",
    "interest-not-appropriated",
    "interest-partial",
    "iof",
    "iof-dueDate",
    "overdue",
)
DEFAULT_ENTRY_NAME = "amount"
# An accounting entry whose account is absent or "0" takes it from the script.
NO_ACCOUNT = "0"
MAX_PROCESSING_CODE = 6
MAX_TRACKING_ID = 50
MAX_ACCOUNT_NUMBER = 50
MAX_ACCOUNT_DESCRIPTION = 100
MAX_COST_CENTER_FIELD = 50
MAX_NAME = 200
MAX_EVENT_AMOUNTS = 100
# No currency has more than 4 decimals and no amount reaches 10^20 minor units: bounding
# the exponent first keeps a JSON number like 1e999999999 from being expanded.
MAX_AMOUNT_ADJUSTED = 30

_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_id(value: object, *, field: str, what: str) -> int:
    """A Pismo id: a positive 64-bit integer, from an int or a string of ASCII digits."""
    return validation.parse_id(value, field=field, what=what)


def optional_id(value: object, *, field: str, what: str) -> int | None:
    return None if value is None else parse_id(value, field=field, what=what)


def check_entry_name(value: str | None, field: str = "entryName") -> str:
    """The entry name, ``amount`` when absent; one of Pismo's documented values."""
    if value is None:
        return DEFAULT_ENTRY_NAME
    if value not in ENTRY_NAMES:
        raise BadInput(
            f"entry name {_show(value)} is not one of: {', '.join(ENTRY_NAMES)}", field=field
        )
    return value


def check_processing_code(value: str | None, field: str = "processingCode") -> str:
    """The processing code, ``""`` when absent; at most 6 characters."""
    if value is None or value == "":
        return ""
    check_text(
        value,
        field=field,
        what="processing code",
        max_length=MAX_PROCESSING_CODE,
        required=False,
        strip=False,
    )
    if len(value) > MAX_PROCESSING_CODE:
        raise BadInput(
            f"processing code {_show(value)} is longer than {MAX_PROCESSING_CODE} characters",
            field=field,
        )
    if value != value.strip():
        raise BadInput("processing code has leading or trailing spaces", field=field)
    return value


def check_tracking_id(value: str | None, field: str = "trackingId") -> str | None:
    if value is None:
        return None
    # Kept as sent, like an idempotency key, which it is.
    return check_text(
        value, field=field, what="tracking id", max_length=MAX_TRACKING_ID, strip=False
    )


def parse_event_date(value: object, field: str = "eventDate") -> dt.date:
    """The calendar date of a date (``2021-02-01``) or an ISO 8601 date-time.

    A date-time counts on the date written in it (``2021-02-01T23:30:00-03:00`` is
    2021-02-01), not on the UTC date: the sender's business day.
    """
    if not isinstance(value, str):
        raise BadInput(
            "event date must be a string (YYYY-MM-DD or an ISO 8601 date-time)", field=field
        )
    text = value.strip()
    try:
        if len(text) > 40 or not text.isascii():
            raise ValueError
        if _PLAIN_DATE.fullmatch(text):
            on = dt.date.fromisoformat(text)
        else:
            on = dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise BadInput(
            f"event date {_show(value)} is not a date (YYYY-MM-DD) or an ISO 8601 date-time",
            field=field,
        ) from None
    return validation.check_date(on, field=field)


def parse_amount(value: object, currency: str, field: str) -> int:
    """Minor units of a positive amount in ``currency``; more decimals is an error."""
    try:
        amount = parse_decimal(value)
        if amount.adjusted() > MAX_AMOUNT_ADJUSTED:
            raise BadInput(f"amount is too large for {currency}")
        return to_minor(amount, currency)
    except LedgerError as error:
        raise error.at(field) from None


def relabel(error: LedgerError, fields: Mapping[str, str]) -> LedgerError:
    """``error`` with a field of the posting core renamed to the Pismo input's field."""
    if error.field is not None:
        for prefix, name in fields.items():
            if error.field == prefix or error.field.startswith(prefix + "."):
                error.field = name
                break
    return error
