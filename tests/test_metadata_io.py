"""Client metadata everywhere an entry travels (issue 20, item 4): stored exactly, and kept
by ``ledgerql export`` / ``import`` in JSON Lines, CSV and hledger journals, on both engines."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from app.ledger import posting
from db.engine import Database
from db.tables import Event, JournalEntry
from tests.conftest import make_tenant
from tests.test_import import chart

EXACT: dict[str, Any] = {
    "order_id": "A-17",
    "amount": Decimal("12.50"),
    "rate": Decimal("0.123456789012345678901234567890"),
    "big": Decimal("1E+2"),
    "count": 3,
    "wide": 2**70,
    "paid": True,
    "note": None,
}


async def test_metadata_numbers_are_stored_as_exact_json_numbers(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    result = await posting.post_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=dt.date(2026, 1, 2),
            memo="exact",
            metadata=EXACT,
            lines=[
                posting.LineInput(account_code="5100", debit="1.00"),
                posting.LineInput(account_code="1000", credit="1.00"),
            ],
        ),
    )
    async with db.read() as session:
        stored = await session.scalar(
            select(col(JournalEntry.metadata_json)).where(col(JournalEntry.id) == result.entry.id)
        )
        (view,) = await posting.load_entries(session, tenant.id, [result.entry.id])
        payload = await session.scalar(
            select(col(Event.payload_json)).where(col(Event.entry_id) == result.entry.id)
        )
    # Numbers, not strings, digit for digit; read back as what was posted, types and all.
    assert '"amount":12.50,' in (stored or "")
    assert '"rate":0.123456789012345678901234567890,' in (stored or "")
    assert '"big":1E+2,' in (stored or "") and f'"wide":{2**70},' in (stored or "")
    assert view.metadata == EXACT
    assert [type(value) for value in (view.metadata or {}).values()] == [
        type(value) for value in EXACT.values()
    ]
    assert str((view.metadata or {})["amount"]) == "12.50"
    # The event's payload says the same.
    document = json.loads(payload or "", parse_float=Decimal)
    assert document["metadata"] == EXACT
    assert str(document["metadata"]["amount"]) == "12.50"


async def test_a_hold_event_keeps_metadata_numbers_exact(db: Database) -> None:
    tenant = await make_tenant(db, "USD")
    await chart(db, tenant.id)
    held = await posting.hold_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=dt.date(2026, 1, 2),
            memo="held",
            metadata=EXACT,
            lines=[
                posting.LineInput(account_code="5100", debit="1.00"),
                posting.LineInput(account_code="1000", credit="1.00"),
            ],
        ),
    )
    await posting.void_hold(db, tenant.id, held.entry.id, "changed mind")
    async with db.read() as session:
        payloads = (
            await session.scalars(
                select(col(Event.payload_json))
                .where(col(Event.entry_id) == held.entry.id)
                .order_by(col(Event.id))
            )
        ).all()
    assert len(payloads) == 2  # held, then voided
    for payload in payloads:
        assert json.loads(payload, parse_float=Decimal)["metadata"] == EXACT
        assert '"amount":12.50,' in payload
