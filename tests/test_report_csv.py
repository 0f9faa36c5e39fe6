"""CSV exports: the same numbers as the GraphQL reports, over GraphQL and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest
from click.testing import CliRunner

from app.cli.main import main
from app.ledger import report_csv
from db.engine import Database
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import TRIAL_BALANCE, create_accounts, entry, post

GL = """query($from: Date, $to: Date) {
  generalLedger(accountCode: "1000", from: $from, to: $to, first: 500) {
    openingBalance closingBalance
    lines { nodes { date entryNumber memo debit credit runningBalance } }
  }}"""
CSV = """query($from: Date, $to: Date) {
  tb: trialBalanceCsv
  gl: generalLedgerCsv(accountCode: "1000", from: $from, to: $to)
}"""


async def _books(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    for day, (debit, credit, amount) in enumerate(
        [("1000", "4000", "100.10"), ("5000", "1000", "0.07"), ("1000", "3000", "12.00")], start=1
    ):
        await post(gql, entry(debit, credit, amount, date=f"2026-06-0{day}", memo=f"m, {day}"))


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_csv_equals_graphql_reports(gql: GraphQLClient) -> None:
    await _books(gql)
    span = {"from": "2026-06-02", "to": "2026-06-03"}
    files = await gql(CSV, span)
    report = (await gql(TRIAL_BALANCE))["trialBalance"]
    tb = _rows(files["tb"])
    assert tb[0] == list(report_csv.TRIAL_BALANCE_HEADER)
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in tb[1:]] == [
        (r["account"]["code"], r["currency"], r["debit"], r["credit"], r["net"])
        for r in report["rows"]
    ]
    ledger = (await gql(GL, span))["generalLedger"]
    gl = _rows(files["gl"])
    assert gl[0] == list(report_csv.GENERAL_LEDGER_HEADER)
    assert gl[1] == ["2026-06-02", "", "Opening balance", "", "", "", ledger["openingBalance"]]
    assert gl[-1] == ["2026-06-03", "", "Closing balance", "", "", "", ledger["closingBalance"]]
    assert gl[2:-1] == [
        [n["date"], n["entryNumber"], n["memo"], "", n["debit"], n["credit"], n["runningBalance"]]
        for n in ledger["lines"]["nodes"]
    ]
    assert ledger["openingBalance"] == "100.10" and ledger["closingBalance"] == "112.03"


async def test_general_ledger_csv_pages_and_cap(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    for day in range(1, 8):
        await post(gql, entry("1000", "4000", f"{day}.00", date=f"2026-07-0{day}"))
    patch = pytest.MonkeyPatch()
    patch.setattr(report_csv, "PAGE", 2)  # several keyset pages, each line once
    try:
        text = await report_csv.general_ledger_csv(
            db, tenant.id, "1000", default_currency="USD", max_rows=None
        )
        rows = _rows(text)[2:-1]
        assert [r[6] for r in rows] == ["1.00", "3.00", "6.00", "10.00", "15.00", "21.00", "28.00"]
        patch.setattr(report_csv, "MAX_GL_ROWS", 5)
        capped = await gql.raw('{ generalLedgerCsv(accountCode: "1000") }')
        error = capped.json()["errors"][0]
        assert (
            error["extensions"]["code"] == "BAD_USER_INPUT"
            and "ledgerql report" in error["message"]
        )
    finally:
        patch.undo()


async def test_cli_csv_equals_graphql_field(
    db_url: str, gql: GraphQLClient, tenant: TenantFixture, tmp_path: object
) -> None:
    await _books(gql)
    files = await gql(CSV, {"from": "2026-06-02", "to": "2026-06-03"})

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return result.output

    tb = await asyncio.to_thread(run, "report", "trial-balance", "--tenant", tenant.slug, "--csv")
    assert tb == files["tb"]
    gl = await asyncio.to_thread(
        run,
        "report",
        "general-ledger",
        "--tenant",
        tenant.slug,
        "--account",
        "1000",
        "--from",
        "2026-06-02",
        "--to",
        "2026-06-03",
        "--csv",
    )
    assert gl == files["gl"]
