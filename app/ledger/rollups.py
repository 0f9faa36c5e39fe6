"""The roll-ups every posting adds to: running balances, and movements per day and month.

``account_balances`` holds each (account, currency)'s running debit and credit
totals (balances and the overflow check read them) and the pending totals of its
open holds (``add_pending``); ``balance_days`` and
``balance_months`` hold its movements per day and per calendar month, which
period_sums.py reads. A batch adds its lines up in memory and sends one upsert per
table, rows in sorted order: the order in which every writer locks them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection

from app.ledger.entries import LineView
from app.ledger.limit_rules import Totals
from app.ledger.validation import PreparedLine
from db.bulk import add_to_totals, db_date


class Movements:
    """What a batch adds to the running balances and the per-day and per-month movements."""

    def __init__(self) -> None:
        # (debit, credit) per (account id, currency), and per (account id, currency, day).
        self.balances: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        self.days: dict[tuple[int, str, dt.date], list[int]] = defaultdict(lambda: [0, 0])

    def add(self, on: dt.date, lines: Iterable[PreparedLine | LineView]) -> None:
        for line in lines:
            balance = self.balances[(line.account_id, line.currency)]
            balance[0] += line.debit_minor
            balance[1] += line.credit_minor
            day = self.days[(line.account_id, line.currency, on)]
            day[0] += line.debit_minor
            day[1] += line.credit_minor

    def write(self, conn: Connection, tenant_id: int) -> None:
        """One upsert per table, rows in sorted order (the lock order)."""
        balances, days = self.balances, self.days
        add_to_totals(
            conn,
            "account_balances",
            ("account_id", "currency"),
            ("bigint", "varchar"),
            [(*pair, tenant_id, *balances[pair]) for pair in sorted(balances)],
        )
        add_to_totals(
            conn,
            "balance_days",
            ("account_id", "currency", "day"),
            ("bigint", "varchar", "date"),
            [
                (
                    account_id,
                    currency,
                    db_date(conn, day),
                    tenant_id,
                    *days[(account_id, currency, day)],
                )
                for account_id, currency, day in sorted(days)
            ],
        )
        months: dict[tuple[int, str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
        for (account_id, currency, day), (debit, credit) in days.items():
            month = months[(account_id, currency, day.replace(day=1))]
            month[0] += debit
            month[1] += credit
        add_to_totals(
            conn,
            "balance_months",
            ("account_id", "currency", "month"),
            ("bigint", "varchar", "date"),
            [
                (account_id, currency, db_date(conn, month), tenant_id, *months[key])
                for key in sorted(months)
                for account_id, currency, month in [key]
            ],
        )


def add_pending(conn: Connection, tenant_id: int, pending: Totals) -> None:
    """Adds ``pending`` (negative to release) to the pending totals of open holds on
    ``account_balances``: one upsert, rows in sorted order (the lock order)."""
    add_to_totals(
        conn,
        "account_balances",
        ("account_id", "currency"),
        ("bigint", "varchar"),
        [(*pair, tenant_id, *pending[pair]) for pair in sorted(pending)],
        ("pending_debit_minor", "pending_credit_minor"),
        zeroed=("debit_minor", "credit_minor"),
    )
