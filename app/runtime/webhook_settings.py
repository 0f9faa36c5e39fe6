"""Settings of webhook delivery (docs/webhooks.md, "Retries")."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields

_ENV_PREFIX = "LEDGERQL_WEBHOOK_"


@dataclass(frozen=True)
class WebhookSettings:
    # How often the delivery worker looks for due deliveries (0: never).
    poll_seconds: float = 1.0
    # One attempt's whole budget (connect + send + answer), then it counts as failed.
    timeout_seconds: float = 10.0
    # Attempts of one delivery before it is marked FAILED (gave up).
    max_attempts: int = 16
    # Wait before attempt n+1: min(base * 2**(n-1), cap), times a jitter in [0.75, 1].
    # With the defaults, 16 attempts span about 7 hours.
    backoff_base_seconds: float = 10.0
    backoff_cap_seconds: float = 3600.0
    # Per pass: events turned into deliveries per endpoint, and deliveries attempted.
    batch_size: int = 100
    # Requests in flight at once within a pass.
    concurrency: int = 10
    # Deliver to loopback, private, link-local and other non-public addresses. Off by
    # default: a tenant's key must not make the server reach its own network (a cloud
    # metadata service, an admin port). On for local development and the tests.
    allow_private: bool = False

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool):
                continue
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{_ENV_PREFIX}{item.name.upper()} must be a finite number >= 0")
        for name in ("timeout_seconds", "max_attempts", "batch_size", "concurrency"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{_ENV_PREFIX}{name.upper()} must be greater than 0")

    @classmethod
    def from_env(cls) -> WebhookSettings:
        values: dict[str, float | int | bool] = {}
        for item in fields(cls):
            raw = os.environ.get(f"{_ENV_PREFIX}{item.name.upper()}")
            if raw is None:
                continue
            if item.type in (bool, "bool"):
                values[item.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            else:
                values[item.name] = int(raw) if item.type in (int, "int") else float(raw)
        return cls(**values)  # type: ignore[arg-type]
