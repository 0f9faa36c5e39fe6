"""The outbox of the write path: announcing that a transaction wrote events, so that
subscribers read them at once.

Two wake-ups, both delivered only once the transaction commits:

- in this process: the tenant is recorded on the connection (``Connection.info``) and
  ``db.engine`` hands it to ``on_commit_of_events`` callbacks after the commit;
- in every process on PostgreSQL: ``pg_notify`` inside the transaction, which PostgreSQL
  delivers to listeners at commit and drops on rollback (app/events/live.py listens).

A wake-up carries no event: subscribers always read the events table past what they
have sent, so a lost or duplicated wake-up costs a read, never an event.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, text

from db.engine import ANNOUNCED_TENANTS

CHANNEL = "ledgerql_events"
"""The PostgreSQL notification channel; the payload is ``<tenant id>:<PROCESS>``."""
PROCESS = secrets.token_hex(8)
"""This process's mark on its notifications: its own commits already woke its subscribers
(the after-commit hook), so app/events/live.py skips them instead of waking them twice."""

_NOTIFY = text("SELECT pg_notify(:channel, :tenant)")


def announce(conn: Connection, tenant_id: int) -> None:
    """Called by every writer of ``events`` rows inside the writing transaction."""
    conn.info.setdefault(ANNOUNCED_TENANTS, set()).add(tenant_id)
    if conn.dialect.name == "postgresql":
        # Always sent (PostgreSQL folds identical notifications of one transaction): a set
        # left on the pooled connection by a path that did not take it must not mute this.
        conn.execute(_NOTIFY, {"channel": CHANNEL, "tenant": f"{tenant_id}:{PROCESS}"})
