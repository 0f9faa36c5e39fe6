"""entry_metadata without foreign keys: a derived index the write path fills in bulk

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:10:00.000000

Each foreign key of ``entry_metadata`` is a per-row check that, on PostgreSQL, locks its
parent row (``FOR KEY SHARE``): five index rows an entry meant five locks of the one tenant
row and five of the entry just written, 40 of the 68 ms the COPY of 5,000 rows took
(docs/benchmarks.md, "Metadata lookups and posting with metadata"). The rows are written
only by the ledger, in the transaction that writes their entry (app/ledger/batch_store.py)
or replaces its metadata (app/ledger/metadata_changes.py), and entries are never deleted,
so the keys checked nothing the write path does not already guarantee.

PostgreSQL drops the two constraints; SQLite, which cannot drop a constraint, rebuilds
the table with the same rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEYS = (
    ("entry_metadata_entry_id_fkey", "entry_id", "journal_entries"),
    ("entry_metadata_tenant_id_fkey", "tenant_id", "tenants"),
)


def _rebuild(*, foreign_keys: bool) -> None:
    """SQLite: the table again, with or without its foreign keys, holding the same rows."""
    constraints = (
        [sa.ForeignKeyConstraint([column], [f"{parent}.id"]) for _, column, parent in _FOREIGN_KEYS]
        if foreign_keys
        else []
    )
    op.create_table(
        "entry_metadata_new",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1026), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        *constraints,
        sa.PrimaryKeyConstraint("tenant_id", "key", "value", "entry_id"),
    )
    op.execute(
        "INSERT INTO entry_metadata_new (tenant_id, key, value, entry_id) "
        "SELECT tenant_id, key, value, entry_id FROM entry_metadata"
    )
    op.drop_index("ix_entry_metadata_entry", table_name="entry_metadata")
    op.drop_table("entry_metadata")
    op.rename_table("entry_metadata_new", "entry_metadata")
    op.create_index("ix_entry_metadata_entry", "entry_metadata", ["entry_id"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(foreign_keys=False)
        return
    for name, _, _ in _FOREIGN_KEYS:
        op.drop_constraint(name, "entry_metadata", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(foreign_keys=True)
        return
    for name, column, parent in _FOREIGN_KEYS:
        op.create_foreign_key(name, "entry_metadata", parent, [column], ["id"])
