"""hledger's account hierarchy survives an import: a generated journal with a three-level
chart, imported with ``create_accounts``, gets every missing parent created and every
child linked, so the trial balance, balance sheet and income statement at each
``depth`` give, per account and commodity, the figures ``hledger bal``, ``bse`` and
``is`` print with the same ``--depth`` (both in tree mode, parents summing their
subtree). ``balanceSheet(depth: 1)`` is also read through GraphQL, as a client does.

hledger leaves out rows whose amount is zero, and so do our statements (the GraphQL test
compares every row, a GBP pair that nets to zero included); the trial balance keeps a
subtree that moved, so its zero rows are left out of that comparison. Totals always
compare.

Skips when ``hledger`` is not on PATH, except with LEDGERQL_REQUIRE_HLEDGER=1 (CI).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.ledger import accounts, statements
from app.ledger.money import from_minor, to_minor
from db.engine import Database
from db.tables import Account
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.test_hledger_statements import TIMEOUT, Figures, _hledger, _ours
from tests.test_import import run_import

# Accounts the generated entries post to: leaves at three levels, and two parents
# (assets:bank, expenses:office) that take postings of their own as well. "shop" is
# typed only by its directive; its children inherit the type, as in hledger.
POSTED = [
    "assets:bank:checking",
    "assets:bank:savings",
    "assets:bank",
    "assets:cash",
    "liabilities:card:visa",
    "liabilities:card:amex",
    "liabilities:loan",
    "equity:opening",
    "equity:owner:draws",
    "income:sales:web",
    "income:sales:shop",
    "income:interest",
    "shop:online:eu",
    "shop:online:us",
    "expenses:software:hosting",
    "expenses:software:licences",
    "expenses:office:rent",
    "expenses:office",
    "expenses:travel",
]
# hledger 1.25 stops reading a type from names once any account declares that type,
# so income is declared too (later versions infer it all the same, as ledgerql does).
DIRECTIVES = "account income  ; type: R\naccount shop  ; type: R\n\n"
TYPES = {
    "assets": "ASSET",
    "liabilities": "LIABILITY",
    "equity": "EQUITY",
    "income": "INCOME",
    "shop": "INCOME",
    "expenses": "EXPENSE",
}
CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0}
START = dt.date(2026, 1, 1)
SEEDS = [1, 2, 3]
DEPTHS = [1, 2, 3, None]


def generated_journal(seed: int, entries: int = 60) -> str:
    """A journal of ``entries`` transactions over the chart, each in one commodity; some
    leave their last amount out, some carry a status, a code or a comment."""
    rng = random.Random(seed)
    text = DIRECTIVES
    for index in range(entries):
        date = START + dt.timedelta(days=rng.randrange(120))
        currency = rng.choice(sorted(CURRENCIES))
        accounts = rng.sample(POSTED, rng.choice([2, 2, 3]))
        minors = [rng.randrange(1, 10**6) * rng.choice([1, -1]) for _ in accounts[1:]]
        if sum(minors) == 0:
            minors[0] += 1
        minors.insert(0, -sum(minors))
        status = rng.choice(["", "* ", "! "])
        code = f"({seed}-{index}) " if rng.random() < 0.5 else ""
        text += f"{date.isoformat()} {status}{code}Entry {index}\n"
        for position, (account, minor) in enumerate(zip(accounts, minors, strict=True)):
            if position == len(accounts) - 1 and rng.random() < 0.4:
                text += f"    {account}\n"  # hledger fills it in, and so do we
            else:
                amount = from_minor(abs(minor), currency)
                text += f"    {account}  {'-' if minor < 0 else ''}{amount} {currency}\n"
        text += "\n"
    return text


async def _imported(db: Database, tenant_id: int, journal: str) -> None:
    summary = await run_import(db, tenant_id, journal, "journal", create_accounts=True)
    assert (summary.posted, summary.failed) == (journal.count("Entry "), 0), summary.errors


def _hledger_bal(hledger: str, journal: Path, depth: int | None) -> Figures:
    """``hledger bal --tree``: debit-positive subtree sums per (account, commodity)."""
    command = [hledger, "-f", str(journal), "bal", "--tree", "--no-elide", "--layout=bare"]
    command += ["-O", "csv", *([f"--depth={depth}"] if depth else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    figures: Figures = {}
    for row in rows:
        value = Decimal(row["balance"])
        if value:
            minor = to_minor(abs(value), row["commodity"], allow_zero=True)
            figures[(row["account"], row["commodity"])] = -minor if value < 0 else minor
    return figures


def _minor(amount: str, currency: str) -> int:
    value = Decimal(amount)
    minor = to_minor(abs(value), currency, allow_zero=True)
    return -minor if value < 0 else minor


async def _chart(db: Database, tenant_id: int) -> dict[str, tuple[str, str | None]]:
    """Each account's code: its type and its parent's code."""
    async with db.read() as session:
        rows = (
            await session.scalars(select(Account).where(col(Account.tenant_id) == tenant_id))
        ).all()
    by_id = {account.id: account for account in rows}
    return {
        account.code: (account.type, by_id[account.parent_id].code if account.parent_id else None)
        for account in rows
    }


def _depth_args(depth: int | None) -> list[str]:
    return [f"--depth={depth}"] if depth else []


@pytest.mark.parametrize("seed", SEEDS)
async def test_missing_parents_are_created_and_children_linked(db: Database, seed: int) -> None:
    tenant = await make_tenant(db, "EUR")
    await _imported(db, tenant.id, generated_journal(seed))
    rows = await _chart(db, tenant.id)
    parent_of = {code: parent for code, (_, parent) in rows.items()}
    expected = {
        name: ":".join(name.split(":")[:-1]) or None
        for code in POSTED
        for name in (":".join(code.split(":")[:end]) for end in range(1, code.count(":") + 2))
    }
    assert parent_of == expected
    assert {code: kind for code, (kind, _) in rows.items()} == {
        code: TYPES[code.split(":")[0]] for code in expected
    }


@pytest.mark.parametrize("seed", SEEDS)
async def test_each_depth_rolls_up_like_hledger(
    db: Database, hledger: str, tmp_path: Path, seed: int
) -> None:
    text = generated_journal(seed)
    journal = tmp_path / "books.journal"
    journal.write_text(text)
    tenant = await make_tenant(db, "EUR")
    await _imported(db, tenant.id, text)
    days = [dt.date.fromisoformat(line[:10]) for line in text.splitlines() if line[:1] == "2"]
    first, last = min(days), max(days)

    for depth in DEPTHS:
        where = (seed, depth)
        # Trial balance: every account's subtree, debit-positive, like hledger bal.
        trial = await statements.trial_balance_report(db, tenant.id, depth=depth)
        ours = {
            (r.account.code, r.currency): r.closing_minor for r in trial.rows if r.closing_minor
        }
        assert ours == _hledger_bal(hledger, journal, depth), where
        assert trial.balanced
        if depth is not None:
            assert all(row.level < depth for row in trial.rows)

        # Balance sheet with equity: sections and totals per commodity, and the net.
        bse = _hledger(hledger, journal, "balancesheetequity", *_depth_args(depth))
        for sheet in await statements.balance_sheet(db, tenant.id, depth=depth):
            cur = sheet.currency
            for section, name in (
                (sheet.assets, "Assets"),
                (sheet.liabilities, "Liabilities"),
                (sheet.equity, "Equity"),
            ):
                theirs = {key: value for key, value in bse[name].items() if key[1] == cur}
                assert _ours(section, cur) == theirs, (*where, name, cur)
            assert sheet.current_earnings_minor == bse["net"].get(("Net:", cur), 0), where

        # Income statement over the whole journal.
        income = _hledger(hledger, journal, "incomestatement", *_depth_args(depth))
        for statement in await statements.income_statement(
            db, tenant.id, date_from=first, date_to=last, depth=depth
        ):
            cur = statement.currency
            for section, name in ((statement.income, "Revenues"), (statement.expenses, "Expenses")):
                theirs = {key: value for key, value in income[name].items() if key[1] == cur}
                assert _ours(section, cur) == theirs, (*where, name, cur)
            assert statement.net_income[0] == income["net"].get(("Net:", cur), 0), where


# Two top-level accounts that move in GBP and net to zero: hledger's bse shows no row.
ZERO_IN_GBP = """
2026-02-01 Entry parked
    assets:cash  5.00 GBP
    liabilities:loan  -5.00 GBP

2026-02-02 Entry unparked
    assets:cash  -5.00 GBP
    liabilities:loan  5.00 GBP
"""
SHEET = """
query($depth: Int) {
  balanceSheet(depth: $depth) {
    currency
    assets { total groups { rows { account { code } level amount } } }
    liabilities { total groups { rows { account { code } level amount } } }
    equity { total groups { rows { account { code } level amount } } }
  }
}"""


async def test_balance_sheet_depth_1_through_graphql_gives_hledger_bse_rows(
    db: Database, hledger: str, tmp_path: Path, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    text = generated_journal(7, entries=40) + ZERO_IN_GBP
    journal = tmp_path / "books.journal"
    journal.write_text(text)
    await _imported(db, tenant.id, text)
    bse = _hledger(hledger, journal, "balancesheetequity", "--depth", "1")
    sheets = (await gql(SHEET, {"depth": 1}))["balanceSheet"]
    assert {sheet["currency"] for sheet in sheets} == {*CURRENCIES, "GBP"}
    for sheet in sheets:
        cur = sheet["currency"]
        for key, name in (
            ("assets", "Assets"),
            ("liabilities", "Liabilities"),
            ("equity", "Equity"),
        ):
            section = sheet[key]
            rows = [row for group in section["groups"] for row in group["rows"]]
            assert all(row["level"] == 0 for row in rows)
            # Every row, zero ones too: like hledger, a statement leaves out accounts
            # that moved but net to zero (GBP here).
            ours = {(row["account"]["code"], cur): _minor(row["amount"], cur) for row in rows}
            if Decimal(section["total"]):
                ours[("total", cur)] = _minor(section["total"], cur)
            theirs = {k: v for k, v in bse[name].items() if k[1] == cur}
            assert ours == theirs, (name, cur)


async def test_an_existing_parent_is_linked_and_a_parent_without_a_type_takes_its_childs(
    db: Database,
) -> None:
    tenant = await make_tenant(db, "EUR")
    await accounts.create_account(
        db, tenant.id, accounts.AccountInput(code="expenses", name="Expenses", type="EXPENSE")
    )
    text = (
        "account club:dues:annual  ; type: R\n\n"
        "2026-01-02 Hosting\n"
        "    expenses:software:hosting  12.00 EUR\n"
        "    club:dues:annual\n"
    )
    summary = await run_import(db, tenant.id, text, "journal", create_accounts=True)
    assert (summary.posted, summary.failed, summary.accounts_created) == (1, 0, 5)
    tree = await _chart(db, tenant.id)
    assert tree == {
        "expenses": ("EXPENSE", None),  # there before: kept, and now a parent
        "expenses:software": ("EXPENSE", "expenses"),
        "expenses:software:hosting": ("EXPENSE", "expenses:software"),
        "club": ("INCOME", None),  # no type of its own: its child's
        "club:dues": ("INCOME", "club"),
        "club:dues:annual": ("INCOME", "club:dues"),
    }
