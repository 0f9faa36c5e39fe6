"""The ``ledgerql`` command line. Every command uses DATABASE_URL."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from app.cli.common import LegacySlugCommand, print_key, tenant_option
from app.cli.common import run as _run
from app.cli.common import settings as _settings
from app.cli.webhooks import webhook
from app.ledger import accounts, pismo, posting
from app.ledger.errors import Conflict, LedgerError
from app.ledger.exporting import export_ledger
from app.ledger.importing import DEFAULT_CHUNK, ImportSummary, import_file, tenant_by_slug
from app.ledger.importing import Progress as ImportProgress
from app.ledger.ledgerfile import FORMATS, Format, format_named, format_of_path
from app.ledger.tenants import (
    IssuedKey,
    create_key,
    create_tenant,
    revoke_key,
    set_journal_prefix,
    set_tenant_domain,
)
from app.runtime.settings import Settings
from db.engine import Database
from db.migrate import upgrade


@click.group()
def main() -> None:
    """ledgerql: a double-entry ledger served as a GraphQL API."""


main.add_command(webhook)


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    upgrade(_settings().database_url)
    click.echo("database is up to date")


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the ``ledgerql`` loggers (lease acquisitions, jobs) at ``level``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ledgerql"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _metrics_dir() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR for several workers: the operator's (emptied) or a new one.

    Set before any worker starts, so that every worker writes its figures there and
    /metrics sums them (app/runtime/metrics.py). Files left by an earlier run would add
    their counts to this one's: the operator's directory loses its ``*.db`` files.
    Returns the directory this command made (removed at exit), or None.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="ledgerql-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(made)
    return made


@main.command()
@click.option(
    "--host", default=None, help="Interface to bind (default LEDGERQL_HOST or 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default LEDGERQL_PORT or 8000).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default LEDGERQL_WORKERS or 1); see docs/operations.md.",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Apply migrations, then serve the API with uvicorn (N worker processes with --workers).

    Several workers share the port; background jobs run in one of them at a time
    (leases), and /metrics sums the figures of all of them. On SQLite they share the
    file: reads run in parallel, writes take turns on the file's lock.
    """
    import uvicorn

    from app.main import create_app

    settings = _settings()
    count = workers or int(os.environ.get("LEDGERQL_WORKERS", "1"))
    if count < 1:
        raise click.UsageError("LEDGERQL_WORKERS must be a positive integer")
    upgrade(settings.database_url)  # once, before any worker starts
    bind = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": settings.log_level,
        "log_config": _log_config(settings.log_level),
    }
    if count == 1:
        uvicorn.run(create_app(settings), **bind)  # type: ignore[arg-type]
        return
    made = _metrics_dir()
    try:
        # An import string: each worker process builds its own app (and Database).
        uvicorn.run("app.main:create_app", factory=True, workers=count, **bind)  # type: ignore[arg-type]
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


@main.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("create", cls=LegacySlugCommand)
@tenant_option("Slug of the new tenant (a-z, 0-9 and hyphens).")
@click.option("--name", required=True, help="Display name of the organisation.")
@click.option("--currency", required=True, help="Base currency, ISO 4217 (e.g. EUR).")
@click.option(
    "--owner", default=None, help="Owner user name (created when new; default: the slug)."
)
def tenant_create(slug: str, name: str, currency: str, owner: str | None) -> None:
    """Create a tenant and print an API key for it."""
    created, issued = _run(
        lambda db: create_tenant(db, slug=slug, name=name, currency=currency, owner=owner)
    )
    click.echo(f"tenant: {created.slug} (base currency {created.base_currency})")
    print_key(issued)


@tenant.command(
    "lock",
    cls=LegacySlugCommand,
    deprecated="use 'ledgerql period close' to close, 'ledgerql period reopen' to reopen.",
)
@tenant_option()
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Refuse postings dated on or before this day (YYYY-MM-DD); omit to clear the lock.",
)
@click.option(
    "--reason",
    default=None,
    help="Why the books are reopened (recorded); required to move the lock date back or clear it.",
)
def tenant_lock(slug: str, until: dt.datetime | None, reason: str | None) -> None:
    """Deprecated alias of `period close` / `period reopen`: sets the lock date of SLUG.

    A later (or first) date closes the books through it, as `period close` does; an
    earlier date, or no --until, reopens them as `period reopen` does and needs --reason.
    Either way the move is recorded as an event, like those commands'.
    """
    from app.ledger import closing
    from app.ledger.tenants import TenantView

    lock_date = until.date() if until else None
    if lock_date is None and reason is None:
        raise click.UsageError("clearing the lock date reopens the books, so give --reason")

    async def work(db: Database) -> TenantView:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        current = tenant.lock_date
        # The direction is decided on this read; close_period and reopen_period
        # re-check it under the tenant row's lock, so a concurrent move cannot make
        # either one go the wrong way.
        if lock_date is not None and (current is None or lock_date >= current):
            return await closing.close_period(db, tenant.id, lock_date, closing.Actor.cli())
        if reason is None:
            raise click.UsageError(
                f"the books of {slug} are closed through {current}; moving the lock date "
                "back reopens them, so give --reason"
            )
        return await closing.reopen_period(db, tenant.id, reason, closing.Actor.cli(), lock_date)

    view = _run(work)
    click.echo(f"lock date of {slug}: {view.lock_date.isoformat() if view.lock_date else 'none'}")


@tenant.command("set-domain", cls=LegacySlugCommand)
@tenant_option()
@click.argument("domain", required=False)
@click.option("--clear", is_flag=True, help="Remove the tenant's domain.")
def tenant_set_domain(slug: str, domain: str | None, clear: bool) -> None:
    """Record DOMAIN (acme-corp.example.com) as the full domain of SLUG, or --clear it."""
    if clear == (domain is not None):
        raise click.UsageError("give either DOMAIN or --clear")
    view = _run(lambda db: set_tenant_domain(db, slug, domain))
    click.echo(f"domain of {slug}: {view.domain or 'none'}")


@tenant.command("set-prefix", cls=LegacySlugCommand)
@tenant_option()
@click.argument("prefix")
def tenant_set_prefix(slug: str, prefix: str) -> None:
    """Set the journal-number prefix of SLUG (PREFIX-YYYY-MM-DD-NNNN) for new entries."""
    view = _run(lambda db: set_journal_prefix(db, slug, prefix))
    click.echo(f"journal prefix of {slug}: {view.journal_prefix}")


@main.group()
def key() -> None:
    """Manage API keys."""


@key.command("create", cls=LegacySlugCommand)
@tenant_option("Slug of the tenant whose owner gets the key.")
@click.option("--restrict", is_flag=True, help="Limit the key to this tenant.")
@click.option("--read-only", is_flag=True, help="The key may only read.")
def key_create(slug: str, restrict: bool, read_only: bool) -> None:
    """Create another API key for the owner of tenant SLUG."""
    print_key(_run(lambda db: create_key(db, slug=slug, restrict=restrict, read_only=read_only)))


@key.command("revoke")
@click.argument("key_id")
def key_revoke(key_id: str) -> None:
    """Revoke the key KEY_ID (the key_id printed when it was created)."""
    _run(lambda db: revoke_key(db, key_id))
    click.echo(f"revoked: {key_id}")


@key.command("limits")
@click.argument("key_id")
@click.option(
    "--surface",
    required=True,
    type=click.Choice(["graphql", "pismo", "journal_entries", "pennylane", "bookeeping"]),
)
@click.option("--read-per-minute", type=click.IntRange(min=1))
@click.option("--read-per-day", type=click.IntRange(min=1))
@click.option("--write-per-minute", type=click.IntRange(min=1))
@click.option("--write-per-day", type=click.IntRange(min=1))
@click.option("--reset", is_flag=True, help="Back to the server's defaults first.")
def key_limits(
    key_id: str,
    surface: str,
    read_per_minute: int | None,
    read_per_day: int | None,
    write_per_minute: int | None,
    write_per_day: int | None,
    reset: bool,
) -> None:
    """Set KEY_ID's own rate limits on a surface (any value: the operator's choice)."""
    from app.ledger.key_limits import effective, set_key_limits

    given = {
        ("read", "minute"): read_per_minute,
        ("read", "day"): read_per_day,
        ("write", "minute"): write_per_minute,
        ("write", "day"): write_per_day,
    }
    changes = {window: limit for window, limit in given.items() if limit is not None}
    stored = _run(lambda db: set_key_limits(db, key_id, surface, changes, reset=reset))
    limits = effective(Settings.from_env().rate_limits.limits, stored)
    for operation in ("read", "write"):
        minute, day = limits[(surface, operation, "minute")], limits[(surface, operation, "day")]
        click.echo(f"{key_id} {surface} {operation}: {minute}/minute {day}/day")


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


async def _demo(db: Database, slug: str) -> tuple[IssuedKey | None, _Holdings]:
    """The new demo tenant's key and holdings; no key when the tenant exists already."""
    try:
        created, issued = await create_tenant(db, slug=slug, name="Demo Company", currency="USD")
    except Conflict as error:
        if error.field != "slug":
            raise
        # `make demo` run again: the tenant is left as it is. Its first key was shown
        # when it was made and is not stored, so none is printed.
        return None, await _holdings(db, slug)
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
    return issued, await _holdings(db, slug)


@dataclass(frozen=True)
class _Holdings:
    """What a tenant has, as counted in the database (not what the demo meant to make)."""

    currency: str
    accounts: int
    entries: int
    scheduled: int
    programs: list[int]
    entry_types: list[int]
    event_types: list[int]
    accounting_accounts: list[str]
    scripts: int

    def lines(self, slug: str) -> list[str]:
        scheduled = f", {self.scheduled} scheduled" if self.scheduled else ""
        return [
            f"tenant: {slug} ({self.currency}, {_count(self.accounts, 'account')}, "
            f"{_count(self.entries, 'entry', 'entries')}{scheduled})",
            f"pismo: {_named('program', self.programs)}, "
            f"{_named('entry type', self.entry_types)}, "
            f"{_named('event type', self.event_types)}, "
            f"{_named('accounting account', self.accounting_accounts)}, "
            f"{_count(self.scripts, 'script')}",
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


async def _holdings(db: Database, slug: str) -> _Holdings:
    from sqlalchemy import func
    from sqlmodel import col, select

    from db.pismo_tables import (
        PismoAccountingScript,
        PismoEntryType,
        PismoEventType,
        PismoProgram,
    )
    from db.tables import Account, JournalEntry

    tenant = await tenant_by_slug(db, slug)
    async with db.read() as session:

        async def count(table: Any, *where: Any) -> int:
            query = select(func.count()).select_from(table).where(table.tenant_id == tenant.id)
            return int(await session.scalar(query.where(*where)) or 0)

        async def ids(column: Any, *where: Any) -> list[Any]:
            query = select(column).where(column.table.c.tenant_id == tenant.id, *where)
            return list(await session.scalars(query.order_by(column)))

        scheduled = col(JournalEntry.status) == "SCHEDULED"
        return _Holdings(
            currency=tenant.base_currency,
            accounts=await count(Account),
            entries=await count(JournalEntry, ~scheduled),
            scheduled=await count(JournalEntry, scheduled),
            programs=await ids(col(PismoProgram.program_id)),
            entry_types=await ids(col(PismoEntryType.entry_type_id)),
            event_types=await ids(col(PismoEventType.event_type_id)),
            # Pismo's accounting accounts are ledger accounts of a program.
            accounting_accounts=await ids(col(Account.code), col(Account.program_id).is_not(None)),
            scripts=await count(PismoAccountingScript),
        )


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


@main.command()
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
    issued, holdings = _run(lambda db: _demo(db, slug))
    if issued is None:
        click.echo(f"tenant {slug} exists already: nothing was changed")
    for line in holdings.lines(slug):
        click.echo(line)
    if issued is None:
        # Keys are shown once, when made: the way to another one is the useful answer.
        click.echo(
            f"its key was shown when it was made; a new one: ledgerql key create --tenant {slug}"
        )
    else:
        print_key(issued)


MAX_ERRORS_SHOWN = 20


async def _import(
    db: Database,
    source: BinaryIO,
    name: str,
    slug: str,
    format_name: str | None,
    create: bool,
    chunk: int,
) -> ImportSummary:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    fmt = format_named(format_name) if format_name else format_of_path(name)
    tenant = await tenant_by_slug(db, slug)
    assert tenant.id is not None
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[done]} entries"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(Path(name).name, total=None, done=0)

        def show(progress: ImportProgress) -> None:
            summary = progress.summary
            done = summary.posted + summary.already_imported + summary.failed
            bar.update(task, total=progress.bytes_total, completed=progress.bytes_read, done=done)

        return await import_file(
            db,
            tenant.id,
            source,
            fmt,
            create_accounts=create,
            chunk_size=chunk,
            on_progress=show,
        )


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option("Slug of the tenant to post to.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="File format (default: from the extension .jsonl, .csv, .journal/.ledger/.hledger).",
)
@click.option(
    "--create-accounts",
    is_flag=True,
    help="Create missing accounts, typed by their top-level name (assets, liabilities, "
    "equity, income, expenses) or first digit (1-4, 5-9 expense).",
)
@click.option(
    "--chunk",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_CHUNK,
    show_default=True,
    help="Entries handed to the ledger core at a time.",
)
def import_command(
    file: Path, slug: str, format_name: str | None, create_accounts: bool, chunk: int
) -> None:
    """Post the entries of FILE (JSON Lines, CSV or hledger journal) to a tenant.

    Each entry is keyed by its external id (or the file's hash and its line), so
    running the same import again posts only what is not there yet.
    """
    with file.open("rb") as source:
        summary = _run(
            lambda db: _import(db, source, file.name, slug, format_name, create_accounts, chunk)
        )
    for error in summary.errors[:MAX_ERRORS_SHOWN]:
        click.echo(str(error), err=True)
    if summary.failed > MAX_ERRORS_SHOWN:
        click.echo(f"... and {summary.failed - MAX_ERRORS_SHOWN} more failures", err=True)
    click.echo(str(summary))
    if summary.failed:
        raise SystemExit(1)


def _export_format(format_name: str | None, output: Path | None) -> Format:
    if format_name:
        return format_named(format_name)
    if output is not None and output.suffix:
        return format_of_path(output)
    return FORMATS["jsonl"]


async def _export(db: Database, slug: str, fmt: Format, out: TextIO) -> int:
    tenant = await tenant_by_slug(db, slug)
    assert tenant.id is not None
    return await export_ledger(db, tenant.id, fmt, out.write)


@main.command("export")
@tenant_option("Slug of the tenant to export.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="File format (default: from the extension of -o, else jsonl).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
def export_command(slug: str, format_name: str | None, output: Path | None) -> None:
    """Write a tenant's posted entries in (date, id) order, in the formats import reads."""
    try:
        fmt = _export_format(format_name, output)
    except LedgerError as error:
        raise click.UsageError(error.message) from None
    if output is None:
        count = _run(lambda db: _export(db, slug, fmt, sys.stdout))
    else:
        # Written aside and renamed at the end: a failed export leaves no half file behind.
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = _run(lambda db: _export(db, slug, fmt, out))
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(f"exported {count} entries", err=True)


@main.command("post-due")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Post what is due on or before this date (default: today).",
)
def post_due_command(today: dt.datetime | None) -> None:
    """Post every scheduled entry whose accrual date has come (the server does it too)."""
    on = today.date() if today is not None else None
    count = _run(lambda db: posting.post_due(db, on))
    click.echo(f"posted {count} scheduled entries")


@main.group()
def rates() -> None:
    """A tenant's own exchange rates (the ECB reference rates apply where it has none)."""


@rates.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option("Slug of the tenant the rates are for.")
def rates_import(file: Path, slug: str) -> None:
    """Set the rates of a CSV with the header from,to,effective_date,rate.

    Every row is checked first: one bad row (named by its line) sets nothing. A rate
    for a pair and date that exists replaces it.
    """
    from app.ledger import fx

    async def work(db: Database) -> int:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        return await fx.import_rates_csv(db, tenant.id, file)

    count = _run(work)
    click.echo(f"set {count} exchange rates for {slug}")


@rates.command("list")
@tenant_option()
@click.option("--from", "base", default=None, help="Only rates from this currency.")
@click.option("--to", "quote", default=None, help="Only rates to this currency.")
def rates_list(slug: str, base: str | None, quote: str | None) -> None:
    """Print the tenant's rates as CSV, in the format `rates import` reads."""
    from app.ledger import fx

    async def work(db: Database) -> list[fx.TenantRate]:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        return await fx.list_rates(db, tenant.id, base, quote)

    found = _run(work)
    click.echo(",".join(fx.CSV_HEADER))
    for rate in found:
        click.echo(f"{rate.base},{rate.quote},{rate.effective.isoformat()},{rate.value:f}")


@main.group()
def report() -> None:
    """Reports of a tenant's books (the numbers of the GraphQL reports)."""


# Tables are for people, CSV for programs: a terminal gets the table, and a pipe or a
# file (-o) gets CSV unless told otherwise, so scripts written for CSV keep working.
_REPORT_FORMAT = click.option(
    "--csv/--table",
    "as_csv",
    default=None,
    help="CSV, or an aligned table. Default: a table when standard output is a terminal, "
    "CSV otherwise (a pipe, a file, -o).",
)


def _wants_table(as_csv: bool | None, output: Path | None) -> bool:
    if as_csv is not None:
        return not as_csv
    return output is None and sys.stdout.isatty()


# Amount columns, aligned on the right like figures in a ledger.
_AMOUNT_COLUMNS = frozenset({"debit", "credit", "net", "running_balance"})
# Free text, folded onto more lines when the terminal is narrow; the other columns
# (codes, dates, amounts) are never cut.
_TEXT_COLUMNS = frozenset({"account_name", "memo", "description"})
# Short headings: a heading wider than its figures would widen the table for nothing.
_HEADINGS = {
    "account_code": "code",
    "account_name": "account",
    "account_type": "type",
    "entry_number": "entry",
    "running_balance": "balance",
}


def _table(csv_text: str, out: TextIO) -> None:
    """The rows of a report's CSV as an aligned table: the same cells, laid out."""
    import csv
    import io

    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    table = Table(box=box.SIMPLE, show_edge=False, header_style="bold")
    for name in header:
        table.add_column(
            _HEADINGS.get(name, name),
            justify="right" if name in _AMOUNT_COLUMNS else "left",
            no_wrap=name not in _TEXT_COLUMNS,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*row)
    console = Console(file=out, highlight=False)
    needs = Measurement.get(console, console.options.update_width(1_000_000), table)
    # On a terminal only the text columns fold; a terminal narrower than the rest
    # wraps the lines rather than have rich cut amounts. A file or a pipe has no
    # width to fit: the table is laid out at its full width.
    if console.is_terminal:
        console.width = max(console.width, needs.minimum)
    else:
        console.width = needs.maximum
    console.print(table)


@report.command("trial-balance")
@tenant_option()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--currency", default=None, help="Only this currency.")
@_REPORT_FORMAT
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report_trial_balance(
    slug: str,
    as_of: dt.datetime | None,
    currency: str | None,
    as_csv: bool | None,
    output: Path | None,
) -> None:
    """The trial balance (stdout, or FILE with -o): a table on a terminal, else CSV."""
    from app.ledger import report_csv

    async def work(db: Database) -> str:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        return await report_csv.trial_balance_csv(
            db, tenant.id, as_of=as_of.date() if as_of else None, currency=currency
        )

    text = _run(work)
    if _wants_table(as_csv, output):
        with _open_output(output) as out:
            _table(text, out)
    else:
        _emit(text, output)


@report.command("general-ledger")
@tenant_option()
@click.option("--account", "code", required=True, help="Code of the account.")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--currency", default=None, help="Currency (default: the account's).")
@_REPORT_FORMAT
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report_general_ledger(
    slug: str,
    code: str,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    currency: str | None,
    as_csv: bool | None,
    output: Path | None,
) -> None:
    """The general ledger of an account: a table on a terminal, else CSV.

    CSV is streamed in pages, with no size limit; a table is laid out once every
    line is read, so for a very long ledger prefer --csv.
    """
    from app.ledger import report_csv

    table = _wants_table(as_csv, output)

    async def work(db: Database) -> None:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        chunks = report_csv.general_ledger_chunks(
            db,
            tenant.id,
            code,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            currency=currency,
            default_currency=tenant.base_currency,
        )
        with _open_output(output) as out:
            if table:
                _table("".join([chunk async for chunk in chunks]), out)
                return
            async for chunk in chunks:
                out.write(chunk)

    _run(work)


@contextlib.contextmanager
def _open_output(output: Path | None) -> Iterator[TextIO]:
    if output is None:  # stdout stays open for whatever runs next
        yield sys.stdout
        return
    # newline="" keeps the csv module's line ends as written.
    with output.open("w", encoding="utf-8", newline="") as file:
        yield file


def _emit(text: str, output: Path | None) -> None:
    with _open_output(output) as out:
        out.write(text)


@main.group()
def period() -> None:
    """Close and reopen a tenant's books (see docs/design.md, "Period close")."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _tenant_id(slug: str) -> Callable[[Database], Awaitable[int]]:
    async def find(db: Database) -> int:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        return tenant.id

    return find


@period.command("close", cls=LegacySlugCommand)
@tenant_option()
@click.option("--through", type=_DATE, required=True, help="Last day closed (YYYY-MM-DD).")
def period_close(slug: str, through: dt.datetime) -> None:
    """Close the books of SLUG through a date; never moves the lock date back."""
    from app.ledger import closing
    from app.ledger.tenants import TenantView

    async def work(db: Database) -> TenantView:
        tenant_id = await _tenant_id(slug)(db)
        return await closing.close_period(db, tenant_id, through.date(), closing.Actor.cli())

    view = _run(work)
    click.echo(f"books of {slug} closed through {view.lock_date}")


@period.command("reopen", cls=LegacySlugCommand)
@tenant_option()
@click.option("--reason", required=True, help="Why the books are reopened (recorded).")
@click.option("--through", type=_DATE, default=None, help="New lock date; omit to clear it.")
def period_reopen(slug: str, reason: str, through: dt.datetime | None) -> None:
    """Move the lock date of SLUG back (or clear it), recording the reason."""
    from app.ledger import closing
    from app.ledger.tenants import TenantView

    async def work(db: Database) -> TenantView:
        tenant_id = await _tenant_id(slug)(db)
        return await closing.reopen_period(
            db, tenant_id, reason, closing.Actor.cli(), through.date() if through else None
        )

    view = _run(work)
    click.echo(f"lock date of {slug}: {view.lock_date.isoformat() if view.lock_date else 'none'}")


@period.command("close-year", cls=LegacySlugCommand)
@tenant_option()
@click.option("--year-end", type=_DATE, required=True, help="Last day of the year (YYYY-MM-DD).")
@click.option("--retained-earnings", "retained", required=True, help="Code of an EQUITY account.")
def period_close_year(slug: str, year_end: dt.datetime, retained: str) -> None:
    """Post the year-end closing entry of SLUG, then close the books through the year end."""
    from app.ledger import closing

    async def work(db: Database) -> closing.YearEndClose:
        tenant_id = await _tenant_id(slug)(db)
        return await closing.close_year(
            db, tenant_id, year_end.date(), retained, closing.Actor.cli()
        )

    done = _run(work)
    if done.entry is None:
        click.echo("no income or expense balance to close")
    else:
        verb = "already posted" if done.replayed else "posted"
        click.echo(f"closing entry {verb}: {done.entry.number} (id {done.entry.id})")
    click.echo(f"books of {slug} closed through {done.tenant.lock_date}")
