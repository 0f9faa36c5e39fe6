"""Prometheus metrics of the process, served at /metrics (app/http/operations.py).

prometheus-client keeps the figures. With several worker processes
(``ledgerql serve --workers N``) PROMETHEUS_MULTIPROC_DIR is set before the
workers start: each writes its figures to files there and /metrics sums them
over the workers (``MultiProcessCollector``). The mode is decided when
prometheus_client is first imported, so ``MULTIPROCESS`` is read from it, not
from the environment now.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from db.engine import Database

MULTIPROCESS = values.ValueClass is not values.MutexValue

REQUEST_SECONDS = Histogram(
    "ledgerql_request_duration_seconds",
    "HTTP requests by route template, method, status and GraphQL operation name "
    "(its _count is the number of requests).",
    ["route", "method", "status", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POSTED_ENTRIES = Counter(
    "ledgerql_posted_entries", "Journal entries posted (scheduled ones when they post)."
)
POSTING_BATCH_ENTRIES = Histogram(
    "ledgerql_posting_batch_entries",
    "Entries written per tenant per posting transaction (group commit batches them).",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
GROUP_COMMIT_QUEUE = Gauge(
    "ledgerql_group_commit_queue_depth",
    "Posting requests waiting for the group commit.",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "ledgerql_rate_limited",
    "Requests refused with RATE_LIMITED, by surface (auth: too many failed key checks).",
    ["surface"],
)
DB_POOL_CHECKED_OUT = Gauge(
    "ledgerql_db_pool_checked_out",
    "Database connections in use, by engine (write, read).",
    ["engine"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "ledgerql_db_pool_size",
    "Database connections the pool keeps, by engine (write, read).",
    ["engine"],
    multiprocess_mode="livesum",
)
WEBHOOK_DELIVERIES = Counter(
    "ledgerql_webhook_deliveries",
    "Webhook delivery attempts by outcome (succeeded, failed, timeout, gave_up).",
    ["outcome"],
)
WEBHOOK_LAG_SECONDS = Histogram(
    "ledgerql_webhook_delivery_lag_seconds",
    "From an event's creation to its successful delivery.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


def sample_pools(db: Database) -> None:
    """Sets the pool gauges from ``db``'s engines (cheap: counters SQLAlchemy keeps)."""
    engines = {"write": db.write_engine}
    if db.read_engine is not db.write_engine:
        engines["read"] = db.read_engine
    for name, engine in engines.items():
        pool = engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if callable(checked_out):
            DB_POOL_CHECKED_OUT.labels(engine=name).set(checked_out())
        if callable(size):
            DB_POOL_SIZE.labels(engine=name).set(size())


def exposition() -> tuple[bytes, str]:
    """The text of /metrics and its content type: this process's, or all workers' summed."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exiting() -> None:
    """Drops this worker's live gauges (queue depth, pools) from the multiprocess sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
