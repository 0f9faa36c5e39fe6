"""The export of books with every feature a file carries, on both engines, against the
text the per-entry writers (Writer.entry) wrote for the same books before the export
wrote pages from rows (tests/fixtures/export/rich.*, made with that code): metadata of
each kind, status marks and comments, descriptions, three currencies (0, 2 and 3
decimals), a hold still pending, a reversed entry and its reversal, the declared
accounts with their metadata, the metadata keys of the CSV header."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.ledger.ledgerfile import FORMATS
from db.engine import Database
from tests.conftest import make_tenant
from tests.test_export import export_text, posted_and_reversed
from tests.test_import import run_import

FIXTURES = Path(__file__).parent / "fixtures" / "export"

RICH_JOURNAL = """\
account assets:bank  ; type: A, iban: "DE02 1001", limit: 12.50
account equity:opening  ; type: E

2026-03-01 * (open-1) Opening balance  ; from the old books
    ; checked: 2026-03-05
    ; order_id: A-17, amount: 12.50, paid: true
    assets:bank  5000.00 EUR
    equity:opening  -5000.00 EUR

2026-03-02 ! (inv-7) Office chairs, "deluxe"
    * expenses:office  420.00 EUR  ; four chairs
    ; from the catalogue, page 3
    ! assets:bank  -420.00 EUR

2026-03-02 (fx-1) Dollars, yen and dinars
    assets:usd  12.34 USD
    income:fx  -12.34 USD
    assets:yen  1500 JPY
    income:fx  -1500 JPY
    assets:bhd  1.005 BHD
    income:fx  -1.005 BHD
"""

RICH_JSONL = """\
{"date":"2026-03-04","memo":"Caf\\u00e9 \\"Zur Post\\", table 4","external_id":"café-1","metadata":{"note":"12.50","count":3,"ratio":0.125,"flag":false,"nothing":null,"text":" padded ","line":"two\\nlines"},"lines":[{"account":"expenses:office","debit":"0.05","description":"tip, small"},{"account":"assets:bank","credit":"0.05"}]}
{"date":"2026-03-04","memo":"Mixed","currency":"USD","external_id":"mix-1","lines":[{"account":"assets:usd","debit":"1.00"},{"account":"income:fx","credit":"1.00"},{"account":"assets:bank","debit":"0.90","currency":"EUR"},{"account":"income:fx","credit":"0.90","currency":"EUR"}]}
{"date":"2026-03-05","memo":"Card hold","external_id":"hold-1","hold":{"expires_at":"2027-01-01T12:00:00+00:00"},"lines":[{"account":"expenses:office","debit":"30.00"},{"account":"assets:bank","credit":"30.00"}]}
{"date":"2026-03-05","memo":"Open hold","external_id":"hold-2","hold":{"expires_at":null},"lines":[{"account":"expenses:office","debit":"1.00"},{"account":"assets:bank","credit":"1.00"}]}
"""


async def rich_books(db: Database) -> int:
    """A tenant with RICH_JOURNAL and RICH_JSONL imported, and an entry posted by hand
    and reversed (written with their numbers as ids)."""
    tenant = await make_tenant(db, "EUR")
    for text, fmt in ((RICH_JOURNAL, "journal"), (RICH_JSONL, "jsonl")):
        summary = await run_import(db, tenant.id, text, fmt, create_accounts=True)
        assert summary.failed == 0, summary.errors
    await posted_and_reversed(
        db,
        tenant.id,
        ("expenses:office", "assets:bank"),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 6),
    )
    return tenant.id


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_the_export_writes_what_the_per_entry_writers_wrote(db: Database, fmt: str) -> None:
    tenant_id = await rich_books(db)
    expected = (FIXTURES / f"rich.{fmt}").read_text(encoding="utf-8")
    for page_size in (5000, 2, 1):  # one page, and entries split over pages
        assert await export_text(db, tenant_id, fmt, page_size) == expected
