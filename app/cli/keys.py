"""`ledgerql key ...`: creating and revoking API keys, and setting a key's own rate limits."""

from __future__ import annotations

import click

from app.cli.common import LegacySlugCommand, print_key, tenant_option
from app.cli.common import run as _run
from app.ledger.tenants import create_key, revoke_key
from app.runtime.settings import Settings


@click.group()
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
    from app.ledger.key_rate_limits import effective, set_key_limits

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
