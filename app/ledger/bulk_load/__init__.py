"""The bulk load: large batches of entries (a whole file's import) written set-based,
without the per-entry machinery of the general write path, and to the same rows.

A batch is planned (``plan_plain``: ``plain.plan`` proves in memory that every entry
passes, or gives up) and then written in one write transaction (``write_planned``:
``store.write_plain`` writes the rows under the tenant's lock with one multi-row
statement per table, COPY on PostgreSQL). A batch it gives up on is not written, and
the caller posts it through the general path (``posting.post_entries``), which decides
it entry by entry with the usual refusals: the bulk load never words a refusal of its
own. docs/bulk_load.md tells the design and its figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app.ledger.batch import collector_paused
from app.ledger.batch_store import accounts_by_code, read_tenant
from app.ledger.bulk_load.ahead import Expected, Prebuilt, expected_now, prebuild
from app.ledger.bulk_load.from_file import accounts_named, plan_file
from app.ledger.bulk_load.plain import PlainBatch, plan
from app.ledger.bulk_load.rows import LineRows
from app.ledger.bulk_load.store import (
    Stored,
    claimed,
    lines_before,
    unique_key_clash,
    write_plain,
)
from app.ledger.entries import EntryInput
from app.ledger.ledgerfile.journal_plain import PlainRecord
from app.ledger.ledgerfile.model import FileEntry
from app.ledger.posting_rules import Tenant
from app.ledger.text import storable
from app.ledger.validation import AccountRef
from db.engine import Database

__all__ = [
    "Expected",
    "LineRows",
    "PlainBatch",
    "Planned",
    "Stored",
    "plan",
    "plan_plain",
    "plan_plain_file",
    "write_plain",
    "write_planned",
]


@dataclass(frozen=True)
class Planned:
    """A batch proven plain (``plain.plan``), with its line rows where already built."""

    batch: PlainBatch
    lines: LineRows | None
    # Every key already stored for the same request: the whole batch replays, unwritten.
    replayed: bool = False
    # Its rows built ahead (``ahead``), against the state ``after`` of the plan
    # of the chunk before it or else the database's.
    prebuilt: Prebuilt | None = None


async def plan_plain(db: Database, tenant_id: int, inputs: Sequence[EntryInput]) -> Planned | None:
    """``inputs`` planned (``plain.plan``) against the tenant and accounts as they are now,
    read without a lock like the general path's plan; None: the general path decides them.
    Done before the write, so that one batch is planned while the one before it is
    written; on PostgreSQL its ids are drawn and its line rows built then too."""
    codes = {
        line.account_code
        for data in inputs
        for line in data.lines
        if line.account_code and storable(line.account_code)
    }

    def make(tenant: Tenant, by_code: dict[str, AccountRef]) -> PlainBatch | None:
        return plan(
            inputs, base_currency=tenant.base_currency, lock_date=tenant.lock_date, by_code=by_code
        )

    return await _planned(db, tenant_id, codes, make)


async def plan_plain_file(
    db: Database,
    tenant_id: int,
    entries: Sequence[FileEntry | PlainRecord],
    keys: Sequence[str],
    *,
    scope: str,
    source: str,
    expected: Expected | None = None,
    named: set[str] | None = None,
) -> Planned | None:
    """``plan_plain`` of the inputs a file's ``entries`` are posted as (``from_file``);
    ``expected``: what the chunk before it leaves (its plan's ``prebuilt.after``);
    ``named``: the account codes the entries name, if known already."""
    # Each code checked once, not once per line: a chunk has 20,000 lines and 70 codes.
    codes = {code for code in named or accounts_named(entries) if storable(code)}

    def make(tenant: Tenant, by_code: dict[str, AccountRef]) -> PlainBatch | None:
        return plan_file(
            entries,
            keys,
            scope=scope,
            source=source,
            base_currency=tenant.base_currency,
            lock_date=tenant.lock_date,
            by_code=by_code,
        )

    return await _planned(db, tenant_id, codes, make, expected)


async def _planned(
    db: Database,
    tenant_id: int,
    codes: set[str],
    make: Callable[[Tenant, dict[str, AccountRef]], PlainBatch | None],
    expected: Expected | None = None,
) -> Planned | None:
    def read(conn: Connection) -> Planned | None:
        tenant = read_tenant(conn, tenant_id, lock=False)
        if tenant is None:
            return None
        by_code = accounts_by_code(conn, tenant_id, codes)
        with collector_paused():
            batch = make(tenant, by_code)
            if batch is None or not batch.entries:
                return None
            found = claimed(conn, tenant_id, batch)
            if found == "some":
                return None
            if found == "all":
                return Planned(batch, None, replayed=True)
            drawn = lines_before(conn, tenant_id, batch)  # PostgreSQL's ids, None on SQLite
            before = expected or expected_now(conn, tenant)
            ahead = prebuild(conn, tenant_id, batch, before, drawn) if before is not None else None
            return Planned(batch, drawn, prebuilt=ahead)

    return await db.run_read(read)


async def write_planned(db: Database, tenant_id: int, planned: Planned) -> Stored | None:
    """Writes a planned batch in a transaction of its own; None: nothing written, the
    general path decides it."""

    if planned.replayed:
        return Stored(replayed=len(planned.batch.entries))

    def work(conn: Connection) -> Stored | None:
        with collector_paused():
            return write_plain(
                conn,
                tenant_id,
                planned.batch,
                planned.lines,
                keys_read=True,
                prebuilt=planned.prebuilt,
            )

    try:
        return await db.run_write(work)
    except DBAPIError as error:  # rolled back: nothing of the batch is written
        if unique_key_clash(error):
            return None
        raise
