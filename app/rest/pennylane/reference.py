"""Pennylane's journals and ledger accounts: the ids a client sends with its entries.

    GET  /api/external/v2/journals              {items: [{id, code, label, type}], ...}
    GET  /api/external/v2/journals/{id}         {id, code, label, type}
    POST /api/external/v2/journals              201 {id, code, label, type}
    GET  /api/external/v2/ledger_accounts       {items: [{id, number, label, ...}], ...}
    GET  /api/external/v2/ledger_accounts/{id}  {id, number, label, ...}

Lists are in ascending id order (``sort=id``; Pennylane's other orders are refused),
keyset-paginated, filtered by ``filter`` with ``eq`` or ``in``. Everything is read and
written through the GraphQL schema; decisions: docs/compatibility.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ledger.tenants import Principal
from app.rest import common as rest
from app.rest.common import ExactJSONResponse, FieldError, RestError
from app.rest.pennylane import common
from app.rest.pennylane.common import BASE, Filter, Page

JOURNAL_TYPES = ("sales", "purchases", "bank", "payroll", "miscellaneous")
FILTER_OPERATORS = ("eq", "in")
MAX_ID = 2**63 - 1
# GraphQL argument (or input field) -> the Pennylane parameter a client sent.
_PARAMS = {"after": "cursor", "first": "limit", "name": "label"}

JOURNAL_FIELDS = "id code name type"
ACCOUNT_FIELDS = "id code name type currency active"

JOURNALS = f"""
query PennylaneJournals($type: [JournalType!], $ids: [ID!], $first: Int!, $after: String) {{
  journals(type: $type, ids: $ids, first: $first, after: $after) {{
    nodes {{ {JOURNAL_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
JOURNAL = f"query PennylaneJournal($id: ID!) {{ journal(id: $id) {{ {JOURNAL_FIELDS} }} }}"
CREATE_JOURNAL = f"""
mutation PennylaneCreateJournal($input: CreateJournalInput!) {{
  createJournal(input: $input) {{
    journal {{ {JOURNAL_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""
ACCOUNTS = f"""
query PennylaneLedgerAccounts($ids: [ID!], $codes: [String!], $first: Int!, $after: String) {{
  accounts(ids: $ids, codes: $codes, orderBy: ID, first: $first, after: $after) {{
    nodes {{ {ACCOUNT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
ACCOUNT = f"query PennylaneLedgerAccount($id: ID!) {{ account(id: $id) {{ {ACCOUNT_FIELDS} }} }}"


# ---------------------------------------------------------------- shapes


def _journal(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(node["id"]),
        "code": node["code"],
        "label": node["name"],
        "type": str(node["type"]).lower(),
    }


def _account(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(node["id"]),
        "number": node["code"],
        "label": node["name"],
        "type": node["type"],
        "currency": node["currency"],
        "active": node["active"],
    }


# ---------------------------------------------------------------- filters


def _values(item: Filter, where: str) -> list[Any]:
    """The value(s) of an ``eq`` or ``in`` filter, as a list."""
    if item.operator not in FILTER_OPERATORS:
        raise common.invalid(f"{where}.operator", f"must be eq or in for {item.field}")
    if item.operator == "eq":
        return [item.value]
    if not isinstance(item.value, list):
        raise common.invalid(f"{where}.value", "must be an array for the in operator")
    return list(item.value)


def _id(value: object, where: str) -> int:
    # Pennylane's ids are integers; their decimal string is taken too (query strings).
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise common.invalid(f"{where}.value", "must be an id: a positive integer")
    return value


def _text_of(allowed: Sequence[str] | None) -> Callable[[object, str], str]:
    def check(value: object, where: str) -> str:
        if not isinstance(value, str):
            raise common.invalid(f"{where}.value", "must be a string")
        if allowed is not None and value not in allowed:
            raise common.invalid(f"{where}.value", f"must be one of {', '.join(allowed)}")
        return value

    return check


def _matching(page: Page, field: str, check: Callable[[Any, str], Any]) -> list[Any] | None:
    """The values ``field`` may take: every filter on it must hold (None: no filter)."""
    kept: list[Any] | None = None
    for index, item in enumerate(page.filters):
        if item.field != field:
            continue
        where = f"filter[{index}]"
        values = [check(value, where) for value in _values(item, where)]
        kept = values if kept is None else [value for value in kept if value in values]
    return kept


def _check_sort(request: Request) -> None:
    sort = request.query_params.get("sort")
    if sort not in (None, "", "id"):
        raise common.invalid("sort", "must be id: this list is in ascending id order only")


# ---------------------------------------------------------------- GraphQL


def _param(path: str | None) -> str | None:
    """A GraphQL argument in Pennylane's query parameter names."""
    return _PARAMS.get(path or "", path)


async def _run(
    request: Request, principal: Principal, document: str, field: str, variables: dict[str, Any]
) -> Any:
    return await rest.execute_named(request, principal, document, field, variables, _param)


async def _list(
    request: Request,
    principal: Principal,
    document: str,
    field: str,
    variables: dict[str, Any],
    page: Page,
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    variables = {**variables, "first": page.limit, "after": page.cursor}
    connection = await _run(request, principal, document, field, variables)
    info = connection["pageInfo"]
    has_more = bool(info["hasNextPage"])
    return common.page_response(
        [shape(node) for node in connection["nodes"]],
        has_more,
        info["endCursor"] if has_more else None,
    )


def _path_id(request: Request, model: str) -> int:
    request.scope["pennylane_model"] = model  # names the model in path_id's 404
    return common.path_id(request)


# ---------------------------------------------------------------- journals


class CreateJournal(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    code: rest.Text
    label: rest.Text
    type: Literal["sales", "purchases", "bank", "payroll", "miscellaneous"] = "miscellaneous"


@common.endpoint
async def list_journals(request: Request, principal: Principal) -> Response:
    page = common.page_of(request, ("id", "type"))
    _check_sort(request)
    types = _matching(page, "type", _text_of(JOURNAL_TYPES))
    ids = _matching(page, "id", _id)
    variables = {
        "type": [t.upper() for t in types] if types is not None else None,
        "ids": [str(i) for i in ids] if ids is not None else None,
    }
    return await _list(request, principal, JOURNALS, "journals", variables, page, _journal)


@common.endpoint
async def get_journal(request: Request, principal: Principal) -> Response:
    id_ = _path_id(request, "Journal")
    journal = await _run(request, principal, JOURNAL, "journal", {"id": str(id_)})
    if journal is None:
        raise common.not_found("Journal", id_)
    return ExactJSONResponse(_journal(journal))


@common.endpoint
async def create_journal(request: Request, principal: Principal) -> Response:
    body = await common.body_as(CreateJournal, request)
    variables = {"input": {"code": body.code, "name": body.label, "type": body.type.upper()}}
    payload = await _run(request, principal, CREATE_JOURNAL, "createJournal", variables)
    if payload["errors"]:
        first = payload["errors"][0]
        errors = [FieldError(e["field"], e["message"]) for e in payload["errors"]]
        status = common.STATUSES.get(first["code"], 422)
        raise rest.renamed(RestError(first["message"], status, errors, first["code"]), _param)
    return ExactJSONResponse(_journal(payload["journal"]), status_code=201)


# ---------------------------------------------------------------- ledger accounts


@common.endpoint
async def list_ledger_accounts(request: Request, principal: Principal) -> Response:
    page = common.page_of(request, ("id", "number"))
    _check_sort(request)
    ids = _matching(page, "id", _id)
    numbers = _matching(page, "number", _text_of(None))
    variables = {"ids": [str(i) for i in ids] if ids is not None else None, "codes": numbers}
    return await _list(request, principal, ACCOUNTS, "accounts", variables, page, _account)


@common.endpoint
async def get_ledger_account(request: Request, principal: Principal) -> Response:
    id_ = _path_id(request, "LedgerAccount")
    account = await _run(request, principal, ACCOUNT, "account", {"id": str(id_)})
    if account is None:
        raise common.not_found("LedgerAccount", id_)
    return ExactJSONResponse(_account(account))


routes = [
    Route(f"{BASE}/journals", list_journals, methods=["GET"]),
    Route(f"{BASE}/journals", create_journal, methods=["POST"]),
    Route(f"{BASE}/journals/{{id}}", get_journal, methods=["GET"]),
    Route(f"{BASE}/ledger_accounts", list_ledger_accounts, methods=["GET"]),
    Route(f"{BASE}/ledger_accounts/{{id}}", get_ledger_account, methods=["GET"]),
]
