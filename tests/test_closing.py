"""Period close: the lock date moved with its events, the refusals it causes, the year-end close."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
from click.testing import CliRunner

from app.cli.main import main
from app.ledger import posting, statements
from app.ledger.accounts import AccountInput, create_account
from app.ledger.closing import CLOSING_SOURCE
from app.ledger.entries import EntryInput, LineInput
from app.ledger.tenants import create_key
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import BALANCE, TRIAL_BALANCE, create_accounts, entry, line_sums, post

CLOSE = """
mutation($through: Date!) {
  closePeriod(throughDate: $through) { tenant { lockDate } errors { code field message } }
}"""

REOPEN = """
mutation($reason: String!, $through: Date) {
  reopenPeriod(reason: $reason, throughDate: $through) {
    tenant { lockDate } errors { code field message }
  }
}"""

CLOSE_YEAR = """
mutation($yearEnd: Date!, $account: String!) {
  closeYear(yearEnd: $yearEnd, retainedEarningsAccount: $account) {
    entry { id memo date source lines { accountCode currency debit credit } }
    replayed
    tenant { lockDate }
    errors { code field message }
  }
}"""

REVERSE = """
mutation($id: ID!, $date: Date) {
  reverseJournalEntry(id: $id, date: $date) { entry { id } errors { code field message } }
}"""

EVENTS = "{ events(first: 500) { nodes { type entryId payload } } }"
ENTRY_COUNT = "{ journalEntries(first: 500) { nodes { id status } } }"


async def _close(gql: GraphQLClient, through: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(CLOSE, {"through": through}))["closePeriod"]
    return result


async def _events(gql: GraphQLClient, prefix: str = "period.") -> list[dict[str, Any]]:
    nodes = (await gql(EVENTS))["events"]["nodes"]
    return [
        {**node, "payload": json.loads(node["payload"])}
        for node in nodes
        if node["type"].startswith(prefix)
    ]


async def _books(db: Database, gql: GraphQLClient, tenant: TenantFixture) -> object:
    """Everything a refused request must leave as it was."""
    return (await line_sums(db, tenant.id), await gql(ENTRY_COUNT), await _events(gql, ""))


async def _closed_books(db: Database, gql: GraphQLClient, tenant: TenantFixture) -> str:
    """An entry of 2026-01-15 (its id returned), then the books closed through 2026-03-31."""
    await create_accounts(gql)
    posted = await post(gql, entry("1000", "4000", "100.00"))
    assert posted["errors"] == []
    closed = await _close(gql, "2026-03-31")
    assert closed == {"tenant": {"lockDate": "2026-03-31"}, "errors": []}
    entry_id: str = posted["entry"]["id"]
    return entry_id


async def test_posting_into_a_closed_period_is_refused(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _closed_books(db, gql, tenant)
    before = await _books(db, gql, tenant)
    refused = await post(gql, entry("1000", "4000", "5.00", date="2026-03-31"))
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("BAD_USER_INPUT", "date")]
    assert await _books(db, gql, tenant) == before
    assert (await post(gql, entry("1000", "4000", "5.00", date="2026-04-01")))["errors"] == []


async def test_reversing_into_a_closed_period_is_refused(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    entry_id = await _closed_books(db, gql, tenant)
    before = await _books(db, gql, tenant)
    refused = (await gql(REVERSE, {"id": entry_id, "date": "2026-02-01"}))["reverseJournalEntry"]
    assert refused["entry"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("BAD_USER_INPUT", "date")]
    assert await _books(db, gql, tenant) == before
    # Reversed in the open period, the correction is possible.
    done = (await gql(REVERSE, {"id": entry_id, "date": "2026-04-01"}))["reverseJournalEntry"]
    assert done["errors"] == []


async def test_scheduling_into_a_closed_period_is_refused(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _closed_books(db, gql, tenant)
    before = await _books(db, gql, tenant)
    accrual = entry("1000", "4000", "5.00", date="2026-04-10", accrualDate="2026-03-15")
    refused = await post(gql, accrual)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("BAD_USER_INPUT", "accrualDate")
    ]
    assert await _books(db, gql, tenant) == before


async def test_closing_before_the_lock_date_is_refused(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _closed_books(db, gql, tenant)
    events = await _events(gql)
    refused = await _close(gql, "2026-02-28")
    assert refused["tenant"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("BAD_USER_INPUT", "throughDate")
    ]
    assert (await gql("{ tenant { lockDate } }"))["tenant"]["lockDate"] == "2026-03-31"
    assert await _events(gql) == events
    assert (await _close(gql, "2026-04-30"))["errors"] == []
    (closed, later) = await _events(gql)
    assert closed["payload"]["through_date"] == "2026-03-31" and closed["payload"]["from"] is None
    assert later["type"] == "period.closed"
    assert later["payload"]["through_date"] == "2026-04-30"
    assert later["payload"]["from"] == "2026-03-31"
    assert later["payload"]["by"] == {
        "via": "graphql",
        "user_id": later["payload"]["by"]["user_id"],
        "key_id": tenant.key_id,
    }


async def test_reopen_records_reason_and_who(
    db: Database, client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _closed_books(db, gql, tenant)
    blank = (await gql(REOPEN, {"reason": "  "}))["reopenPeriod"]
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("BAD_USER_INPUT", "reason")]
    later = (await gql(REOPEN, {"reason": "x", "through": "2026-04-30"}))["reopenPeriod"]
    assert [(e["code"], e["field"]) for e in later["errors"]] == [("BAD_USER_INPUT", "throughDate")]
    read_only = await create_key(db, slug=tenant.slug, read_only=True)
    forbidden = (await GraphQLClient(client, read_only.key)(REOPEN, {"reason": "x"}))[
        "reopenPeriod"
    ]
    assert [e["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]
    assert (await GraphQLClient(client, read_only.key)(CLOSE, {"through": "2026-12-31"}))[
        "closePeriod"
    ]["errors"][0]["code"] == "FORBIDDEN"

    done = (await gql(REOPEN, {"reason": "late invoice", "through": "2026-01-31"}))["reopenPeriod"]
    assert done == {"tenant": {"lockDate": "2026-01-31"}, "errors": []}
    assert (await post(gql, entry("1000", "4000", "5.00", date="2026-02-15")))["errors"] == []
    cleared = (await gql(REOPEN, {"reason": "audit adjustments"}))["reopenPeriod"]
    assert cleared == {"tenant": {"lockDate": None}, "errors": []}
    assert (await post(gql, entry("1000", "4000", "5.00", date="2026-01-02")))["errors"] == []

    reopened = [event["payload"] for event in await _events(gql, "period.reopened")]
    user_id = reopened[0]["by"]["user_id"]
    assert isinstance(user_id, int)
    by = {"via": "graphql", "user_id": user_id, "key_id": tenant.key_id}
    assert reopened == [
        {"from": "2026-03-31", "to": "2026-01-31", "reason": "late invoice", "by": by},
        {"from": "2026-01-31", "to": None, "reason": "audit adjustments", "by": by},
    ]


async def _year_of_entries(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    inputs = [
        entry("1000", "4000", "1000.00", date="2026-03-01"),
        entry("5000", "1000", "300.00", date="2026-06-30"),
        entry("1000", "4000", "50.00", date="2026-07-01", currency="EUR"),
        entry("5000", "1000", "80.00", date="2026-08-01", currency="EUR"),
        entry("1000", "3000", "500.00", date="2026-01-02"),
        entry("1000", "4000", "9.99", date="2027-01-03"),  # next year: left alone
    ]
    for data in inputs:
        assert (await post(gql, data))["errors"] == []


async def _net(gql: GraphQLClient, code: str, currency: str, as_of: str = "2026-12-31") -> str:
    data = await gql(BALANCE, {"code": code, "asOf": as_of, "currency": currency})
    net: str = data["account"]["balance"]["net"]
    return net


async def test_year_end_close(db: Database, gql: GraphQLClient, tenant: TenantFixture) -> None:
    await _year_of_entries(gql)
    closed = (await gql(CLOSE_YEAR, {"yearEnd": "2026-12-31", "account": "3000"}))["closeYear"]
    assert closed["errors"] == [] and closed["replayed"] is False
    assert closed["tenant"] == {"lockDate": "2026-12-31"}
    closing = closed["entry"]
    assert closing["memo"] == "Year-end close 2026" and closing["date"] == "2026-12-31"
    assert closing["source"] == CLOSING_SOURCE
    assert closing["lines"] == [
        {"accountCode": "4000", "currency": "EUR", "debit": "50.00", "credit": "0.00"},
        {"accountCode": "5000", "currency": "EUR", "debit": "0.00", "credit": "80.00"},
        {"accountCode": "3000", "currency": "EUR", "debit": "30.00", "credit": "0.00"},
        {"accountCode": "4000", "currency": "USD", "debit": "1000.00", "credit": "0.00"},
        {"accountCode": "5000", "currency": "USD", "debit": "0.00", "credit": "300.00"},
        {"accountCode": "3000", "currency": "USD", "debit": "0.00", "credit": "700.00"},
    ]
    for code in ("4000", "5000"):
        assert await _net(gql, code, "USD") == "0.00"
        assert await _net(gql, code, "EUR") == "0.00"
    # Retained earnings = opening equity + the year's net income (a loss in EUR).
    assert await _net(gql, "3000", "USD") == "1200.00"
    assert await _net(gql, "3000", "EUR") == "-30.00"
    trial = (await gql(TRIAL_BALANCE, {"asOf": "2026-12-31"}))["trialBalance"]
    assert trial["balanced"] is True
    # The next year opens normally: its entry kept, income from zero.
    assert await _net(gql, "4000", "USD", "2027-12-31") == "9.99"

    (event,) = [
        e for e in await _events(gql, "journal_entry.posted") if e["entryId"] == closing["id"]
    ]
    assert event["payload"]["metadata"] == {"closing": True, "year_end": "2026-12-31"}
    (period_event,) = await _events(gql)
    assert period_event["payload"]["closing_entry_id"] == int(closing["id"])

    before = await line_sums(db, tenant.id)
    again = (await gql(CLOSE_YEAR, {"yearEnd": "2026-12-31", "account": "3000"}))["closeYear"]
    assert again["errors"] == [] and again["replayed"] is True
    assert again["entry"]["id"] == closing["id"]
    assert await line_sums(db, tenant.id) == before
    assert len(await _events(gql)) == 1

    refused = await post(gql, entry("1000", "4000", "1.00", date="2026-12-31"))
    assert [e["field"] for e in refused["errors"]] == ["date"]
    assert (await post(gql, entry("1000", "4000", "1.00", date="2027-01-01")))["errors"] == []


async def test_year_end_close_after_a_monthly_close_of_december(
    gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _year_of_entries(gql)
    assert (await _close(gql, "2026-12-31"))["errors"] == []
    closed = (await gql(CLOSE_YEAR, {"yearEnd": "2026-12-31", "account": "3000"}))["closeYear"]
    assert closed["errors"] == [] and closed["entry"] is not None
    assert closed["tenant"] == {"lockDate": "2026-12-31"}
    assert await _net(gql, "4000", "USD") == "0.00"


async def test_year_end_close_needs_an_equity_account(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _year_of_entries(gql)
    before = await _books(db, gql, tenant)
    for code in ("1000", "9999", "4000"):
        refused = (await gql(CLOSE_YEAR, {"yearEnd": "2026-12-31", "account": code}))["closeYear"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("BAD_USER_INPUT", "retainedEarningsAccount")
        ], code
    assert await _books(db, gql, tenant) == before
    assert (await gql("{ tenant { lockDate } }"))["tenant"]["lockDate"] is None


def _cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


async def test_cli_period_commands(db: Database) -> None:
    tenant = await make_tenant(db)
    for code, kind in (("1000", "ASSET"), ("3000", "EQUITY"), ("4000", "INCOME")):
        await create_account(db, tenant.id, AccountInput(code=code, name=code, type=kind))
    sale = EntryInput(
        date=dt.date(2026, 5, 1),
        memo="sale",
        lines=[LineInput("1000", debit="10.00"), LineInput("4000", credit="10.00")],
    )
    await posting.post_entry(db, tenant.id, sale)
    run = asyncio.to_thread
    closed = await run(_cli, db.url, "period", "close", tenant.slug, "--through", "2026-06-30")
    assert "closed through 2026-06-30" in closed
    bad = await run(
        CliRunner().invoke,
        main,
        ["period", "close", tenant.slug, "--through", "2026-01-31"],
        env={"DATABASE_URL": db.url},
    )
    assert bad.exit_code == 1 and "throughDate" in bad.output
    reopened = await run(
        _cli, db.url, "period", "reopen", tenant.slug, "--reason", "fix", "--through", "2026-04-30"
    )
    assert "lock date of " + tenant.slug + ": 2026-04-30" in reopened
    year = await run(
        _cli,
        db.url,
        "period",
        "close-year",
        tenant.slug,
        "--year-end",
        "2026-12-31",
        "--retained-earnings",
        "3000",
    )
    assert "closing entry posted" in year and "closed through 2026-12-31" in year
    again = await run(
        _cli,
        db.url,
        "period",
        "close-year",
        tenant.slug,
        "--year-end",
        "2026-12-31",
        "--retained-earnings",
        "3000",
    )
    assert "already posted" in again
    sums = await line_sums(db, tenant.id)
    assert sum(debit for debit, _ in sums.values()) == 2000  # the sale and the closing entry


async def test_the_closed_years_income_statement_shows_it_before_closing(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _year_of_entries(gql)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    before = await statements.income_statement(db, tenant.id, date_from=start, date_to=end)
    closed = (await gql(CLOSE_YEAR, {"yearEnd": "2026-12-31", "account": "3000"}))["closeYear"]
    assert closed["errors"] == []
    after = await statements.income_statement(db, tenant.id, date_from=start, date_to=end)
    assert [(s.currency, s.net_income) for s in after] == [
        (s.currency, s.net_income) for s in before
    ]
    assert {s.currency: s.net_income for s in after} == {"EUR": [-3000], "USD": [70000]}
    # The balance sheet, as of the year end, has the year's result in retained earnings.
    (usd,) = await statements.balance_sheet(
        db, tenant.id, as_of=dt.date(2026, 12, 31), currency="USD"
    )
    assert usd.current_earnings_minor == 0
