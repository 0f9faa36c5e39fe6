"""The schema: query, mutation, scalars and the extensions that keep it fast and safe."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.ledger.errors import LedgerError
from app.runtime.request_context import request_id
from app.runtime.settings import Limits
from graphql_schema.attachments import AttachmentMutation, AttachmentQuery
from graphql_schema.audit import AuditQuery
from graphql_schema.benchmark import BenchmarkMutation
from graphql_schema.benchmark import enabled as benchmark_mutations_enabled
from graphql_schema.bookeeping import BookeepingMutation, BookeepingQuery
from graphql_schema.closing import ClosingMutation
from graphql_schema.document_limits import QueryLimits
from graphql_schema.holds import HoldMutation, HoldQuery
from graphql_schema.imports import ImportMutation
from graphql_schema.input_errors import input_error_field
from graphql_schema.metadata import MetadataMutation, MetadataQuery
from graphql_schema.mutations import Mutation
from graphql_schema.pismo import PismoMutation, PismoQuery
from graphql_schema.queries import Query
from graphql_schema.rate_limit_fields import RateLimitsMutation, RateLimitsQuery
from graphql_schema.rates import RatesMutation, RatesQuery
from graphql_schema.scalars import SCALAR_MAP
from graphql_schema.statements import StatementsQuery
from graphql_schema.subscriptions import Subscription
from graphql_schema.tenant import TenantMutation, TenantQuery
from graphql_schema.webhooks import WebhookMutation, WebhookQuery

logger = logging.getLogger("ledgerql.graphql")


class LedgerErrors(MaskErrors):
    """Gives a ledger error its code and field; hides the text of unexpected ones.

    Errors raised before execution (parse, validation, variables) are the
    client's, whatever exception a scalar raised to report them: never masked.
    Those about an input value (a literal or a variable that does not fit its
    type) get the code BAD_USER_INPUT and the input's path as ``field``.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._is_ours, error_message="Internal server error.")

    def _is_ours(self, error: GraphQLError) -> bool:
        if error.path is None:
            return self._input_field(error) is not None
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError)

    def _input_field(self, error: GraphQLError) -> str | None:
        return input_error_field(error, self.execution_context.graphql_document)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if error.path is None:
            return GraphQLError(
                message=error.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                extensions={"code": "BAD_USER_INPUT", "field": self._input_field(error)},
            )
        if isinstance(original, LedgerError):
            return GraphQLError(
                message=original.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": original.code, "field": original.field},
            )
        # Logged once, here; the client gets the request id to quote, nothing more.
        rid = request_id()
        logger.error("unexpected error in %s [request %s]", error.path, rid, exc_info=original)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
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


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits.from_env()
    return LedgerSchema(
        query=merge_types(
            "Query",
            (
                Query,
                PismoQuery,
                TenantQuery,
                RatesQuery,
                AttachmentQuery,
                RateLimitsQuery,
                BookeepingQuery,
                StatementsQuery,
                WebhookQuery,
                HoldQuery,
                MetadataQuery,
                AuditQuery,
            ),
        ),
        # The no-op mutations of the benchmarks only when LEDGERQL_BENCHMARK_MUTATIONS=1.
        mutation=merge_types(
            "Mutation",
            (
                Mutation,
                PismoMutation,
                ImportMutation,
                TenantMutation,
                RatesMutation,
                AttachmentMutation,
                RateLimitsMutation,
                BookeepingMutation,
                ClosingMutation,
                WebhookMutation,
                HoldMutation,
                MetadataMutation,
            )
            + ((BenchmarkMutation,) if benchmark_mutations_enabled() else ()),
        ),
        subscription=Subscription,  # over WebSocket only (app/http/live_events.py)
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            # Parsing and validating a document costs more than most resolvers: both
            # are cached per document text, with the verdict of the limits checked first.
            lambda: QueryLimits(limits),
            LedgerErrors,
        ],
    )


schema = build_schema()
