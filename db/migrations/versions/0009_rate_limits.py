"""Rate limits per API key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 18:05:00.000000

A nullable ``api_keys.rate_limits`` (JSON text: the key's own limits over the
server's defaults). Added in place on both engines; NULL means the defaults.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys", sa.Column("rate_limits", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("rate_limits")
