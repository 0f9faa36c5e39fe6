"""Composition root: the Starlette application, its routes and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.events import live as live_events
from app.http import books, operations
from app.http.graphiql import STATIC_DIR, STATIC_PATH
from app.http.graphql_endpoint import GraphQLEndpoint
from app.http.live_events import routes as live_event_routes
from app.http.middleware import RequestContextMiddleware
from app.http.rate_limits import close_rate_limiter
from app.http.request_metrics import RequestMetricsMiddleware
from app.jobs import scheduler
from app.rest import bookeeping as bookeeping_rest
from app.rest import journal_entries as journal_entries_rest
from app.rest import openapi
from app.rest import pismo as pismo_rest
from app.rest.pennylane import attachments as pennylane_attachments
from app.rest.pennylane import entries as pennylane_entries
from app.rest.pennylane import reference as pennylane_reference
from app.runtime.settings import Settings
from db.engine import Database


def routes() -> list[BaseRoute]:
    return [
        Route("/graphql", GraphQLEndpoint(), methods=["GET", "POST"]),
        *live_event_routes,  # the WebSocket of GraphQL subscriptions, also on /graphql
        *operations.routes,  # /health, /ready, /metrics
        *books.routes,  # /books, the read-only viewer (its assets under /static/)
        *openapi.routes,
        *pismo_rest.routes,
        *journal_entries_rest.routes,
        *pennylane_entries.routes,
        *pennylane_attachments.routes,
        *pennylane_reference.routes,
        *bookeeping_rest.routes,
        Mount(
            STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static"
        ),  # GraphiQL's and /books' assets
    ]


def freeze_startup_objects() -> None:
    """Takes what import and startup made (modules, the schema) out of the collector's walks.

    They live as long as the process, yet a full collection walks every one of them:
    about 100 ms with the GIL held, after any large request (benchmarks/event_loop_stall.py),
    during which no other request is served. Frozen, a full collection walks only what
    requests made: 10-20 ms.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Starlette:
    """The application; pass ``db`` to share an existing Database (tests, benchmarks)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = db is None
        app.state.db = db or Database(settings.database_url)
        freeze_startup_objects()
        app.state.live_events = await live_events.start(app.state.db)
        work = scheduler.start(app.state.db, settings)
        try:
            yield
        finally:
            await work.stop()
            await app.state.live_events.stop()
            await close_rate_limiter(app)  # made on first use (app/http/rate_limits.py)
            if owned:
                await app.state.db.dispose()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        middleware=[
            # Outermost: it times the whole request and sees the 500s of the next one.
            Middleware(RequestMetricsMiddleware),
            Middleware(RequestContextMiddleware, cacheable_prefix=f"{STATIC_PATH}/"),
        ],
    )
    # The rate limiter's storage is made on first use, from these (app/http/rate_limits.py).
    app.state.rate_limit_settings = settings.rate_limits
    if db is not None:
        # Usable without running the lifespan (httpx.ASGITransport does not run it).
        app.state.db = db
    return app
