"""docs/holds.md's walk-through, run as a new user would through GraphQL, on both engines:
a no-overdraft wallet funded, a hold, a partial capture, a void, an expiry, a dry run and
an overdraw refused. The balances after each step are read from the doc's table, so the
doc and the ledger cannot disagree."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from app.ledger import posting
from db.engine import Database
from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry

DOC = Path(__file__).resolve().parents[1] / "docs" / "holds.md"
ERRORS = "errors { code field message balanceLimit { available requested limit } }"
CREATE_WALLET = f"""mutation {{ createAccount(input: {{code: "2100", name: "Card wallet",
  type: LIABILITY, limits: {{noOverdraft: true}}}}) {{ {ERRORS} }} }}"""
POST = f"""mutation($input: PostJournalEntryInput!, $dry: Boolean! = false) {{
  postJournalEntry(input: $input, dryRun: $dry) {{ entry {{ id }} {ERRORS}
    preview {{ balances {{ accountCode balance {{ net available }} }} }} }} }}"""
HOLD = f"""mutation($input: PostJournalEntryInput!, $at: DateTime) {{
  holdJournalEntry(input: $input, expiresAt: $at) {{ entry {{ id }} {ERRORS} }} }}"""
POST_HOLD = f"""mutation($input: PostHoldInput!) {{ postHold(input: $input) {{
  hold {{ status }} {ERRORS} }} }}"""
VOID_HOLD = f"""mutation($input: VoidHoldInput!) {{ voidHold(input: $input) {{
  hold {{ status }} {ERRORS} }} }}"""
BALANCE = """{ account(code: "2100") {
  balance(currency: "USD") { net pendingDebit available } } }"""
STATE = """query($id: ID!) { hold(entryId: $id) { status } }"""


def documented() -> list[tuple[str, str, str]]:
    """(net, pendingDebit, available) of each step of the walk-through's table, in order."""
    text = DOC.read_text()
    section = text.split("## A walk-through", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| .* \| ([-\d.]+) \| ([-\d.]+) \| ([-\d.]+) \|$", section, re.M)
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))
    return [(net, pending, available) for _, net, pending, available in rows]


def spend(amount: str) -> dict[str, Any]:
    return entry("2100", "4000", amount, memo="card")


async def test_the_walkthrough_of_docs_holds_md(gql: GraphQLClient, db: Database) -> None:
    expected = documented()
    assert len(expected) == 9
    seen: list[tuple[str, str, str]] = []

    async def call(query: str, field: str, **variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = (await gql(query, variables))[field]
        return result

    async def step() -> None:
        found = (await gql(BALANCE))["account"]["balance"]
        seen.append((found["net"], found["pendingDebit"], found["available"]))

    await create_accounts(gql, [("1000", "Cash", "ASSET"), ("4000", "Revenue", "INCOME")])
    assert (await gql(CREATE_WALLET))["createAccount"]["errors"] == []
    # 1. fund
    assert (await call(POST, "postJournalEntry", input=entry("1000", "2100", "100.00")))[
        "errors"
    ] == []
    await step()
    # 2. hold A, 3. capture 27.50 of it
    hold_a = await call(HOLD, "holdJournalEntry", input=spend("30.00"))
    await step()
    captured = await call(
        POST_HOLD, "postHold", input={"entryId": hold_a["entry"]["id"], "amount": "27.50"}
    )
    assert captured["errors"] == [] and captured["hold"]["status"] == "POSTED"
    await step()
    # 4. hold B, 5. void it
    hold_b = await call(HOLD, "holdJournalEntry", input=spend("20.00"))
    await step()
    voided = await call(VOID_HOLD, "voidHold", input={"entryId": hold_b["entry"]["id"]})
    assert voided["errors"] == [] and voided["hold"]["status"] == "VOIDED"
    await step()
    # 6. hold C expiring in a second, 7. the expiry job after that second
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    hold_c = await call(HOLD, "holdJournalEntry", input=spend("10.00"), at=expires.isoformat())
    assert hold_c["errors"] == []
    await step()
    assert await posting.expire_holds(db, now=expires + dt.timedelta(seconds=1)) == 1
    state = await gql(STATE, {"id": hold_c["entry"]["id"]})
    assert state["hold"]["status"] == "EXPIRED"
    await step()
    # 8. a dry run: the preview shows what would be left, nothing is written
    dry = await call(POST, "postJournalEntry", input=spend("50.00"), dry=True)
    assert dry["errors"] == [] and dry["entry"] is None
    wallet = next(b for b in dry["preview"]["balances"] if b["accountCode"] == "2100")
    assert wallet["balance"] == {"net": "22.50", "available": "22.50"}
    await step()
    # 9. an overdraw refused
    refused = await call(POST, "postJournalEntry", input=spend("80.00"))
    (error,) = refused["errors"]
    assert error["code"] == "INSUFFICIENT_FUNDS" and error["field"] == "lines.0"
    assert error["balanceLimit"] == {"available": "72.50", "requested": "80.00", "limit": "0.00"}
    await step()
    assert seen == expected
