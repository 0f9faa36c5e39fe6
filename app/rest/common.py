"""What every REST dialect does the same way; each dialect only adds its own shapes.

- ``read_json_object``: the body, at most ``max_bytes``, as exact JSON (numbers as
  Decimal or int, never float; NaN, Infinity, invalid UTF-8 and deep nesting refused).
- ``validate``: a strict pydantic model from that JSON; a ValidationError becomes a
  RestError listing every offending field (``entries[1].debit``) with a plain message.
- ``authenticate``: the key of ``Authorization: Bearer`` or ``X-API-Key``; RATE_LIMITED
  (429) first for an address with too many failed key checks (app/http/rate_limits.py).
- ``limit``: counts the request against the key's rate limits; 429 RATE_LIMITED past them.
- ``execute``: a GraphQL document run in-process against the one schema, exactly as
  /graphql runs it; top-level errors become RestErrors, the payload is returned.
- ``status_of``: a ledger error code's HTTP status (``HTTP_STATUS``), overridable.
- ``recorded_metadata``: the request's fields the ledger does not model, as the entry's
  metadata under documented keys (``journal_entries.external_id``), for GraphQL to find.

Every failure is a RestError; each dialect renders it in its vendor's error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails
from starlette.requests import Request
from starlette.responses import Response

from app.http import rate_limits
from app.http.authentication import principal_of
from app.http.body_limits import BodyTooLarge, read_body
from app.http.graphql_over_http import RequestError, check_json_content_type
from app.http.statuses import HTTP_STATUS
from app.ledger.errors import LedgerError
from app.ledger.metadata import DIALECT_KEYS, recorded
from app.ledger.money import exponent
from app.ledger.tenants import Principal
from graphql_schema.context import Context
from graphql_schema.schema import schema

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


class RestError(Exception):
    """A request answered with an error: its HTTP status, a message, the offending fields.

    ``code`` is the ledger error code it came from; None for a request the GraphQL
    layer could not even take (variables that do not fit the schema's input).
    """

    def __init__(
        self,
        message: str,
        status: int = 400,
        errors: Sequence[FieldError] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = list(errors)
        self.code = code
        # A 429's wait (the Retry-After header) and, for a key's limit, its usage.
        self.retry_after: int | None = None
        self.usage: rate_limits.Usage | None = None

    @property
    def http_headers(self) -> dict[str, str]:
        """The headers the error's status calls for (every dialect adds them)."""
        if self.status == 401:
            return {"WWW-Authenticate": "Bearer"}
        if self.retry_after is not None:
            return {"Retry-After": str(self.retry_after)}
        return {}


def status_of(code: str | None, statuses: Mapping[str, int] = HTTP_STATUS) -> int:
    return statuses.get(code or "", 400)


def from_ledger_error(error: LedgerError, statuses: Mapping[str, int] = HTTP_STATUS) -> RestError:
    rest = RestError(
        error.message,
        status_of(error.code, statuses),
        [FieldError(error.field, error.message)] if error.field else [],
        error.code,
    )
    if isinstance(error, rate_limits.TooManyRequests):
        rest.status = 429
        rest.retry_after = error.retry_after
        rest.usage = error.usage
    return rest


# ---------------------------------------------------------------- JSON in


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def require_json_content_type(request: Request) -> None:
    """RestError(415) unless the body is declared ``application/json`` (UTF-8)."""
    try:
        check_json_content_type(request.headers.get("content-type", ""))
    except RequestError as error:
        raise RestError(error.message, error.status) from None


async def read_json_object(
    request: Request, max_bytes: int = MAX_BODY_BYTES, *, empty_is_object: bool = False
) -> dict[str, Any]:
    """The body as a JSON object, read exactly; RestError 413 past ``max_bytes``, else 400.

    ``empty_is_object``: a body of no bytes (or only whitespace) reads as ``{}``, as a
    Rails API reads it (no parameters): its required fields are then each missing.
    """
    try:
        body = await read_body(request, max_bytes)
    except BodyTooLarge:
        raise RestError(f"request body is larger than {max_bytes} bytes", 413) from None
    if empty_is_object and not body.strip():
        return {}
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise RestError("the request body is nested too deeply") from None
    except UnicodeDecodeError:
        raise RestError("the request body is not UTF-8") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, an integer of 4300+ digits
        raise RestError(f"the request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise RestError("the request body must be a JSON object")
    return value


def json_kind(value: object) -> str:
    """What a decoded JSON value is, as an error message names it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "null"


# ---------------------------------------------------------------- pydantic


def field_path(loc: Sequence[int | str]) -> str:
    """``("entries", 1, "debit")`` as ``entries[1].debit``."""
    path = ""
    for step in loc:
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else str(step)
    return path


def _message(error: ErrorDetails) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "value_error":  # a validator's own ValueError: its text is the message
        return str(error.get("ctx", {}).get("error", error["msg"]))
    expected = {
        "string_type": "a string",
        "list_type": "an array",
        "model_type": "an object",
        "model_attributes_type": "an object",
        "dict_type": "an object",
        "bool_type": "a boolean",
        "int_type": "an integer",
    }.get(kind)
    if expected is not None:
        return "is required" if given is None else f"must be {expected}, not {json_kind(given)}"
    if kind == "too_short" and isinstance(given, list):
        return f"must have at least {error.get('ctx', {}).get('min_length')} items"
    if kind == "too_long" and isinstance(given, list):
        return f"must have at most {error.get('ctx', {}).get('max_length')} items"
    if kind == "string_too_long":
        return f"must be at most {error.get('ctx', {}).get('max_length')} characters"
    return error["msg"]


def field_errors(error: ValidationError) -> list[FieldError]:
    """Every error of ``error``, each with the path of its field and a plain message."""
    return [FieldError(field_path(e["loc"]) or None, _message(e)) for e in error.errors()]


@dataclass(frozen=True)
class FieldNames:
    """A dialect's names for the fields of the GraphQL input it sends: ``top`` renames the
    entry's fields (``lines`` among them, always), ``line`` a line's."""

    top: Mapping[str, str]
    line: Mapping[str, str]

    def of(self, path: str | None) -> str | None:
        """A GraphQL input path (``input.lines.1.debit``) in the dialect's names
        (``entries[1].debit``); None for the input as a whole."""
        parts = (path or "").split(".")
        if parts[:1] == ["input"]:
            parts = parts[1:]
        if not parts or not parts[0]:
            return None
        if parts[0] == "metadata" and ".".join(parts[1:]) in DIALECT_KEYS:
            return parts[-1]  # a recorded field (``recorded_metadata``): the request's own
        if parts[0] != "lines":
            return ".".join([self.top.get(parts[0], parts[0]), *parts[1:]])
        field, rest = self.top["lines"], parts[1:]
        if rest and rest[0].isdigit():
            field += f"[{rest[0]}]"
            rest = rest[1:]
        return ".".join([field, *(self.line.get(part, part) for part in rest)])


def recorded_metadata(dialect: str, **fields: object) -> dict[str, object] | None:
    """The metadata a dialect sends with its entry: the request's fields the ledger does
    not model, as their documented keys (``<dialect>.<field>``, docs/metadata.md); None
    when the request has none of them, so such an entry has no metadata, as before."""
    return recorded(dialect, fields) or None


def summary(errors: Sequence[FieldError]) -> str:
    """One line for a list of field errors: the first, and how many more there are."""
    first = errors[0]
    text = first.message
    if first.field:
        # Core messages often open with the field's own name ("totalAmount must ...");
        # after the "field: " prefix that name would be said twice.
        leaf = re.split(r"[.\[]", first.field)[-1]
        text = f"{first.field}: {text.removeprefix(leaf + ' ') if leaf else text}"
    return text if len(errors) == 1 else f"{text} (and {len(errors) - 1} more)"


# A vendor's amount string: digits with an optional decimal part (no sign, exponent,
# spaces or separators). JSON numbers are refused by the models' str type.
_AMOUNT = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,30})?")


def not_blank(value: str) -> str:
    """A pydantic validator: a text with something in it."""
    if not value.strip():
        raise ValueError("cannot be blank")
    return value


def optional_amount(value: str | None) -> str | None:
    """A pydantic validator for one side of a line: None when null, empty or zero.

    The vendors write the unused side as "0.00"; the ledger core reads an absent side.
    """
    if value is None or value == "":
        return None
    if not _AMOUNT.fullmatch(value):
        raise ValueError(
            f'{value!r} is not an amount: a decimal string such as "1000.00" '
            "(no sign, exponent or thousands separator)"
        )
    return None if Decimal(value) == 0 else value


def json_number(value: object) -> Decimal:
    """A pydantic (before) validator: a JSON number as ``read_json_object`` reads it (an
    int or a Decimal), kept exact; a string, a boolean or anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"must be a number, not {json_kind(value)}")
    return Decimal(value)


# The field types the dialects' models share (checked here, where the validators live).
Text = Annotated[str, AfterValidator(not_blank)]
# Strings only, as the vendors send them: a JSON number would have been a float somewhere.
OptionalAmount = Annotated[str | None, AfterValidator(optional_amount)]
# A JSON number, read exactly; documented as a number (not pydantic's number-or-string).
Number = Annotated[Decimal, BeforeValidator(json_number), WithJsonSchema({"type": "number"})]


def validate(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``; RestError(400) naming every offending field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors = field_errors(error)
        raise RestError(summary(errors), 400, errors, "BAD_USER_INPUT") from None


# ---------------------------------------------------------------- authentication


async def authenticate(request: Request, statuses: Mapping[str, int] = HTTP_STATUS) -> Principal:
    """The caller, by ``Authorization: Bearer`` or ``X-API-Key`` (and ``X-Tenant``)."""
    try:
        return await principal_of(request, request.app.state.db)
    except LedgerError as error:
        raise from_ledger_error(error, statuses) from None


async def authenticate_by(
    request: Request, key: str | None, check: Callable[[], Awaitable[T]]
) -> T:
    """``check()``, a dialect's own key check, throttled per address like ``authenticate``."""
    try:
        found = await rate_limits.guarded_authentication(request, key, check)
    except LedgerError as error:
        raise from_ledger_error(error) from None
    if isinstance(found, Principal):  # its rate-limit overrides, for ``limit``
        request.state.principal = found
    return found


async def limit(
    request: Request,
    principal: Principal,
    surface: rate_limits.Surface,
    operation: rate_limits.Operation | None = None,
) -> rate_limits.Usage:
    """Counts the request against the key's limits (reads: GET); RestError 429 past them."""
    try:
        return await rate_limits.enforce(
            request, principal.key_id, surface, operation or rate_limits.rest_operation(request)
        )
    except LedgerError as error:
        raise from_ledger_error(error) from None


# ---------------------------------------------------------------- GraphQL in-process


async def execute(
    request: Request,
    principal: Principal,
    document: str,
    field: str,
    variables: dict[str, Any],
    statuses: Mapping[str, int] = HTTP_STATUS,
) -> dict[str, Any]:
    """The payload of mutation ``field``, user errors included (``payload["errors"]``).

    A top-level error is a RestError: a ledger code's status, 500 (message masked) for
    an unexpected failure, 400 with code None when the variables do not fit the input.
    """
    result = await schema.execute(
        document,
        variable_values=variables,
        context_value=Context(db=request.app.state.db, authenticated=principal),
    )
    if result.errors:
        error = result.errors[0]
        extensions = error.extensions or {}
        code = str(extensions.get("code") or "")
        if code in statuses:
            where = extensions.get("field")
            raise RestError(error.message, statuses[code], [FieldError(where, error.message)], code)
        if code or result.data is not None:  # masked: an unexpected failure
            raise RestError("Internal server error.", 500, code="INTERNAL_SERVER_ERROR")
        raise RestError(error.message, 400)
    assert result.data is not None
    payload: dict[str, Any] = result.data[field]
    return payload


def renamed(error: RestError, name: Callable[[str | None], str | None]) -> RestError:
    """``error`` with its fields in a dialect's names (``name`` maps a GraphQL input path),
    its message naming the first of them."""
    errors = [FieldError(name(e.field), e.message) for e in error.errors]
    message = summary(errors) if errors else error.message
    return RestError(message, error.status, errors, error.code)


async def execute_named(
    request: Request,
    principal: Principal,
    document: str,
    field: str,
    variables: dict[str, Any],
    name: Callable[[str | None], str | None],
) -> Any:
    """``execute``, its refusals naming their fields in the dialect's names (``name``)."""
    try:
        return await execute(request, principal, document, field, variables)
    except RestError as error:
        raise renamed(error, name) from None


# ---------------------------------------------------------------- JSON out


def dumps(value: object) -> str:
    """JSON text; a Decimal is written as a JSON number with its exact digits."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


def amount_text(value: object, currency: str) -> str:
    """``value`` (a Money string from GraphQL) with exactly the currency's decimals."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    return format(Decimal(str(value or 0)).quantize(quantum), "f")


class ExactJSONResponse(Response):
    """A JSON response whose Decimals keep every digit (no float on the way out)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()
