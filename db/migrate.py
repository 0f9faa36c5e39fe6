"""Apply Alembic migrations programmatically (no alembic.ini needed).

Alembic itself is imported when a migration runs: whether one is needed (``is_current``)
is told from the scripts' text and the database's version row, in milliseconds, so a
command line that starts on a migrated database does not pay for it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

    from db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# A script's ``revision = "0022"`` and ``down_revision = "0021"`` (annotated or not; a
# merge revises a tuple of them).
_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=(.*)$", re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would treat a '%' in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``.

    Runs its own event loop (the env uses the async engine), so call it before
    serving or from a worker thread, never from inside a running loop.
    """
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def script_head() -> str | None:
    """The head revision of the migration scripts, read from their text: the revision
    no other script revises. None unless there is exactly one (Alembic then decides)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if (revision := _REVISION.search(text)) is None:
            continue
        revisions.add(revision[1])
        if (down := _DOWN_REVISION.search(text)) is not None:
            revised.update(_QUOTED.findall(down[1]))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


async def is_current(db: Database) -> bool:
    """Whether the database is at the scripts' head: no migration to apply."""
    head = script_head()
    if head is None:
        return False
    try:
        async with db.read_engine.connect() as conn:
            found = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            versions = [row[0] for row in found]
    except Exception:  # no version table (never migrated), or no database: upgrade says
        return False
    return versions == [head]
