"""Pismo's accounting endpoints (seeds 000 and 001) over the GraphQL schema.

    POST /accounting/v1/accounting-entries   202 AccountingEntryPost echo
    POST /accounting/v1/accounting-scripts   201 AccountingScript

Each handler authenticates (``Authorization: Bearer <key>``), checks the body with a
strict pydantic model written from the seed's request schema (JSON types, int64 ranges,
required fields; unknown fields ignored, as Pismo does, and a null the same as an
absent field), executes the GraphQL mutation in-process and renders Pismo's body. JSON
numbers are parsed as Decimal, never float. What the ledger decides (an entry name, a
text's length and characters, a date, an amount in its currency) the core checks; the
models only document it. Errors are ``{"error": "..."}``: 400 for bad input (including
a missing program, entry type or account), 401, 403, 409 for a duplicate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, NotRequired, TypeVar

from pydantic import AfterValidator, AliasGenerator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict from 3.12 only

from app.http.statuses import HTTP_STATUS
from app.ledger import pismo as core
from app.ledger.tenants import Principal
from app.rest import common
from app.rest.common import ExactJSONResponse as PismoJSONResponse
from app.rest.common import RestError

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

# ---------------------------------------------------------------- request models


def _int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("is out of range: a 64-bit integer is at most 2^63-1")
    return value


def _transport_bounds(amount: Decimal) -> Decimal:
    if amount.adjusted() > MAX_AMOUNT_ADJUSTED:
        raise ValueError("is too large")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < MIN_AMOUNT_EXPONENT:
        raise ValueError("has too many decimals")
    return amount


def _date_time(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("is not an ISO 8601 date-time") from None


def _schema(**keywords: Any) -> Any:
    """JSON Schema keywords of a field, for /openapi.json: the seed's formats, and the
    limits the core checks (an entry name, a text's length) with its own messages."""
    return Field(json_schema_extra=keywords)


Int64 = Annotated[
    int, AfterValidator(_int64), _schema(format="int64", minimum=INT64_MIN, maximum=INT64_MAX)
]
Amount = Annotated[common.Number, AfterValidator(_transport_bounds)]
AccountNumber = Annotated[str, _schema(maxLength=core.MAX_ACCOUNT_NUMBER)]
CostCenterText = Annotated[str, _schema(maxLength=core.MAX_COST_CENTER_FIELD)]
DateTime = Annotated[str, AfterValidator(_date_time), _schema(format="date-time")]


class _Body(BaseModel):
    """A Pismo body: strict JSON types; unknown fields ignored (Pismo ignores them), a
    null the same as an absent field. Its fields, camelCased, are the GraphQL input's."""

    model_config = ConfigDict(
        strict=True, extra="ignore", alias_generator=AliasGenerator(serialization_alias=to_camel)
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: object) -> object:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


# Fields in the order they are checked: a body's first fault is the one reported.
class AccountingEntryPost(_Body):
    amount: Amount
    entry_type_id: Int64
    event_date: Annotated[str, Field(description="ISO 8601 date or date-time.")]
    program_id: Int64
    account_id: Int64 | None = None
    credit_accounting_account: AccountNumber | None = None
    debit_accounting_account: AccountNumber | None = None
    tracking_id: Annotated[str, _schema(maxLength=core.MAX_TRACKING_ID)] | None = None
    transaction_id: Int64 | None = None


class CostCenterPost(_Body):
    debit_org: CostCenterText
    credit_org: CostCenterText
    debit_cost: CostCenterText
    credit_cost: CostCenterText
    deactivated_at: DateTime | None = None


class AccountingScriptPost(_Body):
    program_id: Int64
    event_type_id: Int64
    entry_type_id: Int64
    debit_accounting_account_id: Int64
    credit_accounting_account_id: Int64
    cost_center: CostCenterPost | None = None
    entry_name: Annotated[str, _schema(enum=list(core.ENTRY_NAMES))] | None = None
    processing_code: Annotated[str, _schema(maxLength=core.MAX_PROCESSING_CODE)] | None = None


# ---------------------------------------------------------------- response shapes
# Optional fields are left out rather than null: the seed's types are not nullable.


class AccountingEntry(TypedDict):
    """The 202 echo of an accepted AccountingEntryPost."""

    amount: common.Number
    entry_type_id: Int64
    event_date: Annotated[str, _schema(format="date")]
    program_id: Int64
    account_id: NotRequired[Int64]
    credit_accounting_account: NotRequired[str]
    debit_accounting_account: NotRequired[str]
    tracking_id: NotRequired[str]
    transaction_id: NotRequired[Int64]


class AccountingAccount(TypedDict):
    id: Int64
    description: NotRequired[str]
    account: NotRequired[str]
    program_id: NotRequired[Int64]
    created_at: NotRequired[DateTime]
    deactivated_at: NotRequired[DateTime]


class CostCenter(TypedDict):
    debit_org: str
    credit_org: str
    debit_cost: str
    credit_cost: str
    deactivated_at: NotRequired[DateTime]


class AccountingScript(TypedDict):
    id: Int64
    program_id: Int64
    event_type_id: Int64
    entry_type_id: Int64
    debit_accounting: AccountingAccount
    credit_accounting: AccountingAccount
    entry_name: NotRequired[str]
    processing_code: NotRequired[str]
    cost_center: NotRequired[CostCenter]


class Error(TypedDict):
    error: str


# ---------------------------------------------------------------- errors
# A failure is a RestError, answered as ``{"error": message}`` with its status.


def _invalid(message: str) -> RestError:
    return RestError(f"Validation error, {message}")


def _failure(error: RestError) -> RestError:
    """Pismo's form of a shared failure: a 400's message is a "Validation error"."""
    if error.status == 400 and error.code is None:
        return _invalid(error.message)
    return RestError(error.message, error.status)


# ---------------------------------------------------------------- JSON in and out

B = TypeVar("B", bound=_Body)


async def _body(request: Request, model: type[B]) -> B:
    """The body as ``model``; its first fault as "Validation error, <field> <what>"."""
    try:
        return common.validate(model, await common.read_json_object(request, MAX_BODY_BYTES))
    except RestError as error:
        if not error.errors:  # not a JSON object, too large: the shared message
            raise _failure(error) from None
        first = error.errors[0]
        raise _invalid(f"{first.field} {first.message}") from None


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


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)


# ---------------------------------------------------------------- GraphQL in-process


def _snake(path: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", path).lower()


async def _execute(
    request: Request, principal: Principal, document: str, field: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The mutation's payload; its first user error or a top-level error as a RestError."""
    try:
        payload = await common.execute(request, principal, document, field, variables, STATUS)
    except RestError as error:  # code None: the variables did not fit the GraphQL input
        raise _failure(error) from None
    if payload["errors"]:
        first = payload["errors"][0]
        status = STATUS.get(first["code"], 400)
        if status == 400:
            where = f"{_snake(first['field'])}: " if first["field"] else ""
            raise _invalid(f"{where}{first['message']}")
        raise RestError(first["message"], status)
    return payload


Handler = Callable[[Request, Principal, B], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _endpoint(model: type[B]) -> Callable[[Handler[B]], Endpoint]:
    """Authenticates, reads the body as ``model``, runs the handler; a RestError is
    answered as Pismo's error (with the headers its status calls for)."""

    def wrap(handle: Handler[B]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                # Authentication first: a request without a key is a 401 whatever its body.
                principal = await common.authenticate(request, STATUS)
                await common.limit(request, principal, "pismo")
                return await handle(request, principal, await _body(request, model))
            except RestError as error:
                return PismoJSONResponse(
                    {"error": error.message}, status_code=error.status, headers=error.http_headers
                )

        endpoint.__doc__ = handle.__doc__
        return endpoint

    return wrap


# ---------------------------------------------------------------- accounting entries


@_endpoint(AccountingEntryPost)
async def create_accounting_entry(
    request: Request, principal: Principal, body: AccountingEntryPost
) -> Response:
    """POST /accounting/v1/accounting-entries: 202 with the AccountingEntryPost echo."""
    variables = body.model_dump(by_alias=True)
    variables["amount"] = format(body.amount, "f")
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


def _cost_center(cost_center: Mapping[str, Any] | None) -> dict[str, Any] | None:
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


@_endpoint(AccountingScriptPost)
async def create_accounting_script(
    request: Request, principal: Principal, body: AccountingScriptPost
) -> Response:
    """POST /accounting/v1/accounting-scripts: 201 with the AccountingScript."""
    variables = body.model_dump(by_alias=True, exclude_none=True)
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
        "cost_center": _cost_center(script["costCenter"]),
    }
    return PismoJSONResponse(_without_nulls(document), status_code=201)


routes = [
    Route(f"{BASE}/accounting-entries", create_accounting_entry, methods=["POST"]),
    Route(f"{BASE}/accounting-scripts", create_accounting_script, methods=["POST"]),
]
