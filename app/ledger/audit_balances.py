"""The balances pass of ``ledgerql verify``: the maintained roll-ups equal what the lines
say. ``account_balances`` (debit and credit per account and currency), ``balance_days``
and ``balance_months`` are summed again from the posted lines, in SQL, grouped by
account, currency and day; the pending totals from the holds still PENDING.

The day sums stream in order and are merged with ``balance_days`` read in the same
order; the per-account and per-month totals are small (accounts x currencies x months).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, func, select
from sqlmodel import SQLModel

from app.ledger.audit_findings import Counts, Findings, Problem
from app.ledger.entries import PENDING, UNPOSTED
from app.ledger.money import format_minor

_tables = SQLModel.metadata.tables
LINES: Table = _tables["journal_lines"]
ENTRIES: Table = _tables["journal_entries"]
ACCOUNTS: Table = _tables["accounts"]
BALANCES: Table = _tables["account_balances"]
DAYS: Table = _tables["balance_days"]
MONTHS: Table = _tables["balance_months"]
HOLDS: Table = _tables["holds"]

Key = tuple[int, str, str]
"""(account id, currency, day or month as ISO text)."""
Pair = tuple[int, int]

_CODES = select(ACCOUNTS.c.id, ACCOUNTS.c.code).where(
    ACCOUNTS.c.tenant_id == bindparam("tenant_id")
)
# Through the tenant's accounts: journal_lines has no tenant index, the account index
# (ix_journal_lines_account_date) reads only this tenant's lines.
_POSTED_DAYS = (
    select(
        LINES.c.account_id,
        LINES.c.currency,
        LINES.c.date,
        func.sum(LINES.c.debit_minor),
        func.sum(LINES.c.credit_minor),
    )
    .select_from(
        LINES.join(ACCOUNTS, ACCOUNTS.c.id == LINES.c.account_id).join(
            ENTRIES, ENTRIES.c.id == LINES.c.entry_id
        )
    )
    .where(ACCOUNTS.c.tenant_id == bindparam("tenant_id"), ENTRIES.c.status.not_in(UNPOSTED))
    .group_by(LINES.c.account_id, LINES.c.currency, LINES.c.date)
    .order_by(LINES.c.account_id, LINES.c.currency, LINES.c.date)
)
_STORED_DAYS = (
    select(DAYS.c.account_id, DAYS.c.currency, DAYS.c.day, DAYS.c.debit_minor, DAYS.c.credit_minor)
    .where(DAYS.c.tenant_id == bindparam("tenant_id"))
    .order_by(DAYS.c.account_id, DAYS.c.currency, DAYS.c.day)
)
_STORED_MONTHS = select(
    MONTHS.c.account_id,
    MONTHS.c.currency,
    MONTHS.c.month,
    MONTHS.c.debit_minor,
    MONTHS.c.credit_minor,
).where(MONTHS.c.tenant_id == bindparam("tenant_id"))
_STORED_BALANCES = select(
    BALANCES.c.account_id,
    BALANCES.c.currency,
    BALANCES.c.debit_minor,
    BALANCES.c.credit_minor,
    BALANCES.c.pending_debit_minor,
    BALANCES.c.pending_credit_minor,
).where(BALANCES.c.tenant_id == bindparam("tenant_id"))
_OPEN_HOLDS = select(HOLDS.c.entry_id, HOLDS.c.held_json).where(
    HOLDS.c.tenant_id == bindparam("tenant_id"), HOLDS.c.status == PENDING
)
_HELD_LINES = (
    select(LINES.c.entry_id, LINES.c.account_id, LINES.c.currency)
    .where(LINES.c.entry_id.in_(bindparam("ids", expanding=True)))
    .order_by(LINES.c.entry_id, LINES.c.line_no, LINES.c.id)
)
_HOLDS_AT_ONCE = 500


def _iso(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]  # SQLite's text of a date or a timestamp


class BalancesPass:
    """Checks one tenant's roll-ups against its lines; problems go to ``findings``."""

    def __init__(
        self, conn: Connection, tenant_id: int, findings: Findings, counts: Counts
    ) -> None:
        self.conn, self.tenant_id = conn, tenant_id
        self.findings, self.counts = findings, counts
        self.codes: dict[int, str] = {}

    def run(self) -> None:
        params = {"tenant_id": self.tenant_id}
        self.codes = {int(r.id): str(r.code) for r in self.conn.execute(_CODES, params)}
        totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        months: dict[Key, list[int]] = defaultdict(lambda: [0, 0])

        def posted() -> Iterator[tuple[Key, Pair]]:
            for account_id, currency, day, debit, credit in self.conn.execute(_POSTED_DAYS, params):
                pair = (int(debit or 0), int(credit or 0))
                day_text = _iso(day)
                for total in (
                    totals[(int(account_id), currency)],
                    months[(int(account_id), currency, day_text[:8] + "01")],
                ):
                    total[0] += pair[0]
                    total[1] += pair[1]
                yield (int(account_id), str(currency), day_text), pair

        stored_days = (
            ((int(r[0]), str(r[1]), _iso(r[2])), (int(r[3]), int(r[4])))
            for r in self.conn.execute(_STORED_DAYS, params)
        )
        self._merge("balance_days", posted(), stored_days)
        stored_months = {
            (int(r[0]), str(r[1]), _iso(r[2])): (int(r[3]), int(r[4]))
            for r in self.conn.execute(_STORED_MONTHS, params)
        }
        self._compare_all(
            "balance_months", {k: (v[0], v[1]) for k, v in months.items()}, stored_months
        )
        self._balances({k: (v[0], v[1]) for k, v in totals.items()})

    def _balances(self, posted: dict[tuple[int, str], Pair]) -> None:
        stored: dict[Key, Pair] = {}
        stored_pending: dict[Key, Pair] = {}
        for r in self.conn.execute(_STORED_BALANCES, {"tenant_id": self.tenant_id}):
            key = (int(r.account_id), str(r.currency), "")
            stored[key] = (int(r.debit_minor), int(r.credit_minor))
            stored_pending[key] = (int(r.pending_debit_minor), int(r.pending_credit_minor))
        expected = {(a, c, ""): pair for (a, c), pair in posted.items()}
        self._compare_all("account_balances", expected, stored)
        self._compare_all("account_balances pending", self._held(), stored_pending)

    def _held(self) -> dict[Key, Pair]:
        """The pending totals the open holds make: each line's held debit and credit."""
        held: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        holds = {
            int(r.entry_id): r.held_json
            for r in self.conn.execute(_OPEN_HOLDS, {"tenant_id": self.tenant_id})
        }
        ids = sorted(holds)
        for start in range(0, len(ids), _HOLDS_AT_ONCE):
            lines: dict[int, list[Any]] = defaultdict(list)
            for line in self.conn.execute(
                _HELD_LINES, {"ids": ids[start : start + _HOLDS_AT_ONCE]}
            ):
                lines[int(line.entry_id)].append(line)
            for entry_id, entry_lines in lines.items():
                amounts = orjson.loads(holds[entry_id])
                for line, (debit, credit) in zip(entry_lines, amounts, strict=False):
                    total = held[(int(line.account_id), str(line.currency), "")]
                    total[0] += int(debit)
                    total[1] += int(credit)
        return {key: (v[0], v[1]) for key, v in held.items()}

    def _merge(
        self,
        table: str,
        expected: Iterator[tuple[Key, Pair]],
        stored: Iterator[tuple[Key, Pair]],
    ) -> None:
        """Both streams in key order; a key missing from one side counts as zero."""
        want, have = next(expected, None), next(stored, None)
        while want is not None or have is not None:
            if have is None or (want is not None and want[0] < have[0]):
                assert want is not None
                self._compare(table, want[0], want[1], (0, 0))
                want = next(expected, None)
            elif want is None or have[0] < want[0]:
                self._compare(table, have[0], (0, 0), have[1])
                have = next(stored, None)
            else:
                self._compare(table, want[0], want[1], have[1])
                want, have = next(expected, None), next(stored, None)

    def _compare_all(self, table: str, expected: dict[Key, Pair], stored: dict[Key, Pair]) -> None:
        for key in sorted(expected.keys() | stored.keys()):
            self._compare(table, key, expected.get(key, (0, 0)), stored.get(key, (0, 0)))

    def _compare(self, table: str, key: Key, expected: Pair, stored: Pair) -> None:
        self.counts.balances += 1
        if expected == stored or self.findings.full:
            return
        account_id, currency, when = key
        where = f"account {self.codes.get(account_id, '?')} (id {account_id}) {currency}"
        if when:
            where += f" {'month' if table == 'balance_months' else 'day'} {when}"
        for side, want, have in (
            ("debit", expected[0], stored[0]),
            ("credit", expected[1], stored[1]),
        ):
            if want != have:
                self.findings.add(
                    Problem(
                        "balances",
                        f"{where}: {side} is {format_minor(have, currency)} in {table}, "
                        f"{format_minor(want, currency)} from the "
                        f"{'open holds' if 'pending' in table else 'posted lines'}",
                    )
                )
