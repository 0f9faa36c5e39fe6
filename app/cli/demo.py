"""`ledgerql demo`: a demo tenant with a chart of accounts, sample entries and Pismo
reference data, and the summary of what it holds."""

from __future__ import annotations

import datetime as dt

import click

from app.cli.common import print_key
from app.cli.common import run as _run
from app.ledger import accounts, pismo, posting
from app.ledger.errors import Conflict
from app.ledger.tenant_summary import TenantSummary, tenant_summary
from app.ledger.tenants import IssuedKey, create_tenant
from db.engine import Database

DEMO_ACCOUNTS = [
    ("1000", "Cash", "ASSET"),
    ("1100", "Accounts receivable", "ASSET"),
    ("2000", "Accounts payable", "LIABILITY"),
    ("3000", "Owner's equity", "EQUITY"),
    ("4000", "Sales", "INCOME"),
    ("5000", "Rent", "EXPENSE"),
    ("5100", "Supplies", "EXPENSE"),
]
DEMO_ENTRIES = [
    ("Owner investment", "1000", "3000", "10000.00"),
    ("Invoice 1001", "1100", "4000", "2500.00"),
    ("Office rent", "5000", "1000", "1200.00"),
    ("Payment of invoice 1001", "1000", "1100", "2500.00"),
    ("Supplies on credit", "5100", "2000", "310.45"),
]


async def _demo(db: Database, slug: str) -> tuple[IssuedKey | None, TenantSummary]:
    """The new demo tenant's key and summary; no key when the tenant exists already."""
    try:
        created, issued = await create_tenant(db, slug=slug, name="Demo Company", currency="USD")
    except Conflict as error:
        if error.field != "slug":
            raise
        # `make demo` run again: the tenant is left as it is. Its first key was shown
        # when it was made and is not stored, so none is printed.
        return None, await tenant_summary(db, slug)
    assert created.id is not None
    for code, name, kind in DEMO_ACCOUNTS:
        await accounts.create_account(
            db, created.id, accounts.AccountInput(code=code, name=name, type=kind)
        )
    start = dt.date.today().replace(day=1)
    for offset, (memo, debit, credit, amount) in enumerate(DEMO_ENTRIES):
        await posting.post_entry(
            db,
            created.id,
            posting.EntryInput(
                date=start + dt.timedelta(days=offset),
                memo=memo,
                lines=[
                    posting.LineInput(account_code=debit, debit=amount),
                    posting.LineInput(account_code=credit, credit=amount),
                ],
            ),
        )
    await _demo_pismo(db, created.id)
    return issued, await tenant_summary(db, slug)


def _lines(summary: TenantSummary, slug: str) -> list[str]:
    """The two lines that say what the tenant has: its books, then its Pismo reference data."""
    scheduled = f", {summary.scheduled} scheduled" if summary.scheduled else ""
    return [
        f"tenant: {slug} ({summary.currency}, {_count(summary.accounts, 'account')}, "
        f"{_count(summary.entries, 'entry', 'entries')}{scheduled})",
        f"pismo: {_named('program', summary.programs)}, "
        f"{_named('entry type', summary.entry_types)}, "
        f"{_named('event type', summary.event_types)}, "
        f"{_named('accounting account', summary.accounting_accounts)}, "
        f"{_count(summary.scripts, 'script')}",
    ]


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _named(noun: str, names: list[int] | list[str]) -> str:
    """'program 12', 'programs 12, 13', 'no programs'; past a handful, only how many."""
    if not names:
        return f"no {noun}s"
    if len(names) > 5:
        return f"{len(names)} {noun}s"
    return f"{noun if len(names) == 1 else noun + 's'} {', '.join(map(str, names))}"


# The reference data the README's Pismo curl posts to: program 12, entry type 2100, and
# a script that gives its entries their accounts (a script needs an event type).
DEMO_PROGRAM = 12
DEMO_ENTRY_TYPE = 2100
DEMO_EVENT_TYPE = 1
DEMO_ACCOUNTING_ACCOUNTS = [
    ("1.1.02", "Card receivables", "ASSET"),
    ("2.1.01", "Merchant payables", "LIABILITY"),
]


async def _demo_pismo(db: Database, tenant_id: int) -> None:
    await pismo.create_program(
        db, tenant_id, pismo.ProgramInput(name="Credit card", currency="USD", id=DEMO_PROGRAM)
    )
    await pismo.create_entry_type(
        db, tenant_id, pismo.TypeInput(description="Purchase", id=DEMO_ENTRY_TYPE)
    )
    await pismo.create_event_type(
        db, tenant_id, pismo.TypeInput(description="Authorization", id=DEMO_EVENT_TYPE)
    )
    receivable, payable = [
        await pismo.create_accounting_account(
            db,
            tenant_id,
            pismo.AccountingAccountInput(
                program_id=DEMO_PROGRAM, account=number, description=name, type=kind
            ),
        )
        for number, name, kind in DEMO_ACCOUNTING_ACCOUNTS
    ]
    assert receivable.id is not None and payable.id is not None
    await pismo.create_script(
        db,
        tenant_id,
        pismo.ScriptInput(
            program_id=DEMO_PROGRAM,
            event_type_id=DEMO_EVENT_TYPE,
            entry_type_id=DEMO_ENTRY_TYPE,
            debit_accounting_account_id=receivable.id,
            credit_accounting_account_id=payable.id,
        ),
    )


@click.command()
@click.option(
    "--tenant",
    "slug",
    default="demo",
    show_default=True,
    metavar="SLUG",
    help="Slug of the demo tenant.",
)
# The option's name before --tenant: kept working, out of the help.
@click.option("--slug", "old_slug", default=None, hidden=True)
def demo(slug: str, old_slug: str | None) -> None:
    """Create a demo tenant: a chart of accounts, sample entries and Pismo reference data.

    If the tenant exists, nothing is changed: the command says so, what the tenant
    has, and how to get a new key (exit status 0, so `make demo` may run again).
    """
    if old_slug is not None:
        click.echo(f"DeprecationWarning: --slug is deprecated; use --tenant {old_slug}", err=True)
        slug = old_slug
    issued, summary = _run(lambda db: _demo(db, slug))
    if issued is None:
        click.echo(f"tenant {slug} exists already: nothing was changed")
    for line in _lines(summary, slug):
        click.echo(line)
    if issued is None:
        # Keys are shown once, when made: the way to another one is the useful answer.
        click.echo(
            f"its key was shown when it was made; a new one: ledgerql key create --tenant {slug}"
        )
    else:
        print_key(issued)
