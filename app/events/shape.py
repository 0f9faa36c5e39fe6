"""The JSON document of an event, the same in subscriptions and webhook bodies.

Events of entries posted through the Pismo dialect's accounting entries
(``accounting_entry.created``) also carry ``pismo``: Pismo's "accounting entry
created" event (domain ``accounting``, event ``entry_creation``, version 1) with
exactly Pismo's field names, filled from what the entry recorded and null where
ledgerql records nothing (docs/events.md has the mapping). Every other event has
``pismo: null``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from app.ledger.pismo import ENTRY_CREATED
from db.tables import Event

PISMO_FIELDS = (
    "transaction_id",
    "account_id",
    "program_id",
    "entry_type_id",
    "accounting_event_id",
    "accounting_entry_id",
    "created_at",
    "event_date",
    "amount",
    "description",
    "debit_account",
    "credit_account",
    "debit_cost_center",
    "credit_cost_center",
    "authorization_date",
    "installment_number",
)
"""Pismo's documented fields of ``entry_creation`` v1, in its order (../shared/VENDOR_NOTES.md)."""


def event_document(event: Event) -> dict[str, Any]:
    """``{id, type, entryId, createdAt, data, pismo}``; ``id`` is the event's id as a
    string: receivers deduplicate by it."""
    data = json.loads(event.payload_json)
    return {
        "id": str(event.id),
        "type": event.type,
        "entryId": str(event.entry_id) if event.entry_id is not None else None,
        "createdAt": event.created_at.isoformat(),
        "data": data,
        "pismo": pismo_entry_created(event, data),
    }


def utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; every stored one was written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def pismo_entry_created(event: Event, data: object) -> dict[str, Any] | None:
    """Pismo's ``entry_creation`` fields of an event of a Pismo accounting entry, else None."""
    if event.type != ENTRY_CREATED or not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("dialect") != "pismo":
        return None
    return {
        "transaction_id": metadata.get("transaction_id"),
        "account_id": metadata.get("account_id"),
        "program_id": metadata.get("program_id"),
        "entry_type_id": metadata.get("entry_type_id"),
        # An accounting entry posted on its own comes from no accounting event.
        "accounting_event_id": None,
        "accounting_entry_id": event.entry_id,
        "created_at": utc(event.created_at).isoformat(),
        "event_date": metadata.get("event_date"),
        "amount": _number(metadata.get("amount")),
        # The entry type's description (recorded on entries posted since it was added).
        "description": metadata.get("description"),
        "debit_account": metadata.get("debit_accounting_account"),
        "credit_account": metadata.get("credit_accounting_account"),
        # Cost centers live on accounting scripts; the entry does not record which applied.
        "debit_cost_center": None,
        "credit_cost_center": None,
        "authorization_date": None,
        "installment_number": None,
    }


def amount_of(value: object) -> Decimal | None:
    """The exact amount recorded as decimal text ("10.50"), or None."""
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _number(value: object) -> int | float | None:
    """Pismo's ``amount`` is a JSON number: an integer when whole, else a float."""
    amount = amount_of(value)
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)
