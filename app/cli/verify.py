"""`ledgerql verify`: the books checked against their hash chain (docs/audit.md,
"Verifying"). Prints each tenant's head, what was checked and every problem found;
exit 1 when anything does not match."""

from __future__ import annotations

import sys
from typing import Any

import click

from app.cli.common import run as _run
from app.ledger.audit_verify import Checkpoint, Verification, tenants_to_verify, verify
from app.ledger.errors import NotFound
from db.engine import Database


class _Bar:
    """A click progress bar on stderr per pass (links, then entries)."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.bar: Any = None
        self.shown: Any = None

    def start(self, stage: str, total: int) -> None:
        self.finish()
        self.bar = click.progressbar(
            length=max(total, 1),
            label=f"{self.slug}: {stage}",
            file=sys.stderr,
            show_pos=True,
        )
        self.shown = self.bar.__enter__()

    def advance(self, done: int) -> None:
        if self.shown is not None:
            self.shown.update(done)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        self.bar = self.shown = None


def _checkpoint(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> Checkpoint | None:
    if value is None:
        return None
    try:
        return Checkpoint.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("verify")
@click.option(
    "--tenant",
    "slug",
    default=None,
    metavar="SLUG",
    help="Slug of the tenant; every tenant when omitted.",
)
@click.option(
    "--from",
    "start",
    default=None,
    metavar="LINK:HASH",
    callback=_checkpoint,
    help="A head printed by an earlier verify: start there (needs --tenant).",
)
def verify_command(slug: str | None, start: Checkpoint | None) -> None:
    """Recompute the hash chain and check the books and balances against it."""
    if start is not None and slug is None:
        raise click.UsageError("--from needs --tenant: a checkpoint is one tenant's")

    async def work(db: Database) -> list[Verification]:
        tenants = await db.run_read(lambda conn: tenants_to_verify(conn, slug))
        if slug is not None and not tenants:
            raise NotFound(f"tenant {slug} does not exist", field="tenant")
        results = []
        for tenant_id, tenant_slug in tenants:
            bar = _Bar(tenant_slug)
            try:
                results.append(await verify(db, tenant_id, start=start, progress=bar))
            finally:
                bar.finish()
        return results

    results = _run(work)
    for result in results:
        _print(result)
    if not all(result.ok for result in results):
        raise SystemExit(1)


def _print(result: Verification) -> None:
    counts = result.counts
    click.echo(f"tenant {result.slug}")
    click.echo(f"  head: link {result.head.link} sha256 {result.head.hash}")
    click.echo(
        f"  checked {counts.links} links, {counts.entries} entries ({counts.scheduled} "
        f"scheduled, not yet linked), {counts.lines} lines, {counts.balances} balances"
    )
    if result.ok:
        click.echo("  verified: the books match the chain")
        return
    click.echo(f"  FAILED: {len(result.problems)} problem(s)")
    for problem in result.problems:
        click.echo(f"  - {problem}")
