"""A Pennylane client's session, start to end, through HTTP only (seed 003), on both engines.

It discovers the ids it must send (journals, ledger accounts), uploads a receipt,
posts a 1,000-line entry that references it, reads the entry back with its line
ids, pages through the entries, and finds the entry in the trial balance.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import CREATE_ACCOUNT, TRIAL_BALANCE

BASE = "/api/external/v2"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def test_a_pennylane_client_session(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    auth = {"Authorization": f"Bearer {tenant.key}"}
    for code, name, kind in (("512", "Bank", "ASSET"), ("706", "Services", "INCOME")):
        data = await gql(CREATE_ACCOUNT, {"input": {"code": code, "name": name, "type": kind}})
        assert data["createAccount"]["errors"] == []

    journals = (await client.get(f"{BASE}/journals", headers=auth)).json()["items"]
    journal = journals[0]["id"]
    accounts = (await client.get(f"{BASE}/ledger_accounts", headers=auth)).json()["items"]
    by_number = {item["number"]: item["id"] for item in accounts}
    bank, revenue = by_number["512"], by_number["706"]

    upload = await client.post(
        f"{BASE}/ledger_attachments",
        files={"file": ("receipt.pdf", PDF, "application/pdf")},
        headers=auth,
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()["id"]

    lines: list[dict[str, Any]] = [
        {"debit": "1.00", "credit": "0.00", "ledger_account_id": bank, "label": f"line {i}"}
        for i in range(500)
    ] + [
        {"debit": "0.00", "credit": "1.00", "ledger_account_id": revenue, "label": f"line {i}"}
        for i in range(500, 1000)
    ]
    created = await client.post(
        f"{BASE}/ledger_entries",
        json={
            "date": "2026-03-31",
            "label": "Services, March",
            "journal_id": journal,
            "ledger_attachment_id": attachment,
            "currency": "EUR",
            "ledger_entry_lines": lines,
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["ledger_attachment_filename"] == "receipt.pdf"
    line_ids = [line["id"] for line in entry["ledger_entry_lines"]]
    assert len(set(line_ids)) == 1000

    again = (await client.get(f"{BASE}/ledger_entries/{entry['id']}", headers=auth)).json()
    assert [line["id"] for line in again["ledger_entry_lines"]] == line_ids
    assert again["ledger_attachment_id"] == attachment

    for i in range(30):  # more entries, to page through
        small = await client.post(
            f"{BASE}/ledger_entries",
            json={
                "date": "2026-04-01",
                "label": f"Sale {i}",
                "journal_id": journal,
                "ledger_entry_lines": [
                    {"debit": "2.00", "credit": "0", "ledger_account_id": bank, "label": "in"},
                    {"debit": "0", "credit": "2.00", "ledger_account_id": revenue, "label": "out"},
                ],
            },
            headers=auth,
        )
        assert small.status_code == 201, small.text
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{BASE}/ledger_entries", params=params, headers=auth)).json()
        seen += [item["id"] for item in page["items"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 31 and entry["id"] in seen

    trial = (await gql(TRIAL_BALANCE))["trialBalance"]
    assert trial["balanced"]
    assert {row["account"]["code"]: row["net"] for row in trial["rows"]} == {
        "512": "560.00",
        "706": "560.00",  # net on its normal (credit) side
    }
