"""`ledgerql import`: a tenant's entries from a file (JSON Lines, CSV, hledger journal).
``ledgerql export`` is in export.py: it loads none of the import's machinery."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import click

from app.cli.common import run as _run
from app.cli.common import tenant_option
from app.ledger.importing import (
    DEFAULT_CHUNK_POSTGRES,
    DEFAULT_CHUNK_SQLITE,
    ImportSummary,
    import_file,
    tenant_by_slug,
)
from app.ledger.importing import Progress as ImportProgress
from app.ledger.ledgerfile import FORMATS, format_named, format_of_path
from db.engine import Database

MAX_ERRORS_SHOWN = 20


async def _import(
    db: Database,
    source: BinaryIO,
    name: str,
    slug: str,
    format_name: str | None,
    create: bool,
    chunk: int | None,
) -> ImportSummary:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    fmt = format_named(format_name) if format_name else format_of_path(name)
    tenant = await tenant_by_slug(db, slug)
    assert tenant.id is not None
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[done]} entries"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(Path(name).name, total=None, done=0)

        def show(progress: ImportProgress) -> None:
            summary = progress.summary
            done = summary.posted + summary.already_imported + summary.failed
            bar.update(task, total=progress.bytes_total, completed=progress.bytes_read, done=done)

        return await import_file(
            db,
            tenant.id,
            source,
            fmt,
            create_accounts=create,
            chunk_size=chunk,
            on_progress=show,
        )


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option("Slug of the tenant to post to.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="File format (default: from the extension .jsonl, .csv, .journal/.ledger/.hledger).",
)
@click.option(
    "--create-accounts",
    is_flag=True,
    help="Create missing accounts, typed by their top-level name (assets, liabilities, "
    "equity, income, expenses) or first digit (1-4, 5-9 expense).",
)
@click.option(
    "--chunk",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Entries handed to the ledger core at a time (default: "
    f"{DEFAULT_CHUNK_SQLITE:,} on SQLite, {DEFAULT_CHUNK_POSTGRES:,} on PostgreSQL).",
)
def import_command(
    file: Path, slug: str, format_name: str | None, create_accounts: bool, chunk: int | None
) -> None:
    """Post the entries of FILE (JSON Lines, CSV or hledger journal) to a tenant.

    Each entry is keyed by its external id (or the file's hash and its line), so
    running the same import again posts only what is not there yet.
    """
    with file.open("rb") as source:
        summary = _run(
            lambda db: _import(db, source, file.name, slug, format_name, create_accounts, chunk)
        )
    for error in summary.errors[:MAX_ERRORS_SHOWN]:
        click.echo(str(error), err=True)
    if summary.failed > MAX_ERRORS_SHOWN:
        click.echo(f"... and {summary.failed - MAX_ERRORS_SHOWN} more failures", err=True)
    click.echo(str(summary))
    if summary.failed:
        raise SystemExit(1)
