"""The WebSocket endpoint of GraphQL subscriptions, on /graphql beside GraphQL over HTTP.

Starlette matches a ``websocket`` scope only to WebSocket routes, so this route and the
HTTP one share the path. The protocol is graphql-transport-ws (Strawberry's); the API
key and optional tenant come in ``connection_init``'s payload, as the HTTP headers would
(``Authorization: Bearer <key>`` or ``X-API-Key``, and ``X-Tenant``); without a valid key
the connection is closed with 4403 Forbidden, as the protocol says. Only subscriptions
run here: queries and mutations go over HTTP, where the rate limits and the per-request
posting budget apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from starlette.requests import Request
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.http.rate_limits import guarded_authentication, rate_limiter
from app.ledger.errors import LedgerError
from app.ledger.tenants import authenticate
from graphql_schema.schema import schema
from graphql_schema.subscriptions import SubscriptionContext

SUBSCRIPTIONS_ONLY = (OperationType.SUBSCRIPTION,)


def credentials_of(params: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The API key and tenant slug of connection_init's payload (names as HTTP headers,
    any case)."""
    fields = {str(name).lower(): value for name, value in (params or {}).items()}

    def text(name: str) -> str | None:
        value = fields.get(name)
        return value.strip() or None if isinstance(value, str) else None

    key = None
    scheme, _, token = (text("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        key = token.strip()
    return key or text("x-api-key"), text("x-tenant")


class _SubscriptionsOnly:
    """The schema as the WebSocket handler sees it: every operation streamed as a
    subscription-only one, so a query or mutation sent here is refused."""

    def __init__(self, inner: BaseSchema) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["allowed_operation_types"] = SUBSCRIPTIONS_ONLY
        return await self._inner.stream(*args, **kwargs)


class _Handler(BaseGraphQLTransportWSHandler[SubscriptionContext, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = cast(BaseSchema, _SubscriptionsOnly(self.schema))


class SubscriptionView(GraphQL[SubscriptionContext, None]):
    """Strawberry's ASGI view, for WebSocket connections only."""

    graphql_transport_ws_handler_class = _Handler

    def __init__(self, subscription_protocols: Iterable[str]) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=tuple(subscription_protocols),
            # Lets the client see a dead server (and load balancers an idle one) sooner.
            keep_alive=True,
            keep_alive_interval=15,
        )

    async def get_context(self, request: Any, response: Any) -> SubscriptionContext:
        app = request.app
        return SubscriptionContext(
            db=app.state.db,
            authenticated=None,  # set by on_ws_connect from the connection's payload
            live=getattr(app.state, "live_events", None),
            websocket=request,
        )

    async def on_ws_connect(self, context: SubscriptionContext) -> UnsetType | dict[str, object]:
        """Authenticates the connection once; its subscriptions run as that principal."""
        websocket = context.websocket
        assert websocket is not None
        key, tenant = credentials_of(context.connection_params)
        context.credentials = (key, tenant)
        # The same guard as HTTP: an address with too many failed keys is refused unchecked.
        rate_limiter(websocket.app).bind()
        try:
            context.authenticated = await guarded_authentication(
                cast(Request, websocket),  # only its app and client address are used
                key,
                lambda: authenticate(context.db, key, tenant),
            )
        except LedgerError:
            raise ConnectionRejectionError from None
        return cast(UnsetType, UNSET)  # the default ack, without a payload


_view = SubscriptionView([GRAPHQL_TRANSPORT_WS_PROTOCOL])


async def _endpoint(websocket: WebSocket) -> None:
    await _view(websocket.scope, websocket.receive, websocket.send)


routes: list[BaseRoute] = [WebSocketRoute("/graphql", _endpoint)]
