"""An entry as its links tell it: the replay half of the books pass of ``ledgerql verify``
(audit_books.py compares it with the rows).

An entry's events, in link order: each full document (``journal_entry.posted`` or
``.reversed``, Pismo's ``accounting_event.posted`` and ``accounting_entry.created``,
every ``hold.*``) says the entry as it was then: number, date, currency, source,
reversal, lines, accrual date and metadata; its type gives the status. Each
``journal_entry.metadata_changed`` after it sets or deletes the keys it changed. That
the original of a reversal is REVERSED is told by the reversal's own links.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from app.ledger.entries import EXPIRED, PENDING, POSTED, VOIDED
from app.ledger.metadata_changes import EVENT_TYPE as METADATA_CHANGED

STATUS_OF = {
    "hold.created": PENDING,
    "hold.posted": POSTED,
    "hold.voided": VOIDED,
    "hold.expired": EXPIRED,
}
"""The status an entry's document leaves it in, by event type; POSTED for the others."""


def exact_json(text: str) -> Any:
    """JSON with its fractions as Decimals, as the ledger reads metadata back."""
    return json.loads(text, parse_float=Decimal)


@dataclass
class ChainEntry:
    """One entry as the chain says it is now."""

    entry_id: int
    link: int = 0
    """The link of its last full document."""
    document: dict[str, Any] = field(default_factory=dict)
    status: str = POSTED
    changes: list[str] = field(default_factory=list)
    """The payload texts of its metadata changes after that document, in order."""
    document_text: str = ""
    metadata_link: int = 0
    """The link that last set its metadata: its document's, or its last change's."""

    @property
    def known(self) -> bool:
        """Whether a full document of the entry was found (else only metadata changes)."""
        return bool(self.document)

    def metadata(self) -> dict[str, Any]:
        """The metadata the document gave, with each change applied, numbers exact."""
        if not self.document.get("metadata") and not self.changes:
            return {}  # the common case: no metadata, nothing to parse again
        current: dict[str, Any] = dict(exact_json(self.document_text).get("metadata") or {})
        for text in self.changes:
            for key, change in exact_json(text).get("changes", {}).items():
                after = change.get("after")
                if after is None:  # a key set to null is deleted (metadata_changes.py)
                    current.pop(key, None)
                else:
                    current[key] = after
        return current


def replay(events: Iterable[Any]) -> dict[int, ChainEntry]:
    """The entries told by ``events`` (rows with entry_id, link, type, payload_json) in
    link order per entry, by entry id."""
    entries: dict[int, ChainEntry] = {}
    for event in events:
        entry_id = int(event.entry_id)
        entry = entries.get(entry_id)
        if entry is None:
            entry = entries[entry_id] = ChainEntry(entry_id)
        if event.type == METADATA_CHANGED:
            entry.changes.append(event.payload_json)
            entry.metadata_link = int(event.link)
            continue
        document = orjson.loads(event.payload_json)
        if not isinstance(document, dict) or "lines" not in document:
            continue  # an event about the entry that does not restate it
        entry.document = document
        entry.document_text = event.payload_json
        entry.link = entry.metadata_link = int(event.link)
        entry.status = STATUS_OF.get(event.type, POSTED)
        entry.changes = []
    return entries
