"""Holds (two-phase entries, docs/holds.md): the state machine, the pending and available
layers with limits, and the events, through GraphQL on both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.helpers import create_accounts, entry

CHART = [
    ("1000", "Cash", "ASSET"),
    ("2100", "Wallet", "LIABILITY"),
    ("3000", "Equity", "EQUITY"),
    ("4000", "Revenue", "INCOME"),
]
ERRORS = "errors { code field message balanceLimit { available requested limit } }"
RESULT = f"""entry {{ id status number date lines {{ debit credit }} }}
  hold {{ entryId status reason held {{ accountCode debit credit }} }} replayed {ERRORS}"""
HOLD = f"""mutation($input: PostJournalEntryInput!) {{
  holdJournalEntry(input: $input) {{ {RESULT} }} }}"""
HOLD_MANY = f"""mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {{
  holdJournalEntries(inputs: $inputs, atomic: $atomic) {{ {RESULT} }} }}"""
POST_HOLD = f"""mutation($input: PostHoldInput!) {{ postHold(input: $input) {{ {RESULT} }} }}"""
VOID_HOLD = f"""mutation($input: VoidHoldInput!) {{ voidHold(input: $input) {{ {RESULT} }} }}"""
POST = f"""mutation($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ id }} {ERRORS} }} }}"""
REVERSE = f"""mutation($id: ID!) {{ reverseJournalEntry(id: $id) {{ entry {{ id }} {ERRORS} }} }}"""
BALANCE = """query($code: String!) { account(code: $code) {
  balance(currency: "USD") { debit credit net pendingDebit pendingCredit available } } }"""
TRIAL = """{ trialBalance { rows { account { code } debit credit } } }"""
EVENTS = """{ events(first: 100) { nodes { type entryId payload } } }"""
SET_LIMITS = f"""mutation($input: SetAccountLimitsInput!) {{
  setAccountLimits(input: $input) {{ account {{ code }} {ERRORS} }} }}"""


@pytest.fixture
async def books(gql: GraphQLClient) -> GraphQLClient:
    """A no-overdraft wallet (credit-normal) funded with 100.00."""
    await create_accounts(gql, CHART)
    data = await gql(SET_LIMITS, {"input": {"accountCode": "2100", "noOverdraft": True}})
    assert data["setAccountLimits"]["errors"] == []
    assert (await post(gql, entry("1000", "2100", "100.00")))["errors"] == []
    return gql


async def post(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(POST, {"input": input}))["postJournalEntry"]
    return result


async def hold(gql: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(HOLD, {"input": input}))["holdJournalEntry"]
    return result


async def post_hold(gql: GraphQLClient, entry_id: str, **extra: Any) -> dict[str, Any]:
    data = await gql(POST_HOLD, {"input": {"entryId": entry_id, **extra}})
    result: dict[str, Any] = data["postHold"]
    return result


async def void_hold(gql: GraphQLClient, entry_id: str, **extra: Any) -> dict[str, Any]:
    data = await gql(VOID_HOLD, {"input": {"entryId": entry_id, **extra}})
    result: dict[str, Any] = data["voidHold"]
    return result


async def balance(gql: GraphQLClient, code: str) -> dict[str, str]:
    result: dict[str, str] = (await gql(BALANCE, {"code": code}))["account"]["balance"]
    return result


def spend(amount: str) -> dict[str, Any]:
    return entry("2100", "4000", amount, memo="purchase")


async def test_a_hold_moves_only_the_pending_layer_and_posts_in_full(books: GraphQLClient) -> None:
    made = await hold(books, spend("30.00"))
    assert made["errors"] == []
    assert made["entry"]["status"] == "PENDING"
    assert made["hold"]["status"] == "PENDING"
    assert made["hold"]["held"] == [
        {"accountCode": "2100", "debit": "30.00", "credit": "0.00"},
        {"accountCode": "4000", "debit": "0.00", "credit": "30.00"},
    ]
    assert await balance(books, "2100") == {
        "debit": "0.00",
        "credit": "100.00",
        "net": "100.00",
        "pendingDebit": "30.00",
        "pendingCredit": "0.00",
        "available": "70.00",
    }
    # Income is credit-normal: pending credits do not reduce it.
    revenue = await balance(books, "4000")
    assert (revenue["net"], revenue["pendingCredit"], revenue["available"]) == (
        "0.00",
        "30.00",
        "0.00",
    )
    rows = (await books(TRIAL))["trialBalance"]["rows"]
    assert {row["account"]["code"] for row in rows} == {"1000", "2100"}  # posted only

    entry_id = made["entry"]["id"]
    posted = await post_hold(books, entry_id, date="2026-02-01")
    assert posted["errors"] == []
    assert posted["entry"]["id"] == entry_id  # one id through the whole life
    assert posted["entry"]["status"] == "POSTED"
    assert posted["entry"]["date"] == "2026-02-01"
    assert posted["hold"]["status"] == "POSTED"
    wallet = await balance(books, "2100")
    assert (wallet["net"], wallet["pendingDebit"], wallet["available"]) == (
        "70.00",
        "0.00",
        "70.00",
    )
    rows = (await books(TRIAL))["trialBalance"]["rows"]
    assert {row["account"]["code"] for row in rows} == {"1000", "2100", "4000"}
    # An ordinary posted entry from then on: reversible.
    assert (await books(REVERSE, {"id": entry_id}))["reverseJournalEntry"]["errors"] == []
    assert (await balance(books, "2100"))["net"] == "100.00"


async def test_partial_post_by_amount_releases_the_rest(books: GraphQLClient) -> None:
    entry_id = (await hold(books, spend("30.00")))["entry"]["id"]
    too_much = await post_hold(books, entry_id, amount="30.01")
    assert [(e["code"], e["field"]) for e in too_much["errors"]] == [("BAD_USER_INPUT", "amount")]
    posted = await post_hold(books, entry_id, amount="12.00")
    assert posted["errors"] == []
    assert posted["entry"]["lines"] == [
        {"debit": "12.00", "credit": "0.00"},
        {"debit": "0.00", "credit": "12.00"},
    ]
    assert [line["debit"] for line in posted["hold"]["held"]] == ["30.00", "0.00"]
    wallet = await balance(books, "2100")
    assert (wallet["net"], wallet["pendingDebit"], wallet["available"]) == (
        "88.00",
        "0.00",
        "88.00",
    )
    assert (await balance(books, "4000"))["pendingCredit"] == "0.00"


async def test_partial_post_by_lines(books: GraphQLClient) -> None:
    three = {
        "date": "2026-01-15",
        "memo": "split",
        "lines": [
            {"accountCode": "2100", "debit": "30.00"},
            {"accountCode": "4000", "credit": "20.00"},
            {"accountCode": "3000", "credit": "10.00"},
        ],
    }
    entry_id = (await hold(books, three))["entry"]["id"]
    by_amount = await post_hold(books, entry_id, amount="5.00")
    assert [(e["code"], e["field"]) for e in by_amount["errors"]] == [("BAD_USER_INPUT", "amount")]
    unbalanced = await post_hold(books, entry_id, lines=["20.00", "10.00", "5.00"])
    assert [(e["code"], e["field"]) for e in unbalanced["errors"]] == [("BAD_USER_INPUT", "lines")]
    over = await post_hold(books, entry_id, lines=["30.00", "25.00", "5.00"])
    assert [(e["code"], e["field"]) for e in over["errors"]] == [("BAD_USER_INPUT", "lines.1")]
    posted = await post_hold(books, entry_id, lines=["20.00", "15.00", "5.00"])
    assert posted["errors"] == []
    assert [(x["debit"], x["credit"]) for x in posted["entry"]["lines"]] == [
        ("20.00", "0.00"),
        ("0.00", "15.00"),
        ("0.00", "5.00"),
    ]
    assert (await balance(books, "2100"))["available"] == "80.00"
    assert (await balance(books, "3000"))["pendingCredit"] == "0.00"


async def test_void_and_the_second_transition_is_a_conflict_naming_the_state(
    books: GraphQLClient,
) -> None:
    voided_id = (await hold(books, spend("30.00")))["entry"]["id"]
    voided = await void_hold(books, voided_id, reason="customer cancelled")
    assert voided["errors"] == []
    assert voided["entry"]["status"] == "VOIDED"
    assert voided["hold"]["reason"] == "customer cancelled"
    assert (await balance(books, "2100"))["available"] == "100.00"
    for again in (await void_hold(books, voided_id), await post_hold(books, voided_id)):
        (error,) = again["errors"]
        assert (error["code"], error["field"]) == ("CONFLICT", "entryId")
        assert "VOIDED" in error["message"]

    posted_id = (await hold(books, spend("10.00")))["entry"]["id"]
    first = await post_hold(books, posted_id, idempotencyKey="capture-1")
    assert first["errors"] == [] and first["replayed"] is False
    replay = await post_hold(books, posted_id, idempotencyKey="capture-1")
    assert replay["errors"] == [] and replay["replayed"] is True
    assert replay["entry"] == first["entry"]
    other = await post_hold(books, posted_id, amount="5.00", idempotencyKey="capture-1")
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CONFLICT", "idempotencyKey")]
    for again in (await post_hold(books, posted_id), await void_hold(books, posted_id)):
        (error,) = again["errors"]
        assert error["code"] == "CONFLICT" and "POSTED" in error["message"]
    assert (await balance(books, "2100"))["net"] == "90.00"

    missing = await post_hold(books, "999999")
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "entryId")]
    pending_id = (await hold(books, spend("1.00")))["entry"]["id"]
    reversed_ = (await books(REVERSE, {"id": pending_id}))["reverseJournalEntry"]
    assert [e["code"] for e in reversed_["errors"]] == ["CONFLICT"]


async def test_holds_and_postings_share_the_available_balance(books: GraphQLClient) -> None:
    assert (await hold(books, spend("80.00")))["errors"] == []
    refused = await hold(books, spend("30.00"))
    (error,) = refused["errors"]
    assert (error["code"], error["field"]) == ("INSUFFICIENT_FUNDS", "lines.0")
    assert error["balanceLimit"] == {"available": "20.00", "requested": "30.00", "limit": "0.00"}
    assert refused["entry"] is None
    (error,) = (await post(books, spend("30.00")))["errors"]
    assert error["code"] == "INSUFFICIENT_FUNDS"
    assert (await post(books, spend("20.00")))["errors"] == []
    wallet = await balance(books, "2100")
    assert (wallet["net"], wallet["pendingDebit"], wallet["available"]) == (
        "80.00",
        "80.00",
        "0.00",
    )
    # Posting the hold in full still fits: its own pending amount is released first.
    pending_id = (await books("""{ journalEntries(status: PENDING) { nodes { id } } }"""))[
        "journalEntries"
    ]["nodes"][0]["id"]
    assert (await post_hold(books, pending_id))["errors"] == []
    assert (await balance(books, "2100"))["available"] == "0.00"


async def test_bulk_holds_are_atomic_or_not(books: GraphQLClient) -> None:
    inputs = [spend("60.00"), spend("50.00"), spend("10.00")]
    atomic = (await books(HOLD_MANY, {"inputs": inputs}))["holdJournalEntries"]
    assert [bool(r["errors"]) for r in atomic] == [True, True, True]
    assert (await balance(books, "2100"))["pendingDebit"] == "0.00"
    each = (await books(HOLD_MANY, {"inputs": inputs, "atomic": False}))["holdJournalEntries"]
    assert [r["errors"][0]["code"] if r["errors"] else None for r in each] == [
        None,
        "INSUFFICIENT_FUNDS",
        None,
    ]
    assert [r["entry"]["status"] if r["entry"] else None for r in each] == [
        "PENDING",
        None,
        "PENDING",
    ]
    assert (await balance(books, "2100"))["available"] == "30.00"


async def test_every_transition_is_an_event(books: GraphQLClient) -> None:
    posted_id = (await hold(books, spend("30.00")))["entry"]["id"]
    await post_hold(books, posted_id, amount="10.00")
    voided_id = (await hold(books, spend("5.00")))["entry"]["id"]
    await void_hold(books, voided_id, reason="no")
    nodes = (await books(EVENTS))["events"]["nodes"]
    held = [(n["type"], n["entryId"]) for n in nodes if n["type"].startswith("hold.")]
    assert held == [
        ("hold.created", posted_id),
        ("hold.posted", posted_id),
        ("hold.created", voided_id),
        ("hold.voided", voided_id),
    ]
    payloads = {n["type"]: n["payload"] for n in nodes}
    posted = json.loads(payloads["hold.posted"])
    assert posted["status"] == "POSTED"
    assert [line["debit"] for line in posted["lines"]] == ["10.00", "0.00"]
    assert [line["debit"] for line in posted["held"]] == ["30.00", "0.00"]


ENTRY_FIELDS = """id number date memo currency status source journalCode idempotencyKey
  reversalOfId reversedById createdAt externalId accrualDate reportingCurrency exchangeRate
  rateSource rateDate journalId attachmentId attachmentFilename
  lines { id accountId accountCode currency debit credit description reportingDebit
          reportingCredit }"""
HOLD_FIELDS = "entryId status held { accountCode currency debit credit } expiresAt reason"
FULL = f"entry {{ {ENTRY_FIELDS} }} hold {{ {HOLD_FIELDS} }} replayed errors {{ code field }}"
STORED = f"""query($id: ID!) {{ journalEntry(id: $id) {{ {ENTRY_FIELDS} }}
  hold(entryId: $id) {{ {HOLD_FIELDS} }} }}"""


async def test_every_answer_is_the_entry_and_hold_as_stored(books: GraphQLClient) -> None:
    """The answers of the transitions are built from what their transaction wrote, not
    read back: each equals the entry and the hold read afterwards, field by field."""

    async def answered_as_stored(answer: dict[str, Any]) -> None:
        assert answer["errors"] == [] and answer["replayed"] is False
        stored = await books(STORED, {"id": answer["entry"]["id"]})
        assert answer["entry"] == stored["journalEntry"]
        assert answer["hold"] == stored["hold"]

    expires = "2099-06-08T09:30:15.123456+02:00"  # stored and answered in UTC
    document = """mutation($input: PostJournalEntryInput!, $expiresAt: DateTime) {
      holdJournalEntry(input: $input, expiresAt: $expiresAt) { %s } }"""
    made = (
        await books(
            document % FULL,
            {"input": spend("30.00") | {"idempotencyKey": "auth-1"}, "expiresAt": expires},
        )
    )["holdJournalEntry"]
    await answered_as_stored(made)
    assert made["hold"]["expiresAt"] == "2099-06-08T07:30:15.123456+00:00"
    many = """mutation($inputs: [PostJournalEntryInput!]!, $expiresAt: DateTime) {
      holdJournalEntries(inputs: $inputs, expiresAt: $expiresAt) { %s } }"""
    inputs = [spend("5.00"), entry("2100", "4000", "7.00", memo="second", date="2026-03-01")]
    made_many = await books(many % FULL, {"inputs": inputs, "expiresAt": expires})
    for answer in made_many["holdJournalEntries"]:
        await answered_as_stored(answer)

    post = f"mutation($input: PostHoldInput!) {{ postHold(input: $input) {{ {FULL} }} }}"
    capture = {"entryId": made["entry"]["id"], "amount": "27.50", "date": "2026-02-01"}
    posted = (await books(post, {"input": capture | {"idempotencyKey": "cap-1"}}))["postHold"]
    await answered_as_stored(posted)
    assert posted["entry"]["status"] == "POSTED" and posted["entry"]["date"] == "2026-02-01"
    assert [line["debit"] for line in posted["entry"]["lines"]] == ["27.50", "0.00"]
    assert posted["hold"]["held"][0]["debit"] == "30.00"
    first, second = made_many["holdJournalEntries"]
    in_full = (await books(post, {"input": {"entryId": first["entry"]["id"]}}))["postHold"]
    await answered_as_stored(in_full)

    void = f"mutation($input: VoidHoldInput!) {{ voidHold(input: $input) {{ {FULL} }} }}"
    voided = await books(void, {"input": {"entryId": second["entry"]["id"], "reason": "no"}})
    await answered_as_stored(voided["voidHold"])
    assert voided["voidHold"]["hold"]["reason"] == "no"
