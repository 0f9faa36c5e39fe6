"""Migrations create exactly the tables the models describe, on both engines, and fill
what they add from what is already there."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from app.ledger import posting
from app.ledger.accounts import AccountInput, create_account
from db.engine import Database
from db.migrate import alembic_config, is_current, script_head, upgrade
from tests.conftest import fresh_postgres_database, make_tenant


async def test_migrated_schema_matches_models(db: Database) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.read_engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


@contextlib.contextmanager
def migrated(engine: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new database of ``engine`` at the head revision."""
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"
        upgrade(url)
        yield url
        return
    with fresh_postgres_database(f"ledgerql_{name}") as url:
        yield url


async def post_sales(
    url: str, sales: Sequence[tuple[dt.date, str, Mapping[str, Any] | None]]
) -> int:
    """A tenant with 1000 Cash and 4000 Sales and one sale per (date, amount, metadata)."""
    db = Database(url)
    try:
        tenant = await make_tenant(db, "EUR")
        for code, kind in (("1000", "ASSET"), ("4000", "INCOME")):
            await create_account(db, tenant.id, AccountInput(code=code, name=code, type=kind))
        for date, amount, metadata in sales:
            lines = [
                posting.LineInput(account_code="1000", debit=amount),
                posting.LineInput(account_code="4000", credit=amount),
            ]
            entry = posting.EntryInput(date=date, memo="m", lines=lines, metadata=metadata)
            await posting.post_entry(db, tenant.id, entry)
        return tenant.id
    finally:
        await db.dispose()


async def rows_of(url: str, query: str, tenant_id: int) -> list[tuple[Any, ...]]:
    """The rows of ``query`` (with a :t for the tenant), sorted."""
    db = Database(url)
    try:
        async with db.read() as session:
            found = await session.execute(text(query), {"t": tenant_id})
            return sorted(tuple(row) for row in found)
    finally:
        await db.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_balance_months_backfill_equals_what_postings_write(engine: str, tmp_path: Path) -> None:
    """Migration 0012 fills balance_months from balance_days for books posted before it:
    the same rows the write path keeps (posted at head, rebuilt from 0011)."""
    months = (
        "SELECT account_id, currency, month, debit_minor, credit_minor "
        "FROM balance_months WHERE tenant_id = :t"
    )
    with migrated(engine, tmp_path, "backfill") as url:
        # Every third day from November 2025: four months.
        sales = [
            (dt.date(2025, 11, 1) + dt.timedelta(days=3 * n), f"{n + 1}.00", None)
            for n in range(40)
        ]
        tenant_id = asyncio.run(post_sales(url, sales))
        written = asyncio.run(rows_of(url, months, tenant_id))
        assert len(written) == 2 * 4
        command.downgrade(alembic_config(url), "0011")
        upgrade(url)
        assert asyncio.run(rows_of(url, months, tenant_id)) == written


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_entry_metadata_keeps_its_rows_across_0019(engine: str, tmp_path: Path) -> None:
    """Migration 0019 drops entry_metadata's foreign keys (SQLite by rebuilding the table)
    and its downgrade puts them back: the index rows are the same either way, and a
    foreign key refuses an orphan row only before 0019."""
    index = "SELECT key, value, entry_id FROM entry_metadata WHERE tenant_id = :t"

    async def orphan_refused(url: str, tenant_id: int) -> bool:
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

    with migrated(engine, tmp_path, "meta_fk") as url:
        sales = [
            (dt.date(2025, 11, 1), "1.00", {"order_id": f"A-{n}", "paid": n == 1}) for n in range(3)
        ]
        tenant_id = asyncio.run(post_sales(url, sales))
        written = asyncio.run(rows_of(url, index, tenant_id))
        assert len(written) == 6
        assert not asyncio.run(orphan_refused(url, tenant_id))
        command.downgrade(alembic_config(url), "0018")
        assert asyncio.run(rows_of(url, index, tenant_id)) == written
        assert asyncio.run(orphan_refused(url, tenant_id))
        upgrade(url)
        assert asyncio.run(rows_of(url, index, tenant_id)) == written
        assert not asyncio.run(orphan_refused(url, tenant_id))


def test_the_scripts_head_read_from_their_text_is_alembics() -> None:
    """db.migrate.script_head (which spares a command line Alembic) finds Alembic's head."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None and script_head() == head


async def test_a_database_is_current_once_migrated(db: Database, tmp_path: Path) -> None:
    assert await is_current(db)  # the tests' database, migrated
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    fresh = Database(url)
    try:
        assert not await is_current(fresh)  # no version table yet
        await asyncio.to_thread(upgrade, url, "0021")
        assert not await is_current(fresh)  # behind the head
        await asyncio.to_thread(upgrade, url)
        assert await is_current(fresh)
    finally:
        await fresh.dispose()
