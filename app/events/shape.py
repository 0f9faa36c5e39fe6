"""The JSON document of an event, the same in subscriptions and webhook bodies.

Every event's document has the core keys ``{id, type, entryId, createdAt, data}``
and nothing vendor-specific. A dialect whose events need more (Pismo's
``entry_creation`` records) adds keys through the one extension point here: a
*document extension*, a function ``(event row, decoded payload) -> dict of extra
keys`` that returns ``{}`` for events it does not concern. It lives in the dialect's
own module and is registered by being named in ``EXTENSIONS`` below.

That list is the only registration, on purpose: it is fixed when this module is
imported, so every process that builds documents (the server's subscriptions and
GraphQL, the webhook worker, the CLI) adds the same keys whatever it imported first.
An extension may not replace a core key or another extension's key: a document
that would have one key twice is a bug, and raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app.events import pismo_document
from db.tables import Event

DocumentExtension = Callable[[Event, object], dict[str, Any]]
"""Extra document keys of an event, from its row and its decoded payload; ``{}`` if none."""

EXTENSIONS: tuple[DocumentExtension, ...] = (
    pismo_document.document_keys,  # pismo, pismo_entries (Pismo's entry_creation)
)


def event_document(event: Event) -> dict[str, Any]:
    """``{id, type, entryId, createdAt, data}`` and the keys the extensions add;
    ``id`` is the event's id as a string: receivers deduplicate by it."""
    # Exact decimals: a metadata number 12.50 reaches a webhook or subscription as 12.50.
    data = json.loads(event.payload_json, parse_float=Decimal)
    document: dict[str, Any] = {
        "id": str(event.id),
        "type": event.type,
        "entryId": str(event.entry_id) if event.entry_id is not None else None,
        "createdAt": event.created_at.isoformat(),
        "data": data,
    }
    for extension in EXTENSIONS:
        extra = extension(event, data)
        if clash := extra.keys() & document.keys():
            raise ValueError(f"document extension {extension.__qualname__} repeats {clash}")
        document.update(extra)
    return document
