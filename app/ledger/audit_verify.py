"""``ledgerql verify``: a tenant's books checked against its hash chain (docs/audit.md,
"Verifying"). Three passes, in one read transaction (one snapshot):

- the chain (audit_links.py): every link recomputed from the stored event rows, the
  numbers without a gap, the head the last link; from a checkpoint when given;
- the books (audit_books.py): every entry and line as stored, field by field, against
  what its links say (audit_replay.py);
- the balances (audit_balances.py): the maintained roll-ups against the posted lines.

The result names each problem (at most audit_findings.MAX_PROBLEMS), the head, and what
was checked. This module and the passes import no click: the CLI (app/cli/verify.py)
prints the result and draws the progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, bindparam, func, select, text
from sqlmodel import SQLModel

from app.ledger.audit_balances import BalancesPass
from app.ledger.audit_books import BooksPass
from app.ledger.audit_chain import Head
from app.ledger.audit_findings import Counts, Findings, NoProgress, Problem, Progress
from app.ledger.audit_links import Checkpoint, check_links
from db.engine import Database

__all__ = ["Checkpoint", "Problem", "Verification", "tenants_to_verify", "verify", "verify_tenant"]

_tables = SQLModel.metadata.tables
TENANTS: Table = _tables["tenants"]
ENTRIES: Table = _tables["journal_entries"]

_HEAD = select(TENANTS.c.slug, TENANTS.c.chain_link, TENANTS.c.chain_hash).where(
    TENANTS.c.id == bindparam("tenant_id")
)
_ENTRY_COUNT = select(func.count()).where(ENTRIES.c.tenant_id == bindparam("tenant_id"))


@dataclass(frozen=True)
class Verification:
    """One tenant's verification: ``ok`` when nothing differs."""

    tenant_id: int
    slug: str
    head: Head
    problems: list[Problem] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def checkpoint(self) -> str:
        """The head as ``--from`` takes it back: ``LINK:HASH``."""
        return f"{self.head.link}:{self.head.hash}"


def tenants_to_verify(conn: Connection, slug: str | None) -> list[tuple[int, str]]:
    """(id, slug) of the tenant ``slug``, or of every tenant; [] when there is no such."""
    query = select(TENANTS.c.id, TENANTS.c.slug).order_by(TENANTS.c.id)
    if slug is not None:
        query = query.where(TENANTS.c.slug == slug)
    return [(int(row.id), str(row.slug)) for row in conn.execute(query)]


def snapshot(conn: Connection) -> None:
    """Every pass reads the same state: on PostgreSQL one REPEATABLE READ snapshot for the
    whole transaction (SQLite's read transaction already is one). First statement only."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def verify_tenant(
    conn: Connection,
    tenant_id: int,
    *,
    start: Checkpoint | None = None,
    progress: Progress | None = None,
    findings: Findings | None = None,
) -> Verification:
    """Runs the three passes over one tenant's books on ``conn``; stops early once
    ``findings`` is full."""
    progress = progress or NoProgress()
    findings = findings or Findings()
    row = conn.execute(_HEAD, {"tenant_id": tenant_id}).one()
    head = Head(int(row.chain_link), str(row.chain_hash))
    counts = Counts()
    check_links(conn, tenant_id, head, start, findings, counts, progress)
    if not findings.full:
        total = int(conn.execute(_ENTRY_COUNT, {"tenant_id": tenant_id}).scalar_one())
        BooksPass(conn, tenant_id, findings, counts, progress).run(total)
    if not findings.full:
        BalancesPass(conn, tenant_id, findings, counts).run()
    return Verification(tenant_id, str(row.slug), head, findings.problems, counts)


async def verify(
    db: Database,
    tenant_id: int,
    *,
    start: Checkpoint | None = None,
    progress: Progress | None = None,
) -> Verification:
    """``verify_tenant`` in a read transaction of its own, one snapshot."""

    def work(conn: Connection) -> Verification:
        snapshot(conn)
        return verify_tenant(conn, tenant_id, start=start, progress=progress)

    return await db.run_read(work)
