"""Configuration from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields

from app.runtime.webhook_settings import WebhookSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ledgerql.db"


@dataclass(frozen=True)
class Limits:
    """What one GraphQL document may ask for (see docs/design.md, "Bounding one request").

    The defaults refuse nothing a real client sends: GraphiQL's introspection query is
    about 1,000 tokens deep 13, a page of 500 accounts with their balances costs about
    2,000; batches travel in variables, which no document limit counts.
    """

    max_tokens: int = 10_000  # LEDGERQL_MAX_TOKENS: bounds parsing and validation
    max_aliases: int = 100  # LEDGERQL_MAX_ALIASES: bounds the root fields, hence the mutations
    max_depth: int = 20  # LEDGERQL_MAX_DEPTH
    max_cost: int = 25_000  # LEDGERQL_MAX_COST: estimated values resolved (see document_limits.py)

    def __post_init__(self) -> None:
        for item in fields(self):
            if getattr(self, item.name) < 1:
                raise ValueError(f"{ENV_OF_LIMIT[item.name]} must be a positive integer")

    @classmethod
    def from_env(cls) -> Limits:
        values = {
            name: int(os.environ[var]) for name, var in ENV_OF_LIMIT.items() if var in os.environ
        }
        return cls(**values)


ENV_OF_LIMIT = {
    "max_tokens": "LEDGERQL_MAX_TOKENS",
    "max_aliases": "LEDGERQL_MAX_ALIASES",
    "max_depth": "LEDGERQL_MAX_DEPTH",
    "max_cost": "LEDGERQL_MAX_COST",
}


DATABASE_STORAGE = "database"
DIRECTORY_PREFIX = "dir:"


@dataclass(frozen=True)
class AttachmentSettings:
    """Where uploaded attachments live and how big one may be (docs/design.md, "Attachments").

    ``storage``: ``"database"`` (the bytes in table attachment_blobs) or ``"dir:PATH"``
    (files named by their SHA-256 under PATH; only metadata in the database).
    """

    storage: str = DATABASE_STORAGE  # LEDGERQL_ATTACHMENT_STORAGE
    max_bytes: int = 10 * 1024 * 1024  # LEDGERQL_ATTACHMENT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.storage != DATABASE_STORAGE and not (
            self.storage.startswith(DIRECTORY_PREFIX) and self.storage[len(DIRECTORY_PREFIX) :]
        ):
            raise ValueError(
                'LEDGERQL_ATTACHMENT_STORAGE must be "database" or "dir:" followed by a directory'
            )
        # The database storage reads an attachment whole: 1 GiB bounds that memory.
        if not 1 <= self.max_bytes <= 1 << 30:
            raise ValueError("LEDGERQL_ATTACHMENT_MAX_BYTES must be an integer from 1 to 2^30")

    @property
    def directory(self) -> str | None:
        """The directory of the ``dir:`` backend; None for the database backend."""
        if self.storage == DATABASE_STORAGE:
            return None
        return self.storage[len(DIRECTORY_PREFIX) :]

    @classmethod
    def from_env(cls) -> AttachmentSettings:
        return cls(
            storage=os.environ.get("LEDGERQL_ATTACHMENT_STORAGE", cls.storage),
            max_bytes=int(os.environ.get("LEDGERQL_ATTACHMENT_MAX_BYTES", cls.max_bytes)),
        )


SURFACES = ("graphql", "pismo", "journal_entries", "pennylane", "bookeeping")
OPERATIONS = ("read", "write")
WINDOWS = ("minute", "day")
# Bookeeping's documented numbers, which its clients expect. Everywhere else a ceiling
# against a runaway client, not shaping: 2,000/s is above what one server process serves
# (2-3k trivial GraphQL requests/s), so the benchmarks (post_entry: 1,000 single-entry
# requests/s; post_batch: ~10 requests/s of 1,000 entries) never meet it.
BOOKEEPING_LIMITS = {"write": {"minute": 25, "day": 1_500}, "read": {"minute": 100, "day": 6_000}}
CEILING_LIMITS = {"minute": 120_000, "day": 10_000_000}


def default_rate_limits() -> dict[tuple[str, str, str], int]:
    """(surface, operation, window) -> requests allowed per window, per key."""
    return {
        (surface, operation, window): (
            BOOKEEPING_LIMITS[operation][window]
            if surface == "bookeeping"
            else CEILING_LIMITS[window]
        )
        for surface in SURFACES
        for operation in OPERATIONS
        for window in WINDOWS
    }


def parse_rate_limits(text: str) -> dict[tuple[str, str, str], int]:
    """LEDGERQL_RATE_LIMITS over the defaults: ``SURFACE.OPERATION=N/WINDOW``, comma-separated.

    SURFACE or OPERATION may be ``*`` (all of them); later items win, e.g.
    ``*.write=600/minute,bookeeping.write=10/minute,bookeeping.read=1000/day``.
    """
    limits = default_rate_limits()
    for item in filter(None, (part.strip() for part in text.split(","))):
        target, _, amount = item.partition("=")
        surface, _, operation = target.strip().partition(".")
        count, _, window = amount.strip().partition("/")
        surfaces = SURFACES if surface == "*" else (surface,)
        operations = OPERATIONS if operation == "*" else (operation,)
        if (
            not set(surfaces) <= set(SURFACES)
            or not set(operations) <= set(OPERATIONS)
            or window not in WINDOWS
            or not count.isdigit()
            or int(count) < 1
        ):
            raise ValueError(
                f"LEDGERQL_RATE_LIMITS: {item!r} is not SURFACE.OPERATION=N/minute or N/day "
                f"(SURFACE one of {', '.join(SURFACES)} or *; OPERATION read, write or *; N >= 1)"
            )
        for s in surfaces:
            for o in operations:
                limits[(s, o, window)] = int(count)
    return limits


@dataclass(frozen=True)
class RateLimitSettings:
    """Per-key request limits and the failed-authentication throttle (docs/design.md).

    ``storage``: a URL of the ``limits`` library: ``memory://`` (this process only) or
    ``redis://HOST:PORT/DB`` (shared by every process that names it).
    """

    storage: str = "memory://"  # LEDGERQL_RATE_LIMIT_STORAGE
    key_prefix: str = "ledgerql"  # LEDGERQL_RATE_LIMIT_PREFIX: Redis keys' prefix
    limits: dict[tuple[str, str, str], int] = field(default_factory=default_rate_limits)
    # LEDGERQL_AUTH_FAILURES_PER_MINUTE: failed key checks one client address may make in
    # a minute before its further attempts are refused unchecked.
    auth_failures_per_minute: int = 30

    def __post_init__(self) -> None:
        if self.auth_failures_per_minute < 1:
            raise ValueError("LEDGERQL_AUTH_FAILURES_PER_MINUTE must be a positive integer")

    @classmethod
    def from_env(cls) -> RateLimitSettings:
        return cls(
            storage=os.environ.get("LEDGERQL_RATE_LIMIT_STORAGE", cls.storage),
            key_prefix=os.environ.get("LEDGERQL_RATE_LIMIT_PREFIX", cls.key_prefix),
            limits=parse_rate_limits(os.environ.get("LEDGERQL_RATE_LIMITS", "")),
            auth_failures_per_minute=int(
                os.environ.get("LEDGERQL_AUTH_FAILURES_PER_MINUTE", cls.auth_failures_per_minute)
            ),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # How long a verified API key is trusted without asking the database again:
    # the bound on how late another process sees a revocation (0 turns the cache off).
    auth_cache_seconds: float = 2.0
    limits: Limits = field(default_factory=Limits)
    # How often the server posts the scheduled entries that are due (0: never; then
    # `ledgerql post-due` does it).
    post_due_seconds: float = 60.0
    # How often the server releases the holds past their expiresAt (0: never): a hold
    # expires at most this late (docs/holds.md).
    hold_expiry_seconds: float = 5.0
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # How long a process's hold on a background job (post_due, webhook delivery) lasts
    # unrenewed: it renews every third of it, and another process takes the job over
    # at most this long (plus a third) after the holder died (docs/operations.md).
    lease_ttl_seconds: float = 30.0
    # How often each process refreshes its database pool gauges for /metrics.
    pool_metrics_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.auth_cache_seconds) or self.auth_cache_seconds < 0:
            raise ValueError("LEDGERQL_AUTH_CACHE_SECONDS must be a finite number >= 0")
        if not math.isfinite(self.post_due_seconds) or self.post_due_seconds < 0:
            raise ValueError("LEDGERQL_POST_DUE_SECONDS must be a finite number >= 0")
        if not math.isfinite(self.hold_expiry_seconds) or self.hold_expiry_seconds < 0:
            raise ValueError("LEDGERQL_HOLD_EXPIRY_SECONDS must be a finite number >= 0")
        if not math.isfinite(self.lease_ttl_seconds) or self.lease_ttl_seconds <= 0:
            raise ValueError("LEDGERQL_LEASE_TTL_SECONDS must be a finite number > 0")
        if not math.isfinite(self.pool_metrics_seconds) or self.pool_metrics_seconds < 0:
            raise ValueError("LEDGERQL_POOL_METRICS_SECONDS must be a finite number >= 0")

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            host=os.environ.get("LEDGERQL_HOST", cls.host),
            port=int(os.environ.get("LEDGERQL_PORT", cls.port)),
            log_level=os.environ.get("LEDGERQL_LOG_LEVEL", cls.log_level).lower(),
            auth_cache_seconds=float(
                os.environ.get("LEDGERQL_AUTH_CACHE_SECONDS", cls.auth_cache_seconds)
            ),
            limits=Limits.from_env(),
            post_due_seconds=float(
                os.environ.get("LEDGERQL_POST_DUE_SECONDS", cls.post_due_seconds)
            ),
            hold_expiry_seconds=float(
                os.environ.get("LEDGERQL_HOLD_EXPIRY_SECONDS", cls.hold_expiry_seconds)
            ),
            attachments=AttachmentSettings.from_env(),
            rate_limits=RateLimitSettings.from_env(),
            webhooks=WebhookSettings.from_env(),
            lease_ttl_seconds=float(
                os.environ.get("LEDGERQL_LEASE_TTL_SECONDS", cls.lease_ttl_seconds)
            ),
            pool_metrics_seconds=float(
                os.environ.get("LEDGERQL_POOL_METRICS_SECONDS", cls.pool_metrics_seconds)
            ),
        )
