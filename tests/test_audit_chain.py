"""The tenant's hash chain (issue 21, docs/audit.md), on both engines: every change of the
books is a link whose hash recomputes from the stored row and the link before; the head
on the tenant's row and ``ledgerHead`` are the last link; a period close records the head
as the books stood; concurrent writers never fork the chain."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import text

from app.ledger import audit_chain
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry

ERRORS = "errors { code field message }"
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
HEAD = "{ ledgerHead { link hash at } }"


async def links(db: Database, tenant_id: int) -> list[Any]:
    async with db.read() as session:
        found = await session.execute(
            text(
                "SELECT id, link, type, entry_id, payload_json, created_at, chain_hash "
                "FROM events WHERE tenant_id = :t ORDER BY link"
            ),
            {"t": tenant_id},
        )
        return list(found)


def recomputed(tenant_id: int, rows: list[Any]) -> list[str]:
    current, hashes = audit_chain.GENESIS, []
    for row in rows:
        data = audit_chain.link_bytes(
            tenant_id, row.link, row.type, row.entry_id, row.created_at, row.payload_json
        )
        current = audit_chain.next_hash(current, data)
        hashes.append(current)
    return hashes


async def test_every_change_is_a_link_that_recomputes(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    assert (await gql(HEAD))["ledgerHead"] == {"link": "0", "hash": "0" * 64, "at": None}
    await create_accounts(gql)
    first = await gql(POST, {"input": entry("1000", "4000", "10.00", metadata={"k": 12.5})})
    entry_id = first["postJournalEntry"]["entry"]["id"]
    await gql(
        "mutation($id: ID!) { reverseJournalEntry(id: $id) { entry { id } } }", {"id": entry_id}
    )
    held = await gql(HOLD, {"input": entry("1000", "4000", "3.00")})
    hold_id = held["holdJournalEntry"]["entry"]["id"]
    await gql(
        "mutation($id: ID!) { postHold(input: {entryId: $id}) { entry { id } } }", {"id": hold_id}
    )
    other = await gql(HOLD, {"input": entry("1000", "4000", "2.00")})
    other_id = other["holdJournalEntry"]["entry"]["id"]
    await gql(
        "mutation($id: ID!) { voidHold(input: {entryId: $id}) { entry { id } } }", {"id": other_id}
    )
    await gql(
        "mutation($id: ID!) { setEntryMetadata(entryId: $id, metadata: {k: null, n: 1}) "
        "{ entry { id } } }",
        {"id": entry_id},
    )
    before_close = (await gql(HEAD))["ledgerHead"]
    closed = await gql('mutation { closePeriod(throughDate: "2025-12-31") { errors { code } } }')
    assert closed["closePeriod"]["errors"] == []

    rows = await links(db, tenant.id)
    kinds = [row.type for row in rows]
    for kind in (
        "journal_entry.posted",
        "journal_entry.reversed",
        "hold.created",
        "hold.posted",
        "hold.voided",
        "journal_entry.metadata_changed",
        "period.closed",
    ):
        assert kind in kinds, kinds
    assert [row.link for row in rows] == list(range(1, len(rows) + 1))
    assert recomputed(tenant.id, rows) == [row.chain_hash for row in rows]
    head = (await gql(HEAD))["ledgerHead"]
    assert (int(head["link"]), head["hash"]) == (rows[-1].link, rows[-1].chain_hash)
    assert head["at"] is not None
    # The close recorded the head as the books stood before its own link.
    close = rows[-1]
    assert close.type == "period.closed"
    recorded = json.loads(close.payload_json)["chain_head"]
    assert recorded == {"link": int(before_close["link"]), "hash": before_close["hash"]}
    assert int(before_close["link"]) == close.link - 1


async def test_concurrent_writers_never_fork_the_chain(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)

    async def post(n: int) -> None:
        data = await gql(POST, {"input": entry("1000", "4000", f"{n}.00")})
        assert data["postJournalEntry"]["errors"] == []

    await asyncio.gather(*(post(n) for n in range(1, 31)))
    rows = await links(db, tenant.id)
    assert len([row for row in rows if row.type == "journal_entry.posted"]) == 30
    assert [row.link for row in rows] == list(range(1, len(rows) + 1))
    assert recomputed(tenant.id, rows) == [row.chain_hash for row in rows]


def test_the_encoding_is_the_documented_bytes() -> None:
    """docs/audit.md's worked example, byte for byte."""
    data = audit_chain.link_bytes(
        7, 1, "journal_entry.posted", 42, "2026-12-07 15:30:00.123456", '{"entry_id":42}'
    )
    assert data == (
        b"ledgerql-chain-1\n7\n1\njournal_entry.posted\n42\n2026-12-07T15:30:00.123456Z\n"
        b'{"entry_id":42}'
    )
    assert audit_chain.next_hash(audit_chain.GENESIS, data) == EXAMPLE_HASH


EXAMPLE_HASH = "a7673cc5325b335e4d0e17d329f5bc86b125222ad917de3c4de26c5d44d24dcf"
