"""The ``knownAt`` argument of the reports: the figures as they stood at a moment.

Resolvers only translate; what is taken out of today's figures is decided in
``app.ledger.known_at`` (docs/known_at.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.ledger.known_at import known_moment

KNOWN_AT = (
    "The figures as they stood at this moment (ISO 8601 with an offset, e.g. "
    "2026-06-30T17:45:00.123456Z): entries recorded after it are left out (backdated "
    "corrections, reversals), and status changes recorded after it are not applied (a "
    "scheduled entry or a hold posted since counts as not posted; a hold posted, voided or "
    "expired since is pending). Combines with the accounting dates (asOf, from, to). Absent "
    "or not in the past: the figures of now. Without an offset: BAD_USER_INPUT on knownAt."
)

KnownAt = Annotated[dt.datetime | None, strawberry.argument(description=KNOWN_AT)]


def moment(known_at: dt.datetime | None) -> dt.datetime | None:
    """The moment a report is asked as of, checked; None for the report of now."""
    return known_moment(known_at, field="knownAt")
