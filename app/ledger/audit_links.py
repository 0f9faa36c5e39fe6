"""The chain pass of ``ledgerql verify``: every link of a tenant's chain recomputed from
the stored event rows (docs/audit.md, "Verifying").

The events are read in link order, a keyset page at a time over ``ix_events_chain``
(tenant, link), so memory stays bounded whatever the chain's length. Each link's hash
is recomputed from its row's columns (audit_chain.link_bytes) and the hash before it;
the numbers must run 1, 2, ... without a gap, and the tenant's head must be the last
link. After a mismatch the pass goes on from the stored hash, so that one changed row
is named once rather than every link after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlmodel import SQLModel

from app.ledger.audit_chain import GENESIS, Head, link_bytes, next_hash
from app.ledger.audit_findings import Counts, Findings, Problem, Progress

PAGE = 5000

EVENTS: Table = SQLModel.metadata.tables["events"]
_COLUMNS = (
    EVENTS.c.id,
    EVENTS.c.link,
    EVENTS.c.type,
    EVENTS.c.entry_id,
    EVENTS.c.payload_json,
    EVENTS.c.created_at,
    EVENTS.c.chain_hash,
)
_PAGE_OF_LINKS = (
    select(*_COLUMNS)
    .where(EVENTS.c.tenant_id == bindparam("tenant_id"), EVENTS.c.link > bindparam("after"))
    .order_by(EVENTS.c.link)
    .limit(bindparam("limit"))
)
_ONE_LINK = select(*_COLUMNS).where(
    EVENTS.c.tenant_id == bindparam("tenant_id"), EVENTS.c.link == bindparam("link")
)
_UNLINKED = select(func.count()).where(
    EVENTS.c.tenant_id == bindparam("tenant_id"), EVENTS.c.link.is_(None)
)


@dataclass(frozen=True)
class Checkpoint:
    """A head printed by an earlier verify (``--from LINK:HASH``): the links up to it are
    vouched for by the one who kept it, and the pass starts after it."""

    link: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """``LINK:HASH`` as verify prints the head (``1234:ab12...``); ValueError if not."""
        link, sep, digest = text.strip().partition(":")
        digest = digest.strip().lower().removeprefix("sha256").strip()
        if not sep or not link.strip().isdigit() or len(digest) != 64:
            raise ValueError(f"not a checkpoint LINK:HASH (64 hex digits): {text!r}")
        int(digest, 16)  # ValueError when not hex
        return cls(int(link), digest)


def _where(row: object) -> str:
    """The event a link is, in words: its id, type and entry."""
    entry = f", entry {row.entry_id}" if row.entry_id is not None else ""  # type: ignore[attr-defined]
    return f"event {row.id}, {row.type}{entry}"  # type: ignore[attr-defined]


def check_links(
    conn: Connection,
    tenant_id: int,
    head: Head,
    start: Checkpoint | None,
    findings: Findings,
    counts: Counts,
    progress: Progress,
) -> None:
    """Recomputes the tenant's chain from ``start`` (GENESIS without one) to its end and
    records what does not match in ``findings``."""
    last_link, last_hash = 0, GENESIS
    if start is not None and start.link > 0:
        row = conn.execute(_ONE_LINK, {"tenant_id": tenant_id, "link": start.link}).first()
        if row is None:
            findings.add(
                Problem("chain", f"link {start.link} of the checkpoint is not in the chain")
            )
            return
        if row.chain_hash != start.hash:
            findings.add(
                Problem(
                    "chain",
                    f"the books before link {start.link} changed: its hash is now "
                    f"{row.chain_hash}, the checkpoint says {start.hash}",
                    link=start.link,
                )
            )
        last_link, last_hash = start.link, str(row.chain_hash)
    progress.start("links", max(head.link - last_link, 0))
    while not findings.full:
        rows = conn.execute(
            _PAGE_OF_LINKS, {"tenant_id": tenant_id, "after": last_link, "limit": PAGE}
        ).all()
        if not rows:
            break
        for row in rows:
            link = int(row.link)
            if link != last_link + 1:
                missing = (
                    f"{last_link + 1}" if link == last_link + 2 else f"{last_link + 1}-{link - 1}"
                )
                findings.add(
                    Problem(
                        "chain",
                        f"link {missing} missing before link {link} ({_where(row)}): "
                        "an event was deleted",
                        link=last_link + 1,
                        entry_id=row.entry_id,
                    )
                )
            else:
                data = link_bytes(
                    tenant_id, link, row.type, row.entry_id, row.created_at, row.payload_json
                )
                if next_hash(last_hash, data) != row.chain_hash:
                    findings.add(
                        Problem(
                            "chain",
                            f"link {link} ({_where(row)}) does not match its hash: the event "
                            "row was changed (or the hash of the link before it)",
                            link=link,
                            entry_id=row.entry_id,
                        )
                    )
            last_link, last_hash = link, str(row.chain_hash)
        counts.links += len(rows)
        progress.advance(len(rows))
    progress.finish()
    if findings.full:
        return
    _check_head(head, last_link, last_hash, findings)
    unlinked = int(conn.execute(_UNLINKED, {"tenant_id": tenant_id}).scalar_one())
    if unlinked:
        findings.add(
            Problem("chain", f"{unlinked} event(s) have no link: written outside the ledger")
        )


def _check_head(head: Head, last_link: int, last_hash: str, findings: Findings) -> None:
    if head.link > last_link:
        findings.add(
            Problem(
                "chain",
                f"the chain ends at link {last_link} but the head is link {head.link}: "
                "the last links were deleted (the chain was cut)",
                link=last_link + 1,
            )
        )
    elif head.link < last_link:
        findings.add(
            Problem(
                "chain",
                f"the chain goes on to link {last_link} past the head (link {head.link}): "
                "events were added after it (the chain was extended)",
                link=head.link + 1,
            )
        )
    elif head.hash != last_hash:
        findings.add(
            Problem(
                "chain",
                f"the head's hash {head.hash} is not link {last_link}'s {last_hash}",
                link=last_link,
            )
        )
