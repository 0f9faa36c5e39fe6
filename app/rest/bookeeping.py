"""Bookeeping.ai's public API (seed 004, docs/compatibility.md) over the GraphQL schema.

    POST /public-api/v1/transactions[?force=true]  200 {message, metaData: {warnings}, data}
    GET  /public-api/v1/categories                 200 {data: {categories, count}}
    GET  /public-api/v1/counterparties[/{id}]      200 {data: {counterparts, count}}
    GET  /public-api/v1/accounts                   200 {data: {accounts, count}}

Authenticated by ``Authorization: Bearer <key>``. The transaction body is checked by
strict pydantic models written from the seed's schema (unknown fields refused at both
levels, enums, 24-hex ids, ``minimum: 0``), its numbers read exactly (Decimal, never
float), translated into ``createTransaction`` and executed in-process; the lists run the
GraphQL queries. Errors are ``{"error": "<Name>Error", "message": ...}`` with only the
statuses the seed documents; every answer, errors included, carries the five
``x-rate-limiter-*`` headers once the caller's key is known.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.http import rate_limits
from app.ledger.tenants import Principal
from app.rest import common
from app.rest.common import ExactJSONResponse, FieldError, RestError

BASE = "/public-api/v1"
DEFAULT_LIMIT = 10
# A magnitude past 10^40 (or a fraction below 10^-40) is no amount; bounding it keeps a
# JSON number such as 1e999999999 from being written out digit by digit.
MAX_EXPONENT = 40

PaymentMethod = Literal["CASH", "CHEQUE", "NEFT", "IMPS", "UPI", "CARD", "TRANSFER", "OTHER"]
ParentCategory = Literal[
    "INCOME",
    "OTHER_INCOME",
    "SALES",
    "EXPENSE",
    "DEPRECIATION",
    "COST_OF_GOODS_SOLD",
    "OTHER_EXPENSE",
    "OVERHEAD",
    "CURRENT_ASSET",
    "FIXED_ASSET",
    "INVENTORY",
    "NON_CURRENT_ASSET",
    "PREPAYMENT",
    "LIABILITY",
    "CURRENT_LIABILITY",
    "NON_CURRENT_LIABILITY",
    "TAX_PAYABLE",
    "TAX",
    "EQUITY",
    "OTHER",
]
ERROR_NAMES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    404: "NotFoundError",
    409: "ConflictError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
}
# What the seed documents for POST /v1/transactions; any other status of the shared
# plumbing is answered with the nearest documented one.
TRANSACTION_STATUSES = frozenset({400, 401, 409, 429, 500})
LIST_STATUSES = frozenset({400, 401, 404, 429, 500})
_NEAREST = {
    403: 401,  # a read-only key: not a valid key for writing
    404: 400,  # an unknown category, account or counterparty id in the body
    413: 400,
    415: 400,
    422: 400,
    503: 409,  # lost to a concurrent write: the same request may be sent again
}
_OBJECT_ID = re.compile(r"[0-9A-Fa-f]{24}")
# RFC 3339 date-time, as JSON Schema's ``format: date-time`` means it.
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)

# ---------------------------------------------------------------- request


def _number(value: object) -> Decimal:
    """A JSON number as read by ``read_json_object`` (int or Decimal), kept exact."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"must be a number, not {common.json_kind(value)}")
    number = Decimal(value)
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ValueError("is out of range for an amount")
    return number


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must be at least 0")
    return value


def _object_id(value: str) -> str:
    if not _OBJECT_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not an id: 24 hexadecimal digits")
    return value


def _date_time(value: str) -> str:
    """An RFC 3339 date-time, in the ISO form GraphQL's DateTime reads."""
    if not _DATE_TIME.fullmatch(value):
        raise ValueError(f"{value!r} is not a date-time such as 2026-01-15T10:30:00Z")
    text = value.upper().replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date and time") from None


Number = Annotated[Decimal, BeforeValidator(_number)]
ObjectId = Annotated[str, AfterValidator(_object_id)]


class Entry(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    id: str
    amount: Annotated[Number, AfterValidator(_not_negative)]
    type: Literal["DEBIT", "CREDIT"]
    # The seed gives no pattern, but a category id is one (the core refuses others): a
    # malformed one is named here with its value, as counterParty and account are.
    category: ObjectId
    parentCategory: ParentCategory | None = None
    isMain: bool | None = None
    note: str | None = None


class CreateTransaction(BaseModel):
    # additionalProperties: false in the seed; a misspelt field is an error, not ignored.
    model_config = ConfigDict(strict=True, extra="forbid")

    totalAmount: Number
    transactionDate: Annotated[str, AfterValidator(_date_time)]
    paymentMethod: PaymentMethod
    isReconciled: bool
    entries: list[Entry]
    refNo: str | None = None
    currency: str | None = None
    counterParty: ObjectId | None = None
    account: ObjectId | None = None


def _force(request: Request) -> bool:
    # Any other value (the seed types it as a string) leaves the duplicate check on:
    # not posting is the safe reading of a force the client did not spell out.
    return request.query_params.get("force", "").strip().lower() in ("true", "1")


def _input(body: CreateTransaction) -> dict[str, Any]:
    return {
        "refNo": body.refNo,
        "totalAmount": format(body.totalAmount, "f"),
        "transactionDate": body.transactionDate,
        "paymentMethod": body.paymentMethod,
        "isReconciled": body.isReconciled,
        "currency": body.currency,
        "counterParty": body.counterParty,
        "account": body.account,
        "entries": [
            {
                "id": entry.id,
                "amount": format(entry.amount, "f"),
                "type": entry.type,
                "category": entry.category,
                "parentCategory": entry.parentCategory,
                "isMain": entry.isMain,
                "note": entry.note,
            }
            for entry in body.entries
        ],
    }


# ---------------------------------------------------------------- GraphQL

CATEGORY_FIELDS = "id name emoji parentCategory number group"
COUNTERPARTY_FIELDS = (
    "id projectId accountName accountNumber email phone otherEmails type taxId address "
    "createdAt updatedAt"
)
BANK_ACCOUNT_FIELDS = (
    "id projectId accountType nickName accountName accountNumber createdAt updatedAt"
)
TRANSACTION_FIELDS = f"""
  id projectId refNo currency totalAmount transactionDate paymentMethod source
  originalAmount originalCurrency isReconciled createdAt updatedAt
  counterParty {{ id accountName accountNumber email phone type }}
  account {{ id accountName accountNumber accountType }}
  entries {{ id amount type parentCategory isMain note category {{ {CATEGORY_FIELDS} }} }}
"""
CREATE_TRANSACTION = f"""
mutation BookeepingCreateTransaction($input: CreateTransactionInput!, $force: Boolean!) {{
  createTransaction(input: $input, force: $force) {{
    transaction {{ {TRANSACTION_FIELDS} }}
    action warnings
    errors {{ code field message }}
  }}
}}"""
CATEGORIES = f"""
query BookeepingCategories($page: Int!, $limit: Int!, $accounts: String) {{
  categories(page: $page, limit: $limit, accounts: $accounts) {{
    items {{ {CATEGORY_FIELDS} isArchived createdAt updatedAt }}
    count
  }}
}}"""
COUNTERPARTIES = f"""
query BookeepingCounterparties(
  $page: Int!, $limit: Int!, $sortKey: String, $sortOrder: Int, $query: String
) {{
  counterparties(
    page: $page, limit: $limit, sortKey: $sortKey, sortOrder: $sortOrder, query: $query
  ) {{
    items {{ {COUNTERPARTY_FIELDS} }}
    count
  }}
}}"""
COUNTERPARTY = f"""
query BookeepingCounterparty($id: String!) {{
  counterparty(id: $id) {{ {COUNTERPARTY_FIELDS} }}
}}"""
BANK_ACCOUNTS = f"""
query BookeepingBankAccounts(
  $page: Int!, $limit: Int!, $sortKey: String, $sortOrder: Int, $query: String
) {{
  bankAccounts(
    page: $page, limit: $limit, sortKey: $sortKey, sortOrder: $sortOrder, query: $query
  ) {{
    items {{ {BANK_ACCOUNT_FIELDS} }}
    count
  }}
}}"""

# GraphQL input path -> the seed's field (``input.entries.1.amount`` -> ``entries[1].amount``).


def seed_field(path: str | None) -> str | None:
    parts = [part for part in (path or "").split(".") if part]
    if parts[:1] == ["input"]:
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else f".{part}" if text else part
    return text or None


# ---------------------------------------------------------------- response


def _money(value: object) -> Decimal | None:
    """A Money value (a decimal string) as an exact JSON number."""
    return None if value is None else Decimal(str(value))


def _instant(value: object) -> str | None:
    """A DateTime as RFC 3339 in UTC with milliseconds, as Bookeeping writes it."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:  # stored as UTC without an offset (SQLite)
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _date_time_as_sent(value: object) -> str:
    """The transaction's date-time in the offset the client gave: the booked day shows."""
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


def _with_id(node: Mapping[str, Any] | None, fields: Collection[str]) -> dict[str, Any] | None:
    """``node`` with ``id`` written ``_id`` and only ``fields`` kept (the seed's objects)."""
    if node is None:
        return None
    shaped: dict[str, Any] = {"_id": node["id"]}
    shaped.update({name: node.get(name) for name in fields if name != "_id"})
    return shaped


def _category(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return _with_id(node, ("name", "emoji", "parentCategory", "number", "group"))


def _transaction(node: Mapping[str, Any]) -> dict[str, Any]:
    counter_party = _with_id(
        node.get("counterParty"), ("accountName", "accountNumber", "email", "phone", "type")
    )
    account = _with_id(node.get("account"), ("accountName", "accountNumber", "accountType"))
    return {
        "_id": node["id"],
        "projectId": node["projectId"],
        "refNo": node.get("refNo"),
        "currency": node["currency"],
        "totalAmount": _money(node["totalAmount"]),
        "transactionDate": _date_time_as_sent(node["transactionDate"]),
        "paymentMethod": node["paymentMethod"],
        "source": node.get("source") or "API_HOOK",
        "originalAmount": _money(node.get("originalAmount")),
        "originalCurrency": node.get("originalCurrency"),
        "isReconciled": node["isReconciled"],
        "nonProfitAllocations": [],
        "counterParty": counter_party,
        "account": account,
        "entries": [
            {
                "id": entry["id"],
                "amount": _money(entry["amount"]),
                "type": entry["type"],
                "parentCategory": entry.get("parentCategory"),
                "category": _category(entry.get("category")),
                "isMain": entry.get("isMain"),
                "note": entry.get("note"),
            }
            for entry in node["entries"]
        ],
        "classes": [],
        "attachmentsIds": [],
        "nonProfitGrantId": None,
        "attachedTransactionId": None,
        "createdAt": _instant(node["createdAt"]),
        "updatedAt": _instant(node["updatedAt"]),
    }


def _dated(node: Mapping[str, Any]) -> dict[str, Any]:
    shaped = _with_id(node, [name for name in node if name != "id"]) or {}
    for name in ("createdAt", "updatedAt"):
        if name in shaped:
            shaped[name] = _instant(shaped[name])
    return shaped


def error_response(error: RestError, documented: Collection[int]) -> Response:
    status = error.status if error.status in documented else _NEAREST.get(error.status, 400)
    if status not in documented:
        status = 400
    body = {"error": ERROR_NAMES[status], "message": error.message}
    return ExactJSONResponse(body, status_code=status)


# ---------------------------------------------------------------- endpoints


Handler = Callable[[Request, Principal], Awaitable[Response]]


def endpoint(
    operation: rate_limits.Operation, documented: Collection[int]
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A Starlette endpoint: authenticates, counts, runs ``handler``, renders any RestError."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            headers: dict[str, str] = {}
            try:
                principal = await common.authenticate(request)
                usage = await common.limit(request, principal, "bookeeping", operation)
                headers = rate_limits.bookeeping_headers(usage)
                response = await handler(request, principal)
            except RestError as error:
                if error.usage is not None:  # past the key's limit: its standing, 429
                    headers = rate_limits.bookeeping_headers(error.usage)
                response = error_response(error, documented)
                headers.update(error.http_headers)
            response.headers.update(headers)
            return response

        return run

    return wrap


async def _execute(
    request: Request, principal: Principal, document: str, field: str, variables: dict[str, Any]
) -> Any:
    return await common.execute_named(request, principal, document, field, variables, seed_field)


@endpoint("write", TRANSACTION_STATUSES)
async def create_transaction(request: Request, principal: Principal) -> Response:
    force = _force(request)
    common.require_json_content_type(request)
    body = common.validate(CreateTransaction, await common.read_json_object(request))
    variables = {"input": _input(body), "force": force}
    payload = await _execute(request, principal, CREATE_TRANSACTION, "createTransaction", variables)
    if payload["errors"]:
        # The seed's error body is only a message: it names the field (entries[0].category).
        errors = [FieldError(seed_field(e["field"]), e["message"]) for e in payload["errors"]]
        status = common.status_of(payload["errors"][0]["code"])
        raise RestError(common.summary(errors), status, errors)
    action = payload["action"]
    message = (
        "Transaction created successfully"
        if action == "CREATED"
        else "A similar transaction already exists; send force=true to create it anyway"
    )
    return ExactJSONResponse(
        {
            "message": message,
            "metaData": {"warnings": list(payload["warnings"])},
            "data": {"transaction": _transaction(payload["transaction"]), "action": action},
        }
    )


# ---------------------------------------------------------------- lists


def _int_param(request: Request, name: str) -> int | None:
    """An integer query parameter (its range is the ledger's to check), None if absent."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", raw):
        raise RestError(f"{name}: must be an integer", 400, [FieldError(name, "an integer")])
    return int(raw)


def _page(request: Request) -> dict[str, Any]:
    page = _int_param(request, "page")
    limit = _int_param(request, "limit")
    return {
        "page": 1 if page is None else page,
        "limit": DEFAULT_LIMIT if limit is None else limit,
    }


def _sorted_page(request: Request) -> dict[str, Any]:
    return {
        **_page(request),
        "sortKey": request.query_params.get("sortKey") or None,
        "sortOrder": _int_param(request, "sortOrder"),
        "query": request.query_params.get("query") or None,
    }


def _list(key: str, result: Mapping[str, Any]) -> Response:
    items = [_dated(node) for node in result["items"]]
    return ExactJSONResponse({"data": {key: items, "count": result["count"]}})


@endpoint("read", LIST_STATUSES)
async def list_categories(request: Request, principal: Principal) -> Response:
    variables = {**_page(request), "accounts": request.query_params.get("accounts") or None}
    result = await _execute(request, principal, CATEGORIES, "categories", variables)
    # A category is a ledger account: the tenant's, made by no one in particular.
    items = [
        {**node, "projectId": principal.tenant_slug, "createdBy": None} for node in result["items"]
    ]
    return _list("categories", {"items": items, "count": result["count"]})


@endpoint("read", LIST_STATUSES)
async def list_counterparties(request: Request, principal: Principal) -> Response:
    variables = _sorted_page(request)
    result = await _execute(request, principal, COUNTERPARTIES, "counterparties", variables)
    return _list("counterparts", result)


@endpoint("read", LIST_STATUSES)
async def get_counterparty(request: Request, principal: Principal) -> Response:
    id_ = str(request.path_params["id"])
    node = None
    if _OBJECT_ID.fullmatch(id_):
        node = await _execute(request, principal, COUNTERPARTY, "counterparty", {"id": id_})
    if node is None:
        raise RestError(f"Counterparty {id_} not found", 404, code="NOT_FOUND")
    return _list("counterparts", {"items": [node], "count": 1})


@endpoint("read", LIST_STATUSES)
async def list_accounts(request: Request, principal: Principal) -> Response:
    variables = _sorted_page(request)
    result = await _execute(request, principal, BANK_ACCOUNTS, "bankAccounts", variables)
    return _list("accounts", result)


routes = [
    Route(f"{BASE}/transactions", create_transaction, methods=["POST"]),
    Route(f"{BASE}/categories", list_categories, methods=["GET"]),
    Route(f"{BASE}/counterparties", list_counterparties, methods=["GET"]),
    Route(f"{BASE}/counterparties/{{id}}", get_counterparty, methods=["GET"]),
    Route(f"{BASE}/accounts", list_accounts, methods=["GET"]),
]
