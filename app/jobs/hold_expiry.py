"""The server's background job that releases holds past their expiresAt (docs/holds.md).

app/jobs/scheduler.py runs ``expire_round`` under a lease every
``LEDGERQL_HOLD_EXPIRY_SECONDS`` (default 5): one process at a time, and each hold is
released under its tenant's lock, so it expires once even if two processes run it.
"""

from __future__ import annotations

import logging

from app.ledger.posting import expire_holds
from db.engine import Database

logger = logging.getLogger("ledgerql.hold_expiry")


async def expire_round(db: Database) -> int:
    """One round: expires what is past its time now, logs how many."""
    expired = await expire_holds(db)
    if expired:
        logger.info("expired %d holds", expired)
    return expired
