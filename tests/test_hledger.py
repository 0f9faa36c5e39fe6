"""hledger agrees with us: a journal imported gives, to the cent, the balances
``hledger bal`` prints for it, and so does our export of it.

Skips when ``hledger`` is not on PATH, except with LEDGERQL_REQUIRE_HLEDGER=1 (CI),
where it fails.
"""

from __future__ import annotations

import asyncio
import csv
from asyncio.subprocess import PIPE
from decimal import Decimal
from pathlib import Path

from app.ledger.money import to_minor
from db.engine import Database
from tests.conftest import make_tenant
from tests.test_export import export_text
from tests.test_import import balances, run_import

# The subset of hledger syntax we read, and the directives we skip.
JOURNAL = """\
; Books of a small shop, in hledger's own syntax.
account assets:bank
account expenses:rent
commodity EUR
P 2026-01-01 USD 0.92 EUR

2026-01-01 * (open) Opening balances
    assets:bank            EUR 10000.00
    assets:cash               250.50 EUR
    equity:opening

2026/01/05 ! Rent for January  ; paid by transfer
    expenses:rent            1200 EUR
    assets:bank

2026-01-09=2026-01-10 Sale, paid in dollars | web shop
    assets:paypal            149.99 USD  ; order 77
    income:sales           -149.99 USD

2026-01-12 Supplies
    expenses:office           12.34 EUR
    expenses:office            0.66 EUR
    liabilities:card          -13 EUR

2026-01-20 Japanese client
    assets:bank:jpy          JPY 30000
    income:consulting        -30000 JPY

2026-01-31 Card payment
    liabilities:card        EUR 13
    assets:bank             -EUR 13
"""


async def hledger_balances(hledger: str, journal: Path) -> dict[tuple[str, str], int]:
    """Net balance per (account, commodity) in minor units, as ``hledger bal`` prints it."""
    process = await asyncio.create_subprocess_exec(
        hledger,
        "-f",
        str(journal),
        "bal",
        "--flat",
        "--no-total",
        "--layout=bare",
        "-O",
        "csv",
        stdout=PIPE,
        stderr=PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    rows = list(csv.DictReader(stdout.decode().splitlines()))
    assert rows, stdout
    result: dict[tuple[str, str], int] = {}
    for row in rows:
        amount = Decimal(row["balance"])
        minor = to_minor(abs(amount), row["commodity"], allow_zero=True)
        result[(row["account"], row["commodity"])] = -minor if amount < 0 else minor
    return result


async def test_our_balances_equal_hledgers_for_the_journal_and_for_our_export(
    db: Database, hledger: str, tmp_path: Path
) -> None:
    original = tmp_path / "shop.journal"
    original.write_text(JOURNAL)
    expected = await hledger_balances(hledger, original)
    assert expected[("assets:bank", "EUR")] == (10000_00 - 1200_00 - 13_00)  # hledger read it

    tenant = await make_tenant(db, "EUR")
    summary = await run_import(db, tenant.id, JOURNAL, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (6, 0), summary.errors
    ours = {key: net for key, net in (await balances(db, tenant.id)).items() if net}
    assert ours == expected

    exported = tmp_path / "export.journal"
    exported.write_text(await export_text(db, tenant.id, "journal"))
    assert await hledger_balances(hledger, exported) == expected
