"""The tenants' hash chains: every event a link (docs/audit.md)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:30:00.000000

Adds ``events.link`` and ``events.chain_hash`` (the link's number and hash in its tenant's
chain) and the head of each chain on ``tenants``, then chains the events already written,
tenant by tenant in the order they were written (``id``), as the write path would have.
"""

import datetime as dt
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5000
_GENESIS = "0" * 64
# app/ledger/audit_chain.py's encoding as of this revision: a migration keeps the rule it
# was written with (and storage may not import the core).
_VERSION = b"ledgerql-chain-1\n"


def _moment(value: object) -> str:
    if isinstance(value, str):
        value = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f")
    assert isinstance(value, dt.datetime)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _next(previous: str, tenant_id: int, link: int, row: sa.Row) -> str:  # type: ignore[type-arg]
    entry = "" if row.entry_id is None else str(row.entry_id)
    head = f"{tenant_id}\n{link}\n{row.type}\n{entry}\n{_moment(row.created_at)}\n"
    data = _VERSION + (head + row.payload_json).encode()
    return hashlib.sha256(bytes.fromhex(previous) + data).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("chain_link", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("chain_hash", sa.String(length=64), nullable=False, server_default=_GENESIS)
        )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("link", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    tenants = [
        int(t) for t in conn.execute(sa.text("SELECT id FROM tenants ORDER BY id")).scalars()
    ]
    for tenant_id in tenants:
        link, current, after = 0, _GENESIS, 0
        while True:
            rows = conn.execute(
                sa.text(
                    "SELECT id, type, entry_id, payload_json, created_at FROM events "
                    "WHERE tenant_id = :t AND id > :after ORDER BY id LIMIT :n"
                ),
                {"t": tenant_id, "after": after, "n": _CHUNK},
            ).all()
            if not rows:
                break
            updates = []
            for row in rows:
                link += 1
                current = _next(current, tenant_id, link, row)
                updates.append({"id": row.id, "link": link, "hash": current})
            conn.execute(
                sa.text("UPDATE events SET link = :link, chain_hash = :hash WHERE id = :id"),
                updates,
            )
            after = rows[-1].id
        conn.execute(
            sa.text("UPDATE tenants SET chain_link = :link, chain_hash = :hash WHERE id = :t"),
            {"link": link, "hash": current, "t": tenant_id},
        )
    op.create_index("ix_events_chain", "events", ["tenant_id", "link"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_events_chain", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("chain_hash")
        batch.drop_column("link")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("chain_hash")
        batch.drop_column("chain_link")
