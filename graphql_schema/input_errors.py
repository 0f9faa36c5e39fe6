"""Which input a pre-execution error is about: the path of a literal or a variable's value.

graphql-core reports a value that does not fit its type (a float for Money, an
unknown enum value, a 2026-13-45 Date) as a validation error located on the
value, or, for a variable, with the path in its message. Resolvers' errors name
their field (``lines.0.debit``); these are given the same form
(``input.lines.0.debit``), so a client finds the field whichever way it sent it.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
)
from graphql.language import BREAK, Visitor, visit

# graphql-core's "Variable '$input' has invalid value at .lines[0].debit: ...".
_VARIABLE = re.compile(
    r"Variable '\$(\w+)' has invalid (?:default )?value(?: at ((?:\.\w+|\[\d+\])+))?"
)
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def input_error_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """The input path ``error`` is about, or None when it is not about an input value."""
    if error.path is not None or not error.nodes:
        return None  # raised while executing: a resolver's or an unexpected error
    node = error.nodes[0]
    if isinstance(node, VariableDefinitionNode):
        found = _VARIABLE.match(error.message)
        if found is None:
            return None  # a variable used in the wrong place: a mistake of the document
        name, steps = found.groups()
        return ".".join([name, *(key or index for key, index in _STEP.findall(steps or ""))])
    if isinstance(node, ValueNode) and not isinstance(node, VariableNode) and document:
        return _literal_path(document, node)
    return None


class _Finder(Visitor):
    """Finds the literal at ``target``'s location and records the input path to it."""

    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target.loc
        self.path: list[str] = []

    def enter(
        self, node: Node, key: object, parent: object, path: list[Any], ancestors: list[Any]
    ) -> object:
        loc = node.loc
        if (
            isinstance(node, ValueNode)
            and loc is not None
            and self.target is not None
            and (loc.start, loc.end) == (self.target.start, self.target.end)
        ):
            self.path = _names([*ancestors, parent, node], path)
            return BREAK
        return None


def _names(chain: list[Any], keys: list[Any]) -> list[str]:
    """The argument, field and list index names along ``chain``, the nodes and lists visited.

    ``chain[i + 1]`` is ``chain[i]`` at ``keys[i]``.
    """
    names: list[str] = []
    for step, key in enumerate(keys):
        reached = chain[step + 1]
        if isinstance(reached, ArgumentNode | ObjectFieldNode):
            names.append(reached.name.value)
        elif isinstance(key, int) and step > 0 and isinstance(chain[step - 1], ListValueNode):
            names.append(str(key))
    return names


def _literal_path(document: DocumentNode, target: Node) -> str | None:
    finder = _Finder(target)
    visit(document, finder)
    return ".".join(finder.path) or None
