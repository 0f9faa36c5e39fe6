"""Configuration from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ledgerql.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # How long a verified API key is trusted without asking the database again:
    # the bound on how late another process sees a revocation (0 turns the cache off).
    auth_cache_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.auth_cache_seconds) or self.auth_cache_seconds < 0:
            raise ValueError("LEDGERQL_AUTH_CACHE_SECONDS must be a finite number >= 0")

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
        )
