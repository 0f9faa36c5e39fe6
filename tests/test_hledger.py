"""hledger agrees with us: a journal imported gives, to the cent, the balances
``hledger bal`` prints for it, and so does our export of it.

Skips when ``hledger`` is not on PATH, except with LEDGERQL_REQUIRE_HLEDGER=1 (CI),
where it fails.
"""

from __future__ import annotations

import asyncio
import csv
import subprocess
from asyncio.subprocess import PIPE
from collections.abc import Mapping
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


async def hledger_balances(
    hledger: str, journal: Path, symbols: Mapping[str, str] | None = None
) -> dict[tuple[str, str], int]:
    """Net balance per (account, commodity) in minor units, as ``hledger bal`` prints it;
    ``symbols`` names the ISO code of the commodity symbols hledger prints."""
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
        commodity = (symbols or {}).get(row["commodity"], row["commodity"])
        minor = to_minor(abs(amount), commodity, allow_zero=True)
        result[(row["account"], commodity)] = -minor if amount < 0 else minor
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


# Currency symbols: $ is declared Canadian here (hledger reads the iso: tag as a
# comment), € and £ take the documented defaults; digit groups as hledger reads them.
SYMBOLS = """\
commodity $1,000.00  ; iso: CAD
commodity £1000.00

2026-02-01 * (s-1) Opening
    assets:bank:cad          $12,500.00
    assets:bank:eur           €1,000.25
    assets:cash                  £40.10
    equity:opening          -$12,500.00
    equity:opening           -1,000.25 €
    equity:opening              £-40.10

2026-02-03 ! (s-2) Hosting
    expenses:software:hosting    $19.99  ; monthly
    assets:bank:cad
"""
HLEDGER_SYMBOLS = {"$": "CAD", "€": "EUR", "£": "GBP"}


async def test_currency_symbols_import_as_iso_codes_with_hledgers_balances(
    db: Database, hledger: str, tmp_path: Path
) -> None:
    journal = tmp_path / "symbols.journal"
    journal.write_text(SYMBOLS)
    theirs = await hledger_balances(hledger, journal, HLEDGER_SYMBOLS)
    assert theirs[("assets:bank:cad", "CAD")] == 12_500_00 - 19_99

    tenant = await make_tenant(db, "EUR")
    summary = await run_import(db, tenant.id, SYMBOLS, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (2, 0), summary.errors
    ours = {key: net for key, net in (await balances(db, tenant.id)).items() if net}
    assert ours == theirs

    # Without the directive, $ is the default's USD.
    default = await make_tenant(db, "EUR")
    plain = SYMBOLS.replace("commodity $1,000.00  ; iso: CAD\n", "").replace("(s-", "(d-")
    summary = await run_import(db, default.id, plain, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (2, 0), summary.errors
    ours = {key: net for key, net in (await balances(db, default.id)).items() if net}
    assert ours == {
        (account, "USD" if currency == "CAD" else currency): amount
        for (account, currency), amount in theirs.items()
    }


# Every transaction has a code: one without gets its import key as code on export.
MARKED = """\
2026-03-01 * (open-1) Opening balance  ; from the old books
    ; checked: 2026-03-05, by: ann
    assets:bank                5000.00 EUR
    equity:opening

2026-03-02 ! (inv-7) Office chairs
    * expenses:office           420.00 EUR  ; four chairs
    ; from the catalogue
    ! assets:bank              -420.00 EUR

2026-03-03 (fx-1) Dollars
    assets:usd                  $12.34
    income:fx                  -$12.34  ; rate: none
"""


def hledger_print(hledger: str, journal: Path) -> list[tuple[str, ...]]:
    """``hledger print`` as CSV: per posting, the transaction's date, status, code,
    description and comment, and the posting's account, amount, commodity (as an ISO
    code), status and comment."""
    done = subprocess.run(
        [hledger, "-f", str(journal), "print", "-O", "csv"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [
        (
            row["date"],
            row["status"],
            row["code"],
            row["description"],
            row["comment"],
            row["account"],
            str(Decimal(row["amount"])),
            {"$": "USD"}.get(row["commodity"], row["commodity"]),
            row["posting-status"],
            row["posting-comment"],
        )
        for row in csv.DictReader(done.stdout.splitlines())
    ]


async def test_codes_comments_and_marks_survive_import_and_export_as_hledger_reads_them(
    db: Database, hledger: str, tmp_path: Path
) -> None:
    original = tmp_path / "marked.journal"
    original.write_text(MARKED)
    expected = hledger_print(hledger, original)
    assert [row[1] for row in expected][:3] == ["*", "*", "!"]  # hledger read the marks

    tenant = await make_tenant(db, "EUR")
    summary = await run_import(db, tenant.id, MARKED, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (3, 0), summary.errors
    exported = tmp_path / "export.journal"
    exported.write_text(await export_text(db, tenant.id, "journal"))
    assert hledger_print(hledger, exported) == expected

    # And again through another tenant: the export of the copy is the same text.
    copy = await make_tenant(db, "EUR")
    summary = await run_import(db, copy.id, exported.read_text(), "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (3, 0), summary.errors
    assert await export_text(db, copy.id, "journal") == exported.read_text()
