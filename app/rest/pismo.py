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
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.http.statuses import HTTP_STATUS
from app.ledger.tenants import Principal
from app.rest import common
from app.rest.common import ExactJSONResponse as PismoJSONResponse
from app.rest.common import json_kind as _kind

BASE = "/accounting/v1"
MAX_BODY_BYTES = common.MAX_BODY_BYTES
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

    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers  # Retry-After on a 429


def _invalid(message: str) -> _Failure:
    return _Failure(f"Validation error, {message}")


def _failure(error: common.RestError) -> _Failure:
    """Pismo's form of a shared failure: a 400's message is a "Validation error"."""
    if error.status == 400 and error.code is None:
        return _invalid(error.message)
    return _Failure(error.message, error.status)


# ---------------------------------------------------------------- JSON out


def _error_response(
    message: str, status: int, headers: dict[str, str] | None = None
) -> PismoJSONResponse:
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
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


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        return await common.read_json_object(request, MAX_BODY_BYTES)
    except common.RestError as error:
        raise _failure(error) from None


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
    try:
        payload = await common.execute(request, principal, document, field, variables, STATUS)
    except common.RestError as error:  # code None: the variables did not fit the GraphQL input
        raise _failure(error) from None
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
                principal = await common.authenticate(request, STATUS)
                await common.limit(request, principal, "pismo")
            except common.RestError as error:
                raise _Failure(error.message, error.status, error.http_headers) from None
            return await handle(request, principal, await _json_object(request))
        except _Failure as failure:
            return _error_response(failure.message, failure.status, failure.headers)

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
