"""Alembic environment: runs migrations through the async engine of the URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import db.attachment_tables  # registers the attachments on SQLModel.metadata
import db.bookeeping_tables  # registers the Bookeeping records on SQLModel.metadata
import db.fx_tables  # registers the exchange rates on SQLModel.metadata
import db.lease_tables  # registers the background-job leases on SQLModel.metadata
import db.pismo_tables  # registers the Pismo tables on SQLModel.metadata
import db.tables  # registers the core tables on SQLModel.metadata
import db.webhook_tables  # noqa: F401  (registers the webhook subscribers and deliveries)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
