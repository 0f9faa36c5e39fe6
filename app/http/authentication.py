"""Who is calling: the API key of a request, and the principal it authenticates as.

One reading of the key for every transport: ``Authorization: Bearer <key>`` or
``X-API-Key``, with ``X-Tenant`` choosing among the tenants a key may act for.
/graphql and every REST dialect authenticate through ``principal_of``; a dialect
with its own key check (app/rest/journal_entries.py) still reads the key here.
"""

from __future__ import annotations

from starlette.requests import Request

from app.http.rate_limits import guarded_authentication
from app.ledger.tenants import Principal, authenticate
from db.engine import Database


def api_key_of(request: Request) -> str | None:
    """The key of ``Authorization: Bearer``, else of ``X-API-Key`` (None without either)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


async def principal_of(request: Request, db: Database) -> Principal:
    """The caller, left on ``request.state.principal`` for the rate limits (its overrides).

    RATE_LIMITED, before the key is checked, for an address with too many failed checks.
    """
    key = api_key_of(request)
    tenant = request.headers.get("x-tenant") or None
    principal = await guarded_authentication(request, key, lambda: authenticate(db, key, tenant))
    request.state.principal = principal
    return principal
