"""Request metrics: one histogram observation per HTTP request (app/runtime/metrics.py).

Labels are bounded so that no client can grow the series without limit:

- ``route``: the path template of the route that served the request (``/graphql``,
  ``/api/external/v2/ledger_entries/{id}``), never the raw path; ``other`` when none matched.
- ``method``: the standard methods, else ``other``.
- ``operation``: for /graphql, the request's ``operationName`` when it is a
  GraphQL name of at most 64 characters, ``anonymous`` when there is none,
  ``other`` otherwise; empty for every other route. It is the client's word (it
  names what the client says it runs): a client can spread its requests over
  many names, so scrape-side relabelling may still be wanted for public servers.

The name is the one the GraphQL endpoint read when it parsed the request
(app/http/graphql_endpoint.py leaves it in the request's state, OPERATION_STATE): the body
is parsed once, by the endpoint, whatever its size; a request refused before that
(not JSON, too large) is ``other``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.runtime.metrics import REQUEST_SECONDS

GRAPHQL_PATH = "/graphql"
OPERATION_STATE = "graphql_operation_name"
"""Key of the request state where the GraphQL endpoint leaves the operation name."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
OTHER = "other"
ANONYMOUS = "anonymous"


def operation_label(name: object) -> str:
    """The label of a GraphQL operation name: the name if it is a short GraphQL name."""
    if name is None or name == "":
        return ANONYMOUS
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    return OTHER


def _route(scope: Scope) -> str:
    """The template of the route the router chose (Starlette leaves it in ``scope["route"]``).

    Mounts are labelled by their prefix (``/static``): the app mounts no routers, so
    no route below a mount has a template of its own.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else OTHER


class RequestMetricsMiddleware:
    """Observes every HTTP request's duration with its route, method, status and operation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering
        method = scope.get("method", "")
        # Made here, so that the endpoint's Request writes into this very dict (Starlette
        # shares it, however the scope is copied on the way).
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            if scope.get("path") != GRAPHQL_PATH:
                operation = ""
            elif OPERATION_STATE in state:
                operation = operation_label(state[OPERATION_STATE])
            else:
                operation = OTHER
            REQUEST_SECONDS.labels(
                route=_route(scope),
                method=method if method in METHODS else OTHER,
                status=str(status),
                operation=operation,
            ).observe(time.perf_counter() - started)
