"""Pennylane ledger entries (seed 003) over the GraphQL schema.

    POST /api/external/v2/ledger_entries            201 the created entry
    GET  /api/external/v2/ledger_entries/{id}       the entry, in the creation shape
    GET  /api/external/v2/ledger_entries            a page of entries (sort -id by default)
    GET  /api/external/v2/ledger_entry_lines        a page of lines, each with its entry id

Auth, error body and pagination are Pennylane's (app/rest/pennylane/common.py). The
body is checked by a strict pydantic model, translated into ``postJournalEntry``
(journal and accounts by id) and executed in-process; reads run ``journalEntry``,
``journalEntries`` and ``journalEntryLines``. An id of another tenant is answered as a
missing one. Decisions where Pennylane is silent: docs/compatibility.md "Ledger entries".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ledger.entries import MAX_LINES
from app.ledger.tenants import Principal
from app.rest import common
from app.rest.common import ExactJSONResponse, FieldError, RestError
from app.rest.pennylane.common import (
    BASE,
    STATUSES,
    Filter,
    body_as,
    endpoint,
    execute,
    invalid,
    not_found,
    page_of,
    page_response,
    path_id,
)

ENTRIES_PATH = f"{BASE}/ledger_entries"
LINES_PATH = f"{BASE}/ledger_entry_lines"
# The seed's list, as Pennylane documents it (ISO 4217, some withdrawn codes included).
Currency = Literal[
    "EUR",
    "USD",
    "GBP",
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BHD",
    "BIF",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BYR",
    "BZD",
    "CAD",
    "CDF",
    "CHE",
    "CHF",
    "CLF",
    "CLP",
    "CNY",
    "COP",
    "CRC",
    "CUC",
    "CUP",
    "CVE",
    "CZK",
    "DJF",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "FJD",
    "FKP",
    "GEL",
    "GGP",
    "GHS",
    "GIP",
    "GMD",
    "GNF",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HRK",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "IMP",
    "INR",
    "IQD",
    "IRR",
    "ISK",
    "JEP",
    "JMD",
    "JOD",
    "JPY",
    "KES",
    "KGS",
    "KHR",
    "KMF",
    "KPW",
    "KRW",
    "KWD",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "LTL",
    "LVL",
    "LYD",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRO",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "OMR",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "PYG",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "RWF",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLL",
    "SOS",
    "SRD",
    "STD",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TND",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "UGX",
    "UYU",
    "UZS",
    "VEF",
    "VND",
    "VUV",
    "WST",
    "XAF",
    "XCD",
    "XDR",
    "XOF",
    "XPF",
    "YER",
    "ZAR",
    "ZMK",
    "ZMW",
    "ZWL",
]
_CURRENCIES = frozenset(get_args(Currency))
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# ---------------------------------------------------------------- request


def _currency(value: object, handler: ValidatorFunctionWrapHandler) -> str:
    """One of the seed's codes; else one line saying so (never the 167 codes listed)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {common.json_kind(value)}")
    if value not in _CURRENCIES:
        shown = repr(value) if len(value) <= 20 else "the value"
        raise ValueError(
            f"{shown} is not a currency Pennylane accepts: an ISO 4217 code such as EUR"
        )
    code: str = handler(value)
    return code


def _date(value: object) -> dt.date:
    """An ISO date; the deprecated date-time form is taken too, its date as written."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {common.json_kind(value)}")
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
        if _DATE.match(value) and value[10:11] in ("T", " "):
            return dt.datetime.fromisoformat(value).date()
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_date)]


class Line(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    ledger_account_id: int
    debit: common.OptionalAmount = None
    credit: common.OptionalAmount = None
    label: str | None = None


class CreateLedgerEntry(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    date: IsoDate
    label: common.Text
    journal_id: int
    # At least two lines is the core's rule, answered with its words ("an entry needs at
    # least two lines"), an empty list included; the document still says 1 item minimum.
    ledger_entry_lines: list[Line] = Field(max_length=MAX_LINES, json_schema_extra={"minItems": 1})
    ledger_attachment_id: int | None = None
    # The enum stays in the document; an unknown code is refused in one line.
    currency: Annotated[Currency, WrapValidator(_currency)] = "EUR"


# ---------------------------------------------------------------- GraphQL

ENTRY_FIELDS = """
  id date memo currency journalId attachmentId attachmentFilename
  lines { id accountId debit credit description }
"""
CREATE = f"""
mutation PennylaneCreateLedgerEntry($input: PostJournalEntryInput!) {{
  postJournalEntry(input: $input) {{ entry {{ {ENTRY_FIELDS} }} errors {{ code field message }} }}
}}"""
GET = f"query PennylaneLedgerEntry($id: ID!) {{ journalEntry(id: $id) {{ {ENTRY_FIELDS} }} }}"
# The page size is written into the document (1..100), not a variable: the cost limit
# takes a variable ``first`` to be as large as a page can be (500 entries of 10 lines).
LIST = f"""
query PennylaneLedgerEntries(
  $after: String, $from: Date, $to: Date, $journalIds: [ID!], $order: EntryOrder!
) {{
  journalEntries(
    first: FIRST, after: $after, from: $from, to: $to, journalIds: $journalIds, order: $order
  ) {{ nodes {{ {ENTRY_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }}
}}"""
LIST_LINES = """
query PennylaneLedgerEntryLines(
  $after: String, $from: Date, $to: Date, $ids: [ID!], $accountIds: [ID!],
  $journalIds: [ID!], $order: EntryOrder!
) {
  journalEntryLines(
    first: FIRST, after: $after, from: $from, to: $to, ids: $ids, accountIds: $accountIds,
    journalIds: $journalIds, order: $order
  ) {
    nodes { id entryId journalId accountId date currency debit credit description }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _variables(body: CreateLedgerEntry) -> dict[str, Any]:
    lines = []
    for line in body.ledger_entry_lines:
        item: dict[str, Any] = {"accountId": str(line.ledger_account_id)}
        if line.debit is not None:
            item["debit"] = line.debit
        if line.credit is not None:
            item["credit"] = line.credit
        if line.label is not None:
            item["description"] = line.label
        lines.append(item)
    attachment = body.ledger_attachment_id
    return {
        "input": {
            "date": body.date.isoformat(),
            "memo": body.label,
            "currency": body.currency,
            "journalId": str(body.journal_id),
            "attachmentId": None if attachment is None else str(attachment),
            "metadata": common.recorded_metadata("pennylane", ledger_attachment_id=attachment),
            "lines": lines,
        }
    }


_NAMES = common.FieldNames(
    top={
        "memo": "label",
        "journalId": "journal_id",
        "attachmentId": "ledger_attachment_id",
        "lines": "ledger_entry_lines",
    },
    line={"accountId": "ledger_account_id", "description": "label"},
)


def pennylane_field(path: str | None) -> str | None:
    """A GraphQL input path (``lines.3.accountId``) in Pennylane's names."""
    return _NAMES.of(path)


def _refusal(code: str, field: str | None, message: str, body: CreateLedgerEntry) -> RestError:
    """A ledger error in Pennylane's terms: an unknown id is its 404, the rest a 422."""
    where = pennylane_field(field)
    if code == "NOT_FOUND" and where is not None:
        missing: tuple[str, object] | None = None
        if where == "journal_id":
            missing = ("Journal", body.journal_id)
        elif where == "ledger_attachment_id":
            missing = ("LedgerAttachment", body.ledger_attachment_id)
        elif where.endswith(".ledger_account_id"):
            index = int(where[len("ledger_entry_lines[") :].split("]")[0])
            missing = ("LedgerAccount", body.ledger_entry_lines[index].ledger_account_id)
        if missing is not None:
            error = not_found(*missing)
            error.errors = [FieldError(where, "does not exist")]
            return error
    status = common.status_of(code, STATUSES)
    return RestError(
        f"{where}: {message}" if where else message, status, [FieldError(where, message)], code
    )


# ---------------------------------------------------------------- response


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    attachment = entry["attachmentId"]
    return {
        "id": int(entry["id"]),
        "label": entry["memo"],
        "date": entry["date"],
        "journal_id": int(entry["journalId"]),
        "ledger_attachment_filename": entry["attachmentFilename"],
        "ledger_attachment_id": None if attachment is None else int(attachment),
        "ledger_entry_lines": [
            {
                "id": int(line["id"]),
                "debit": common.amount_text(line["debit"], entry["currency"]),
                "credit": common.amount_text(line["credit"], entry["currency"]),
                "ledger_account_id": int(line["accountId"]),
                "label": line["description"],
            }
            for line in entry["lines"]
        ],
    }


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(line["id"]),
        "label": line["description"],
        "date": line["date"],
        "debit": common.amount_text(line["debit"], line["currency"]),
        "credit": common.amount_text(line["credit"], line["currency"]),
        "ledger_account_id": int(line["accountId"]),
        "ledger_entry_id": int(line["entryId"]),
        "journal_id": int(line["journalId"]),
    }


# ---------------------------------------------------------------- filters


class _Query:
    """What a list's filters ask, as the GraphQL query's arguments."""

    def __init__(self) -> None:
        self.date_from: dt.date | None = None
        self.date_to: dt.date | None = None
        self.ids: dict[str, set[int]] = {}
        self.empty = False  # the filters exclude every record

    def date(self, item: Filter, where: str) -> None:
        if item.operator not in ("lt", "lteq", "gt", "gteq", "eq"):
            raise invalid(f"{where}.operator", "must be one of lt, lteq, gt, gteq, eq for date")
        if not isinstance(item.value, str) or not _DATE.fullmatch(item.value):
            raise invalid(f"{where}.value", "must be a date in the form YYYY-MM-DD")
        try:
            on = dt.date.fromisoformat(item.value)
        except ValueError:
            raise invalid(f"{where}.value", "must be a date in the form YYYY-MM-DD") from None
        step = dt.timedelta(days=1)
        if (item.operator, on) in (("lt", dt.date.min), ("gt", dt.date.max)):
            self.empty = True
            return
        if item.operator in ("gt", "gteq", "eq"):
            start = on + step if item.operator == "gt" else on
            self.date_from = max(self.date_from or start, start)
        if item.operator in ("lt", "lteq", "eq"):
            end = on - step if item.operator == "lt" else on
            self.date_to = min(self.date_to or end, end)

    def id_set(self, name: str, item: Filter, where: str) -> None:
        if item.operator == "eq":
            values = [item.value]
        elif item.operator == "in" and isinstance(item.value, list) and item.value:
            values = item.value
        else:
            raise invalid(f"{where}", f"{name} takes eq with an id or in with a list of ids")
        ids = {_filter_id(value, f"{where}.value") for value in values}
        self.ids[name] = self.ids[name] & ids if name in self.ids else ids

    def id_list(self, name: str) -> list[str] | None:
        found = self.ids.get(name)
        return None if found is None else [str(i) for i in sorted(found)]


def _filter_id(value: object, where: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise invalid(where, "must be an id (a positive integer)")
    return value


def _filters(filters: list[Filter], ids: dict[str, str]) -> _Query:
    """``ids`` maps Pennylane's id fields to the query's names for them."""
    query = _Query()
    for index, item in enumerate(filters):
        where = f"filter[{index}]"
        if item.field == "date":
            query.date(item, where)
        else:
            query.id_set(ids[item.field], item, where)
    return query


_SORTS = {"-id": "ID_DESC", "id": "ID", "date": "DATE", "-date": "DATE_DESC"}


def _sort(request: Request, allowed: tuple[str, ...]) -> str:
    sort = request.query_params.get("sort", "-id")
    if sort not in allowed:
        raise invalid("sort", f"must be one of {', '.join(allowed)}")
    return _SORTS[sort]


async def _page(
    request: Request,
    principal: Principal,
    document: str,
    field: str,
    variables: dict[str, Any],
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    try:
        found = await execute(request, principal, document, field, variables)
    except RestError as error:
        if any(e.field == "after" for e in error.errors):
            raise invalid("cursor", "is not valid") from None
        raise
    info = found["pageInfo"]
    has_more = bool(info["hasNextPage"])
    return page_response(
        [shape(node) for node in found["nodes"]], has_more, info["endCursor"] if has_more else None
    )


def _empty_page() -> Response:
    return page_response([], False, None)


# ---------------------------------------------------------------- endpoints


async def create_ledger_entry(request: Request, principal: Principal) -> Response:
    body = await body_as(CreateLedgerEntry, request)
    payload = await execute(request, principal, CREATE, "postJournalEntry", _variables(body))
    if payload["errors"]:
        first = payload["errors"][0]
        raise _refusal(first["code"], first["field"], first["message"], body)
    return ExactJSONResponse(_entry(payload["entry"]), status_code=201)


async def get_ledger_entry(request: Request, principal: Principal) -> Response:
    request.scope["pennylane_model"] = "LedgerEntry"
    entry_id = path_id(request)
    found = await execute(request, principal, GET, "journalEntry", {"id": str(entry_id)})
    if found is None:
        raise not_found("LedgerEntry", entry_id)
    return ExactJSONResponse(_entry(found))


async def list_ledger_entries(request: Request, principal: Principal) -> Response:
    page = page_of(request, ("date", "journal_id"))
    order = _sort(request, tuple(_SORTS))
    query = _filters(page.filters, {"journal_id": "journalIds"})
    if query.empty:
        return _empty_page()
    variables = {
        "after": page.cursor,
        "from": query.date_from.isoformat() if query.date_from else None,
        "to": query.date_to.isoformat() if query.date_to else None,
        "journalIds": query.id_list("journalIds"),
        "order": order,
    }
    document = LIST.replace("FIRST", str(page.limit))
    return await _page(request, principal, document, "journalEntries", variables, _entry)


async def list_ledger_entry_lines(request: Request, principal: Principal) -> Response:
    page = page_of(request, ("id", "ledger_account_id", "date", "journal_id"))
    order = _sort(request, ("-id", "id"))
    query = _filters(
        page.filters,
        {"id": "ids", "ledger_account_id": "accountIds", "journal_id": "journalIds"},
    )
    if query.empty:
        return _empty_page()
    variables = {
        "after": page.cursor,
        "from": query.date_from.isoformat() if query.date_from else None,
        "to": query.date_to.isoformat() if query.date_to else None,
        "ids": query.id_list("ids"),
        "accountIds": query.id_list("accountIds"),
        "journalIds": query.id_list("journalIds"),
        "order": order,
    }
    document = LIST_LINES.replace("FIRST", str(page.limit))
    return await _page(request, principal, document, "journalEntryLines", variables, _line)


routes = [
    Route(ENTRIES_PATH, endpoint(create_ledger_entry), methods=["POST"]),
    Route(ENTRIES_PATH, endpoint(list_ledger_entries), methods=["GET"]),
    Route(f"{ENTRIES_PATH}/{{id}}", endpoint(get_ledger_entry), methods=["GET"]),
    Route(LINES_PATH, endpoint(list_ledger_entry_lines), methods=["GET"]),
]
