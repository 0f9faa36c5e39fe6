"""GraphQL documents and small builders shared by the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import col, select

from app.ledger.entries import UNPOSTED
from db.engine import Database
from db.tables import JournalEntry, JournalLine, Tenant
from tests.conftest import GraphQLClient

CREATE_ACCOUNT = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    account { id code name type currency active }
    errors { code field message }
  }
}"""

POST_ENTRY = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry { id number date memo currency status lines { accountCode currency debit credit description } }
    replayed
    errors { code field message }
  }
}"""

TRIAL_BALANCE = """
query($asOf: Date, $currency: String) {
  trialBalance(asOf: $asOf, currency: $currency) {
    balanced
    totals { currency debit credit }
    rows { account { code } currency debit credit net }
  }
}"""

BALANCE = """
query($code: String!, $asOf: Date, $currency: String) {
  account(code: $code) { balance(asOf: $asOf, currency: $currency) { currency debit credit net } }
}"""

STANDARD_CHART = [
    ("1000", "Cash", "ASSET"),
    ("1100", "Receivables", "ASSET"),
    ("2000", "Payables", "LIABILITY"),
    ("3000", "Equity", "EQUITY"),
    ("4000", "Sales", "INCOME"),
    ("5000", "Rent", "EXPENSE"),
]


async def create_accounts(
    gql: GraphQLClient, chart: list[tuple[str, str, str]] = STANDARD_CHART
) -> None:
    for code, name, kind in chart:
        data = await gql(CREATE_ACCOUNT, {"input": {"code": code, "name": name, "type": kind}})
        assert data["createAccount"]["errors"] == [], data


def entry(
    debit: str,
    credit: str,
    amount: str,
    *,
    date: str = "2026-01-15",
    memo: str = "test entry",
    **extra: Any,
) -> dict[str, Any]:
    """A two-line entry input: ``amount`` from ``credit`` to ``debit``."""
    return {
        "date": date,
        "memo": memo,
        "lines": [
            {"accountCode": debit, "debit": amount},
            {"accountCode": credit, "credit": amount},
        ],
        **extra,
    }


async def post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    data = await gql(POST_ENTRY, {"input": input})
    result: dict[str, Any] = data["postJournalEntry"]
    return result


async def line_sums(
    db: Database, tenant_id: int, as_of: dt.date | None = None
) -> dict[tuple[int, str], tuple[int, int]]:
    """(debits, credits) per (account id, currency) summed from the journal lines themselves:
    the independent oracle for the maintained balances. Lines of entries that move no
    posted balance (scheduled, holds not posted) are left out."""
    query = (
        select(
            col(JournalLine.account_id),
            col(JournalLine.currency),
            func.sum(col(JournalLine.debit_minor)),
            func.sum(col(JournalLine.credit_minor)),
        )
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(col(JournalLine.tenant_id) == tenant_id)
        .where(col(JournalEntry.status).not_in(UNPOSTED))
        .group_by(col(JournalLine.account_id), col(JournalLine.currency))
    )
    if as_of is not None:
        query = query.where(col(JournalLine.date) <= as_of)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows if r[2] or r[3]}


T = TypeVar("T")


def draw_examples(strategy: st.SearchStrategy[T], examples: int) -> list[T]:
    """``examples`` values of ``strategy``, the same on every run (derandomized, no example
    database): a property run over them gives CI the same requests each time."""
    drawn: list[T] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value: T) -> None:
        drawn.append(value)

    draw()
    return drawn


async def set_lock_date(db: Database, slug: str, lock_date: dt.date | None) -> None:
    """Sets a tenant's lock date directly, None clearing it: a fixture for a closed period.

    Unlike the application's only path (app/ledger/closing.py: close_period and
    reopen_period) it records no event and may move the date back, or past the
    range a client may give.
    """
    async with db.write() as session:
        tenant = await session.scalar(select(Tenant).where(col(Tenant.slug) == slug))
        assert tenant is not None, slug
        tenant.lock_date = lock_date
