"""Per-key rate limits: the overrides a key carries over the server's defaults.

Stored as JSON on the key's row (``api_keys.rate_limits``):
``{"bookeeping": {"write": {"minute": 10, "day": 600}}}``; what is absent is the
default (``RateLimitSettings.limits``). Enforcement is in ``app.http.rate_limits``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

from sqlmodel import col, select

from app.ledger.errors import BadInput, NotFound
from app.ledger.tenants import auth_cache
from app.runtime.settings import OPERATIONS, SURFACES, WINDOWS
from db.engine import Database
from db.tables import ApiKey

Limits = Mapping[tuple[str, str, str], int]  # (surface, operation, window) -> requests
# Larger than any window could count; keeps the JSON and Redis integers small.
MAX_LIMIT = 10**12


@lru_cache(maxsize=1024)
def parse_overrides(text: str | None) -> dict[tuple[str, str, str], int]:
    """The overrides of a key's ``rate_limits`` column (cached: one parse per distinct text)."""
    if not text:
        return {}
    stored = json.loads(text)
    return {
        (surface, operation, window): int(limit)
        for surface, operations in stored.items()
        for operation, windows in operations.items()
        for window, limit in windows.items()
    }


def dump_overrides(overrides: Mapping[tuple[str, str, str], int]) -> str | None:
    stored: dict[str, dict[str, dict[str, int]]] = {}
    for (surface, operation, window), limit in sorted(overrides.items()):
        stored.setdefault(surface, {}).setdefault(operation, {})[window] = limit
    return json.dumps(stored, sort_keys=True) if stored else None


def effective(defaults: Limits, overrides: str | None) -> dict[tuple[str, str, str], int]:
    return {**defaults, **parse_overrides(overrides)}


def check_surface(surface: str) -> str:
    if surface not in SURFACES:
        raise BadInput(f"surface must be one of {', '.join(SURFACES)}", field="surface")
    return surface


async def set_key_limits(
    db: Database,
    key_id: str,
    surface: str,
    changes: Mapping[tuple[str, str], int | None],
    *,
    reset: bool = False,
    ceiling: Limits | None = None,
) -> str | None:
    """Sets ``key_id``'s limits on ``surface``: (operation, window) -> limit, None the default.

    ``reset`` first drops the key's overrides on ``surface``. With ``ceiling`` (a key
    changing its own limits), no limit may exceed it: a leaked key cannot raise its own
    limits; an operator (the CLI) sets any. Effective at once in this process, within
    ``auth_cache_seconds`` in others (the principal carries the overrides).
    """
    check_surface(surface)
    for (operation, window), limit in changes.items():
        assert operation in OPERATIONS and window in WINDOWS, (operation, window)
        field = f"{operation}Per{window.capitalize()}"
        if limit is None:
            continue
        if not 1 <= limit <= MAX_LIMIT:
            raise BadInput(f"{field} must be from 1 to {MAX_LIMIT}", field=field)
        if ceiling is not None and limit > ceiling[(surface, operation, window)]:
            raise BadInput(
                f"a key may only lower its own limits: {field} at most "
                f"{ceiling[(surface, operation, window)]} on {surface}",
                field=field,
            )
    async with db.write() as session:
        key = await session.scalar(select(ApiKey).where(col(ApiKey.key_id) == key_id))
        if key is None:
            raise NotFound(f"key {key_id!r} does not exist", field="key_id")
        overrides = dict(parse_overrides(key.rate_limits))
        if reset:
            overrides = {k: v for k, v in overrides.items() if k[0] != surface}
        for (operation, window), limit in changes.items():
            if limit is None:
                overrides.pop((surface, operation, window), None)
            else:
                overrides[(surface, operation, window)] = limit
        key.rate_limits = dump_overrides(overrides)
        stored = key.rate_limits
    auth_cache(db).drop(lambda principal: principal.key_id == key_id)
    return stored


async def key_overrides(db: Database, key_id: str) -> str | None:
    async with db.read() as session:
        found = await session.execute(
            select(col(ApiKey.rate_limits)).where(col(ApiKey.key_id) == key_id)
        )
        row = found.first()
    if row is None:
        raise NotFound(f"key {key_id!r} does not exist", field="key_id")
    return row[0]
