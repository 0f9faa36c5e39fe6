"""The ``ledgerql`` command line. Every command uses DATABASE_URL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from app.ledger import accounts, posting
from app.ledger.errors import LedgerError
from app.ledger.tenants import IssuedKey, create_key, create_tenant, revoke_key, set_lock_date
from app.settings import Settings
from db.engine import Database
from db.migrate import upgrade

T = TypeVar("T")


def _settings() -> Settings:
    return Settings.from_env()


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    """Runs ``work`` against DATABASE_URL, migrated first; a LedgerError is a clean exit 1."""
    settings = _settings()
    upgrade(settings.database_url)

    async def main() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except LedgerError as error:
        where = f" ({error.field})" if error.field else ""
        raise click.ClickException(f"{error.message}{where}") from None


def _print_key(issued: IssuedKey) -> None:
    click.echo(f"key_id: {issued.key_id}")
    click.echo(f"api_key: {issued.key}")
    click.echo("(the key is shown once; store it now)")


@click.group()
def main() -> None:
    """ledgerql: a double-entry ledger served as a GraphQL API."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    upgrade(_settings().database_url)
    click.echo("database is up to date")


@main.command()
@click.option(
    "--host", default=None, help="Interface to bind (default LEDGERQL_HOST or 127.0.0.1)."
)
@click.option("--port", type=int, default=None, help="Port (default LEDGERQL_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Apply migrations, then serve the API with uvicorn."""
    import uvicorn

    from app.main import create_app

    settings = _settings()
    upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
    )


@main.group()
def tenant() -> None:
    """Manage tenants."""


@tenant.command("create")
@click.argument("slug")
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
    _print_key(issued)


@tenant.command("lock")
@click.argument("slug")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Refuse postings dated on or before this day (YYYY-MM-DD); omit to reopen.",
)
def tenant_lock(slug: str, until: dt.datetime | None) -> None:
    """Close the books of SLUG up to a date (the lock date), or reopen them."""
    lock_date = until.date() if until else None
    _run(lambda db: set_lock_date(db, slug, lock_date))
    click.echo(f"lock date of {slug}: {lock_date.isoformat() if lock_date else 'none'}")


@main.group()
def key() -> None:
    """Manage API keys."""


@key.command("create")
@click.argument("slug")
@click.option("--restrict", is_flag=True, help="Limit the key to this tenant.")
@click.option("--read-only", is_flag=True, help="The key may only read.")
def key_create(slug: str, restrict: bool, read_only: bool) -> None:
    """Create another API key for the owner of tenant SLUG."""
    _print_key(_run(lambda db: create_key(db, slug=slug, restrict=restrict, read_only=read_only)))


@key.command("revoke")
@click.argument("key_id")
def key_revoke(key_id: str) -> None:
    """Revoke the key KEY_ID (the key_id printed when it was created)."""
    _run(lambda db: revoke_key(db, key_id))
    click.echo(f"revoked: {key_id}")


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


async def _demo(db: Database, slug: str) -> IssuedKey:
    created, issued = await create_tenant(db, slug=slug, name="Demo Company", currency="USD")
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
    return issued


@main.command()
@click.option("--slug", default="demo", show_default=True, help="Slug of the demo tenant.")
def demo(slug: str) -> None:
    """Create a demo tenant with a chart of accounts and sample entries."""
    issued = _run(lambda db: _demo(db, slug))
    click.echo(f"tenant: {slug} (USD, {len(DEMO_ACCOUNTS)} accounts, {len(DEMO_ENTRIES)} entries)")
    _print_key(issued)
