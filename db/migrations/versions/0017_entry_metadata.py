"""Entry metadata as flat key/value rows, indexed for lookups

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:30:00.000000

One row per (tenant, key, typed value, entry) of an entry's flat metadata values
(app/ledger/metadata.py): its primary key is the index a lookup by key and value reads,
on both engines. Filled from the metadata entries already carry.
"""

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5000
# app/ledger/metadata.py's index_rows as of this revision: a migration keeps the rule it
# was written with (and storage may not import the core).
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_RESERVED = frozenset({"hledger", "bookeeping", "closing", "dialect"})


def _indexed(item: Any) -> str | None:
    if item is None:
        return "z"
    if isinstance(item, bool):
        return "b1" if item else "b0"
    if isinstance(item, str):
        return "s" + item
    if isinstance(item, int | Decimal):
        normal = Decimal(item).normalize()
        return "n" + format(normal, "f") if normal != 0 else "n0"
    return None


def index_rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, item in document.items():
        found = _indexed(item) if key not in _RESERVED and _KEY.fullmatch(key) else None
        if found is not None and len(found) <= 1026:
            rows.append((key, found))
    return rows


def upgrade() -> None:
    op.create_table(
        "entry_metadata",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1026), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "key", "value", "entry_id"),
    )
    # An entry's rows, replaced when its metadata changes (setEntryMetadata).
    op.create_index("ix_entry_metadata_entry", "entry_metadata", ["entry_id"])
    conn = op.get_bind()
    table = sa.table(
        "entry_metadata",
        sa.column("tenant_id"),
        sa.column("key"),
        sa.column("value"),
        sa.column("entry_id"),
    )
    after = 0
    while True:
        found = conn.execute(
            sa.text(
                "SELECT id, tenant_id, metadata_json FROM journal_entries "
                "WHERE metadata_json IS NOT NULL AND id > :after ORDER BY id LIMIT :limit"
            ),
            {"after": after, "limit": _CHUNK},
        ).all()
        if not found:
            break
        rows = []
        for entry_id, tenant_id, text in found:
            document = json.loads(text, parse_float=Decimal)
            if isinstance(document, dict):
                rows += [
                    {"tenant_id": tenant_id, "key": key, "value": value, "entry_id": entry_id}
                    for key, value in index_rows(document)
                ]
        if rows:
            conn.execute(table.insert(), rows)
        after = found[-1][0]


def downgrade() -> None:
    op.drop_index("ix_entry_metadata_entry", table_name="entry_metadata")
    op.drop_table("entry_metadata")
