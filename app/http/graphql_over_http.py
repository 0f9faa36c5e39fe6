"""GraphQL over HTTP (the GraphQL Foundation's spec): what a request may be, what each answer is.

- The response media type follows ``Accept``: ``application/graphql-response+json``
  (the spec's own), else ``application/json`` (also for ``*/*`` and no ``Accept``, as
  legacy clients expect); anything else is 406.
- A request that is not a well-formed GraphQL request (a body that is not a JSON
  object, a ``query`` that is not a string, ``variables`` that are not an object...)
  is a 400 with ``{"errors": [...]}`` and no ``data``, whatever the media type.
- A document that does not parse or validate, or variables of the wrong type, is a
  400 without ``data`` under ``application/graphql-response+json`` and, as the spec
  asks for the legacy type, a 200 with ``data: null`` under ``application/json``;
  a refusal by the query limits is a 400 under both.
- Everything else, including a mutation whose payload carries user errors, is 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult

from app.http.statuses import HTTP_STATUS

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


class RequestError(Exception):
    """Not a GraphQL request this server can run: answered with ``status`` and no data."""

    def __init__(
        self, message: str, status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header; RequestError(406) when none fits."""
    if not accept or not accept.strip():
        return APPLICATION_JSON
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if media == GRAPHQL_RESPONSE_JSON:
            candidate, preference = GRAPHQL_RESPONSE_JSON, 1
        elif media in (APPLICATION_JSON, "application/*", "*/*"):
            candidate, preference = APPLICATION_JSON, 0
        else:
            continue
        quality = _quality(params)
        if quality > 0 and (best is None or (quality, preference) > best[:2]):
            best = (quality, preference, candidate)
    if best is None:
        raise RequestError(
            f"cannot answer in any type of Accept: {accept!r}; "
            f"ask for {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
            406,
        )
    return best[2]


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def check_json_content_type(content_type: str) -> None:
    """A POST body must be JSON in UTF-8 (the spec's only required encoding)."""
    media, *params = (part.strip() for part in content_type.split(";"))
    if media.lower() != APPLICATION_JSON:
        raise RequestError(
            f"a POST body must be {APPLICATION_JSON} (or multipart/form-data for uploads), "
            f"not {content_type or 'unspecified'!r}",
            415,
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise RequestError(f"a POST body must be UTF-8, not {value.strip()!r}", 415)


def decode_json(body: bytes | str, what: str = "the request body") -> Any:
    """JSON text as Python values; RequestError(400) for anything that is not valid JSON.

    orjson refuses invalid UTF-8, lone surrogates, nesting past 1,024 levels and
    integers past 64 bits outright: none can reach the schema or cost unbounded time.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(f"{what} is not valid JSON: {error}") from None
    raw = body.encode() if isinstance(body, str) else body
    if _LONG_NUMBER.search(raw) is None:
        return value
    # A number of 16 or more digits, which a float would round: decoded again with exact
    # decimals, once orjson has refused what it refuses. Only a JSON scalar keeps one
    # (metadata); Money refuses a decimal from JSON as it refuses a float.
    return json.loads(raw, parse_float=Decimal)


# A JSON number's mantissa of 17 or more digits and dots, after what may precede a value.
# Text inside a string can match too: it costs the exact decoding, nothing else.
_LONG_NUMBER = re.compile(rb"[:,\[]\s*-?[0-9.]{17,}")


def params_of(data: object) -> GraphQLParams:
    """The GraphQL request in a decoded JSON body (or the query string, as a dict)."""
    if not isinstance(data, dict):
        raise RequestError(
            "the request body must be a JSON object with a `query`, not "
            + _json_kind(data)
            + " (batched requests are not supported)"
        )
    query = data.get("query")
    if not isinstance(query, str):
        if query is None:
            raise RequestError("the request has no `query`")
        raise RequestError(f"`query` must be a string, not {_json_kind(query)}")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(f"`variables` must be an object or null, not {_json_kind(variables)}")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(
            f"`operationName` must be a string or null, not {_json_kind(operation_name)}"
        )
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(f"`extensions` must be an object or null, not {_json_kind(extensions)}")
    return GraphQLParams(query, variables, operation_name, extensions)


def params_of_query_string(params: Mapping[str, str]) -> GraphQLParams:
    """A GET request's parameters: ``variables`` and ``extensions`` are JSON text."""
    data: dict[str, object] = {
        "query": params.get("query"),
        "operationName": params.get("operationName") or None,
    }
    for name in ("variables", "extensions"):
        text = params.get(name)
        data[name] = decode_json(text, f"`{name}`") if text else None
    return params_of(data)


def _json_kind(value: object) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number")


def _is_request_error(result: ExecutionResult) -> bool:
    """The document did not parse or validate, or its variables did not coerce.

    Such errors carry no path; a resolver's error always does.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def client_status(errors: list[GraphQLError]) -> int | None:
    """The HTTP status of errors that are all the client's (a ledger code), else None."""
    statuses = {HTTP_STATUS.get(str((error.extensions or {}).get("code"))) for error in errors}
    if not errors or None in statuses:
        return None
    return statuses.pop() if len(statuses) == 1 else 400


def render(result: ExecutionResult, media_type: str) -> Response:
    errors = result.errors or []
    body: dict[str, object] = {"data": result.data}
    status = 200
    if result.data is None and errors:
        # Nothing ran, or nothing could be answered: when every error is the
        # client's (a bad input value, a refused limit, an unknown id...), its status.
        status = client_status(errors) or 200
        if _is_request_error(result) and media_type == GRAPHQL_RESPONSE_JSON:
            status = 400 if status == 200 else status
            del body["data"]
    if errors:
        body["errors"] = [error.formatted for error in errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return json_response(body, media_type, status)


def error_body(message: str, extensions: Mapping[str, object] | None = None) -> dict[str, object]:
    error: dict[str, object] = {"message": message}
    if extensions:
        error["extensions"] = dict(extensions)
    return {"errors": [error]}


def json_response(
    body: object,
    media_type: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )
