"""Pismo's accounting endpoints (seeds 000 and 001) over the GraphQL schema.

    POST /accounting/v1/accounting-entries   202 AccountingEntryPost echo
    POST /accounting/v1/accounting-scripts   201 AccountingScript

Each handler authenticates (``Authorization: Bearer <key>``), checks the body against
the seed's request schema (JSON types, int64 ranges, required fields), executes the
GraphQL mutation in-process and renders Pismo's body. JSON numbers are parsed as
Decimal, never float. Errors are ``{"error": "..."}``: 400 for bad input (including a
missing program, entry type or account), 401, 403, 409 for a duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.graphql_app import principal_of
from app.graphql_http import HTTP_STATUS
from app.ledger.errors import LedgerError
from app.ledger.tenants import Principal
from graphql_schema.context import Context
from graphql_schema.schema import schema

BASE = "/accounting/v1"
MAX_BODY_BYTES = 1 << 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Transport bounds, checked before a Decimal is written out in full (1e999999999 would
# be a billion digits): no currency has more than 4 decimals and no amount below 2^63
# minor units reaches 10^20, so these refuse nothing valid. The core checks precisely.
MAX_AMOUNT_ADJUSTED = 20
MIN_AMOUNT_EXPONENT = -20
# A missing program, entry type or account is a 400 in Pismo, not a 404.
STATUS = {**HTTP_STATUS, "NOT_FOUND": 400}

ENTRY_MUTATION = """
mutation PismoCreateAccountingEntry($input: CreateAccountingEntryInput!) {
  createAccountingEntry(input: $input) {
    accountingEntry {
      programId entryTypeId amount accountId transactionId trackingId
      debitAccountingAccount creditAccountingAccount
    }
    journalEntry { date }
    errors { code field message }
  }
}"""

SCRIPT_MUTATION = """
fragment PismoAccountingAccount on AccountingAccount {
  id account description programId createdAt deactivatedAt
}
mutation PismoCreateAccountingScript($input: CreateAccountingScriptInput!) {
  createAccountingScript(input: $input) {
    script {
      id programId eventTypeId entryTypeId entryName processingCode
      debitAccounting { ...PismoAccountingAccount }
      creditAccounting { ...PismoAccountingAccount }
      costCenter { debitOrg creditOrg debitCost creditCost deactivatedAt }
    }
    errors { code field message }
  }
}"""


class _Failure(Exception):
    """A request answered with ``{"error": message}`` and ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _invalid(message: str) -> _Failure:
    return _Failure(f"Validation error, {message}")


# ---------------------------------------------------------------- JSON out


def _dumps(value: object) -> str:
    """JSON text; a Decimal is written as a JSON number with its exact digits."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)


class PismoJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _dumps(content).encode()


def _error_response(message: str, status: int) -> PismoJSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return PismoJSONResponse({"error": message}, status_code=status, headers=headers)


def _timestamp(value: str | None) -> str | None:
    """An ISO 8601 date-time as Pismo writes it: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _without_nulls(document: dict[str, Any]) -> dict[str, Any]:
    """Optional fields are left out rather than null: the seed's types are not nullable."""
    return {key: value for key, value in document.items() if value is not None}


# ---------------------------------------------------------------- JSON in


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


async def _json_object(request: Request) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # stops reading as soon as the body is too large
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Failure(f"request body is larger than {MAX_BODY_BYTES} bytes", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise _invalid("the request body is nested too deeply") from None
    except UnicodeDecodeError:
        raise _invalid("the request body is not UTF-8") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, an integer of 4300+ digits
        raise _invalid(f"the request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise _invalid("the request body must be a JSON object")
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "null"


def _present(body: Mapping[str, Any], name: str, required: bool) -> bool:
    """Whether ``name`` has a value; null counts as absent."""
    if body.get(name) is not None:
        return True
    if required:
        raise _invalid(f"{name} is required")
    return False


def _int64(body: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    if not _present(body, name, required):
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name} must be an integer, not {_kind(value)}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise _invalid(f"{name} is out of range: a 64-bit integer is at most 2^63-1")
    return value


def _string(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    if not _present(body, name, required):
        return None
    value = body[name]
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string, not {_kind(value)}")
    return value


def _number(body: Mapping[str, Any], name: str) -> str:
    """A required JSON number, as the exact decimal string the Money scalar takes."""
    _present(body, name, True)
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _invalid(f"{name} must be a number, not {_kind(value)}")
    amount = Decimal(value)
    if amount.adjusted() > MAX_AMOUNT_ADJUSTED:
        raise _invalid(f"{name} is too large")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < MIN_AMOUNT_EXPONENT:
        raise _invalid(f"{name} has too many decimals")
    return format(amount, "f")


def _date_time(body: Mapping[str, Any], name: str) -> str | None:
    text = _string(body, name)
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{name} is not an ISO 8601 date-time") from None
    return moment.isoformat()


def _cost_center(body: Mapping[str, Any]) -> dict[str, Any] | None:
    if not _present(body, "cost_center", False):
        return None
    value = body["cost_center"]
    if not isinstance(value, dict):
        raise _invalid(f"cost_center must be an object, not {_kind(value)}")
    # Nested names are given with their path so that errors name them fully.
    nested = {f"cost_center.{key}": item for key, item in value.items()}
    return {
        "debitOrg": _string(nested, "cost_center.debit_org", required=True),
        "creditOrg": _string(nested, "cost_center.credit_org", required=True),
        "debitCost": _string(nested, "cost_center.debit_cost", required=True),
        "creditCost": _string(nested, "cost_center.credit_cost", required=True),
        "deactivatedAt": _date_time(nested, "cost_center.deactivated_at"),
    }


# ---------------------------------------------------------------- GraphQL in-process


def _snake(path: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", path).lower()


async def _execute(
    request: Request, principal: Principal, document: str, field: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The mutation's payload; its first user error or a top-level error as a _Failure."""
    result = await schema.execute(
        document,
        variable_values=variables,
        context_value=Context(db=request.app.state.db, authenticated=principal),
    )
    if result.errors:
        error = result.errors[0]
        code = (error.extensions or {}).get("code")
        if code in STATUS:
            raise _Failure(error.message, STATUS[code])
        if code is not None or result.data is not None:  # masked: an unexpected failure
            raise _Failure("Internal server error.", 500)
        raise _invalid(error.message)  # the variables did not fit the GraphQL input
    assert result.data is not None
    payload: dict[str, Any] = result.data[field]
    if payload["errors"]:
        first = payload["errors"][0]
        status = STATUS.get(first["code"], 400)
        if status == 400:
            where = f"{_snake(first['field'])}: " if first["field"] else ""
            raise _invalid(f"{where}{first['message']}")
        raise _Failure(first["message"], status)
    return payload


Handler = Callable[[Request, Principal, dict[str, Any]], Awaitable[Response]]


def _endpoint(handle: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticates, reads the JSON object, runs ``handle``; a _Failure is Pismo's error."""

    async def endpoint(request: Request) -> Response:
        try:
            # Authentication first: a request without a key is a 401 whatever its body.
            try:
                principal = await principal_of(request, request.app.state.db)
            except LedgerError as error:
                raise _Failure(error.message, STATUS.get(error.code, 400)) from None
            return await handle(request, principal, await _json_object(request))
        except _Failure as failure:
            return _error_response(failure.message, failure.status)

    endpoint.__doc__ = handle.__doc__
    return endpoint


# ---------------------------------------------------------------- accounting entries


@_endpoint
async def create_accounting_entry(
    request: Request, principal: Principal, body: dict[str, Any]
) -> Response:
    """POST /accounting/v1/accounting-entries: 202 with the AccountingEntryPost echo."""
    variables = {
        "amount": _number(body, "amount"),
        "entryTypeId": _int64(body, "entry_type_id", required=True),
        "eventDate": _string(body, "event_date", required=True),
        "programId": _int64(body, "program_id", required=True),
        "accountId": _int64(body, "account_id"),
        "creditAccountingAccount": _string(body, "credit_accounting_account"),
        "debitAccountingAccount": _string(body, "debit_accounting_account"),
        "trackingId": _string(body, "tracking_id"),
        "transactionId": _int64(body, "transaction_id"),
    }
    payload = await _execute(
        request, principal, ENTRY_MUTATION, "createAccountingEntry", {"input": variables}
    )
    entry = payload["accountingEntry"]
    echo = {
        "amount": Decimal(entry["amount"]),
        "entry_type_id": int(entry["entryTypeId"]),
        # The date posted on: the seed types event_date as format "date", even though
        # its example sends a date-time, which is accepted.
        "event_date": payload["journalEntry"]["date"],
        "program_id": int(entry["programId"]),
        "account_id": _optional_int(entry["accountId"]),
        "credit_accounting_account": entry["creditAccountingAccount"],
        "debit_accounting_account": entry["debitAccountingAccount"],
        "tracking_id": entry["trackingId"],
        "transaction_id": _optional_int(entry["transactionId"]),
    }
    return PismoJSONResponse(_without_nulls(echo), status_code=202)


# ---------------------------------------------------------------- accounting scripts


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _accounting_account(account: Mapping[str, Any]) -> dict[str, Any]:
    return _without_nulls(
        {
            "id": int(account["id"]),
            "description": account["description"],
            "account": account["account"],
            "program_id": _optional_int(account["programId"]),
            "created_at": _timestamp(account["createdAt"]),
            "deactivated_at": _timestamp(account["deactivatedAt"]),
        }
    )


def _cost_center_out(cost_center: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if cost_center is None:
        return None
    return _without_nulls(
        {
            "debit_org": cost_center["debitOrg"],
            "credit_org": cost_center["creditOrg"],
            "debit_cost": cost_center["debitCost"],
            "credit_cost": cost_center["creditCost"],
            "deactivated_at": _timestamp(cost_center["deactivatedAt"]),
        }
    )


@_endpoint
async def create_accounting_script(
    request: Request, principal: Principal, body: dict[str, Any]
) -> Response:
    """POST /accounting/v1/accounting-scripts: 201 with the AccountingScript."""
    variables = _without_nulls(
        {
            "programId": _int64(body, "program_id", required=True),
            "eventTypeId": _int64(body, "event_type_id", required=True),
            "entryTypeId": _int64(body, "entry_type_id", required=True),
            "debitAccountingAccountId": _int64(body, "debit_accounting_account_id", required=True),
            "creditAccountingAccountId": _int64(
                body, "credit_accounting_account_id", required=True
            ),
            "costCenter": _cost_center(body),
            "entryName": _string(body, "entry_name"),
            "processingCode": _string(body, "processing_code"),
        }
    )
    payload = await _execute(
        request, principal, SCRIPT_MUTATION, "createAccountingScript", {"input": variables}
    )
    script = payload["script"]
    document = {
        "id": int(script["id"]),
        "program_id": int(script["programId"]),
        "event_type_id": int(script["eventTypeId"]),
        "entry_type_id": int(script["entryTypeId"]),
        "entry_name": script["entryName"],
        "processing_code": script["processingCode"],
        "debit_accounting": _accounting_account(script["debitAccounting"]),
        "credit_accounting": _accounting_account(script["creditAccounting"]),
        "cost_center": _cost_center_out(script["costCenter"]),
    }
    return PismoJSONResponse(_without_nulls(document), status_code=201)


routes = [
    Route(f"{BASE}/accounting-entries", create_accounting_entry, methods=["POST"]),
    Route(f"{BASE}/accounting-scripts", create_accounting_script, methods=["POST"]),
]
