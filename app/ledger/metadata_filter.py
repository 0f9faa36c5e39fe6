"""Finding entries and accounts by their metadata (docs/metadata.md):
``journalEntries(metadata: {...}, metadataHas: [...])``, ``accounts(...)``, ``balanceOf``.

A filter is a set of (key, typed value) pairs an entry must all have (PostgreSQL's ``@>``
on a flat object: 12.5 finds 12.50, the string "1" does not find the number 1) and keys
it must have whatever their value. Each is a range of ``entry_metadata``'s primary key
(tenant, key, value): the matching entry ids are read first, intersected, and handed to
the listing as a list, so the listing's own order and keyset pagination apply to a few
rows instead of the planner guessing how to mix a date scan with a rare key (without
statistics on PostgreSQL it would scan by date).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.ledger.errors import BadInput
from app.ledger.metadata import MAX_KEYS, check_key, check_value, indexed_value
from db.tables import AccountMetadata, EntryMetadata


@dataclass(frozen=True)
class Indexed:
    """A lookup table of flat metadata rows, and the column naming what they describe."""

    table: Any  # EntryMetadata or AccountMetadata
    owner: str  # "entry_id" or "account_id"

    def column(self, name: str) -> Any:
        return col(getattr(self.table, name))


ENTRIES = Indexed(EntryMetadata, "entry_id")
ACCOUNTS = Indexed(AccountMetadata, "account_id")

# Past this many matching entries the ids are not listed but joined: a bound list that
# long would pass the drivers' 32,767 parameters (and is no longer "a lookup").
MAX_LISTED = 10_000


def metadata_conditions(
    target: Indexed,
    tenant_id: int,
    metadata: Mapping[str, object] | None,
    metadata_has: Sequence[str] | None,
) -> list[ColumnElement[bool]]:
    """One condition on ``entry_metadata`` per pair and per key; BadInput naming the
    offending ``metadata.<key>`` or ``metadataHas``."""
    conditions: list[ColumnElement[bool]] = []
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise BadInput("metadata is a JSON object of keys and values", field="metadata")
        if len(metadata) > MAX_KEYS:
            raise BadInput(f"at most {MAX_KEYS} keys", field="metadata")
        for key, value in metadata.items():
            where = f"metadata.{key}"
            check_key(key, where)
            typed = indexed_value(check_value(value, field=where))
            if typed is None:  # cannot happen for a checked value
                raise BadInput("not a value metadata can hold", field=where)
            conditions.append(
                and_(
                    target.column("tenant_id") == tenant_id,
                    target.column("key") == key,
                    target.column("value") == typed,
                )
            )
    for index, key in enumerate(metadata_has or ()):
        check_key(key, f"metadataHas.{index}")
        conditions.append(
            and_(target.column("tenant_id") == tenant_id, target.column("key") == key)
        )
    return conditions


async def matching_ids(
    session: AsyncSession, target: Indexed, conditions: Sequence[ColumnElement[bool]]
) -> list[int] | Select[Any]:
    """The ids of the entries (accounts) meeting every condition: a list when there are at
    most MAX_LISTED of them, else the subquery itself (the listing then joins it)."""
    owner = target.column(target.owner)
    subqueries = [select(owner).where(c) for c in conditions]
    query = subqueries[0]
    for other in subqueries[1:]:
        query = query.where(owner.in_(other))
    ids = (await session.execute(query.distinct().limit(MAX_LISTED + 1))).scalars().all()
    if len(ids) <= MAX_LISTED:
        return [int(entry_id) for entry_id in ids]
    return query
