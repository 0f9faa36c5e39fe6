"""The baseline of the postJournalEntry benchmark: the same writes, no GraphQL, no auth.

One POST JSON endpoint, ``/entries``, takes the same document as the GraphQL
``PostJournalEntryInput`` variables (``date``, ``memo``, ``lines`` with
``accountCode`` and ``debit``/``credit`` as decimal strings, ...), calls the
ledger core's ``post_entry`` for the fixed tenant ``BENCH_TENANT_ID`` and
answers with the posted entry as JSON, much like the GraphQL selection.

Serve it with ``uvicorn benchmarks.bare_app:create_app --factory`` and
DATABASE_URL and BENCH_TENANT_ID in the environment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.ledger.errors import LedgerError
from app.ledger.money import format_minor
from app.ledger.posting import EntryInput, EntryView, LineInput, post_entry
from app.runtime.settings import Settings
from db.engine import Database


def entry_input(document: dict[str, Any]) -> EntryInput:
    """The core's input from the JSON document; the core does all the checking."""
    return EntryInput(
        date=dt.date.fromisoformat(document["date"]),
        memo=document["memo"],
        lines=[
            LineInput(
                account_code=line.get("accountCode"),
                debit=line.get("debit"),
                credit=line.get("credit"),
                description=line.get("description"),
                currency=line.get("currency"),
            )
            for line in document["lines"]
        ],
        currency=document.get("currency"),
        journal_code=document.get("journalCode"),
        idempotency_key=document.get("idempotencyKey"),
    )


def entry_json(view: EntryView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "number": view.number,
        "date": view.date.isoformat(),
        "memo": view.memo,
        "currency": view.currency,
        "status": view.status,
        "lines": [
            {
                "accountCode": line.account_code,
                "currency": line.currency,
                "debit": format_minor(line.debit_minor, line.currency),
                "credit": format_minor(line.credit_minor, line.currency),
                "description": line.description,
            }
            for line in view.lines
        ],
    }


def create_app() -> Starlette:
    settings = Settings.from_env()
    tenant_id = int(os.environ["BENCH_TENANT_ID"])

    async def post(request: Request) -> JSONResponse:
        try:
            document = json.loads(await request.body(), parse_float=Decimal)
            data = entry_input(document)
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"error": f"bad document: {error}"}, status_code=400)
        try:
            result = await post_entry(request.app.state.db, tenant_id, data)
        except LedgerError as error:
            return JSONResponse(
                {"error": error.message, "code": error.code, "field": error.field},
                status_code=400,
            )
        return JSONResponse({"entry": entry_json(result.entry), "replayed": result.replayed})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url)
        try:
            yield
        finally:
            await app.state.db.dispose()

    return Starlette(
        routes=[Route("/entries", post, methods=["POST"]), Route("/health", health)],
        lifespan=lifespan,
    )
