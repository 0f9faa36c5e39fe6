"""The server's background task that posts scheduled entries when they fall due.

The server runs ``post_due_round`` under a lease (app/jobs/scheduler.py): one process
at a time. ``start``/``post_due_forever`` run it unleased, every ``seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.ledger.posting import post_due
from db.engine import Database

logger = logging.getLogger("ledgerql.post_due")


async def post_due_round(db: Database) -> int:
    """One round: posts what is due now, logs how many (the leased job of app/jobs/scheduler.py)."""
    posted = await post_due(db)
    if posted:
        logger.info("posted %d scheduled entries", posted)
    return posted


async def post_due_forever(db: Database, seconds: float) -> None:
    """``post_due`` now, then every ``seconds``, until cancelled.

    A failed round is logged and the next one runs: a database that is away for a
    while must not stop scheduled entries from posting once it is back, nor the server.
    Several processes may run this at once (each entry posts once, see ``post_due``).
    """
    while True:
        try:
            await post_due_round(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("posting the due scheduled entries failed; trying again later")
        await asyncio.sleep(seconds)


def start(db: Database, seconds: float) -> asyncio.Task[None] | None:
    """The running task, or None when ``seconds`` is 0 (disabled)."""
    if seconds <= 0:
        return None
    return asyncio.get_running_loop().create_task(
        post_due_forever(db, seconds), name="ledgerql-post-due"
    )


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
