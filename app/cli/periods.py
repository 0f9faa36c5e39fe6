"""`ledgerql period ...`: closing and reopening a tenant's books, and the year-end close."""

from __future__ import annotations

import datetime as dt

import click

from app.cli.common import LegacySlugCommand, tenant_option
from app.cli.common import run as _run
from app.cli.common import tenant_id as _tenant_id
from db.engine import Database


@click.group()
def period() -> None:
    """Close and reopen a tenant's books (see docs/design.md, "Period close")."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@period.command("close", cls=LegacySlugCommand)
@tenant_option()
@click.option("--through", type=_DATE, required=True, help="Last day closed (YYYY-MM-DD).")
def period_close(slug: str, through: dt.datetime) -> None:
    """Close the books of SLUG through a date; never moves the lock date back."""
    from app.ledger import closing
    from app.ledger.tenants import TenantView

    async def work(db: Database) -> TenantView:
        tenant_id = await _tenant_id(db, slug)
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
        tenant_id = await _tenant_id(db, slug)
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
        tenant_id = await _tenant_id(db, slug)
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
