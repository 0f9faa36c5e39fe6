"""Operability routes: /health (liveness), /ready (readiness), /metrics (Prometheus).

None of them asks for an API key: a load balancer, an orchestrator's probes and
Prometheus call them. /metrics tells request rates per route and GraphQL
operation name, and /ready whether the database answers: operators should keep
these on an internal network (or block them at the proxy), not expose them publicly.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.runtime import metrics
from db.engine import Database
from db.migrate import alembic_config

logger = logging.getLogger("ledgerql.ops")

READY_TIMEOUT_S = 5.0


async def health(request: Request) -> JSONResponse:
    """Liveness: the process serves requests (asks nothing of the database)."""
    return JSONResponse({"status": "ok"})


@lru_cache(maxsize=1)
def migrations_head() -> str | None:
    """The head revision of the migration scripts shipped with this code (read once)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _database_revision(conn: Connection) -> str | None:
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class NotReady(Exception):
    pass


async def check_ready(db: Database) -> str:
    """The database's migration revision, if the database answers and is at the head."""
    try:
        await db.run_read(lambda conn: conn.execute(text("SELECT 1")).scalar())
    except Exception as error:
        raise NotReady(f"database unreachable: {type(error).__name__}") from error
    head = await asyncio.to_thread(migrations_head)
    try:
        revision = await db.run_read(_database_revision)
    except Exception as error:  # no alembic_version table: never migrated
        raise NotReady("database not migrated (no alembic_version table)") from error
    if revision is None or revision != head:
        raise NotReady(f"database at migration {revision}, this code needs {head}")
    return str(revision)


async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 when the database answers and its migrations are at the head, else 503."""
    try:
        revision = await asyncio.wait_for(check_ready(request.app.state.db), READY_TIMEOUT_S)
    except NotReady as error:
        return JSONResponse({"status": "not ready", "reason": str(error)}, status_code=503)
    except TimeoutError:
        reason = f"database did not answer within {READY_TIMEOUT_S:g} s"
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "migration": revision})


async def metrics_endpoint(request: Request) -> Response:
    """The Prometheus text exposition: this process's figures, or every worker's summed."""
    db = getattr(request.app.state, "db", None)
    if db is not None:
        metrics.sample_pools(db)  # fresh for the process that answers
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


routes: list[BaseRoute] = [
    Route("/health", health),
    Route("/ready", ready),
    Route("/metrics", metrics_endpoint),
]
