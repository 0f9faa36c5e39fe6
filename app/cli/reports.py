"""`ledgerql report ...`: the trial balance and general ledger, as CSV or as an aligned
table (the rendering of both is here)."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from app.cli.common import run as _run
from app.cli.common import tenant_option
from app.ledger.importing import tenant_by_slug
from db.engine import Database


@click.group()
def report() -> None:
    """Reports of a tenant's books (the numbers of the GraphQL reports)."""


# Tables are for people, CSV for programs: a terminal gets the table, and a pipe or a
# file (-o) gets CSV unless told otherwise, so scripts written for CSV keep working.
_REPORT_FORMAT = click.option(
    "--csv/--table",
    "as_csv",
    default=None,
    help="CSV, or an aligned table. Default: a table when standard output is a terminal, "
    "CSV otherwise (a pipe, a file, -o).",
)


def _wants_table(as_csv: bool | None, output: Path | None) -> bool:
    if as_csv is not None:
        return not as_csv
    return output is None and sys.stdout.isatty()


# Amount columns, aligned on the right like figures in a ledger.
_AMOUNT_COLUMNS = frozenset({"debit", "credit", "net", "running_balance"})
# Free text, folded onto more lines when the terminal is narrow; the other columns
# (codes, dates, amounts) are never cut.
_TEXT_COLUMNS = frozenset({"account_name", "memo", "description"})
# Short headings: a heading wider than its figures would widen the table for nothing.
_HEADINGS = {
    "account_code": "code",
    "account_name": "account",
    "account_type": "type",
    "entry_number": "entry",
    "running_balance": "balance",
}


def _table(csv_text: str, out: TextIO) -> None:
    """The rows of a report's CSV as an aligned table: the same cells, laid out."""
    import csv
    import io

    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    table = Table(box=box.SIMPLE, show_edge=False, header_style="bold")
    for name in header:
        table.add_column(
            _HEADINGS.get(name, name),
            justify="right" if name in _AMOUNT_COLUMNS else "left",
            no_wrap=name not in _TEXT_COLUMNS,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*row)
    console = Console(file=out, highlight=False)
    needs = Measurement.get(console, console.options.update_width(1_000_000), table)
    # On a terminal only the text columns fold; a terminal narrower than the rest
    # wraps the lines rather than have rich cut amounts. A file or a pipe has no
    # width to fit: the table is laid out at its full width.
    if console.is_terminal:
        console.width = max(console.width, needs.minimum)
    else:
        console.width = needs.maximum
    console.print(table)


def _parse_moment(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """An ISO 8601 moment with an offset (2026-06-30T17:45:00Z), as GraphQL's knownAt."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 moment") from None
    if moment.utcoffset() is None:
        raise click.BadParameter(f"{value!r} needs a time zone offset (2026-06-30T17:45:00Z)")
    return moment


_KNOWN_AT = click.option(
    "--known-at",
    default=None,
    callback=_parse_moment,
    help="The figures as they stood at this moment (docs/known_at.md).",
)


def _moment(known_at: dt.datetime | None) -> dt.datetime | None:
    from app.ledger.known_at import known_moment

    return known_moment(known_at, field="--known-at")


@report.command("trial-balance")
@tenant_option()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--currency", default=None, help="Only this currency.")
@_KNOWN_AT
@_REPORT_FORMAT
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report_trial_balance(
    slug: str,
    as_of: dt.datetime | None,
    currency: str | None,
    known_at: dt.datetime | None,
    as_csv: bool | None,
    output: Path | None,
) -> None:
    """The trial balance (stdout, or FILE with -o): a table on a terminal, else CSV."""
    from app.ledger import report_csv

    async def work(db: Database) -> str:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        return await report_csv.trial_balance_csv(
            db,
            tenant.id,
            as_of=as_of.date() if as_of else None,
            currency=currency,
            known_at=_moment(known_at),
        )

    text = _run(work)
    if _wants_table(as_csv, output):
        with _open_output(output) as out:
            _table(text, out)
    else:
        _emit(text, output)


@report.command("general-ledger")
@tenant_option()
@click.option("--account", "code", required=True, help="Code of the account.")
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--currency", default=None, help="Currency (default: the account's).")
@_KNOWN_AT
@_REPORT_FORMAT
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report_general_ledger(
    slug: str,
    code: str,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    currency: str | None,
    known_at: dt.datetime | None,
    as_csv: bool | None,
    output: Path | None,
) -> None:
    """The general ledger of an account: a table on a terminal, else CSV.

    CSV is streamed in pages, with no size limit; a table is laid out once every
    line is read, so for a very long ledger prefer --csv.
    """
    from app.ledger import report_csv

    table = _wants_table(as_csv, output)

    async def work(db: Database) -> None:
        tenant = await tenant_by_slug(db, slug)
        assert tenant.id is not None
        chunks = report_csv.general_ledger_chunks(
            db,
            tenant.id,
            code,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            currency=currency,
            default_currency=tenant.base_currency,
            known_at=_moment(known_at),
        )
        with _open_output(output) as out:
            if table:
                _table("".join([chunk async for chunk in chunks]), out)
                return
            async for chunk in chunks:
                out.write(chunk)

    _run(work)


@contextlib.contextmanager
def _open_output(output: Path | None) -> Iterator[TextIO]:
    if output is None:  # stdout stays open for whatever runs next
        yield sys.stdout
        return
    # newline="" keeps the csv module's line ends as written.
    with output.open("w", encoding="utf-8", newline="") as file:
        yield file


def _emit(text: str, output: Path | None) -> None:
    with _open_output(output) as out:
        out.write(text)
