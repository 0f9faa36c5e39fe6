"""Every bad input is BAD_USER_INPUT naming its field, the same on both engines, and writes nothing.

What the core accepts is in docs/design.md, "What the core accepts".
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from app.ledger import accounts, pismo
from app.ledger.entries import MAX_DESCRIPTION, MAX_KEY, MAX_MEMO
from app.ledger.errors import BadInput
from app.ledger.money import MAX_MINOR
from app.ledger.tenants import authenticate, create_tenant
from app.ledger.text import column_length
from app.ledger.validation import parse_id
from db.engine import Database
from db.pismo_tables import PismoAccountingScript, PismoEntryType, PismoProgram
from db.tables import Account, IdempotencyRecord, JournalEntry, JournalLine
from graphql_schema.context import Context
from graphql_schema.schema import schema
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import POST_ENTRY, create_accounts, entry, post
from tests.test_pismo_seeds import ENTRIES, entry_body, pismo_books, rest, script_body

COUNTS = """{ journalEntries(first: 500) { nodes { id } } accounts(first: 500) { nodes { code } }
  events(first: 500) { nodes { id } } }"""
# 92233720368547758.07 USD is 2^63-1 cents.
MAX_USD = "92233720368547758.07"


async def counts(gql: GraphQLClient) -> tuple[int, int, int]:
    data = await gql(COUNTS)
    return tuple(len(data[name]["nodes"]) for name in ("journalEntries", "accounts", "events"))  # type: ignore[return-value]


async def send(gql: GraphQLClient, query: str, variables: Any = None) -> httpx.Response:
    """Like ``gql.raw``, with JSON escapes for every non-ASCII character: a lone
    surrogate is sent as ``\\ud800``, the way a JavaScript client sends it."""
    return await gql.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Authorization": f"Bearer {gql.key}", "Content-Type": "application/json"},
    )


async def execute(db: Database, tenant: TenantFixture, query: str, variables: Any) -> Any:
    """``query`` run by the schema in-process, as the REST shim does, whatever the HTTP
    layer would let through (it may refuse a lone surrogate in the JSON body itself)."""
    principal = await authenticate(db, tenant.key, None)
    result = await schema.execute(
        query, variable_values=variables, context_value=Context(db=db, authenticated=principal)
    )
    assert result.errors is None, result.errors
    return result.data


async def top_level_error(gql: GraphQLClient, query: str, variables: Any = None) -> dict[str, Any]:
    """The first top-level error of a refused request (a 4xx or a 200, never a 500)."""
    response = await send(gql, query, variables)
    assert response.status_code < 500, response.text
    body = response.json()
    assert body.get("errors"), body
    codes = [(error.get("extensions") or {}).get("code") for error in body["errors"]]
    assert set(codes) == {"BAD_USER_INPUT"}, body
    first = body["errors"][0]
    return dict(first["extensions"]) | {"message": first["message"]}


def assert_bad(error: dict[str, Any], field: str) -> None:
    assert error["code"] == "BAD_USER_INPUT", error
    assert error["field"] == field, error


# ---------------------------------------------------------------- literals in the document


LITERAL_ENTRY = """mutation {
  postJournalEntry(input: {date: %s, memo: "m", lines: [
    {accountCode: "1000", debit: %s}, {accountCode: "4000", credit: "1.50"}]}) {
    entry { id } errors { code field }
  }
}"""


@pytest.mark.parametrize("literal", ["1.5", '"1e3"', '"NaN"', "true", "[1]", "{a: 1}", '"\u0663"'])
async def test_a_money_literal_of_the_wrong_form_is_bad_user_input(
    gql: GraphQLClient, literal: str
) -> None:
    await create_accounts(gql)
    before = await counts(gql)

    error = await top_level_error(gql, LITERAL_ENTRY % ('"2026-01-15"', literal))

    assert_bad(error, "input.lines.0.debit")
    assert "Money" in error["message"]
    assert await counts(gql) == before


@pytest.mark.parametrize("literal", ['"2026-13-45"', "5", '"20260115"', '"2026-W03-4"', "null"])
async def test_a_date_literal_of_the_wrong_form_is_bad_user_input(
    gql: GraphQLClient, literal: str
) -> None:
    await create_accounts(gql)
    error = await top_level_error(gql, LITERAL_ENTRY % (literal, '"1.50"'))
    assert_bad(error, "input.date")
    assert await counts(gql) == (0, 6, 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("{ journalEntry(id: 1.5) { id } }", "id"),
        ("{ accounts(type: FOO) { nodes { code } } }", "type"),
        ('{ trialBalance(asOf: "2026-02-30") { balanced } }', "asOf"),
        ("{ events(first: 1.5) { nodes { id } } }", "first"),
    ],
)
async def test_other_literals_of_the_wrong_form_are_bad_user_input(
    gql: GraphQLClient, query: str, field: str
) -> None:
    assert_bad(await top_level_error(gql, query), field)


async def test_a_variable_of_the_wrong_form_names_its_path(gql: GraphQLClient) -> None:
    error = await top_level_error(
        gql, POST_ENTRY, {"input": entry("1000", "4000", "1.50") | {"date": "2026-02-30"}}
    )
    assert_bad(error, "input.date")
    bad_line = entry("1000", "4000", "1.50")
    bad_line["lines"][1]["credit"] = 1.5
    assert_bad(await top_level_error(gql, POST_ENTRY, {"input": bad_line}), "input.lines.1.credit")


# ---------------------------------------------------------------- cursors


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


CURSOR_QUERIES = [
    "query($after: String) { events(after: $after) { nodes { id } } }",
    "query($after: String) { accountingAccounts(after: $after) { nodes { id } } }",
    "query($after: String) { accountingScripts(after: $after) { nodes { id } } }",
    "query($after: String) { journalEntries(after: $after) { nodes { id } } }",
    'query($after: String) { generalLedger(accountCode: "1000", after: $after) { closingBalance } }',
    "query($after: String) { accounts(after: $after) { nodes { code } } }",
]
# Cursors encode_cursor never makes: a number past 64 bits, other spellings of
# numbers and dates, a NUL, a part too many, not base64 at all.
ANY_CURSOR = [cursor("a\x00b"), cursor("1|2|3"), "not base64 ✓", cursor("\ud7ff")[:-2] + "$$"]
ID_CURSORS = [
    "OTk5OTk5OTk5OTk5OTk5OTk5OTk=",
    cursor("\u0663"),
    cursor(" 3"),
    cursor("0"),
    cursor("1_0"),
]
DATE_ID_CURSORS = [
    cursor("2026-01-15|99999999999999999999"),
    cursor("2026-01-15|\u0663"),
    cursor("20260115|1"),
    cursor("2026-02-30|1"),
]


@pytest.mark.parametrize("query", CURSOR_QUERIES)
async def test_a_cursor_that_encode_cursor_never_makes_is_bad_user_input(
    gql: GraphQLClient, query: str
) -> None:
    await create_accounts(gql)
    kind = ANY_CURSOR
    if "journalEntries" in query or "generalLedger" in query:
        kind = ANY_CURSOR + DATE_ID_CURSORS
    elif "accounts(" not in query:
        kind = ANY_CURSOR + ID_CURSORS
    for after in kind:
        assert_bad(await top_level_error(gql, query, {"after": after}), "after")


async def test_cursors_made_by_the_server_still_page(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    await post(gql, entry("1000", "4000", "1.00"))
    await post(gql, entry("1000", "4000", "2.00"))
    for query, name in [
        (
            "query($a: String) { accounts(first: 1, after: $a) { pageInfo { endCursor } } }",
            "accounts",
        ),
        (
            "query($a: String) { journalEntries(first: 1, after: $a) { pageInfo { endCursor } } }",
            "journalEntries",
        ),
        ("query($a: String) { events(first: 1, after: $a) { pageInfo { endCursor } } }", "events"),
    ]:
        first = (await gql(query, {"a": None}))[name]["pageInfo"]["endCursor"]
        assert (await gql(query, {"a": first}))[name]["pageInfo"]["endCursor"] != first


# ---------------------------------------------------------------- amounts past 64 bits


async def test_lines_of_one_entry_past_int64_are_refused(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    payload = await post(
        gql,
        {
            "date": "2026-01-15",
            "memo": "too much",
            "lines": [
                {"accountCode": "1000", "debit": MAX_USD},
                {"accountCode": "1000", "debit": "0.01"},
                {"accountCode": "4000", "credit": MAX_USD},
                {"accountCode": "3000", "credit": "0.01"},
            ],
        },
    )
    assert payload["errors"] == [
        {"code": "BAD_USER_INPUT", "field": "lines", "message": payload["errors"][0]["message"]}
    ]
    assert await counts(gql) == (0, 6, 0)


async def test_an_entry_total_past_int64_is_refused(gql: GraphQLClient) -> None:
    """Each account's part fits, the entry's total per currency does not: refused too."""
    await create_accounts(gql)
    payload = await post(
        gql,
        {
            "date": "2026-01-15",
            "memo": "too much",
            "lines": [
                {"accountCode": "1000", "debit": MAX_USD},
                {"accountCode": "1100", "debit": "0.01"},
                {"accountCode": "4000", "credit": MAX_USD},
                {"accountCode": "3000", "credit": "0.01"},
            ],
        },
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BAD_USER_INPUT", "lines")]
    assert await counts(gql) == (0, 6, 0)


async def test_a_running_balance_past_int64_is_refused(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    assert (await post(gql, entry("1000", "4000", MAX_USD)))["errors"] == []

    payload = await post(gql, entry("1000", "3000", "0.01"))

    assert payload["errors"][0]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["field"] == "lines"
    assert await counts(gql) == (1, 6, 1)


# ---------------------------------------------------------------- text


NUL, SURROGATE = "a\x00b", "a\ud800b"
CREATE_JOURNAL = """mutation($input: CreateJournalInput!) {
  createJournal(input: $input) { journal { id } errors { code field message } } }"""
CREATE_ACCOUNT = """mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id } errors { code field message } } }"""
REVERSE = """mutation($id: ID!, $memo: String, $date: Date) {
  reverseJournalEntry(id: $id, memo: $memo, date: $date) { entry { id } errors { code field message } }
}"""
PISMO = {
    "createProgram": "CreateProgramInput",
    "createEntryType": "CreateEntryTypeInput",
    "createEventType": "CreateEventTypeInput",
    "createAccountingAccount": "CreateAccountingAccountInput",
    "createAccountingEntry": "CreateAccountingEntryInput",
}


def pismo_mutation(name: str) -> str:
    return f"""mutation($input: {PISMO[name]}!) {{ {name}(input: $input) {{ errors {{ code field message }} }} }}"""


def account_input(**changes: str) -> dict[str, Any]:
    return {"code": "9000", "name": "Suspense", "type": "ASSET"} | changes


# (document, payload field, variables for a text, the field named, the longest text taken)
TEXT_INPUTS: list[tuple[str, str, Any, str, int | None]] = [
    (CREATE_ACCOUNT, "createAccount", lambda t: {"input": account_input(code=t)}, "code", 50),
    (CREATE_ACCOUNT, "createAccount", lambda t: {"input": account_input(name=t)}, "name", 200),
    (
        CREATE_ACCOUNT,
        "createAccount",
        lambda t: {"input": account_input(category=t)},
        "category",
        100,
    ),
    (
        CREATE_ACCOUNT,
        "createAccount",
        lambda t: {"input": account_input(parentCode=t)},
        "parentCode",
        None,
    ),
    (CREATE_JOURNAL, "createJournal", lambda t: {"input": {"code": t, "name": "J"}}, "code", 50),
    (CREATE_JOURNAL, "createJournal", lambda t: {"input": {"code": "J", "name": t}}, "name", 200),
    (
        POST_ENTRY,
        "postJournalEntry",
        lambda t: {"input": entry("1000", "4000", "1", memo=t)},
        "memo",
        500,
    ),
    (
        POST_ENTRY,
        "postJournalEntry",
        lambda t: {"input": entry("1000", "4000", "1", idempotencyKey=t)},
        "idempotencyKey",
        200,
    ),
    (
        POST_ENTRY,
        "postJournalEntry",
        lambda t: {"input": entry("1000", "4000", "1", journalCode=t)},
        "journalCode",
        None,
    ),
    (
        POST_ENTRY,
        "postJournalEntry",
        lambda t: {"input": entry(t, "4000", "1")},
        "lines.0.accountCode",
        None,
    ),
    (
        POST_ENTRY,
        "postJournalEntry",
        lambda t: {
            "input": entry("1000", "4000", "1")
            | {
                "lines": [
                    {"accountCode": "1000", "debit": "1", "description": t},
                    {"accountCode": "4000", "credit": "1"},
                ]
            }
        },
        "lines.0.description",
        500,
    ),
    (
        pismo_mutation("createProgram"),
        "createProgram",
        lambda t: {"input": {"name": t, "currency": "BRL", "id": 77}},
        "name",
        200,
    ),
    (
        pismo_mutation("createEntryType"),
        "createEntryType",
        lambda t: {"input": {"description": t, "id": 77}},
        "description",
        200,
    ),
    (
        pismo_mutation("createEventType"),
        "createEventType",
        lambda t: {"input": {"description": t, "id": 77}},
        "description",
        200,
    ),
    (
        pismo_mutation("createAccountingAccount"),
        "createAccountingAccount",
        lambda t: {"input": {"programId": 12, "account": t, "description": "d", "type": "ASSET"}},
        "account",
        50,
    ),
    (
        pismo_mutation("createAccountingAccount"),
        "createAccountingAccount",
        lambda t: {"input": {"programId": 12, "account": "7", "description": t, "type": "ASSET"}},
        "description",
        100,
    ),
    (
        pismo_mutation("createAccountingAccount"),
        "createAccountingAccount",
        lambda t: {
            "input": {
                "programId": 12,
                "account": "7",
                "description": "d",
                "type": "ASSET",
                "category": t,
            }
        },
        "category",
        100,
    ),
    (
        pismo_mutation("createAccountingEntry"),
        "createAccountingEntry",
        lambda t: {
            "input": {"amount": "1", "entryTypeId": 2100, "eventDate": "2021-02-01"}
            | {"programId": 12, "trackingId": t}
        },
        "trackingId",
        50,
    ),
]


@pytest.mark.parametrize(
    ("document", "name", "variables", "field", "longest"),
    TEXT_INPUTS,
    ids=[f"{case[1]}.{case[3]}" for case in TEXT_INPUTS],
)
async def test_text_inputs_refuse_nul_lone_surrogates_and_overlength(
    db: Database,
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    document: str,
    name: str,
    variables: Any,
    field: str,
    longest: int | None,
) -> None:
    await create_accounts(gql)
    books = await pismo_books(gql)
    assert (
        await rest(client, tenant, "/accounting/v1/accounting-scripts", script_body(books))
    ).status_code == 201
    before = await counts(gql)
    bad = [NUL, SURROGATE, "tab\tand\nlines\rok\x7f", "\x1b[31m"]
    if longest is not None:
        bad.append("x" * (longest + 1))
    for text in bad:
        errors = (await execute(db, tenant, document, variables(text)))[name]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("BAD_USER_INPUT", field)], (
            text,
            errors,
        )
    assert await counts(gql) == before
    if longest is not None:  # the longest text that fits is taken, whole
        ok = (await gql(document, variables("é" * longest)))[name]["errors"]
        assert ok == [], ok


async def test_reversal_memo_and_date_follow_the_rules(
    db: Database, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    entry_id = (await post(gql, entry("1000", "4000", "1")))["entry"]["id"]
    for variables, field in [
        ({"memo": NUL}, "memo"),
        ({"memo": SURROGATE}, "memo"),
        ({"memo": "m" * (MAX_MEMO + 1)}, "memo"),
        ({"date": "9999-12-31"}, "date"),
    ]:
        data = await execute(db, tenant, REVERSE, {"id": entry_id, **variables})
        payload = data["reverseJournalEntry"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BAD_USER_INPUT", field)]
    assert await counts(gql) == (1, 6, 1)


async def test_a_nul_tracking_id_over_rest_is_a_400(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)
    assert (
        await rest(client, tenant, "/accounting/v1/accounting-scripts", script_body(books))
    ).status_code == 201
    for tracking_id in (NUL, SURROGATE):
        response = await rest(client, tenant, ENTRIES, entry_body(tracking_id=tracking_id))
        assert response.status_code == 400, response.text
        assert "tracking_id" in response.json()["error"]
    assert (await counts(gql))[0] == 0


async def test_tenant_names_follow_the_text_rule(db: Database) -> None:
    for name in (NUL, SURROGATE, "n" * 201):
        with pytest.raises(BadInput) as caught:
            await create_tenant(db, slug="t-bad-name", name=name, currency="USD")
        assert caught.value.field == "name"
    with pytest.raises(BadInput):
        await create_tenant(db, slug="t-slug\n", name="n", currency="USD")


def test_text_limits_are_the_columns() -> None:
    assert column_length(JournalEntry, "memo") == MAX_MEMO
    assert column_length(JournalLine, "description") == MAX_DESCRIPTION
    assert (
        MAX_KEY
        == column_length(IdempotencyRecord, "key")
        == column_length(JournalEntry, "idempotency_key")
    )
    assert column_length(Account, "category") == accounts.MAX_CATEGORY
    assert column_length(Account, "code") == pismo.MAX_ACCOUNT_NUMBER
    assert column_length(Account, "name") >= pismo.MAX_ACCOUNT_DESCRIPTION
    assert column_length(PismoProgram, "name") == pismo.MAX_NAME
    assert column_length(PismoEntryType, "description") == pismo.MAX_NAME
    assert column_length(PismoAccountingScript, "processing_code") == pismo.MAX_PROCESSING_CODE
    assert column_length(PismoAccountingScript, "debit_org") == pismo.MAX_COST_CENTER_FIELD
    assert pismo.MAX_TRACKING_ID <= MAX_KEY


# ---------------------------------------------------------------- digits and ids


@pytest.mark.parametrize("amount", ["\u0663", "\uff11\uff10", "1\u0660.00", "\u0663.5"])
async def test_amounts_take_ascii_digits_only(gql: GraphQLClient, amount: str) -> None:
    await create_accounts(gql)
    error = await top_level_error(gql, POST_ENTRY, {"input": entry("1000", "4000", amount)})
    assert_bad(error, "input.lines.0.debit")
    assert await counts(gql) == (0, 6, 0)


@pytest.mark.parametrize(
    "value", ["\u0663", "1_0", " 3 ", "+3", "03", "3\n", "0", "-1", str(2**63), "x"]
)
async def test_entry_ids_take_one_canonical_spelling(gql: GraphQLClient, value: str) -> None:
    await create_accounts(gql)
    for _ in range(10):
        await post(gql, entry("1000", "4000", "1"))
    error = await top_level_error(
        gql, "query($id: ID!) { journalEntry(id: $id) { id } }", {"id": value}
    )
    assert_bad(error, "id")
    payload = (await gql(REVERSE, {"id": value}))["reverseJournalEntry"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BAD_USER_INPUT", "id")]
    assert (await counts(gql))[0] == 10


def test_parse_id() -> None:
    assert parse_id("1") == 1
    assert parse_id(str(MAX_MINOR)) == MAX_MINOR
    assert parse_id(42) == 42
    for value in ("\u0663", "1_0", " 3", "3 ", "0x1", "", True, 1.0, None, 0, 2**63):
        with pytest.raises(BadInput):
            parse_id(value)


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("date", "taken"),
    [
        ("0001-01-01", False),
        ("1899-12-31", False),
        ("1900-01-01", True),
        ("2199-12-31", True),
        ("2200-01-01", False),
        ("9999-12-31", False),
    ],
)
async def test_entry_dates_within_the_documented_range(
    gql: GraphQLClient, date: str, taken: bool
) -> None:
    await create_accounts(gql)
    payload = await post(gql, entry("1000", "4000", "1", date=date))
    if taken:
        assert payload["errors"] == []
    else:
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("BAD_USER_INPUT", "date")]
        assert await counts(gql) == (0, 6, 0)


async def test_pismo_event_dates_within_the_range(
    client: httpx.AsyncClient, tenant: TenantFixture, gql: GraphQLClient
) -> None:
    books = await pismo_books(gql)
    assert (
        await rest(client, tenant, "/accounting/v1/accounting-scripts", script_body(books))
    ).status_code == 201
    for event_date in ("0001-01-01", "9999-12-31T00:00:00Z", "\u0662\u0660\u0662\u0661-02-01"):
        response = await rest(client, tenant, ENTRIES, entry_body(event_date=event_date))
        assert response.status_code == 400, response.text
        assert "event_date" in response.json()["error"]
    assert (await counts(gql))[0] == 0


async def test_lock_dates_within_the_range(db: Database, tenant: TenantFixture) -> None:
    import datetime as dt

    from app.ledger import closing

    for through in (dt.date(9999, 12, 31), dt.date(1899, 12, 31)):
        with pytest.raises(BadInput):
            await closing.close_period(db, tenant.id, through, closing.Actor.cli())


async def test_report_dates_at_the_extremes_do_not_crash(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    await post(gql, entry("1000", "4000", "1"))
    data = await gql(
        """{
          a: trialBalance(asOf: "9999-12-31") { balanced }
          b: trialBalance(asOf: "0001-01-01") { balanced }
          c: journalEntries(from: "0001-01-01", to: "9999-12-31") { nodes { id } }
          d: generalLedger(accountCode: "1000", from: "0001-01-01", to: "9999-12-31") { closingBalance }
          e: generalLedger(accountCode: "1000", from: "9999-12-31") { closingBalance }
          f: account(code: "1000") { balance(asOf: "9999-12-31") { net } }
        }"""
    )
    assert len(data["c"]["nodes"]) == 1
