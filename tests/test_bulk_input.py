"""Entry inputs built by ``from_coerced`` (Strawberry's ``from_input`` hook): every
field arrives, defaults and nulls behave as before, and errors keep their paths."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryList, get_object_definition

from graphql_schema.inputs import BalanceConditionInput, JournalLineInput, PostJournalEntryInput
from graphql_schema.schema import schema
from tests.conftest import GraphQLClient
from tests.helpers import TRIAL_BALANCE, create_accounts, entry

BULK = """
mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {
  postJournalEntries(inputs: $inputs, atomic: $atomic) {
    entry { id memo currency journalCode idempotencyKey lines { accountCode currency debit credit description } }
    errors { code field message }
  }
}"""
ENTRY_LINES = "query($id: ID!) { journalEntry(id: $id) { memo currency journalCode lines { currency debit credit description } } }"


def _strawberry_convert(value: dict[str, Any]) -> list[PostJournalEntryInput]:
    converted = convert_argument(
        [value],
        StrawberryList(PostJournalEntryInput),
        schema.schema_converter.scalar_registry,
        schema.config,
    )
    assert isinstance(converted, list)
    return converted


CONDITION = {"accountCode": "C", "currency": "USD", "layer": "POSTED"}


@pytest.mark.parametrize("cls", [PostJournalEntryInput, JournalLineInput, BalanceConditionInput])
def test_from_coerced_reads_every_field(cls: type[Any]) -> None:
    """A field added to the input but not to ``from_coerced`` fails here."""
    definition = get_object_definition(cls, strict=True)
    value: dict[str, Any] = {}
    for field in definition.fields:
        name = schema.config.name_converter.from_field(field)
        value[name] = f"value of {name}"
    if "lines" in value:
        value["lines"] = [{"accountCode": "L"}]
        value["conditions"] = [CONDITION]
    built = cls.from_coerced(value)
    for field in definition.fields:
        name = schema.config.name_converter.from_field(field)
        got = getattr(built, field.python_name)
        if name == "lines":
            assert [line.account_code for line in got] == ["L"]
        elif name == "conditions":
            assert [(c.account_code, c.currency, c.layer) for c in got] == [("C", "USD", "POSTED")]
        else:
            assert got == f"value of {name}", field.python_name


def test_strawberry_uses_from_coerced_and_fills_omitted_fields_with_none() -> None:
    (built,) = _strawberry_convert(
        {
            "date": dt.date(2026, 1, 15),
            "memo": "m",
            "lines": [{"accountCode": "1000", "debit": Decimal("1.50")}],
        }
    )
    assert isinstance(built, PostJournalEntryInput)
    assert (built.currency, built.journal_code, built.idempotency_key) == (None, None, None)
    (line,) = built.lines
    assert isinstance(line, JournalLineInput)
    assert (line.account_code, line.debit, line.credit) == ("1000", Decimal("1.50"), None)
    assert (line.description, line.currency) == (None, None)


async def _accounts_and_sales_journal(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    created = await gql(
        'mutation { createJournal(input: {code: "SALES", name: "Sales"}) { errors { code } } }'
    )
    assert created["createJournal"]["errors"] == []


async def test_bulk_carries_every_field_to_the_ledger(gql: GraphQLClient) -> None:
    await _accounts_and_sales_journal(gql)
    full = {
        "date": "2026-03-01",
        "memo": "everything set",
        "currency": "EUR",
        "journalCode": "SALES",
        "idempotencyKey": "bulk-full-1",
        "lines": [
            {"accountCode": "1000", "debit": "12.50", "description": "cash in"},
            {"accountCode": "1100", "debit": "100", "currency": "JPY"},
            {"accountCode": "4000", "credit": "12.50", "description": "sale"},
            {"accountCode": "4000", "credit": "100", "currency": "JPY", "description": None},
        ],
    }
    plain = entry("1000", "4000", "3.00", memo="defaults")
    result = (await gql(BULK, {"inputs": [full, plain]}))["postJournalEntries"]
    assert [r["errors"] for r in result] == [[], []]
    first, second = (r["entry"] for r in result)
    assert (first["memo"], first["currency"], first["journalCode"]) == (
        "everything set",
        "EUR",
        "SALES",
    )
    assert first["idempotencyKey"] == "bulk-full-1"
    assert first["lines"] == [
        {
            "accountCode": "1000",
            "currency": "EUR",
            "debit": "12.50",
            "credit": "0.00",
            "description": "cash in",
        },
        {
            "accountCode": "1100",
            "currency": "JPY",
            "debit": "100",
            "credit": "0",
            "description": None,
        },
        {
            "accountCode": "4000",
            "currency": "EUR",
            "debit": "0.00",
            "credit": "12.50",
            "description": "sale",
        },
        {
            "accountCode": "4000",
            "currency": "JPY",
            "debit": "0",
            "credit": "100",
            "description": None,
        },
    ]
    # Omitted optional fields take the ledger's defaults: base currency, GENERAL journal.
    assert (second["currency"], second["journalCode"], second["idempotencyKey"]) == (
        "USD",
        "GENERAL",
        None,
    )
    stored = (await gql(ENTRY_LINES, {"id": first["id"]}))["journalEntry"]
    assert stored["lines"][1] == {
        "currency": "JPY",
        "debit": "100",
        "credit": "0",
        "description": None,
    }
    replay = (await gql(BULK, {"inputs": [full]}))["postJournalEntries"]
    assert replay[0]["entry"]["id"] == first["id"]


async def test_bulk_inline_literals_take_the_same_path(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    data = await gql(
        """mutation { postJournalEntries(inputs: [
          {date: "2026-03-02", memo: "inline", currency: null,
           lines: [{accountCode: "1000", debit: 7}, {accountCode: "4000", credit: "7.00"}]}
        ]) { entry { currency lines { debit credit } } errors { code } } }"""
    )
    (result,) = data["postJournalEntries"]
    assert result["errors"] == []
    assert result["entry"]["currency"] == "USD"
    assert [line["debit"] for line in result["entry"]["lines"]] == ["7.00", "0.00"]


async def test_bulk_ledger_errors_name_input_line_and_field(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    good = entry("1000", "4000", "1.00")
    too_precise = entry("1000", "4000", "1.00")
    too_precise["lines"][1]["credit"] = "1.001"
    unknown = entry("1000", "9999", "1.00")
    inputs = [good, good, good, too_precise]
    atomic = (await gql(BULK, {"inputs": inputs}))["postJournalEntries"]
    assert atomic[3]["errors"][0]["code"] == "BAD_USER_INPUT"
    assert atomic[3]["errors"][0]["field"] == "inputs.3.lines.1.credit"
    assert [r["entry"] for r in atomic] == [None] * 4
    assert (await gql(TRIAL_BALANCE))["trialBalance"]["rows"] == []
    loose = (await gql(BULK, {"inputs": [good, unknown, too_precise], "atomic": False}))[
        "postJournalEntries"
    ]
    assert loose[0]["errors"] == [] and loose[0]["entry"] is not None
    assert loose[1]["errors"][0]["field"] == "inputs.1.lines.1.accountCode"
    assert loose[2]["errors"][0]["field"] == "inputs.2.lines.1.credit"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"accountCode": "4000", "credit": 1.5}, "not a float"),
        ({"accountCode": "4000", "credit": "1e5"}, "no exponent"),
        ({"accountCode": "4000", "credit": "NaN"}, "no exponent"),
        ({"accountCode": "4000", "credit": "1.00", "note": "x"}, "unknown field 'note'"),
    ],
)
async def test_bulk_invalid_values_are_refused_with_their_path(
    gql: GraphQLClient, line: dict[str, Any], message: str
) -> None:
    await create_accounts(gql)
    bad = entry("1000", "4000", "1.00")
    bad["lines"][1] = line
    inputs = [entry("1000", "4000", "1.00")] * 3 + [bad]
    response = await gql.raw(BULK, {"inputs": inputs})
    assert response.status_code == 400  # the client's mistake, nothing ran
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "[3].lines[1]" in error["message"], error
    assert message in error["message"], error
    assert (await gql(TRIAL_BALANCE))["trialBalance"]["rows"] == []


async def test_bulk_missing_entry_fields_are_refused(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    no_memo = entry("1000", "4000", "1.00")
    del no_memo["memo"]
    response = await gql.raw(BULK, {"inputs": [entry("1000", "4000", "1.00"), no_memo]})
    (error,) = response.json()["errors"]
    assert "[1]" in error["message"] and "required field 'memo'" in error["message"], error
    bad_date = {**entry("1000", "4000", "1.00"), "date": "2026-02-30"}
    response = await gql.raw(BULK, {"inputs": [bad_date]})
    (error,) = response.json()["errors"]
    assert "[0].date" in error["message"], error
    assert (await gql(TRIAL_BALANCE))["trialBalance"]["rows"] == []


def test_overhead_benchmark_runs_and_checks_itself() -> None:
    """In a subprocess: the benchmark replaces the ledger core in its own process."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.graphql_bulk_overhead",
            "--entries",
            "20",
            "--rounds",
            "1",
            "--warmup",
            "0",
            "--compare",
            "--profile",
            "3",
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "entries/s" in completed.stdout and "cProfile" in completed.stdout
