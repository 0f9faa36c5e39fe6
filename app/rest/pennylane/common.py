"""What every Pennylane endpoint shares: its auth, its error body, its pagination.

- Auth: ``Authorization: Bearer <key>`` (``X-API-Key`` is accepted too, as everywhere).
- Errors (docs/error-handling-status-codes): ``{"error": "<kind>", "message": "...",
  "details": {"field": "...", "issue": "..."}}``; validation is 422 (not 400), an
  unknown or foreign id 404 ``Couldn't find Journal with 'id'=123``.
- Lists (the 2026 API): ``limit`` 1..100 (default 20) and an opaque ``cursor``;
  ``{"items": [...], "has_more": bool, "next_cursor": str | null}``; filters as a JSON
  ``filter`` parameter ``[{"field": "date", "operator": "gteq", "value": "..."}]``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.http import rate_limits
from app.http.statuses import HTTP_STATUS
from app.ledger.tenants import Principal
from app.rest import common
from app.rest.common import ExactJSONResponse, FieldError, RestError

M = TypeVar("M", bound=BaseModel)

BASE = "/api/external/v2"
# Pennylane answers validation errors with 422 Unprocessable Entity.
STATUSES: Mapping[str, int] = {
    **HTTP_STATUS,
    "BAD_USER_INPUT": 422,
    # Pennylane answers every refused entry with 422; a balance limit is one.
    "INSUFFICIENT_FUNDS": 422,
    "LIMIT_EXCEEDED": 422,
}
ERROR_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
OPERATORS = ("lt", "lteq", "gt", "gteq", "eq", "not_eq", "in", "not_in")


def not_found(model: str, id_: object) -> RestError:
    """Pennylane's 404; also for another tenant's id, which must look the same."""
    return RestError(f"Couldn't find {model} with 'id'={id_}", 404, code="NOT_FOUND")


def invalid(field: str, issue: str) -> RestError:
    """A 422 naming one field."""
    return RestError(f"{field} {issue}", 422, [FieldError(field, issue)], "BAD_USER_INPUT")


def error_response(error: RestError) -> Response:
    body: dict[str, Any] = {
        "error": ERROR_KINDS.get(error.status, "error"),
        "message": error.message,
    }
    # Pennylane's documented details name one field and its issue: the first offending
    # one (the message says how many more there are), never a list.
    named = [e for e in error.errors if e.field]
    if named:
        body["details"] = {"field": named[0].field, "issue": named[0].message}
    if error.status == 429:  # documented: plain text, retry-after and the ratelimit-* headers
        headers = error.http_headers
        if error.usage is not None:
            headers = {**headers, **rate_limits.pennylane_headers(error.usage)}
        return PlainTextResponse(
            f"Rate limit exceeded. Please retry in {error.retry_after} seconds.",
            status_code=429,
            headers=headers,
        )
    return ExactJSONResponse(body, status_code=error.status, headers=error.http_headers)


async def body_as(model: type[M], request: Request) -> M:
    """The JSON body as ``model``: 415 unless JSON, 413 past 1 MiB, 422 naming a field.

    No body at all reads as ``{}``, as Rails reads it: each required field is missing.
    """
    common.require_json_content_type(request)
    return common.validate(model, await common.read_json_object(request, empty_is_object=True))


Handler = Callable[[Request, Principal], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint: authenticates, runs ``handler``, renders any RestError."""

    async def run(request: Request) -> Response:
        usage: rate_limits.Usage | None = None
        try:
            principal = await common.authenticate(request, STATUSES)
            usage = await common.limit(request, principal, "pennylane")
            response = await handler(request, principal)
        except RestError as error:
            if error.status == 400 and error.code == "BAD_USER_INPUT":
                error.status = 422
            response = error_response(error)
        if usage is not None:  # documented on every response, not only on a 429
            response.headers.update(rate_limits.pennylane_headers(usage))
        return response

    return run


async def execute(
    request: Request, principal: Principal, document: str, field: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """``common.execute`` with Pennylane's statuses (422 for bad input)."""
    return await common.execute(request, principal, document, field, variables, STATUSES)


def path_id(request: Request, name: str = "id") -> int:
    """An integer id from the path; a malformed one finds nothing, as in Pennylane."""
    raw = str(request.path_params[name])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or raw.startswith("0"):
        raise not_found(request.scope.get("pennylane_model", "Record"), raw)
    return int(raw)


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Page:
    limit: int
    cursor: str | None
    filters: list[Filter]


def page_of(request: Request, filterable: Sequence[str]) -> Page:
    """``limit``, ``cursor`` and ``filter`` from the query string, checked (422 otherwise)."""
    params = request.query_params
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if (
            not raw_limit.isascii()
            or not raw_limit.isdigit()
            or not 1 <= int(raw_limit) <= MAX_LIMIT
        ):
            raise invalid("limit", f"must be an integer between 1 and {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = params.get("cursor") or None
    return Page(limit, cursor, _filters(params.get("filter"), filterable))


def _filters(text: str | None, filterable: Sequence[str]) -> list[Filter]:
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        raise invalid("filter", "must be a JSON array of {field, operator, value}") from None
    if not isinstance(items, list):
        raise invalid("filter", "must be a JSON array of {field, operator, value}")
    found: list[Filter] = []
    for index, item in enumerate(items):
        where = f"filter[{index}]"
        if not isinstance(item, dict) or set(item) != {"field", "operator", "value"}:
            raise invalid(where, "must be an object with field, operator and value")
        if item["field"] not in filterable:
            raise invalid(f"{where}.field", f"must be one of {', '.join(filterable)}")
        if item["operator"] not in OPERATORS:
            raise invalid(f"{where}.operator", f"must be one of {', '.join(OPERATORS)}")
        found.append(Filter(item["field"], item["operator"], item["value"]))
    return found


def page_response(items: list[Any], has_more: bool, next_cursor: str | None) -> Response:
    return ExactJSONResponse({"items": items, "has_more": has_more, "next_cursor": next_cursor})
