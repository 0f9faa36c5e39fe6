"""The wallet that cannot be overdrawn, under real concurrency: 64 HTTP clients spend
from one no-overdraft wallet at once on a real uvicorn server, on both engines.

Each posting checks the wallet's balance read under the tenant's lock, in the
transaction that writes it, so no two spends can both see the last funds: exactly as
many succeed as the funds allow, the rest get INSUFFICIENT_FUNDS, and the maintained
balances still equal the sums of the journal lines.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ledger.balances import balances_by_account
from benchmarks.harness import serve
from db.engine import Database
from tests.conftest import TenantFixture
from tests.helpers import line_sums

CLIENTS = 64
SPEND = "3.00"

CREATE = """
mutation($input: CreateAccountInput!) { createAccount(input: $input) { errors { message } } }"""
POST = """
mutation($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry { id }
    errors { code field balanceLimit { accountCode available requested limit } }
  }
}"""
BALANCE = """{ account(code: "2100") { balance(currency: "USD") { net available } } }"""


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The application in a uvicorn process on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LEDGERQL_POST_DUE_SECONDS": "0",
        "LEDGERQL_RATE_LIMITS": "graphql.write=100000/minute",
    }
    with serve("wallet", "app.main:create_app", env, tmp_path) as (port, _):
        yield f"http://127.0.0.1:{port}"


def _entry(debit: str, credit: str, amount: str) -> dict[str, Any]:
    return {
        "date": "2026-06-01",
        "memo": "wallet",
        "lines": [
            {"accountCode": debit, "debit": amount},
            {"accountCode": credit, "credit": amount},
        ],
    }


async def test_64_concurrent_spends_from_a_100_wallet(
    server: str, db: Database, db_url: str, tenant: TenantFixture
) -> None:
    headers = {"Authorization": f"Bearer {tenant.key}"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=server, headers=headers, timeout=60, limits=limits
    ) as http:

        async def gql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            assert body.get("errors") is None, body
            return body

        for code, name, kind, extra in (
            ("1000", "Cash", "ASSET", {}),
            ("2100", "Wallet", "LIABILITY", {"limits": {"noOverdraft": True}}),
            ("4000", "Revenue", "INCOME", {}),
        ):
            created = await gql(
                CREATE, {"input": {"code": code, "name": name, "type": kind, **extra}}
            )
            assert created["data"]["createAccount"]["errors"] == []
        funded = await gql(POST, {"input": _entry("1000", "2100", "100.00")})
        assert funded["data"]["postJournalEntry"]["errors"] == []

        async def spend() -> dict[str, Any]:
            body = await gql(POST, {"input": _entry("2100", "4000", SPEND)})
            result: dict[str, Any] = body["data"]["postJournalEntry"]
            return result

        started = time.perf_counter()
        results = await asyncio.gather(*(spend() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        wallet = (await gql(BALANCE))["data"]["account"]["balance"]

    outcomes = Counter(r["errors"][0]["code"] if r["errors"] else "POSTED" for r in results)
    print(  # the figures of the run, for -s
        f"\n{db_url.split(':')[0]}: {CLIENTS} concurrent spends in {elapsed * 1000:.0f} ms: "
        f"{dict(outcomes)}, wallet {wallet}"
    )
    assert outcomes == {"POSTED": 33, "INSUFFICIENT_FUNDS": 31}
    assert all(r["entry"] is not None for r in results if not r["errors"])
    refusals = [r["errors"][0] for r in results if r["errors"]]
    assert {e["field"] for e in refusals} == {"lines.0"}
    assert {e["balanceLimit"]["available"] for e in refusals} == {"1.00"}
    assert {
        (e["balanceLimit"]["accountCode"], e["balanceLimit"]["requested"]) for e in refusals
    } == {("2100", "3.00")}
    assert wallet == {"net": "1.00", "available": "1.00"}
    # The maintained balances equal the sums of the lines themselves.
    maintained = await balances_by_account(db, tenant.id)
    assert {pair: total for pair, total in maintained.items() if any(total)} == await line_sums(
        db, tenant.id
    )
