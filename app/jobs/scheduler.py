"""Background work of the server: due accruals and webhook deliveries, once across processes.

Every server process starts a ``LeasedJob`` per job, but only the process holding
the job's lease (app/jobs/leases.py) runs it. Each process asks for the lease every
third of its TTL: the holder renews it, the others take it over once the holder
has stopped renewing (it died, or lost its database) and the lease expired. A
holder that learns it lost the lease, or cannot renew it before it expires,
stops the job at once; one that stops cleanly gives the lease up, so another
process takes over within a third of the TTL.

A job's round that fails is logged and the next runs after the job's interval:
a database away for a while must stop neither the job nor the server.
Every process also refreshes its database pool gauges (app/runtime/metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.jobs import hold_expiry, leases, scheduled_entries
from app.runtime import metrics
from app.runtime.settings import Settings
from app.webhooks import worker as webhook_worker
from db.engine import Database

logger = logging.getLogger("ledgerql.background")

POST_DUE = "post_due"
HOLD_EXPIRY = "hold_expiry"
WEBHOOKS = "webhooks"
RELEASE_TIMEOUT_S = 5.0


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class LeasedJob:
    """Runs ``work`` every ``interval`` seconds while this process holds lease ``name``."""

    def __init__(
        self,
        db: Database,
        name: str,
        interval: float,
        work: Callable[[], Awaitable[object]],
        *,
        holder: str,
        ttl: float,
    ) -> None:
        self.db = db
        self.name = name
        self.interval = interval
        self.work = work
        self.holder = holder
        self.ttl = ttl
        self.running: asyncio.Task[None] | None = None  # the job's loop, while held
        self.supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name=f"ledgerql-lease-{name}"
        )

    @property
    def held(self) -> bool:
        return self.running is not None

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        held_until = 0.0  # loop time until which the last successful claim holds
        while True:
            asked = loop.time()
            try:
                holding = await leases.try_acquire(self.db, self.name, self.holder, self.ttl)
            except Exception:
                # Unknown whether the lease was renewed: keep the job only while the last
                # confirmed hold outlasts the next attempt, so it stops before expiry.
                holding = self.held and loop.time() + self.ttl / 3 < held_until
                logger.warning(
                    "could not renew the lease %r (%s)",
                    self.name,
                    "keeping the job for now" if holding else "stopping the job here",
                    exc_info=True,
                )
            else:
                if holding:
                    held_until = asked + self.ttl
            if holding and self.running is None:
                logger.info("acquired the lease %r as %s: running it here", self.name, self.holder)
                self.running = loop.create_task(self._run(), name=f"ledgerql-job-{self.name}")
            elif not holding and self.running is not None:
                logger.warning("lost the lease %r: stopping it here", self.name)
                running, self.running = self.running, None
                await _cancel(running)
            await asyncio.sleep(self.ttl / 3)

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except Exception:
                logger.exception(
                    "background job %r failed; next round in %s s", self.name, self.interval
                )
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stops the job and gives the lease up if held (another process takes it at once)."""
        await _cancel(self.supervisor)
        running, self.running = self.running, None
        await _cancel(running)
        if running is not None:
            try:
                await asyncio.wait_for(
                    leases.release(self.db, self.name, self.holder), RELEASE_TIMEOUT_S
                )
            except Exception:  # it expires on its own after the TTL
                logger.warning("could not release the lease %r", self.name, exc_info=True)


async def _sample_pools(db: Database, seconds: float) -> None:
    while True:
        try:
            metrics.sample_pools(db)
        except Exception:  # a gauge is not worth a crash
            logger.warning("sampling the database pools failed", exc_info=True)
        await asyncio.sleep(seconds)


class Background:
    def __init__(self, jobs: list[LeasedJob], sampler: asyncio.Task[None] | None) -> None:
        self.jobs = jobs
        self.sampler = sampler

    def job(self, name: str) -> LeasedJob | None:
        return next((job for job in self.jobs if job.name == name), None)

    async def stop(self) -> None:
        for job in self.jobs:
            await job.stop()
        await _cancel(self.sampler)
        metrics.process_exiting()


def start(db: Database, settings: Settings) -> Background:
    """The background work of this process (call in its event loop); ``stop()`` ends it."""
    holder = leases.new_holder_id()
    ttl = settings.lease_ttl_seconds
    jobs: list[LeasedJob] = []
    if settings.post_due_seconds > 0:  # 0: `ledgerql post-due` (cron) does it instead
        jobs.append(
            LeasedJob(
                db,
                POST_DUE,
                settings.post_due_seconds,
                lambda: scheduled_entries.post_due_round(db),
                holder=holder,
                ttl=ttl,
            )
        )
    if settings.hold_expiry_seconds > 0:
        jobs.append(
            LeasedJob(
                db,
                HOLD_EXPIRY,
                settings.hold_expiry_seconds,
                lambda: hold_expiry.expire_round(db),
                holder=holder,
                ttl=ttl,
            )
        )
    if settings.webhooks.poll_seconds > 0:
        jobs.append(
            LeasedJob(
                db,
                WEBHOOKS,
                settings.webhooks.poll_seconds,
                lambda: webhook_worker.deliver_due(db, settings.webhooks),
                holder=holder,
                ttl=ttl,
            )
        )
    sampler = None
    if settings.pool_metrics_seconds > 0:
        sampler = asyncio.get_running_loop().create_task(
            _sample_pools(db, settings.pool_metrics_seconds), name="ledgerql-pool-metrics"
        )
    return Background(jobs, sampler)
