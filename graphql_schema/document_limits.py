"""Bounds on one GraphQL document: tokens, aliases, depth and an estimated cost.

Checked once per document text, before graphql-core's validation (whose
OverlappingFieldsCanBeMerged rule is quadratic in repeated fields), and cached
with the parse and the validation in one bounded LRU (cachetools'), so a document
a client sends again costs a dictionary look-up. A document past a limit gets one error,
no data, code BAD_USER_INPUT and ``extensions.limit`` naming the limit. Large
documents are parsed and validated in a worker thread so that the event loop
keeps serving other requests (see docs/design.md, "Bounding one request").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    get_named_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
    parse,
)
from graphql.error import GraphQLSyntaxError
from graphql.type import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from app.ledger.paging import MAX_PAGE
from app.runtime.settings import ENV_OF_LIMIT, Limits

# A root field runs at least one database query.
ROOT_FIELD_COST = 10
# The size assumed for a list without a page size (a trial balance's rows, the
# Pismo programs); lists known to be short have their own estimate.
DEFAULT_LIST_SIZE = 100
LIST_SIZE = {
    "Account.balances": 5,  # one per currency
    "TrialBalance.totals": 5,
    "JournalEntry.lines": 10,
    "AccountingEventPayload.scripts": 10,
    "BookeepingTransaction.entries": 10,
    "BookeepingTransaction.classes": 1,
    "BookeepingTransaction.nonProfitAllocations": 1,
    "WebhookDelivery.attempts": 16,  # LEDGERQL_WEBHOOK_MAX_ATTEMPTS' default
    "LedgerEvent.pismoEntries": 10,  # one per script an accounting event applied
    # Statements (graphql_schema/statements.py) are short lists.
    "Query.balanceSheet": 3,  # one per currency, and the valued one
    "Query.incomeStatement": 3,
    "TrialBalanceReport.totals": 5,
    "BalanceSheetSection.groups": 3,
    "BalanceSheetGroup.rows": 50,
    "StatementSection.groups": 3,
    "StatementGroup.rows": 50,
    "StatementGroup.totals": 12,
    "StatementSection.totals": 12,
    "StatementRow.amounts": 12,
    "IncomeStatement.columns": 12,
    "IncomeStatement.netIncome": 12,
    # THEN lists a rate per currency and day moved: a year of ECB days in one currency.
    "Valuation.rates": 260,
}
# Documents longer than this are parsed and validated in a worker thread: about
# 10 ms of CPU, the most the event loop is held by one uncached document.
OFFLOAD_CHARS = 4_000
# Characters allowed per token: long string literals are lexed character by
# character; real documents average under 10.
CHARS_PER_TOKEN = 100
CACHE_SIZE = 256


def refusal(limit: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "limit": limit})


def _over(limit: str, found: str, bound: int) -> GraphQLError:
    variable = ENV_OF_LIMIT[f"max_{limit}"]
    return refusal(limit, f"the document has {found}; at most {bound:,} are allowed ({variable})")


# ---------------------------------------------------------------- parsing


def parse_limited(query: str, limits: Limits) -> DocumentNode | GraphQLError:
    """The document, or the error that refuses it (a limit, or its syntax)."""
    max_chars = limits.max_tokens * CHARS_PER_TOKEN
    if len(query) > max_chars:
        return refusal(
            "tokens",
            f"the document has {len(query):,} characters; at most {max_chars:,} are allowed "
            f"({CHARS_PER_TOKEN} per token of {ENV_OF_LIMIT['max_tokens']})",
        )
    try:
        return parse(query, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        if "tokens. Parsing aborted" in error.message:
            return refusal(
                "tokens",
                f"the document has more than {limits.max_tokens:,} tokens; at most "
                f"{limits.max_tokens:,} are allowed ({ENV_OF_LIMIT['max_tokens']})",
            )
        if "nested too deeply" in error.message:
            return _nested_too_deeply(limits)
        return error
    except RecursionError:
        return _nested_too_deeply(limits)


def _nested_too_deeply(limits: Limits) -> GraphQLError:
    return refusal(
        "depth",
        f"the document is nested too deeply; at most {limits.max_depth:,} levels are allowed "
        f"({ENV_OF_LIMIT['max_depth']})",
    )


# ---------------------------------------------------------------- cost analysis


@dataclass
class Tally:
    """What a selection set asks for, per value of its parent."""

    cost: int = 0  # values resolved (scaled by the enclosing lists' sizes)
    aliases: int = 0
    depth: int = 0  # levels of fields below the parent
    too_deep: bool = False

    def add(self, other: Tally, times: int = 1, depth_offset: int = 0) -> None:
        self.cost += other.cost * times
        self.aliases += other.aliases
        self.depth = max(self.depth, other.depth + depth_offset)
        self.too_deep = self.too_deep or other.too_deep


@dataclass
class Analysis:
    """One walk of a document, fragments expanded once each (memoised, cycles cut)."""

    schema: GraphQLSchema
    limits: Limits
    fragments: dict[str, FragmentDefinitionNode]
    memo: dict[tuple[str, int | None, bool, int], Tally] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)
    overlap: int = 0  # pairs of same-named fields the validation will compare

    def operation(self, node: OperationDefinitionNode) -> Tally:
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root, None, False, 0)

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        introspection: bool,
        level: int,
    ) -> Tally:
        tally = Tally()
        if level >= self.limits.max_depth:
            tally.too_deep = True
            return tally
        seen: dict[str, int] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                # Validation compares a field with every earlier one of the same name.
                self.overlap += seen.get(key, 0) * size_of(selection)
                seen[key] = seen.get(key, 0) + 1
                tally.add(
                    self.field(selection, parent, page, introspection, level + 1),
                    depth_offset=1,
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                tally.add(
                    self.selections(selection.selection_set, condition, page, introspection, level)
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                self.overlap += seen.get("..." + name, 0)
                seen["..." + name] = seen.get("..." + name, 0) + 1
                tally.add(self.spread(name, page, introspection, level))
        return tally

    def spread(self, name: str, page: int | None, introspection: bool, level: int) -> Tally:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return Tally()  # unknown or cyclic: the validation reports it
        key = (name, page, introspection, level)
        found = self.memo.get(key)
        if found is None:
            self.visiting.add(name)
            try:
                condition = self.schema.get_type(fragment.type_condition.name.value)
                found = self.selections(
                    fragment.selection_set, condition, page, introspection, level
                )
            finally:
                self.visiting.discard(name)
            self.memo[key] = found
        return found

    def field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        introspection: bool,
        level: int,
    ) -> Tally:
        name = node.name.value
        introspection = introspection or name.startswith("__")
        definition = _field_of(parent, name)
        is_root = parent is not None and parent in self._roots()
        tally = Tally(cost=ROOT_FIELD_COST if is_root and not introspection else 1)
        tally.aliases = 1 if node.alias else 0
        # Literal input objects (entries, their lines) are work too: one each.
        tally.cost += sum(_objects_in(argument.value) for argument in node.arguments or ())
        if node.selection_set is None:
            return tally
        if definition is None:  # an unknown field (validation will say): depth still counts
            tally.add(self.selections(node.selection_set, None, None, introspection, level))
            return tally
        returned = definition.type.of_type if is_non_null_type(definition.type) else definition.type
        child_type = get_named_type(returned)
        if "first" in definition.args:
            page = _page_size(node, definition)
        size = 1
        if is_list_type(returned) and is_composite_type(child_type) and not introspection:
            assert parent is not None
            size = page or _list_size(node, parent, definition, is_root)
            page = None
        tally.add(
            self.selections(node.selection_set, child_type, page, introspection, level),
            times=size,
        )
        return tally

    def _roots(self) -> tuple[GraphQLObjectType | None, ...]:
        return (self.schema.query_type, self.schema.mutation_type)


def size_of(node: FieldNode) -> int:
    """Fields written under ``node``, itself included (fragments not expanded)."""
    total = 1
    stack = [node.selection_set] if node.selection_set else []
    while stack:
        current = stack.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                total += 1
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return total


META_FIELDS: dict[str, GraphQLField] = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}


def _field_of(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name in META_FIELDS:
        return META_FIELDS[name]
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _page_size(node: FieldNode, definition: GraphQLField) -> int:
    """``first`` as written; a variable may be as large as a page can be."""
    for argument in node.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(1, min(int(argument.value.value), MAX_PAGE))
            return MAX_PAGE
    default = definition.args["first"].default_value
    return default if isinstance(default, int) and 0 < default <= MAX_PAGE else MAX_PAGE


def _list_size(
    node: FieldNode, parent: GraphQLNamedType, definition: GraphQLField, is_root: bool
) -> int:
    if is_root and parent.name == "Mutation":
        # One result per input: the literal list's length; a variable's length is
        # bounded by the request's posting budget, not by the document.
        lists = [a.value for a in node.arguments or () if isinstance(a.value, ListValueNode)]
        return max((len(value.values) for value in lists), default=1)
    if node.name.value == "errors":
        return 1
    return LIST_SIZE.get(f"{parent.name}.{node.name.value}", DEFAULT_LIST_SIZE)


def _objects_in(value: ValueNode) -> int:
    count = 0
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, ObjectValueNode):
            count += 1
            stack.extend(item.value for item in current.fields)
        elif isinstance(current, ListValueNode):
            stack.extend(current.values)
    return count


def analyse(schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> GraphQLError | None:
    """The refusal of a document past a limit, or None; one walk, before validation."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    analysis = Analysis(schema, limits, fragments)
    total = Tally()
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                total.add(analysis.operation(definition))
            elif isinstance(definition, FragmentDefinitionNode):
                # Unused fragments are validated too: count their repeated fields.
                condition = schema.get_type(definition.type_condition.name.value)
                analysis.selections(definition.selection_set, condition, None, True, 0)
    except RecursionError:  # fragments spreading fragments hundreds deep
        return _nested_too_deeply(limits)
    if total.too_deep or total.depth > limits.max_depth:
        return refusal(
            "depth",
            f"the document is more than {limits.max_depth:,} fields deep; at most "
            f"{limits.max_depth:,} are allowed ({ENV_OF_LIMIT['max_depth']})",
        )
    if total.aliases > limits.max_aliases:
        return _over("aliases", f"{total.aliases:,} aliases", limits.max_aliases)
    cost = total.cost + analysis.overlap
    if cost > limits.max_cost:
        return _over("cost", f"an estimated cost of {cost:,}", limits.max_cost)
    return None


# ---------------------------------------------------------------- the extension


@dataclass(frozen=True)
class Checked:
    """A document text's parse and validation, limits included: one cache entry."""

    document: DocumentNode | None  # None: refused before or by the parser
    errors: list[GraphQLError]  # the refusal, the syntax error, or validation's errors


Rules = tuple[Any, ...]
# Used from the event loop only (a worker thread computes an entry, the loop stores it).
_CACHE: LRUCache[tuple[str, Rules], Checked] = LRUCache(CACHE_SIZE)


def check(schema: GraphQLSchema, query: str, rules: Rules, limits: Limits) -> Checked:
    """Parses, checks the limits, then (only within them) validates."""
    parsed = parse_limited(query, limits)
    if isinstance(parsed, GraphQLError):
        return Checked(None, [parsed])
    refused = analyse(schema, parsed, limits)
    if refused is not None:
        return Checked(parsed, [refused])
    return Checked(parsed, validate_document(schema, parsed, rules))


class QueryLimits(SchemaExtension):
    """Replaces ParserCache and ValidationCache: the same caching, the limits first."""

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self.limits = limits
        self.checked: Checked | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        query = context.query or ""
        rules: Rules = tuple(context.validation_rules)
        checked = _CACHE.get((query, rules))
        if checked is None:
            schema = context.schema._schema
            if len(query) > OFFLOAD_CHARS:
                checked = await asyncio.to_thread(check, schema, query, rules, self.limits)
            else:
                checked = check(schema, query, rules, self.limits)
            _CACHE[(query, rules)] = checked
        if checked.document is None:
            raise checked.errors[0]  # Strawberry answers it with no data
        self.checked = checked
        context.graphql_document = checked.document
        yield

    def on_validate(self) -> Iterator[None]:
        # Set, Strawberry's own validation does not run again.
        assert self.checked is not None
        self.execution_context.pre_execution_errors = list(self.checked.errors)
        yield
