"""Migrations create exactly the tables the models describe, on both engines, and fill
what they add from what is already there."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from app.ledger import posting
from app.ledger.accounts import AccountInput, create_account
from db.engine import Database
from db.migrate import alembic_config, upgrade
from tests.conftest import fresh_postgres_database, make_tenant


async def test_migrated_schema_matches_models(db: Database) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.read_engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_balance_months_backfill_equals_what_postings_write(engine: str, tmp_path: Path) -> None:
    """Migration 0012 fills balance_months from balance_days for books posted before it:
    the same rows the write path keeps (posted at head, rebuilt from 0011)."""
    with contextlib.ExitStack() as stack:
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'backfill.db'}"
            upgrade(url)
        else:
            url = stack.enter_context(fresh_postgres_database("ledgerql_backfill"))

        async def post() -> int:
            db = Database(url)
            try:
                tenant = await make_tenant(db, "EUR")
                for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
                    await create_account(
                        db, tenant.id, AccountInput(code=code, name=code, type=kind)
                    )
                for n in range(40):  # every third day from November 2025: four months
                    amount = f"{n + 1}.00"
                    await posting.post_entry(
                        db,
                        tenant.id,
                        posting.EntryInput(
                            date=dt.date(2025, 11, 1) + dt.timedelta(days=3 * n),
                            memo="m",
                            lines=[
                                posting.LineInput(account_code="1000", debit=amount),
                                posting.LineInput(account_code="4000", credit=amount),
                            ],
                        ),
                    )
                return tenant.id
            finally:
                await db.dispose()

        async def months(tenant_id: int) -> list[tuple[Any, ...]]:
            db = Database(url)
            try:
                async with db.read() as session:
                    rows = await session.execute(
                        text(
                            "SELECT account_id, currency, month, debit_minor, credit_minor "
                            "FROM balance_months WHERE tenant_id = :t"
                        ),
                        {"t": tenant_id},
                    )
                    return sorted(tuple(row) for row in rows)
            finally:
                await db.dispose()

        tenant_id = asyncio.run(post())
        written = asyncio.run(months(tenant_id))
        assert len(written) == 2 * 4
        command.downgrade(alembic_config(url), "0011")
        upgrade(url)
        assert asyncio.run(months(tenant_id)) == written


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_entry_metadata_keeps_its_rows_across_0019(engine: str, tmp_path: Path) -> None:
    """Migration 0019 drops entry_metadata's foreign keys (SQLite by rebuilding the table)
    and its downgrade puts them back: the index rows are the same either way, and a
    foreign key refuses an orphan row only before 0019."""
    with contextlib.ExitStack() as stack:
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'metadata.db'}"
            upgrade(url)
        else:
            url = stack.enter_context(fresh_postgres_database("ledgerql_meta_fk"))

        async def post() -> int:
            db = Database(url)
            try:
                tenant = await make_tenant(db, "EUR")
                for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
                    await create_account(
                        db, tenant.id, AccountInput(code=code, name=code, type=kind)
                    )
                for n in range(3):
                    await posting.post_entry(
                        db,
                        tenant.id,
                        posting.EntryInput(
                            date=dt.date(2025, 11, 1),
                            memo="m",
                            lines=[
                                posting.LineInput(account_code="1000", debit="1.00"),
                                posting.LineInput(account_code="4000", credit="1.00"),
                            ],
                            metadata={"order_id": f"A-{n}", "paid": n == 1},
                        ),
                    )
                return tenant.id
            finally:
                await db.dispose()

        async def rows(tenant_id: int) -> list[tuple[Any, ...]]:
            db = Database(url)
            try:
                async with db.read() as session:
                    found = await session.execute(
                        text(
                            "SELECT key, value, entry_id FROM entry_metadata WHERE tenant_id = :t"
                        ),
                        {"t": tenant_id},
                    )
                    return sorted(tuple(row) for row in found)
            finally:
                await db.dispose()

        async def orphan_refused(tenant_id: int) -> bool:
            db = Database(url)
            try:
                async with db.write_engine.begin() as connection:
                    await connection.execute(
                        text(
                            "INSERT INTO entry_metadata (tenant_id, key, value, entry_id) "
                            "VALUES (:t, 'k', 'sv', 999999999)"
                        ),
                        {"t": tenant_id},
                    )
                    await connection.rollback()
                return False
            except Exception as error:  # the driver's IntegrityError, wrapped by SQLAlchemy
                assert "foreign" in str(error).lower()
                return True
            finally:
                await db.dispose()

        tenant_id = asyncio.run(post())
        written = asyncio.run(rows(tenant_id))
        assert len(written) == 6
        assert not asyncio.run(orphan_refused(tenant_id))
        command.downgrade(alembic_config(url), "0018")
        assert asyncio.run(rows(tenant_id)) == written
        assert asyncio.run(orphan_refused(tenant_id))
        upgrade(url)
        assert asyncio.run(rows(tenant_id)) == written
        assert not asyncio.run(orphan_refused(tenant_id))
