"""`ledgerql tenant ...`: creating a tenant and setting its domain, journal prefix and
(deprecated) lock date."""

from __future__ import annotations

import datetime as dt

import click

from app.cli.common import LegacySlugCommand, print_key, tenant_option
from app.cli.common import run as _run
from app.ledger.importing import tenant_by_slug
from app.ledger.tenants import create_tenant, set_journal_prefix, set_tenant_domain
from db.engine import Database


@click.group()
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
