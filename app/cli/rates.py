"""`ledgerql rates ...`: importing and listing a tenant's own exchange rates (CSV)."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import run as _run
from app.cli.common import tenant_option
from app.ledger.importing import tenant_by_slug
from db.engine import Database


@click.group()
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
