"""What every HTTP response gets: a request id, safe headers, one log line per failure.

- ``X-Request-Id``: the client's own (when it is a short token) or a new one; the
  same id is in ``request_id()`` (app/runtime/request_context.py) for the request's
  code, in the log line of an unexpected error, and in the body of a 500
  (``extensions.requestId``), so a client's report and the server's log meet.
- ``X-Content-Type-Options: nosniff`` on every response; ``Cache-Control: no-store``
  on every response but the static GraphiQL assets (API answers carry balances and
  keys' work; the assets are versioned by path and may be cached).
- A client that goes away mid-request is not a server error: logged at INFO, no
  traceback. Anything else unexpected is logged once, at ERROR with its traceback
  and the request id, and answered with a 500 that names the id and nothing else.
"""

from __future__ import annotations

import logging
import re
import uuid

import orjson
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.runtime.request_context import reset_request_id, set_request_id

logger = logging.getLogger("ledgerql.http")

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _id_for(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            given: str = value.decode("latin-1")
            if _CLIENT_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


def internal_error_body(rid: str) -> bytes:
    message = f"Internal server error (request id {rid})."
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    return orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, cacheable_prefix: str) -> None:
        self.app = app
        self.cacheable_prefix = cacheable_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _id_for(scope)
        token = set_request_id(rid)
        cacheable = scope.get("path", "").startswith(self.cacheable_prefix)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                headers["X-Content-Type-Options"] = "nosniff"
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            logger.info("client disconnected mid-request [%s %s, request %s]", *_what(scope), rid)
        except Exception:
            logger.exception("unexpected error [%s %s, request %s]", *_what(scope), rid)
            if not started:
                await _send_500(send_with_headers, rid)
        finally:
            reset_request_id(token)


def _what(scope: Scope) -> tuple[str, str]:
    return scope.get("method", ""), scope.get("path", "")


async def _send_500(send: Send, rid: str) -> None:
    body = internal_error_body(rid)
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
