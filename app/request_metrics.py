"""Request metrics: one histogram observation per HTTP request (app/metrics.py).

Labels are bounded so that no client can grow the series without limit:

- ``route``: the path template of the route that served the request (``/graphql``,
  ``/api/external/v2/ledger_entries/{id}``), never the raw path; ``other`` when none matched.
- ``method``: the standard methods, else ``other``.
- ``operation``: for /graphql, the request's ``operationName`` when it is a
  GraphQL name of at most 64 characters, ``anonymous`` when there is none,
  ``other`` otherwise; empty for every other route. It is the client's word (it
  names what the client says it runs): a client can spread its requests over
  many names, so scrape-side relabelling may still be wanted for public servers.

The body of a /graphql POST is seen as it passes to the endpoint (not read twice
from the client); a JSON body up to PARSED_BYTES is decoded for its
``operationName``, a bigger one only searched for the key, which keeps the event
loop free of a second full parse of a bulk request.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import REQUEST_SECONDS

GRAPHQL_PATH = "/graphql"
PARSED_BYTES = 256 * 1024
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_KEY = b'"operationName"'
_VALUE = re.compile(rb'\s*:\s*"([A-Za-z_][A-Za-z0-9_]{0,63})"')
OTHER = "other"
ANONYMOUS = "anonymous"


def operation_label(name: object) -> str:
    """The label of a GraphQL operation name: the name if it is a short GraphQL name."""
    if name is None or name == "":
        return ANONYMOUS
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    return OTHER


def _operation_of_body(body: bytes) -> str:
    if len(body) <= PARSED_BYTES:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return OTHER
        return operation_label(data.get("operationName")) if isinstance(data, dict) else OTHER
    at = body.find(_KEY)
    if at < 0:
        return ANONYMOUS
    found = _VALUE.match(body, at + len(_KEY))
    return found.group(1).decode() if found else OTHER


def _operation_of_query_string(scope: Scope) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("operationName")
    return operation_label(values[0] if values else None)


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
        graphql = scope.get("path") == GRAPHQL_PATH
        chunks: list[bytes] = []
        json_body = graphql and method == "POST" and _is_json(scope)

        async def receive_seen() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive_seen if json_body else receive, send_seen)
        finally:
            if not graphql:
                operation = ""
            elif json_body:
                operation = _operation_of_body(b"".join(chunks))
            elif method == "GET":
                operation = _operation_of_query_string(scope)
            else:
                operation = OTHER
            REQUEST_SECONDS.labels(
                route=_route(scope),
                method=method if method in METHODS else OTHER,
                status=str(status),
                operation=operation,
            ).observe(time.perf_counter() - started)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False
