"""Leases: at most one process at a time runs each background job.

A lease is a row of ``leases`` (db/lease_tables.py): a job's name, its holder and
until when. ``try_acquire`` takes or renews it in one statement, atomic on both
engines (an upsert whose update applies only when the row has expired or is
already the caller's), so two processes can never both believe they hold it.

Expiry is compared with the clock of the process that asks: the processes'
clocks must agree to well within the TTL (NTP does), which holds trivially for
the workers of one machine.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy import Connection, Table, case, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.bulk import is_postgres
from db.engine import Database
from db.lease_tables import Lease
from db.tables import utcnow

LEASES: Table = Lease.__table__  # type: ignore[attr-defined]


def new_holder_id() -> str:
    """hostname:pid:random, unique per process start (a reused pid gets a new id)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def claim(conn: Connection, name: str, holder: str, ttl: float) -> bool:
    """Takes or renews lease ``name`` for ``holder`` until now + ``ttl`` seconds; True if held.

    One upsert: a new name is inserted; an existing row is overwritten only when it
    has expired or already belongs to ``holder``. RETURNING yields a row exactly when
    the insert or the update happened, i.e. when ``holder`` now holds the lease.
    """
    now = utcnow()
    insert = (pg_insert if is_postgres(conn) else sqlite_insert)(LEASES).values(
        name=name, holder=holder, acquired_at=now, expires_at=now + dt.timedelta(seconds=ttl)
    )
    new = insert.excluded
    renewing = LEASES.c.holder == new.holder
    statement = insert.on_conflict_do_update(
        index_elements=[LEASES.c.name],
        set_={
            "holder": new.holder,
            "expires_at": new.expires_at,
            # A renewal keeps when the holder took it; a takeover starts afresh.
            "acquired_at": case((renewing, LEASES.c.acquired_at), else_=new.acquired_at),
        },
        where=or_(renewing, LEASES.c.expires_at < now),
    ).returning(LEASES.c.holder)
    return conn.execute(statement).first() is not None


def drop(conn: Connection, name: str, holder: str) -> bool:
    """Gives lease ``name`` up if ``holder`` holds it: another process may take it at once."""
    statement = delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder)
    return bool(conn.execute(statement).rowcount)


async def try_acquire(db: Database, name: str, holder: str, ttl: float) -> bool:
    """``claim`` in a write transaction of its own."""
    return await db.run_write(lambda conn: claim(conn, name, holder, ttl))


async def renew(db: Database, name: str, holder: str, ttl: float) -> bool:
    """The same statement as ``try_acquire``: False means the lease was lost."""
    return await try_acquire(db, name, holder, ttl)


async def release(db: Database, name: str, holder: str) -> bool:
    return await db.run_write(lambda conn: drop(conn, name, holder))


@dataclass(frozen=True)
class LeaseRow:
    name: str
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime


async def current(db: Database, name: str) -> LeaseRow | None:
    """The row of lease ``name`` as stored (possibly expired), or None."""
    async with db.read() as session:
        row = (await session.execute(select(LEASES).where(LEASES.c.name == name))).first()
    if row is None:
        return None
    return LeaseRow(row.name, row.holder, row.acquired_at, row.expires_at)
