"""CSV exports of the trial balance and of an account's general ledger.

Amounts are the reports' minor units written as decimal strings with the
currency's decimals (``format_minor``): never floats. The general ledger is read
in keyset pages of ``PAGE`` lines in one read session, so an export of any size
holds one page in memory at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Sequence

from app.ledger.accounts import net_of
from app.ledger.balances import trial_balance
from app.ledger.errors import BadInput
from app.ledger.general_ledger import general_ledger_page
from app.ledger.known_at import snapshot
from app.ledger.money import format_minor
from db.engine import Database

PAGE = 1_000
# A GraphQL response holds the whole file; past this many lines the CLI streams it.
MAX_GL_ROWS = 100_000

TRIAL_BALANCE_HEADER = (
    "account_code",
    "account_name",
    "account_type",
    "currency",
    "debit",
    "credit",
    "net",
)
GENERAL_LEDGER_HEADER = (
    "date",
    "entry_number",
    "memo",
    "description",
    "debit",
    "credit",
    "running_balance",
)


def _rows_text(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


async def trial_balance_csv(
    db: Database,
    tenant_id: int,
    *,
    as_of: dt.date | None = None,
    currency: str | None = None,
    known_at: dt.datetime | None = None,
) -> str:
    report = await trial_balance(db, tenant_id, as_of=as_of, currency=currency, known_at=known_at)
    rows: list[Sequence[str]] = [TRIAL_BALANCE_HEADER]
    for row in report.rows:
        cur = row.currency
        rows.append(
            (
                row.account.code,
                row.account.name,
                row.account.type,
                cur,
                format_minor(row.debit_minor, cur),
                format_minor(row.credit_minor, cur),
                format_minor(net_of(row.account.type, row.debit_minor, row.credit_minor), cur),
            )
        )
    return _rows_text(rows)


async def general_ledger_chunks(
    db: Database,
    tenant_id: int,
    account_code: str,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    currency: str | None = None,
    default_currency: str,
    max_rows: int | None = None,
    known_at: dt.datetime | None = None,
) -> AsyncIterator[str]:
    """The general ledger CSV in pieces (the header and opening row, one piece per page,
    the closing row). Past ``max_rows`` lines: BadInput, before the piece that passes it.
    With ``known_at``, as known at that moment (each page takes out what was recorded
    since, in one snapshot)."""
    async with snapshot(db, known_at is not None) as session:
        after: str | None = None
        count = 0
        while True:
            ledger = await general_ledger_page(
                session,
                tenant_id,
                account_code,
                currency=currency,
                date_from=date_from,
                date_to=date_to,
                first=PAGE,
                after=after,
                default_currency=default_currency,
                known_at=known_at,
            )
            cur = ledger.currency
            if after is None:
                opening_day = date_from.isoformat() if date_from else ""
                yield _rows_text(
                    [
                        GENERAL_LEDGER_HEADER,
                        (
                            opening_day,
                            "",
                            "Opening balance",
                            "",
                            "",
                            "",
                            _f(ledger.opening_minor, cur),
                        ),
                    ]
                )
            count += len(ledger.page.items)
            if max_rows is not None and count > max_rows:
                raise BadInput(
                    f"the general ledger has more than {max_rows:,} lines: export it with "
                    "`ledgerql report general-ledger --csv`",
                    field="accountCode",
                )
            yield _rows_text(
                [
                    (
                        line.date.isoformat(),
                        line.entry_number,
                        line.memo,
                        line.description or "",
                        _f(line.debit_minor, cur),
                        _f(line.credit_minor, cur),
                        _f(line.running_minor, cur),
                    )
                    for line in ledger.page.items
                ]
            )
            if not ledger.page.has_next:
                break
            after = ledger.page.cursors[-1]
        closing_day = date_to.isoformat() if date_to else ""
        yield _rows_text(
            [(closing_day, "", "Closing balance", "", "", "", _f(ledger.closing_minor, cur))]
        )


def _f(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


async def general_ledger_csv(
    db: Database,
    tenant_id: int,
    account_code: str,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    currency: str | None = None,
    default_currency: str,
    max_rows: int | None = None,
    known_at: dt.datetime | None = None,
) -> str:
    pieces = [
        piece
        async for piece in general_ledger_chunks(
            db,
            tenant_id,
            account_code,
            date_from=date_from,
            date_to=date_to,
            currency=currency,
            default_currency=default_currency,
            max_rows=max_rows,
            known_at=known_at,
        )
    ]
    return "".join(pieces)
