"""The OpenAPI document of ledgerql's REST dialects, served (without auth) at /openapi.json.

Request bodies come from the dialects' own pydantic models (the models that check them),
so the document cannot drift from what is validated; so do Pismo's answers, from the
response shapes (TypedDicts) next to its models. The other dialects' response schemas
are written here: truthful about the fields every answer has, open
(``additionalProperties``) about the rest.

tests/test_openapi_contract.py keeps the document and the app's routes in step (every
REST route documented, nothing documented that is not routed) and runs schemathesis
against the app with it. OpenAPI 3.1 because pydantic writes JSON Schema 2020-12
(``anyOf [..., {"type": "null"}]``), which 3.1 takes as it is and schemathesis 4 reads.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from app.rest import bookeeping, journal_entries, pismo
from app.rest.pennylane import common as pennylane
from app.rest.pennylane import entries as pennylane_entries
from app.rest.pennylane import reference as pennylane_reference

OPENAPI_VERSION = "3.1.0"
Schema = dict[str, Any]

# ---------------------------------------------------------------- helpers


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


def _model_schemas(prefix: str, *models: type) -> dict[str, Schema]:
    """The JSON Schemas of ``models`` (pydantic models or TypedDicts) and their nested
    ones, named ``prefix + Name``; the prefix keeps the dialects' two ``Line`` apart."""
    found: dict[str, Schema] = {}
    template = f"#/components/schemas/{prefix}{{model}}"
    for model in models:
        schema = TypeAdapter(model).json_schema(ref_template=template)
        for name, nested in schema.pop("$defs", {}).items():
            found[prefix + name] = nested
        found[prefix + model.__name__] = schema
    return found


def _exact_numbers(schema: Any) -> Any:
    """``schema`` with pydantic's Decimal input (number or string) as number only.

    Bookeeping's amounts are read as JSON numbers and nothing else (a string is a 400).
    """
    if isinstance(schema, dict):
        if schema.get("anyOf") == [{"type": "number"}, {"type": "string"}]:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest, "type": "number"}
        return {key: _exact_numbers(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_exact_numbers(item) for item in schema]
    return schema


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(schema_name: str, statuses: dict[int, str]) -> dict[str, Schema]:
    return {str(status): _json(_ref(schema_name), text) for status, text in statuses.items()}


def _body(schema_name: str, media_type: str = "application/json") -> Schema:
    return {"required": True, "content": {media_type: {"schema": _ref(schema_name)}}}


def _parameter(name: str, where: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


def _query(name: str, schema: Schema, description: str) -> Schema:
    return _parameter(name, "query", schema, description)


def _path_id(schema: Schema, description: str) -> Schema:
    return _parameter("id", "path", schema, description)


X_TENANT = _parameter(
    "X-Tenant",
    "header",
    {"type": "string"},
    "The tenant's slug, for a key whose user owns several tenants.",
)
SECURITY: list[dict[str, list[str]]] = [{"bearerKey": []}, {"apiKeyHeader": []}]


def _operation(
    tag: str,
    summary: str,
    responses: dict[str, Schema],
    parameters: list[Schema] | None = None,
    request: Schema | None = None,
    description: str | None = None,
) -> Schema:
    """An operation of dialect ``tag``; its parameters end with X-Tenant unless None."""
    operation: Schema = {"tags": [tag], "summary": summary, "security": SECURITY}
    if description is not None:
        operation["description"] = description
    if parameters is not None:
        operation["parameters"] = [*parameters, X_TENANT]
    if request is not None:
        operation["requestBody"] = request
    return {**operation, "responses": responses}


# What each status means, worded once; each operation lists the ones it answers with.
ERROR_TEXT = {
    400: "Bad request: a malformed body, or a field the ledger refuses (on a posting, "
    "also an account's balance limits: insufficient funds, a max balance).",
    401: "No API key, or not a valid one.",
    403: "The key cannot do this: read-only, or no access to the tenant.",
    404: "Not found (another tenant's id is not found either).",
    409: "A conflict: a duplicate, or an entry in a closed period.",
    413: "The body is larger than the limit.",
    415: "The body is not of the media type this operation reads.",
    422: "Unprocessable: a field is invalid (Pennylane's postings: also an account's "
    "balance limits).",
    429: "Too many requests: the key's rate limit (see Retry-After).",
    503: "Lost to concurrent writes: the same request may be sent again.",
}


def _statuses(*statuses: int) -> dict[int, str]:
    return {status: ERROR_TEXT[status] for status in statuses}


# ---------------------------------------------------------------- Pismo

PISMO_SCHEMAS = _model_schemas(
    "Pismo",
    pismo.AccountingEntryPost,
    pismo.AccountingScriptPost,
    pismo.AccountingEntry,
    pismo.AccountingScript,
    pismo.Error,
)
PISMO_ERRORS = _statuses(400, 401, 403, 409, 413, 429, 503)


def _pismo() -> dict[str, Schema]:
    def post(summary: str, request: str, status: int, response: str) -> Schema:
        responses = {
            str(status): _json(_ref(response), summary),
            **_errors("PismoError", PISMO_ERRORS),
        }
        return {"post": _operation("Pismo", summary, responses, [], _body(request))}

    base = pismo.BASE
    return {
        f"{base}/accounting-entries": post(
            "Posts an accounting entry (its script's accounts, or the ones given)",
            "PismoAccountingEntryPost",
            202,
            "PismoAccountingEntry",
        ),
        f"{base}/accounting-scripts": post(
            "Creates an accounting script: an event's entry type and its two accounts",
            "PismoAccountingScriptPost",
            201,
            "PismoAccountingScript",
        ),
    }


# ---------------------------------------------------------------- journal-entry API

AMOUNT_TEXT: Schema = {"type": "string", "description": "A decimal string: 1000.00"}
JOURNAL_ENTRY_SCHEMAS: dict[str, Schema] = {
    **_model_schemas("JournalEntryApi", journal_entries.CreateJournalEntry),
    "JournalEntryApiCreated": _object(
        {
            "status": {"const": "success"},
            "status_code": {"const": 200},
            "data": _object(
                {
                    "journal_entry_id": {"type": "string"},
                    "journal_number": {"type": "string"},
                    "date": {"type": "string", "format": "date"},
                    "memo": {"type": "string"},
                    "entry_type": {"type": "string"},
                    "transaction_currency": {"type": "string"},
                    "transaction_amount": AMOUNT_TEXT,
                    "reporting_currency": {"type": "string"},
                    "reporting_amount": AMOUNT_TEXT,
                    "exchange_rate": {"type": "string"},
                    "transactions": {
                        "type": "array",
                        "items": _object(
                            {
                                "account": {"type": "string"},
                                "debit": AMOUNT_TEXT,
                                "credit": AMOUNT_TEXT,
                                "description": _nullable({"type": "string"}),
                                "reporting_debit": AMOUNT_TEXT,
                                "reporting_credit": AMOUNT_TEXT,
                            }
                        ),
                    },
                    "status": {"type": "string"},
                    "accrual_date": _nullable({"type": "string", "format": "date"}),
                    "external_id": _nullable({"type": "string"}),
                }
            ),
        }
    ),
    "JournalEntryApiError": _object(
        {
            "status": {"const": "error"},
            "status_code": {"type": "integer"},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _object(
                    {"field": _nullable({"type": "string"}), "message": {"type": "string"}}
                ),
            },
        }
    ),
}


def _journal_entries() -> dict[str, Schema]:
    summary = "Posts a journal entry (or replays the one of its external_id)"
    statuses = _statuses(400, 401, 403, 404, 409, 413, 415, 429, 503)
    responses = {
        "200": _json(_ref("JournalEntryApiCreated"), summary),
        **_errors("JournalEntryApiError", statuses),
    }
    operation = _operation(
        "Journal-entry API",
        summary,
        responses,
        request=_body("JournalEntryApiCreateJournalEntry"),
        description="The tenant is the one domain_url names (X-Tenant is not read).",
    )
    return {journal_entries.PATH: {"post": operation}}


# ---------------------------------------------------------------- Pennylane v2

ID: Schema = {"type": "integer", "minimum": 1}
PENNYLANE_SCHEMAS: dict[str, Schema] = {
    **_model_schemas(
        "Pennylane",
        pennylane_entries.CreateLedgerEntry,
        pennylane_reference.CreateJournal,
    ),
    "PennylaneLedgerEntry": _object(
        {
            "id": ID,
            "label": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "journal_id": ID,
            "ledger_attachment_filename": _nullable({"type": "string"}),
            "ledger_attachment_id": _nullable(ID),
            "ledger_entry_lines": {
                "type": "array",
                "items": _object(
                    {
                        "id": ID,
                        "debit": AMOUNT_TEXT,
                        "credit": AMOUNT_TEXT,
                        "ledger_account_id": ID,
                        "label": _nullable({"type": "string"}),
                    }
                ),
            },
        }
    ),
    "PennylaneLedgerEntryLine": _object(
        {
            "id": ID,
            "label": _nullable({"type": "string"}),
            "date": {"type": "string", "format": "date"},
            "debit": AMOUNT_TEXT,
            "credit": AMOUNT_TEXT,
            "ledger_account_id": ID,
            "ledger_entry_id": ID,
            "journal_id": ID,
        }
    ),
    "PennylaneJournal": _object(
        {
            "id": ID,
            "code": {"type": "string"},
            "label": {"type": "string"},
            "type": {"enum": list(pennylane_reference.JOURNAL_TYPES)},
        }
    ),
    "PennylaneLedgerAccount": _object(
        {
            "id": ID,
            "number": {"type": "string"},
            "label": {"type": "string"},
            "type": {"type": "string"},
            "currency": _nullable({"type": "string"}),
            "active": {"type": "boolean"},
        }
    ),
    "PennylaneAttachment": _object(
        {"id": ID, "url": {"type": "string", "format": "uri"}, "filename": {"type": "string"}},
        {
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    ),
    "PennylaneUpload": _object(
        {"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
        {"filename": {"type": "string", "description": "Replaces the uploaded file's name."}},
    ),
    "PennylaneError": _object(
        {"error": {"type": "string"}, "message": {"type": "string"}},
        {"details": {"type": "object"}},
    ),
}


def _page_of(item: str) -> Schema:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "has_more": {"type": "boolean"},
            "next_cursor": _nullable({"type": "string"}),
        }
    )


def _pennylane_errors(*statuses: int) -> dict[str, Schema]:
    responses = _errors("PennylaneError", _statuses(*statuses))
    if 429 in statuses:  # Pennylane documents its 429 as plain text
        responses["429"] = {
            "description": ERROR_TEXT[429],
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    return responses


def _list_parameters(sorts: tuple[str, ...], filterable: tuple[str, ...]) -> list[Schema]:
    return [
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": pennylane.MAX_LIMIT},
            f"Page size (default {pennylane.DEFAULT_LIMIT}).",
        ),
        _query("cursor", {"type": "string"}, "The next_cursor of the previous page."),
        _query(
            "filter",
            {"type": "string"},
            "A JSON array of {field, operator, value}; fields: " + ", ".join(filterable),
        ),
        _query("sort", {"enum": list(sorts)}, "The order of the list."),
    ]


LIST_ERRORS = (400, 401, 403, 422, 429)


def _pennylane() -> dict[str, Schema]:
    base = pennylane.BASE
    upload_errors = (400, 401, 403, 413, 415, 422, 429, 503)

    def operation(
        summary: str,
        status: int,
        response: Schema,
        errors: tuple[int, ...],
        parameters: list[Schema] | None = None,
        request: Schema | None = None,
    ) -> Schema:
        responses = {str(status): response, **_pennylane_errors(*errors)}
        return _operation("Pennylane v2", summary, responses, parameters or [], request)

    def listing(
        summary: str, item: str, page: str, sorts: tuple[str, ...], filterable: tuple[str, ...]
    ) -> Schema:
        parameters = _list_parameters(sorts, filterable)
        return operation(summary, 200, _json(_page_of(item), page), LIST_ERRORS, parameters)

    def read(summary: str, item: str, found: str, id_is: str) -> Schema:
        parameters = [_path_id(ID, id_is)]
        errors = (400, 401, 403, 404, 429)
        return {"get": operation(summary, 200, _json(_ref(item), found), errors, parameters)}

    def create(summary: str, item: str, done: str, request: str, errors: tuple[int, ...]) -> Schema:
        return operation(summary, 201, _json(_ref(item), done), errors, request=_body(request))

    def upload(summary: str) -> Schema:
        request = _body("PennylaneUpload", "multipart/form-data")
        stored = _json(_ref("PennylaneAttachment"), "Stored.")
        return {"post": operation(summary, 201, stored, upload_errors, request=request)}

    def download(summary: str) -> Schema:
        file = {
            "description": "The file's bytes, with its own media type.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
        parameters = [_path_id(ID, "The attachment's id.")]
        return {"get": operation(summary, 200, file, (401, 403, 404, 429), parameters)}

    return {
        pennylane_entries.ENTRIES_PATH: {
            "get": listing(
                "Lists ledger entries",
                "PennylaneLedgerEntry",
                "A page of entries.",
                ("-id", "id", "date", "-date"),
                ("date", "journal_id"),
            ),
            "post": create(
                "Posts a ledger entry",
                "PennylaneLedgerEntry",
                "Posted.",
                "PennylaneCreateLedgerEntry",
                (400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
            ),
        },
        f"{pennylane_entries.ENTRIES_PATH}/{{id}}": read(
            "Reads a ledger entry", "PennylaneLedgerEntry", "The entry.", "The ledger entry's id."
        ),
        pennylane_entries.LINES_PATH: {
            "get": listing(
                "Lists ledger entry lines",
                "PennylaneLedgerEntryLine",
                "A page of lines.",
                ("-id", "id"),
                ("id", "ledger_account_id", "date", "journal_id"),
            )
        },
        f"{base}/journals": {
            "get": listing(
                "Lists journals", "PennylaneJournal", "A page of journals.", ("id",), ("id", "type")
            ),
            "post": create(
                "Creates a journal",
                "PennylaneJournal",
                "Created.",
                "PennylaneCreateJournal",
                (400, 401, 403, 409, 413, 415, 422, 429, 503),
            ),
        },
        f"{base}/journals/{{id}}": read(
            "Reads a journal", "PennylaneJournal", "The journal.", "The journal's id."
        ),
        f"{base}/ledger_accounts": {
            "get": listing(
                "Lists ledger accounts",
                "PennylaneLedgerAccount",
                "A page of accounts.",
                ("id",),
                ("id", "number"),
            )
        },
        f"{base}/ledger_accounts/{{id}}": read(
            "Reads a ledger account",
            "PennylaneLedgerAccount",
            "The account.",
            "The ledger account's id.",
        ),
        f"{base}/ledger_attachments": upload("Uploads an attachment (deprecated form)"),
        f"{base}/file_attachments": upload("Uploads an attachment"),
        f"{base}/ledger_attachments/{{id}}/file": download("Downloads an attachment"),
        f"{base}/file_attachments/{{id}}/file": download("Downloads an attachment"),
    }


# ---------------------------------------------------------------- Bookeeping.ai v1

BOOKEEPING_SCHEMAS: dict[str, Schema] = {
    **_exact_numbers(_model_schemas("Bookeeping", bookeeping.CreateTransaction)),
    "BookeepingTransactionResult": _object(
        {
            "message": {"type": "string"},
            "metaData": _object({"warnings": {"type": "array", "items": {"type": "string"}}}),
            "data": _object(
                {
                    "transaction": _object(
                        {
                            "_id": {"type": "string"},
                            "totalAmount": {"type": "number"},
                            "transactionDate": {"type": "string"},
                            "paymentMethod": {"type": "string"},
                            "isReconciled": {"type": "boolean"},
                            "entries": {"type": "array", "items": {"type": "object"}},
                        }
                    ),
                    "action": {"enum": ["CREATED", "ALREADY_EXISTS"]},
                }
            ),
        }
    ),
    "BookeepingError": _object({"error": {"type": "string"}, "message": {"type": "string"}}),
}


def _bookeeping_list(key: str) -> Schema:
    return _object(
        {
            "data": _object(
                {
                    key: {"type": "array", "items": _object({"_id": {"type": "string"}})},
                    "count": {"type": "integer", "minimum": 0},
                }
            )
        }
    )


BOOKEEPING = "Bookeeping.ai v1"


def _bookeeping() -> dict[str, Schema]:
    base = bookeeping.BASE
    page = [
        _query("page", {"type": "integer"}, "The page, from 1."),
        _query("limit", {"type": "integer"}, f"Page size (default {bookeeping.DEFAULT_LIMIT})."),
    ]
    sorted_page = [
        *page,
        _query("sortKey", {"type": "string"}, "The field to sort on."),
        _query("sortOrder", {"type": "integer"}, "1 ascending, -1 descending."),
        _query("query", {"type": "string"}, "A text to search for."),
    ]
    list_errors = _errors("BookeepingError", _statuses(*sorted(bookeeping.LIST_STATUSES - {500})))

    def read(summary: str, key: str, parameters: list[Schema]) -> Schema:
        responses = {"200": _json(_bookeeping_list(key), summary), **list_errors}
        return {"get": _operation(BOOKEEPING, summary, responses, parameters)}

    transaction_statuses = sorted(bookeeping.TRANSACTION_STATUSES - {500})
    return {
        f"{base}/transactions": {
            "post": _operation(
                BOOKEEPING,
                "Creates a transaction (or reports the similar one that exists)",
                {
                    "200": _json(_ref("BookeepingTransactionResult"), "Created, or found."),
                    **_errors("BookeepingError", _statuses(*transaction_statuses)),
                },
                [
                    _query(
                        "force", {"type": "string"}, "true: create even when a similar one exists."
                    )
                ],
                _body("BookeepingCreateTransaction"),
            )
        },
        f"{base}/categories": read(
            "Lists categories (the ledger accounts)",
            "categories",
            [*page, _query("accounts", {"type": "string"}, "Filter on the accounts.")],
        ),
        f"{base}/counterparties": read("Lists counterparties", "counterparts", sorted_page),
        f"{base}/counterparties/{{id}}": read(
            "Reads a counterparty (as a list of one)",
            "counterparts",
            [_path_id({"type": "string", "pattern": "^[0-9A-Fa-f]{24}$"}, "24 hex digits.")],
        ),
        f"{base}/accounts": read("Lists bank accounts", "accounts", sorted_page),
    }


# ---------------------------------------------------------------- the document


@functools.cache
def _document() -> Schema:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "ledgerql REST dialects",
            "version": "1",
            "description": (
                "The vendor-compatible REST APIs ledgerql serves over its GraphQL schema "
                "(/graphql; its SDL is graphql_schema/schema.graphql). Every operation takes "
                "the API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`."
            ),
        },
        "paths": {**_pismo(), **_journal_entries(), **_pennylane(), **_bookeeping()},
        "components": {
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer", "description": "An API key."},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                **PISMO_SCHEMAS,
                **JOURNAL_ENTRY_SCHEMAS,
                **PENNYLANE_SCHEMAS,
                **BOOKEEPING_SCHEMAS,
            },
        },
    }


def document() -> Schema:
    """The OpenAPI document (a copy: callers may change it)."""
    return copy.deepcopy(_document())


async def openapi_json(request: Request) -> JSONResponse:
    # Public: a contract is no secret, and clients fetch it before they have a key.
    return JSONResponse(_document())


routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
