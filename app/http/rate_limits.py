"""Rate limits per API key on every surface, and the failed-authentication throttle.

The REST dialects and /graphql call ``consume`` once per request after
authentication; the names and signatures of ``Usage``, ``Operation``, ``Surface``
and ``consume`` are relied on by them. See docs/design.md, "Rate limits".

Counting is the ``limits`` library's fixed-window strategy over its storage: one
counter per key, surface, operation and window (a minute, a day), so the usage a
response reports is exact and costs one atomic increment per window (a moving
window would keep one timestamp per request: ten million per key and day at the
default ceiling). A window starts at its first request and lasts its length; the
price is that a client may send up to twice a limit across a window boundary.

The storage (memory, or Redis shared by several processes) is made once per
application, on first use, and belongs to the event loop that first used it:
a request running on the second loop (app/http/second_loop.py) counts on that loop.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar, cast

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from starlette.applications import Starlette
from starlette.requests import Request

from app.ledger.errors import RateLimited, Unauthenticated
from app.ledger.key_rate_limits import effective
from app.ledger.tenants import Principal
from app.runtime.metrics import RATE_LIMITED
from app.runtime.settings import RateLimitSettings, Settings

Operation = Literal["read", "write"]
Surface = Literal["graphql", "pismo", "journal_entries", "pennylane", "bookeeping"]
T = TypeVar("T")
MINUTE, DAY = 60, 86_400


@dataclass(frozen=True)
class Usage:
    """One request's standing against its key's limits, after counting it."""

    allowed: bool
    operation: Operation
    minute_limit: int
    day_limit: int
    minute_used: int
    day_used: int
    retry_after: int  # seconds until a refused request may be sent again (0 if allowed)
    reset_at: int  # Unix time at which the minute window resets


class TooManyRequests(RateLimited):
    """A refused request: RATE_LIMITED, to be sent again after ``retry_after`` seconds.

    ``usage`` is None for the failed-authentication throttle (no key is known).
    """

    def __init__(self, message: str, retry_after: int, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.usage = usage


@lru_cache(maxsize=64)
def _item(amount: int, window: str) -> RateLimitItem:
    return RateLimitItemPerMinute(amount) if window == "minute" else RateLimitItemPerDay(amount)


def _seconds_until(reset: float) -> int:
    return max(1, math.ceil(reset - time.time()))


def storage_url(url: str) -> str:
    """``url`` for the library's async storages: ``redis://`` is ``async+redis://``."""
    return url if url.startswith("async+") else f"async+{url}"


class RateLimiter:
    """The counters of one application: its storage and the limits to apply."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        url = storage_url(settings.storage)
        options: dict[str, Any] = {}
        if not url.startswith("async+memory"):
            options["key_prefix"] = settings.key_prefix
        self.storage = cast(Storage, storage_from_string(url, **options))  # async+: an aio one
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.auth_item = _item(settings.auth_failures_per_minute, "minute")

    def bind(self) -> None:
        """Makes the running loop the storage's, unless one already is."""
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.get_running_loop()

    async def _on_own_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        """``make()`` on the storage's loop: its locks and connections belong to it."""
        self.bind()
        assert self.loop is not None
        if asyncio.get_running_loop() is self.loop:
            return await make()

        async def run() -> T:
            return await make()

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return await asyncio.wrap_future(future)

    async def consume(
        self, key_id: str, overrides: str | None, surface: Surface, operation: Operation
    ) -> Usage:
        limits = effective(self.settings.limits, overrides)
        minute_limit = limits[(surface, operation, "minute")]
        day_limit = limits[(surface, operation, "day")]

        async def count(window: str, seconds: int) -> tuple[int, float]:
            # The fixed-window strategy's own increment, on a key without the limit in it
            # (the library's has it): a changed limit keeps the window's count.
            key = f"{surface}/{operation}/{window}/{key_id}"
            used = await self.storage.incr(key, seconds)
            return used, await self.storage.get_expiry(key)

        async def counted() -> Usage:
            minute_used, minute_reset = await count("minute", MINUTE)
            if minute_used > minute_limit:  # refused: not counted against the day
                day_used = await self.storage.get(f"{surface}/{operation}/day/{key_id}")
                day_reset = 0.0
            else:
                day_used, day_reset = await count("day", DAY)
            allowed = minute_used <= minute_limit and day_used <= day_limit
            retry_after = 0
            if not allowed:
                retry_after = _seconds_until(
                    minute_reset if minute_used > minute_limit else day_reset
                )
            return Usage(
                allowed=allowed,
                operation=operation,
                minute_limit=minute_limit,
                day_limit=day_limit,
                minute_used=min(minute_used, minute_limit),
                day_used=min(day_used, day_limit),
                retry_after=retry_after,
                reset_at=math.ceil(minute_reset),
            )

        return await self._on_own_loop(counted)

    async def auth_retry_after(self, host: str) -> int:
        """Seconds ``host`` must wait before its key is checked again (0: check it now)."""

        async def check() -> int:
            if await self.limiter.test(self.auth_item, "auth", host):
                return 0
            stats = await self.limiter.get_window_stats(self.auth_item, "auth", host)
            return _seconds_until(stats.reset_time)

        return await self._on_own_loop(check)

    async def auth_failed(self, host: str) -> None:
        async def count() -> None:
            await self.limiter.hit(self.auth_item, "auth", host)

        await self._on_own_loop(count)

    async def close(self) -> None:
        """Closes the storage's connections (Redis); memory needs nothing."""
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            result = pool.disconnect()
            if asyncio.iscoroutine(result):
                await result


_creating = threading.Lock()  # the second loop's thread may ask at the same time


def rate_limiter(app: Starlette) -> RateLimiter:
    """The application's RateLimiter, made on first use (tests skip the lifespan)."""
    state = app.state
    found: RateLimiter | None = getattr(state, "rate_limiter", None)
    if found is None:
        with _creating:
            found = getattr(state, "rate_limiter", None)
            if found is None:
                settings = getattr(state, "rate_limit_settings", None)
                found = RateLimiter(settings or Settings.from_env().rate_limits)
                state.rate_limiter = found
    return found


async def close_rate_limiter(app: Starlette) -> None:
    found: RateLimiter | None = getattr(app.state, "rate_limiter", None)
    if found is not None:
        await found.close()
        app.state.rate_limiter = None


async def consume(request: Request, key_id: str, surface: Surface, operation: Operation) -> Usage:
    """Counts one request of ``key_id`` on ``surface`` and says whether it is allowed.

    The key's own limits come from the principal the authentication left on the
    request (``request.state.principal``); without one, the defaults apply.
    """
    principal = getattr(request.state, "principal", None)
    overrides = (
        principal.rate_limits
        if isinstance(principal, Principal) and principal.key_id == key_id
        else None
    )
    return await rate_limiter(request.app).consume(key_id, overrides, surface, operation)


async def enforce(request: Request, key_id: str, surface: Surface, operation: Operation) -> Usage:
    """``consume``, raising TooManyRequests when the request is refused."""
    usage = await consume(request, key_id, surface, operation)
    if not usage.allowed:
        RATE_LIMITED.labels(surface=surface).inc()
        raise TooManyRequests(
            f"rate limit exceeded for this key ({usage.operation}s on {surface}): "
            f"retry in {usage.retry_after} seconds",
            usage.retry_after,
            usage,
        )
    return usage


# ---------------------------------------------------------------- failed authentication


def client_host(request: Request) -> str:
    """The peer's address. Behind a proxy it is the proxy's: X-Forwarded-For is not trusted."""
    return request.client.host if request.client else "unknown"


async def guarded_authentication(
    request: Request, key: str | None, check: Callable[[], Awaitable[T]]
) -> T:
    """``check()`` (a key check), unless the client's address has failed too many lately.

    Past ``auth_failures_per_minute`` failed key checks in a minute, the address gets
    RATE_LIMITED before its key is even looked at. A request without a key is not a
    key check and is not counted.
    """
    limiter = rate_limiter(request.app)
    host = client_host(request)
    if key:
        wait = await limiter.auth_retry_after(host)
        if wait:
            RATE_LIMITED.labels(surface="auth").inc()
            raise TooManyRequests(
                f"too many failed authentications from this address: retry in {wait} seconds",
                wait,
            )
    try:
        return await check()
    except Unauthenticated:
        if key:
            await limiter.auth_failed(host)
        raise


# ---------------------------------------------------------------- what a request is


@lru_cache(maxsize=512)
def graphql_operation(query: str | None) -> Operation:
    """``write`` when the document defines a mutation, else ``read``.

    Parsed once per distinct document (clients repeat theirs); an unparsable one is
    a read, refused by execution right after.
    """
    if not query:
        return "read"
    try:
        document = parse(query, no_location=True, max_tokens=Settings().limits.max_tokens)
    except GraphQLError:
        return "read"
    mutation = any(
        isinstance(node, OperationDefinitionNode) and node.operation is OperationType.MUTATION
        for node in document.definitions
    )
    return "write" if mutation else "read"


def rest_operation(request: Request) -> Operation:
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


# ---------------------------------------------------------------- headers


def bookeeping_headers(usage: Usage) -> dict[str, str]:
    """Bookeeping's five ``x-rate-limiter-*`` headers, sent on every response."""
    return {
        "x-rate-limiter-daily-limit": str(usage.day_limit),
        "x-rate-limiter-minutely-limit": str(usage.minute_limit),
        "x-rate-limiter-daily-usage": str(usage.day_used),
        "x-rate-limiter-minutely-usage": str(usage.minute_used),
        "x-rate-limiter-operation-type": usage.operation,
    }


def pennylane_headers(usage: Usage) -> dict[str, str]:
    """Pennylane's ``ratelimit-*`` headers: the minute window, ``reset`` a Unix time."""
    remaining = min(usage.minute_limit - usage.minute_used, usage.day_limit - usage.day_used)
    reset = usage.reset_at if usage.allowed else math.ceil(time.time()) + usage.retry_after
    return {
        "ratelimit-limit": str(usage.minute_limit),
        "ratelimit-remaining": str(max(0, remaining)),
        "ratelimit-reset": str(reset),
    }
