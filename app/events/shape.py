"""The JSON document of an event, the same in subscriptions and webhook bodies.

Events of entries posted through the Pismo dialect's accounting entries
(``accounting_entry.created``) also carry ``pismo``: Pismo's "accounting entry
created" event (domain ``accounting``, event ``entry_creation``, version 1) with
exactly Pismo's field names, filled from what the entry recorded and null where
ledgerql records nothing (docs/events.md has the mapping). Every other event has
``pismo: null``.

Events of Pismo accounting events (``accounting_event.posted``: one entry, a debit and
a credit line per applied script) carry ``pismo_entries``: one such record per applied
script, as Pismo publishes one ``entry_creation`` per accounting entry a script creates.
Every other event has ``pismo_entries: []``: the key is always there.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from app.ledger.pismo import ENTRY_CREATED, EVENT_POSTED
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
    """``{id, type, entryId, createdAt, data, pismo, pismo_entries}``; ``id`` is the
    event's id as a string: receivers deduplicate by it."""
    data = json.loads(event.payload_json)
    return {
        "id": str(event.id),
        "type": event.type,
        "entryId": str(event.entry_id) if event.entry_id is not None else None,
        "createdAt": event.created_at.isoformat(),
        "data": data,
        "pismo": pismo_entry_created(event, data),
        "pismo_entries": [fields for fields, _ in pismo_event_entries(event, data)],
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
        # The cost centers of the script that gave the accounts (recorded on entries
        # posted since they were added); null when the request named the account.
        "debit_cost_center": metadata.get("debit_cost_center"),
        "credit_cost_center": metadata.get("credit_cost_center"),
        "authorization_date": None,
        "installment_number": None,
    }


PismoRecord = tuple[dict[str, Any], object]
"""Pismo's ``entry_creation`` fields and the exact amount they were made from (decimal text)."""


def pismo_event_entries(event: Event, data: object) -> list[PismoRecord]:
    """One ``entry_creation`` record per script an accounting event applied, in line order.

    Script ``i`` posted lines ``2i`` (debit) and ``2i + 1`` (credit); its accounting
    entry is the debit line, so ``accounting_entry_id`` is that line's id (null for
    events written before payloads had line ids) and ``accounting_event_id`` the entry
    the event posted. Events of other kinds give [].
    """
    if event.type != EVENT_POSTED or not isinstance(data, dict):
        return []
    metadata = data.get("metadata")
    lines = data.get("lines")
    if not isinstance(metadata, dict) or metadata.get("dialect") != "pismo":
        return []
    if not isinstance(lines, list):
        return []
    scripts = metadata.get("scripts")
    if not isinstance(scripts, list):
        scripts = []  # written before the scripts were recorded: their fields are null
    created_at = utc(event.created_at).isoformat()
    records: list[PismoRecord] = []
    for index in range(len(lines) // 2):
        debit, credit = lines[2 * index], lines[2 * index + 1]
        if not isinstance(debit, dict) or not isinstance(credit, dict):
            continue
        script = scripts[index] if index < len(scripts) else None
        if not isinstance(script, dict):
            script = {}
        exact = debit.get("debit")
        fields = {
            "transaction_id": metadata.get("transaction_id"),
            "account_id": metadata.get("account_id"),
            "program_id": metadata.get("program_id"),
            "entry_type_id": script.get("entry_type_id"),
            "accounting_event_id": event.entry_id,
            "accounting_entry_id": debit.get("id"),
            "created_at": created_at,
            "event_date": metadata.get("event_date"),
            "amount": _number(exact),
            "description": script.get("description"),
            "debit_account": debit.get("account_code"),
            "credit_account": credit.get("account_code"),
            "debit_cost_center": script.get("debit_cost_center"),
            "credit_cost_center": script.get("credit_cost_center"),
            "authorization_date": None,
            "installment_number": None,
        }
        records.append((fields, exact))
    return records


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
