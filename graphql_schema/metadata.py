"""Changing metadata after the fact (docs/metadata.md): setEntryMetadata. It translates
its input and calls the core (app.ledger.metadata_changes)."""

from __future__ import annotations

import strawberry

from app.ledger import metadata_changes
from app.ledger.validation import parse_id
from graphql_schema.closing import actor_of
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.scalars import Metadata
from graphql_schema.types import JournalEntry


@strawberry.type
class EntryMetadataPayload:
    entry: JournalEntry | None
    errors: list[UserError]


@strawberry.type
class MetadataMutation:
    @strawberry.mutation(
        description="Merges metadata into an entry's (a key set to null is deleted); any "
        "entry, whatever its status or date: amounts never change. A "
        "journal_entry.metadata_changed event records each key before and after, and who."
    )
    async def set_entry_metadata(
        self, info: Info, entry_id: strawberry.ID, metadata: Metadata
    ) -> EntryMetadataPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: metadata_changes.set_entry_metadata(
                ctx.db,
                ctx.writable_tenant(),
                parse_id(entry_id, field="entryId", what="journal entry id"),
                metadata,
                actor_of(ctx),
            )
        )
        return EntryMetadataPayload(entry=JournalEntry.of(view) if view else None, errors=errors)
