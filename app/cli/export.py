"""`ledgerql export`: a tenant's entries to a file (JSON Lines, CSV, hledger journal).

Apart from import_export.py so that it loads only what an export needs (app.ledger.
exporting, the writers, the database): the command's start is part of every export.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import click

from app.cli.common import run as _run
from app.cli.common import tenant_option
from app.ledger.errors import LedgerError
from app.ledger.exporting import export_ledger, tenant_of_slug
from app.ledger.ledgerfile import FORMATS, Format, format_named, format_of_path
from db.engine import Database


def _export_format(format_name: str | None, output: Path | None) -> Format:
    if format_name:
        return format_named(format_name)
    if output is not None and output.suffix:
        return format_of_path(output)
    return FORMATS["jsonl"]


async def _export(db: Database, slug: str, fmt: Format, out: TextIO) -> int:
    return await export_ledger(db, await tenant_of_slug(db, slug), fmt, out.write)


@click.command("export")
@tenant_option("Slug of the tenant to export.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="File format (default: from the extension of -o, else jsonl).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
def export_command(slug: str, format_name: str | None, output: Path | None) -> None:
    """Write a tenant's posted entries in (date, id) order, in the formats import reads."""
    try:
        fmt = _export_format(format_name, output)
    except LedgerError as error:
        raise click.UsageError(error.message) from None
    if output is None:
        count = _run(lambda db: _export(db, slug, fmt, sys.stdout))
    else:
        # Written aside and renamed at the end: a failed export leaves no half file behind.
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = _run(lambda db: _export(db, slug, fmt, out))
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(f"exported {count} entries", err=True)
