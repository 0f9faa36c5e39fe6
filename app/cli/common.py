"""What the ``ledgerql`` command groups share: running work against DATABASE_URL and
taking the tenant as ``--tenant SLUG``.

A module of its own so that app.cli.main and the command groups beside it (tenants,
keys, periods, reports, ...) import it rather than each other. It imports the database
and the ledger core only when a command runs (app.cli.main: what each command loads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.ledger.errors import LedgerError
from app.runtime.settings import Settings

if TYPE_CHECKING:
    from app.ledger.tenants import IssuedKey
    from db.engine import Database

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    return Settings.from_env()


def run(work: Callable[[Database], Awaitable[T]]) -> T:
    """Runs ``work`` against DATABASE_URL, migrated first; a LedgerError is a clean exit 1."""
    from db.engine import Database
    from db.migrate import is_current, upgrade

    url = settings().database_url

    async def main() -> T:
        db = Database(url)
        try:
            # Alembic (its import and its reading of every script) costs half a second:
            # it runs only when the database is not at the scripts' head already.
            if not await is_current(db):
                await asyncio.to_thread(upgrade, url)  # alembic runs a loop of its own
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except LedgerError as error:
        where = f" ({error.field})" if error.field else ""
        raise click.ClickException(f"{error.message}{where}") from None


async def tenant_id(db: Database, slug: str) -> int:
    from app.ledger.importing import tenant_by_slug

    tenant = await tenant_by_slug(db, slug)
    assert tenant.id is not None
    return tenant.id


def print_key(issued: IssuedKey) -> None:
    click.echo(f"key_id: {issued.key_id}")
    click.echo(f"api_key: {issued.key}")
    click.echo("(the key is shown once; store it now)")


def tenant_option(help: str = "Slug of the tenant.") -> Callable[[F], F]:
    """``--tenant SLUG``, the one way every command is given its tenant (as ``slug``)."""
    return click.option("--tenant", "slug", required=True, metavar="SLUG", help=help)


LEGACY_NOTE = (
    "The slug as the first argument (the old form) still works but is deprecated: "
    "use --tenant SLUG."
)


class LegacySlugCommand(click.Command):
    """A command with ``--tenant SLUG`` that once took the slug as its first argument.

    ``ledgerql period close acme --through D`` is read as ``--tenant acme --through D``,
    with a deprecation note on stderr, so that scripts written for the old form keep
    working while they move over. The old form is recognised only when --tenant is
    absent: --tenant is required, so the first argument can then only be the slug.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        slug, rest = self._legacy_slug(args)
        if slug is not None:
            # Shell completion parses too (resilient_parsing): no note in the middle of it.
            if not ctx.resilient_parsing:
                click.echo(
                    f"DeprecationWarning: the tenant as the first argument of "
                    f"'{ctx.command_path}' is deprecated; use --tenant {slug}",
                    err=True,
                )
            args = ["--tenant", slug, *rest]
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(LEGACY_NOTE)

    def _legacy_slug(self, args: Sequence[str]) -> tuple[str | None, list[str]]:
        """The old positional slug and the other arguments, or (None, args) when there is
        none: --tenant given, or no argument at all (click then says --tenant is missing)."""
        valued = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag and not param.count
            for name in (*param.opts, *param.secondary_opts)
        }
        first: int | None = None
        index = 0
        while index < len(args):
            token = args[index]
            if token == "--":  # everything after it is an argument, even "-x"
                if first is None and index + 1 < len(args):
                    first = index + 1
                break
            if token == "--tenant" or token.startswith("--tenant="):
                return None, list(args)
            if token.startswith("-") and token != "-":
                name = token.split("=", 1)[0] if token.startswith("--") else token[:2]
                attached = "=" in token if token.startswith("--") else len(token) > 2
                # An option's value is the next word unless written as --opt=v or -ov.
                index += 2 if name in valued and not attached else 1
                continue
            if first is None:
                first = index
            index += 1
        if first is None:
            return None, list(args)
        return args[first], [*args[:first], *args[first + 1 :]]
