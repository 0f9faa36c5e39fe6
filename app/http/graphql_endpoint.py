"""The /graphql endpoint: GraphQL over HTTP (app/http/graphql_over_http.py), authenticated.

GET from a browser serves GraphiQL without a key (the user sets the key header
in GraphiQL); every operation, GET or POST, needs a key. JSON requests are read
and executed here; Strawberry's view serves GraphiQL and multipart uploads.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException  # Strawberry's view answers it with its status
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.http.authentication import principal_of
from app.http.body_limits import BodyTooLarge, read_body
from app.http.graphiql import graphiql_response
from app.http.graphql_over_http import (
    APPLICATION_JSON,
    GraphQLParams,
    RequestError,
    check_json_content_type,
    decode_json,
    error_body,
    json_response,
    negotiate,
    params_of,
    params_of_query_string,
    render,
)
from app.http.rate_limits import (
    TooManyRequests,
    enforce,
    graphql_operation,
    rate_limiter,
)
from app.http.second_loop import OFFLOAD_BYTES, second_loop
from app.http.statuses import HTTP_STATUS
from app.ledger.errors import LedgerError
from db.engine import Database
from graphql_schema.context import Context
from graphql_schema.schema import schema

# A batch of 500 entries of a few lines each is well under this; anything larger is
# refused before it is parsed, so one request cannot hold the server's memory.
MAX_BODY_BYTES = 8 << 20


def error_response(error: LedgerError, media_type: str = APPLICATION_JSON) -> Response:
    extensions: dict[str, object] = {"code": error.code}
    headers = {"WWW-Authenticate": "Bearer"} if error.code == "UNAUTHENTICATED" else None
    if isinstance(error, TooManyRequests):
        extensions["retryAfter"] = error.retry_after
        headers = {"Retry-After": str(error.retry_after)}
    return json_response(
        error_body(error.message, extensions), media_type, HTTP_STATUS.get(error.code, 400), headers
    )


class LedgerGraphQL(GraphQL[Context, None]):
    """Strawberry's view, kept for what it does well: GraphiQL and multipart uploads."""

    async def get_context(self, request: Any, response: Any) -> Context:
        # The database of the loop the view runs on (see GraphQLEndpoint._upload).
        db = getattr(request.state, "db", None) or request.app.state.db
        return Context(db=db, authenticated=getattr(request.state, "principal", None))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry's GraphiQL page, loading its assets from /static instead of unpkg.com."""
        return graphiql_response(request.scope.get("root_path", ""))

    def decode_json(self, data: str | bytes) -> object:
        # A multipart request's `operations` and `map`: the same strict reading as a body.
        try:
            return decode_json(data, "a multipart field")
        except RequestError as error:
            raise HTTPException(400, error.message) from None

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def _wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    )


async def _read_body(request: Request) -> bytes:
    """The body, at most MAX_BODY_BYTES; past them, GraphQL over HTTP's 413 (no data)."""
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise RequestError(f"the request body is larger than {MAX_BODY_BYTES} bytes", 413) from None


class GraphQLEndpoint:
    """ASGI app for /graphql: GraphQL over HTTP, with authentication after the request parses.

    A request that is not a GraphQL request is refused before the key is looked at,
    so a client learns it sent garbage even with a bad key.
    """

    def __init__(self) -> None:
        # Multipart bodies carry importLedger's file. Safe from CSRF only because every
        # operation needs the key header, which a cross-site page cannot send unpreflighted.
        self.view = LedgerGraphQL(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        rate_limiter(request.app).bind()  # this loop, not the second one, owns the counters
        if _wants_graphiql(request):
            await self.view(scope, receive, send)
            return
        media_type = APPLICATION_JSON
        try:
            media_type = negotiate(request.headers.get("accept"))
            response = await self._answer(request, scope, receive, send, media_type)
        except RequestError as error:
            response = json_response(
                error_body(error.message, {"code": "BAD_REQUEST"}),
                media_type,
                error.status,
                error.headers,
            )
        if response is not None:
            await response(scope, receive, send)

    async def _answer(
        self, request: Request, scope: Scope, receive: Receive, send: Send, media_type: str
    ) -> Response | None:
        """The response to send, or None when Strawberry's view has sent it (uploads)."""
        db: Database = request.app.state.db
        if request.method == "GET":
            return await self._run(
                request, params_of_query_string(request.query_params), db, media_type
            )
        if request.method != "POST":
            raise RequestError("GraphQL is served on GET and POST", 405, {"Allow": "GET, POST"})
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            await self._upload(request, scope, receive, send, media_type)
            return None
        check_json_content_type(content_type)
        body = await _read_body(request)

        async def run(on: Database) -> Response:
            return await self._run(request, params_of(decode_json(body)), on, media_type)

        if len(body) > OFFLOAD_BYTES:  # see app/http/second_loop.py
            return await second_loop(db).run(run)
        return await run(db)

    async def _run(
        self, request: Request, params: GraphQLParams, db: Database, media_type: str
    ) -> Response:
        """Authenticates, then executes ``params`` on ``db``."""
        get = request.method == "GET"
        # app/http/request_metrics.py labels the request with it (OPERATION_STATE).
        request.state.graphql_operation_name = params.operation_name
        try:
            principal = await principal_of(request, db)
            # GET runs queries only; a mutation sent with it is refused below, as a read.
            operation = "read" if get else graphql_operation(params.query)
            await enforce(request, principal.key_id, "graphql", operation)
        except LedgerError as error:
            return error_response(error, media_type)
        allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
        try:
            result = await schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=Context(db=db, authenticated=principal),
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as error:
            if get:  # the spec's answer to a mutation sent with GET
                raise RequestError("mutations are sent with POST", 405, {"Allow": "POST"}) from None
            raise RequestError(error.as_http_error_reason(request.method)) from None
        except CannotGetOperationTypeError as error:
            raise RequestError(error.as_http_error_reason()) from None
        return render(result, media_type)

    async def _upload(
        self, request: Request, scope: Scope, receive: Receive, send: Send, media_type: str
    ) -> None:
        """A multipart request (importLedger's file), through Strawberry's view.

        Read whole first (at most MAX_BODY_BYTES), so that a big one can be run on the
        second loop like a big JSON body: parsing and checking 7 MiB of ledger file is
        seconds of CPU.
        """
        db: Database = request.app.state.db
        try:
            principal = await principal_of(request, db)
            await enforce(request, principal.key_id, "graphql", "write")  # importLedger
        except LedgerError as error:
            await error_response(error, media_type)(scope, receive, send)
            return
        body = await _read_body(request)

        async def run(on: Database) -> list[Message]:
            sent: list[Message] = []
            messages = iter([{"type": "http.request", "body": body, "more_body": False}])

            async def replay() -> Message:
                return next(messages, {"type": "http.disconnect"})

            async def keep(message: Message) -> None:
                sent.append(message)

            state = {**scope.get("state", {}), "principal": principal, "db": on}
            await self.view({**scope, "state": state}, replay, keep)
            return sent

        answer = await (second_loop(db).run(run) if len(body) > OFFLOAD_BYTES else run(db))
        for message in answer:
            await send(message)
