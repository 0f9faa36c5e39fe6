"""The ``ledgerql`` command line: the root group (``main``, the entry point), the
commands on the whole server (serve, migrate, post-due), and the registration of every
command group, each in its own module beside this one. Every command uses DATABASE_URL."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from app.cli.common import run as _run
from app.cli.common import settings as _settings
from app.cli.demo import demo
from app.cli.import_export import export_command, import_command
from app.cli.keys import key
from app.cli.periods import period
from app.cli.rates import rates
from app.cli.reports import report
from app.cli.tenants import tenant
from app.cli.verify import verify_command
from app.cli.webhooks import webhook
from app.ledger import posting
from db.migrate import upgrade


@click.group()
def main() -> None:
    """ledgerql: a double-entry ledger served as a GraphQL API."""


# The command groups, each in the module of its name (ledgerql tenant: app/cli/tenants.py).
# A new command goes in its group's module; a new group gets a module and a line here.
main.add_command(tenant)
main.add_command(key)
main.add_command(period)
main.add_command(report)
main.add_command(rates)
main.add_command(webhook)
main.add_command(demo)
main.add_command(import_command)  # ledgerql import, app/cli/import_export.py
main.add_command(export_command)  # ledgerql export, app/cli/import_export.py
main.add_command(verify_command)  # ledgerql verify, app/cli/verify.py


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


if __name__ == "__main__":  # python -m app.cli.main
    main(prog_name="ledgerql")
