"""Configuration from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ledgerql.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            host=os.environ.get("LEDGERQL_HOST", cls.host),
            port=int(os.environ.get("LEDGERQL_PORT", cls.port)),
            log_level=os.environ.get("LEDGERQL_LOG_LEVEL", cls.log_level).lower(),
        )
