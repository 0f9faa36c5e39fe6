"""The schema: query, mutation, scalars and the extensions that keep it fast and safe."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.ledger.errors import LedgerError
from graphql_schema.benchmark import BenchmarkMutation
from graphql_schema.benchmark import enabled as benchmark_mutations_enabled
from graphql_schema.imports import ImportMutation
from graphql_schema.mutations import Mutation
from graphql_schema.pismo import PismoMutation, PismoQuery
from graphql_schema.queries import Query
from graphql_schema.scalars import SCALAR_MAP

logger = logging.getLogger("ledgerql.graphql")


class LedgerErrors(MaskErrors):
    """Gives a ledger error its code and field; hides the text of unexpected ones.

    Validation and parse errors (GraphQLErrors) pass through untouched.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._is_ours, error_message="Internal server error.")

    @staticmethod
    def _is_ours(error: GraphQLError) -> bool:
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, LedgerError):
            return GraphQLError(
                message=original.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": original.code, "field": original.field},
            )
        logger.error("unexpected error in %s", error.path, exc_info=original)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


class LedgerSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Client mistakes (bad syntax, a float for Money) are not server errors.

        Strawberry logs every error with a traceback at ERROR; unexpected exceptions
        are already logged by LedgerErrors, so the rest is kept for debugging only.
        """
        for error in errors:
            logger.debug("GraphQL error: %s", error.message)


def build_schema() -> strawberry.Schema:
    return LedgerSchema(
        query=merge_types("Query", (Query, PismoQuery)),
        # The no-op mutations of the benchmarks only when LEDGERQL_BENCHMARK_MUTATIONS=1.
        mutation=merge_types(
            "Mutation",
            (Mutation, PismoMutation, ImportMutation)
            + ((BenchmarkMutation,) if benchmark_mutations_enabled() else ()),
        ),
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            # Parsing and validating a document costs more than most resolvers:
            # cache both, keyed by the document text.
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            LedgerErrors,
        ],
    )


schema = build_schema()
