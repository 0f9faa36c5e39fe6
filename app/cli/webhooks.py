"""`ledgerql webhook ...`: registering webhook endpoints, listing and replaying deliveries."""

from __future__ import annotations

import click

from app.cli.common import LegacySlugCommand, run, settings, tenant_option
from app.cli.common import tenant_id as _tenant_id
from app.webhooks import subscribers as core
from db.engine import Database
from db.webhook_tables import WebhookEndpoint

STATUS_CHOICE = click.Choice(["PENDING", "SUCCEEDED", "FAILED"], case_sensitive=False)


def _show_endpoint(row: WebhookEndpoint) -> None:
    types = ",".join(core.event_types_of(row)) or "*"
    state = "active" if row.active else "disabled"
    click.echo(f"{row.id}\t{state}\t{types}\t{row.url}")


@click.group()
def webhook() -> None:
    """Manage webhook endpoints and deliveries."""


@webhook.command("create", cls=LegacySlugCommand)
@tenant_option()
@click.argument("url")
@click.option(
    "--event-type",
    "event_types",
    multiple=True,
    help="Deliver only this event type (repeatable; none: every type).",
)
def webhook_create(slug: str, url: str, event_types: tuple[str, ...]) -> None:
    """Register URL for the tenant SLUG's events; prints the signing secret once."""

    async def work(db: Database) -> tuple[WebhookEndpoint, str]:
        return await core.create_endpoint(db, await _tenant_id(db, slug), url, event_types)

    row, secret = run(work)
    click.echo(f"endpoint: {row.id}")
    click.echo(f"secret: {secret}")
    click.echo("(the secret is shown once; store it now)")


@webhook.command("list", cls=LegacySlugCommand)
@tenant_option()
def webhook_list(slug: str) -> None:
    """Print the tenant's endpoints: id, state, event types (* = all), URL."""

    async def work(db: Database) -> list[WebhookEndpoint]:
        return await core.list_endpoints(db, await _tenant_id(db, slug))

    for row in run(work):
        _show_endpoint(row)


@webhook.command("disable", cls=LegacySlugCommand)
@tenant_option()
@click.argument("endpoint_id")
def webhook_disable(slug: str, endpoint_id: str) -> None:
    """Stop sending to an endpoint (its deliveries wait)."""
    _set_active(slug, endpoint_id, active=False)


@webhook.command("enable", cls=LegacySlugCommand)
@tenant_option()
@click.argument("endpoint_id")
def webhook_enable(slug: str, endpoint_id: str) -> None:
    """Send to a disabled endpoint again, from where it stopped."""
    _set_active(slug, endpoint_id, active=True)


def _set_active(slug: str, endpoint_id: str, *, active: bool) -> None:

    async def work(db: Database) -> WebhookEndpoint:
        tenant_id = await _tenant_id(db, slug)
        return await core.update_endpoint(db, tenant_id, endpoint_id, active=active)

    _show_endpoint(run(work))


@webhook.command("deliveries", cls=LegacySlugCommand)
@tenant_option()
@click.option("--endpoint", "endpoint_id", default=None, help="Only this endpoint's.")
@click.option("--status", type=STATUS_CHOICE, default=None, help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def webhook_deliveries(slug: str, endpoint_id: str | None, status: str | None, limit: int) -> None:
    """Print deliveries, newest first: id, endpoint, event, status, attempts, last answer."""

    async def work(db: Database) -> list[core.DeliveryView]:
        page = await core.list_deliveries(
            db,
            await _tenant_id(db, slug),
            endpoint_id=endpoint_id,
            status=status.upper() if status else None,
            first=limit,
        )
        return page.items

    for view in run(work):
        row = view.delivery
        last = row.last_error or (str(row.last_status_code) if row.last_status_code else "-")
        click.echo(
            f"{row.id}\t{row.endpoint_id}\t{row.event_id}\t{view.event_type}\t{row.status}\t"
            f"{row.attempts}\t{last}"
        )


@webhook.command("replay", cls=LegacySlugCommand)
@tenant_option()
@click.argument("delivery_id")
def webhook_replay(slug: str, delivery_id: str) -> None:
    """Queue a delivery again, due now (the receiver sees the same event id again)."""

    async def work(db: Database) -> core.DeliveryView:
        return await core.replay_delivery(db, await _tenant_id(db, slug), delivery_id)

    view = run(work)
    click.echo(f"delivery {view.delivery.id}: {view.delivery.status}")


@webhook.command("deliver")
def webhook_deliver() -> None:
    """Run one delivery pass now (what the server does every LEDGERQL_WEBHOOK_POLL_SECONDS)."""
    from app.webhooks.worker import deliver_due

    webhooks = settings().webhooks
    attempts = run(lambda db: deliver_due(db, webhooks))
    click.echo(f"attempts: {attempts}")
