"""The journal-entry API (seed 002) over the GraphQL schema.

    POST /external/v1/journal_entries/create/   200 {"status": "success", ...}

Authenticated by ``X-API-Key: <key>`` (or ``Authorization: Bearer``) on the tenant the
body's ``domain_url`` names (X-Tenant is not read). The body is checked by a strict
pydantic model (unknown fields refused), translated into ``postJournalEntry`` and
executed in-process. Every answer is the seed's envelope; errors carry the HTTP
status in ``status_code`` too and name the seed's fields (``entries[1].debit``).
Decisions where the seed is silent: docs/compatibility.md.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.http.authentication import api_key_of
from app.ledger.errors import LedgerError
from app.ledger.money import check_currency
from app.ledger.tenants import authenticate_domain, check_key, domain_host
from app.rest import common
from app.rest.common import FieldError, RestError

PATH = "/external/v1/journal_entries/create/"
ENTRY_TYPE = "Manual Journal"
RATE = Decimal("1E-11")  # exchange_rate is written with 11 decimals
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# ---------------------------------------------------------------- request


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {common.json_kind(value)}")
    return value


def _date(value: object) -> dt.date:
    text = _text(value)
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except LedgerError as error:
        raise ValueError(error.message) from None


def _domain(value: str) -> str:
    try:
        domain_host(value)
    except LedgerError as error:
        raise ValueError(error.message) from None
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_date)]
Currency = Annotated[str, AfterValidator(_currency)]


class Line(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    account: common.Text
    debit: common.OptionalAmount = None
    credit: common.OptionalAmount = None
    description: str | None = None


class CreateJournalEntry(BaseModel):
    # Unknown fields are refused: a misspelt optional one (accrualDate) would otherwise
    # post at once what the client meant to schedule.
    model_config = ConfigDict(strict=True, extra="forbid")

    domain_url: Annotated[str, AfterValidator(_domain)]
    date: IsoDate
    memo: common.Text
    transaction_currency: Currency = Field(alias="transactionCurrency")
    reporting_currency: Currency = Field(alias="reportingCurrency")
    entries: list[Line] = Field(min_length=2)
    accrual_date: IsoDate | None = None
    external_id: common.Text | None = None


# ---------------------------------------------------------------- GraphQL


DOCUMENT = """
mutation JournalEntryApiCreate($input: PostJournalEntryInput!) {
  postJournalEntry(input: $input) {
    entry {
      id number date memo currency status accrualDate externalId
      reportingCurrency exchangeRate rateSource rateDate
      lines { accountCode debit credit description reportingDebit reportingCredit }
    }
    errors { code field message }
  }
}"""


def _variables(body: CreateJournalEntry) -> dict[str, Any]:
    lines = []
    for line in body.entries:
        item: dict[str, Any] = {"accountCode": line.account, "description": line.description}
        # A zero side is the seed's way of writing "no credit": sent as absent.
        if line.debit is not None:
            item["debit"] = line.debit
        if line.credit is not None:
            item["credit"] = line.credit
        lines.append(item)
    return {
        "input": {
            "date": body.date.isoformat(),
            "memo": body.memo,
            "currency": body.transaction_currency,
            "reportingCurrency": body.reporting_currency,
            "accrualDate": body.accrual_date.isoformat() if body.accrual_date else None,
            "externalId": body.external_id,
            "metadata": common.recorded_metadata("journal_entries", external_id=body.external_id),
            "lines": lines,
        }
    }


_NAMES = common.FieldNames(
    top={
        "currency": "transactionCurrency",
        "lines": "entries",
        "accrualDate": "accrual_date",
        "externalId": "external_id",
    },
    line={"accountCode": "account", "reportingDebit": "debit", "reportingCredit": "credit"},
)


def seed_field(path: str | None) -> str | None:
    """A GraphQL input path (``lines.1.debit``, ``input.currency``) in the seed's names."""
    return _NAMES.of(path)


def _renamed(error: RestError) -> RestError:
    """A ledger error (GraphQL's names) in the seed's names, its message naming the field."""
    errors = [FieldError(seed_field(e.field), e.message) for e in error.errors]
    return _named(RestError(error.message, error.status, errors, error.code))


def _named(error: RestError) -> RestError:
    """``error`` with its message starting with the field it names (the tenant lookup's
    ``domain_url`` too); a 429's wait is kept."""
    if error.errors:
        error.message = common.summary(error.errors)
    return error


# ---------------------------------------------------------------- response


def _sum(values: list[Any]) -> Decimal:
    return sum((Decimal(str(value or 0)) for value in values), Decimal(0))


def _data(entry: dict[str, Any]) -> dict[str, Any]:
    currency = entry["currency"]
    # Entries posted with no reporting currency (never through this API) report in their own.
    reporting = entry["reportingCurrency"] or currency
    lines = entry["lines"]

    def reported(line: dict[str, Any], side: str) -> Any:
        value = line[f"reporting{side.title()}"]
        return line[side] if value is None else value

    return {
        "journal_entry_id": f"JE{int(entry['id']):08d}",
        "journal_number": entry["number"],
        "date": entry["date"],
        "memo": entry["memo"],
        "entry_type": ENTRY_TYPE,
        "transaction_currency": currency,
        "transaction_amount": common.amount_text(_sum([line["debit"] for line in lines]), currency),
        "reporting_currency": reporting,
        "reporting_amount": common.amount_text(
            _sum([reported(line, "debit") for line in lines]), reporting
        ),
        "exchange_rate": format(Decimal(str(entry["exchangeRate"] or 1)).quantize(RATE), "f"),
        "transactions": [
            {
                "account": line["accountCode"],
                "debit": common.amount_text(line["debit"], currency),
                "credit": common.amount_text(line["credit"], currency),
                "description": line["description"],
                "reporting_debit": common.amount_text(reported(line, "debit"), reporting),
                "reporting_credit": common.amount_text(reported(line, "credit"), reporting),
            }
            for line in lines
        ],
        "bank_reconciliation_id": None,
        "status": entry["status"],
        "accrual_date": entry["accrualDate"],
        "external_id": entry["externalId"],
        "rate_source": entry["rateSource"],
        "rate_date": entry["rateDate"],
    }


def _error_response(error: RestError) -> Response:
    body = {
        "status": "error",
        "status_code": error.status,
        "message": error.message,
        "errors": [{"field": e.field, "message": e.message} for e in error.errors],
    }
    return JSONResponse(body, status_code=error.status, headers=error.http_headers)


# ---------------------------------------------------------------- endpoint


async def _unless_bad_key(request: Request, failure: RestError) -> RestError:
    """``failure``, or a 401 when the key is no good: a bad key is a 401 whatever the body."""
    key = api_key_of(request)
    try:
        await common.authenticate_by(request, key, lambda: _checked(request, key))
    except RestError as error:
        return error
    return failure


async def _checked(request: Request, key: str | None) -> None:
    await check_key(request.app.state.db, key)


async def create_journal_entry(request: Request) -> Response:
    """POST /external/v1/journal_entries/create/: 200 with the posted (or replayed) entry."""
    db = request.app.state.db
    try:
        key = api_key_of(request)
        if not key:
            raise RestError("an API key is required: X-API-Key: <key>", 401, code="UNAUTHENTICATED")
        try:
            common.require_json_content_type(request)
            body = common.validate(CreateJournalEntry, await common.read_json_object(request))
        except RestError as failure:
            raise await _unless_bad_key(request, failure) from None
        principal = await common.authenticate_by(
            request, key, lambda: authenticate_domain(db, key, body.domain_url)
        )
        await common.limit(request, principal, "journal_entries", "write")
        try:
            payload = await common.execute(
                request, principal, DOCUMENT, "postJournalEntry", _variables(body)
            )
        except RestError as error:
            raise _renamed(error) from None
        if payload["errors"]:
            raise _renamed(_user_errors(payload["errors"]))
        return JSONResponse(
            {"status": "success", "status_code": 200, "data": _data(payload["entry"])}
        )
    except RestError as error:
        return _error_response(_named(error))


def _user_errors(errors: list[dict[str, Any]]) -> RestError:
    fields = [FieldError(e["field"], e["message"]) for e in errors]
    code = errors[0]["code"]
    return RestError(errors[0]["message"], common.status_of(code), fields, code)


routes = [Route(PATH, create_journal_entry, methods=["POST"])]
