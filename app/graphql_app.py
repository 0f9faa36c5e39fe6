"""The /graphql endpoint: authenticates, then hands the request to Strawberry.

GET from a browser serves GraphiQL without a key (the user sets the key header
in GraphiQL); every operation, GET or POST, needs a key.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.graphiql import graphiql_html
from app.ledger.errors import LedgerError
from app.ledger.tenants import Principal, authenticate
from db.engine import Database
from graphql_schema.context import Context
from graphql_schema.schema import schema

# A batch of 500 entries of a few lines each is well under this; anything larger is
# refused before it is parsed, so one request cannot hold the server's memory.
MAX_BODY_BYTES = 8 << 20

HTTP_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    # Lost to concurrent writes after bounded retries: the same request may be sent again.
    "TRY_AGAIN": 503,
    "BAD_USER_INPUT": 400,
}


def api_key_of(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


async def principal_of(request: Request, db: Database) -> Principal:
    return await authenticate(db, api_key_of(request), request.headers.get("x-tenant") or None)


def error_response(error: LedgerError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": error.message, "extensions": {"code": error.code}}]},
        status_code=HTTP_STATUS.get(error.code, 400),
        headers={"WWW-Authenticate": "Bearer"} if error.code == "UNAUTHENTICATED" else None,
    )


class BodyTooLarge(Exception):
    pass


def capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises BodyTooLarge once the request body passes ``limit`` bytes."""
    seen = 0

    async def receive_capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return receive_capped


def too_large_response() -> JSONResponse:
    message = f"the request body is larger than {MAX_BODY_BYTES} bytes"
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]},
        status_code=413,
    )


class LedgerGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            db=request.app.state.db, authenticated=getattr(request.state, "principal", None)
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry's GraphiQL page, loading its assets from /static instead of unpkg.com."""
        return HTMLResponse(graphiql_html(request.scope.get("root_path", "")))


class GraphQLEndpoint:
    """ASGI app for /graphql: authentication in front of Strawberry's view."""

    def __init__(self) -> None:
        # Multipart bodies carry importLedger's file. Safe from CSRF only because every
        # operation needs the key header, which a cross-site page cannot send unpreflighted.
        self.view = LedgerGraphQL(schema, graphql_ide="graphiql", multipart_uploads_enabled=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            await self.view(scope, receive, send)
            return
        if request.method not in ("GET", "POST"):
            await Response(status_code=405, headers={"Allow": "GET, POST"})(scope, receive, send)
            return
        try:
            principal = await principal_of(request, request.app.state.db)
        except LedgerError as error:
            await error_response(error)(scope, receive, send)
            return
        request.state.principal = principal
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            await too_large_response()(scope, receive, send)
            return
        try:
            await self.view(scope, capped(receive, MAX_BODY_BYTES), send)
        except BodyTooLarge:  # a chunked body with no Content-Length; nothing was sent yet
            await too_large_response()(scope, receive, send)
