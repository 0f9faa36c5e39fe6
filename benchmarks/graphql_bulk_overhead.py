"""Benchmark: the GraphQL layer's cost of one bulk ``postJournalEntries`` call, without a database.

    .venv/bin/python -m benchmarks.graphql_bulk_overhead [--entries 1000] [--rounds 21]
        [--selection ids|full] [--compare] [--profile 30]

In one process: the real schema (``graphql_schema.schema.build_schema``) executes
``postJournalEntries(inputs: $inputs)`` with ``--entries`` distinct two-line
entries as variables through ``schema.execute``, for a fake read-write
principal. The ledger core is replaced in this process only:
``app.ledger.posting.post_entries`` returns results built in memory before the
rounds. So a round measures what GraphQL adds to a bulk post: parsing and
validation (cached after the first call, as in the server), variable coercion
(with the Money scalar's checks), Strawberry's argument conversion, ``to_core()``,
building the payloads and completing the selection. Every round checks the
response (no errors, one payload per input, in order) and that the core received
the inputs intact. The mutation's batch limit is raised to ``--entries`` in this
process if it is lower.

Printed: the median (and min) wall time of a round and entries/s over
``--rounds`` rounds; the median of each stage timed on its own (graphql-core
variable coercion, Strawberry argument conversion, ``to_core()``, the payloads);
with ``--compare``, the same rounds alternated with rounds where the inputs go
through Strawberry's generic conversion (their ``from_input`` hook unset), so
both figures share the machine's noise; with ``--profile N``, the top N
functions of a cProfile run of one more round, by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import pstats
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from typing import Any, cast

import strawberry
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import get_object_definition

import graphql_schema.mutations
from app.ledger import posting
from app.ledger.tenants import Principal
from db.engine import Database
from graphql_schema.context import Context
from graphql_schema.inputs import JournalLineInput, PostJournalEntryInput
from graphql_schema.mutations import entry_payload
from graphql_schema.schema import build_schema

SELECTIONS = {
    # What a bulk client needs back: which entry each input became, or why not.
    "ids": "entry { id number } replayed errors { code field message }",
    "full": "entry { id number date memo currency status lines "
    "{ accountCode currency debit credit description } } replayed errors { code field message }",
}
MUTATION = """
mutation Bulk($inputs: [PostJournalEntryInput!]!, $atomic: Boolean!) {
  postJournalEntries(inputs: $inputs, atomic: $atomic) { %s }
}"""
PRINCIPAL = Principal(
    user_id=1,
    key_id="bench",
    tenant_id=1,
    tenant_slug="bench",
    base_currency="EUR",
    read_only=False,
)


def make_inputs(count: int) -> list[dict[str, Any]]:
    """``count`` distinct balanced two-line entries, as a client's JSON variables."""
    return [
        {
            "date": "2026-01-15",
            "memo": f"bulk entry {index}",
            "idempotencyKey": f"bulk-{index}",
            "lines": [
                {"accountCode": "1000", "debit": f"{index + 1}.25"},
                {"accountCode": "4000", "credit": f"{index + 1}.25", "description": "sale"},
            ],
        }
        for index in range(count)
    ]


def make_results(count: int) -> list[posting.BulkItem]:
    """What the core would answer for ``make_inputs(count)``, built once."""
    created = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    items = []
    for index in range(count):
        minor = (index + 1) * 100 + 25
        lines = [
            posting.LineView(
                id=2 * index + 1,
                account_id=1,
                account_code="1000",
                currency="EUR",
                debit_minor=minor,
                credit_minor=0,
                description=None,
                line_no=1,
            ),
            posting.LineView(
                id=2 * index + 2,
                account_id=2,
                account_code="4000",
                currency="EUR",
                debit_minor=0,
                credit_minor=minor,
                description="sale",
                line_no=2,
            ),
        ]
        view = posting.EntryView(
            id=index + 1,
            tenant_id=PRINCIPAL.tenant_id,
            number=f"GEN-2026-01-15-{index + 1:04d}",
            date=dt.date(2026, 1, 15),
            memo=f"bulk entry {index}",
            currency="EUR",
            status="POSTED",
            source="graphql",
            journal_code="GENERAL",
            idempotency_key=f"bulk-{index}",
            reversal_of_id=None,
            reversed_by_id=None,
            metadata=None,
            created_at=created,
            lines=lines,
        )
        items.append(posting.BulkItem(result=posting.PostResult(entry=view)))
    return items


def check_core_inputs(inputs: Sequence[posting.EntryInput]) -> None:
    """The core got what the client sent; spot checks each round, not a full diff."""
    for index in (0, len(inputs) // 2, len(inputs) - 1):
        data = inputs[index]
        assert data.date == dt.date(2026, 1, 15), data
        assert data.memo == f"bulk entry {index}", data
        assert data.idempotency_key == f"bulk-{index}", data
        assert data.currency is None and data.journal_code is None, data
        debit, credit = data.lines
        assert debit.account_code == "1000" and credit.account_code == "4000", data
        assert debit.debit == credit.credit == Decimal(f"{index + 1}.25"), data
        assert debit.credit is None and credit.debit is None, data
        assert credit.description == "sale" and debit.description is None, data


def install_noop_core(results: list[posting.BulkItem]) -> None:
    """Replaces the ledger core's bulk posting, in this process only."""

    async def post_entries(
        db: Database, tenant_id: int, inputs: Sequence[posting.EntryInput], *, atomic: bool
    ) -> list[posting.BulkItem]:
        assert tenant_id == PRINCIPAL.tenant_id and atomic
        assert len(inputs) == len(results), (len(inputs), len(results))
        check_core_inputs(inputs)
        return results

    posting.post_entries = post_entries
    graphql_schema.mutations.MAX_CALL_ENTRIES = max(
        graphql_schema.mutations.MAX_CALL_ENTRIES, len(results)
    )


class NoDatabase:
    """Stands for the database in the context: the no-op core never touches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the benchmark has no database (Database.{name} was used)")


@contextmanager
def generic_conversion() -> Iterator[None]:
    """Strawberry's own conversion of the bulk inputs, as before ``from_coerced``."""
    definitions = [
        get_object_definition(cls, strict=True) for cls in (PostJournalEntryInput, JournalLineInput)
    ]
    hooks = [definition.from_input for definition in definitions]
    for definition in definitions:
        definition.from_input = None
    try:
        yield
    finally:
        for definition, hook in zip(definitions, hooks, strict=True):
            definition.from_input = hook


def check_response(data: dict[str, Any] | None, count: int) -> None:
    assert data is not None
    payloads = data["postJournalEntries"]
    assert len(payloads) == count, len(payloads)
    for index in (0, count // 2, count - 1):
        payload = payloads[index]
        assert payload["errors"] == [], payload
        assert payload["entry"]["id"] == str(index + 1), payload
        assert payload["replayed"] is False


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(label: str, times: list[float], entries: int) -> None:
    median = statistics.median(times)
    print(
        f"  {label + ':':34} median {median * 1000:6.1f} ms (min {min(times) * 1000:6.1f}) "
        f"= {entries / median:>8,.0f} entries/s"
    )


async def run(args: argparse.Namespace) -> None:
    schema = build_schema()
    results = make_results(args.entries)
    install_noop_core(results)
    document = MUTATION % SELECTIONS[args.selection]
    variables = {"inputs": make_inputs(args.entries), "atomic": True}
    context = Context(db=cast(Database, NoDatabase()), authenticated=PRINCIPAL)

    async def once() -> float:
        start = time.perf_counter()
        result = await schema.execute(document, variable_values=variables, context_value=context)
        seconds = time.perf_counter() - start
        assert result.errors is None, result.errors
        check_response(result.data, args.entries)
        return seconds

    for _ in range(args.warmup):
        await once()
        if args.compare:
            with generic_conversion():
                await once()
    times, generic_times = [], []
    for _ in range(args.rounds):
        times.append(await once())
        if args.compare:
            with generic_conversion():
                generic_times.append(await once())
    print(
        f"postJournalEntries, {args.entries} two-line entries, selection {args.selection!r}, "
        f"{args.rounds} rounds"
    )
    report("schema.execute", times, args.entries)
    if args.compare:
        report("schema.execute, generic conversion", generic_times, args.entries)
    print_stages(schema, document, variables, results, args)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await once()
        profiler.disable()
        for sort in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(sort).print_stats(args.profile)
            print(f"\n--- cProfile of one round, by {sort} ---")
            print(out.getvalue().split("\n\n", 1)[-1].rstrip())


def print_stages(
    schema: strawberry.Schema,
    document: str,
    variables: dict[str, Any],
    results: list[posting.BulkItem],
    args: argparse.Namespace,
) -> None:
    """Times the stages of a round on their own, outside ``execute``, for the breakdown."""
    core_schema = schema._schema
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    definitions = operation.variable_definitions or ()
    values = get_variable_values(core_schema, definitions, variables)
    assert isinstance(values, VariableValues), values
    coerced = values.coerced
    assert core_schema.mutation_type is not None
    field = core_schema.mutation_type.fields["postJournalEntries"].extensions[
        "strawberry-definition"
    ]

    def convert() -> list[PostJournalEntryInput]:
        converted = convert_arguments(
            coerced,
            field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )
        return cast(list[PostJournalEntryInput], converted["inputs"])

    inputs = convert()
    # (name, work, through Strawberry's generic conversion)
    stages: list[tuple[str, Callable[[], object], bool]] = [
        (
            "graphql-core variable coercion",
            lambda: get_variable_values(core_schema, definitions, variables),
            False,
        ),
        ("Strawberry argument conversion", convert, False),
        ("to_core()", lambda: [data.to_core() for data in inputs], False),
        ("payloads (entry_payload)", lambda: [entry_payload(i.result, []) for i in results], False),
    ]
    if args.compare:
        stages.insert(2, ("argument conversion, generic", convert, True))
    print("  stages, each timed alone:")
    for name, work, generic in stages:
        with generic_conversion() if generic else nullcontext():
            seconds = median_seconds(work, args.rounds)
        print(
            f"    {name + ':':32} median {seconds * 1000:6.1f} ms "
            f"= {args.entries / seconds:>9,.0f} entries/s"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=1000, help="entries per request")
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--selection", choices=sorted(SELECTIONS), default="ids")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="alternate with rounds through Strawberry's generic input conversion",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the top N of a cProfile round"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
