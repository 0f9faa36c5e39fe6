"""The id of the HTTP request being served, readable by any layer that runs it.

A context variable rather than an argument: the GraphQL schema's error masking
(graphql_schema/schema.py) names the request in its log line and in a 500's body,
but must not import the HTTP transport that sets it (app/http/middleware.py).
Context variables follow the request onto the second loop (app/http/second_loop.py
copies the context).
"""

from __future__ import annotations

import contextvars

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ledgerql_request_id", default=None
)


def request_id() -> str | None:
    """The id of the HTTP request being served (None outside one)."""
    return _request_id.get()


def set_request_id(rid: str) -> contextvars.Token[str | None]:
    """Makes ``rid`` the current request's id; ``reset_request_id`` with the token ends it."""
    return _request_id.set(rid)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)
