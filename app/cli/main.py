"""The ``ledgerql`` command line: the root group (``main``, the entry point), the
commands on the whole server (serve, migrate, post-due), and the registration of every
command group, each in its own module beside this one. Every command uses DATABASE_URL.

A command's module is imported when the command runs (or --help lists it), not when the
command line starts: ``ledgerql export`` then loads neither the GraphQL schema nor the
posting and import machinery, which took most of a second before any work began.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from app.cli.common import run as _run
from app.cli.common import settings as _settings


class LazyGroup(click.Group):
    """A group whose commands named in ``lazy`` ("name" -> "module:attribute") are
    imported when first asked for."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy and cmd_name not in self.commands:
            module, attribute = self._lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


# The command groups, each in the module of its name (ledgerql tenant: app/cli/tenants.py).
# A new command goes in its group's module; a new group gets a module and a line here.
COMMANDS = {
    "tenant": "app.cli.tenants:tenant",
    "key": "app.cli.keys:key",
    "period": "app.cli.periods:period",
    "report": "app.cli.reports:report",
    "rates": "app.cli.rates:rates",
    "webhook": "app.cli.webhooks:webhook",
    "demo": "app.cli.demo:demo",
    "import": "app.cli.import_export:import_command",
    "export": "app.cli.export:export_command",
    "verify": "app.cli.verify:verify_command",
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def main() -> None:
    """ledgerql: a double-entry ledger served as a GraphQL API."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from db.migrate import upgrade

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
    from db.migrate import upgrade

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


@main.command("post-due")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Post what is due on or before this date (default: today).",
)
def post_due_command(today: dt.datetime | None) -> None:
    """Post every scheduled entry whose accrual date has come (the server does it too)."""
    from app.ledger import posting

    on = today.date() if today is not None else None
    count = _run(lambda db: posting.post_due(db, on))
    click.echo(f"posted {count} scheduled entries")


if __name__ == "__main__":  # python -m app.cli.main
    main(prog_name="ledgerql")
