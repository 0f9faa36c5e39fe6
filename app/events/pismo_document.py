"""Pismo's keys on the event document: its ``entry_creation`` records.

This is the Pismo dialect's document extension (app/events/shape.py lists it in
``EXTENSIONS``). Only events the Pismo dialect wrote get its keys; every other event's
document has neither of them. A Pismo event carries both:

- ``pismo``: for an accounting entry (``accounting_entry.created``), Pismo's
  "accounting entry created" event (domain ``accounting``, event ``entry_creation``,
  version 1) with exactly Pismo's field names, filled from what the entry recorded and
  null where ledgerql records nothing; null on an accounting event's document.
- ``pismo_entries``: for an accounting event (``accounting_event.posted``: one entry, a
  debit and a credit line per applied script), one such record per applied script, as
  Pismo publishes one ``entry_creation`` per accounting entry a script creates; [] on
  an accounting entry's document.

docs/events.md has the field-by-field mapping. GraphQL's ``LedgerEvent.pismo`` and
``pismoEntries`` read the same records here, with the exact amount instead of a number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from app.ledger.pismo import ENTRY_CREATED, EVENT_POSTED
from db.tables import Event

ENTRY_CREATION_FIELDS = (
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

PismoRecord = tuple[dict[str, Any], object]
"""Pismo's ``entry_creation`` fields and the exact amount they were made from (decimal text)."""


def document_keys(event: Event, data: object) -> dict[str, Any]:
    """``{pismo, pismo_entries}`` for an event the Pismo dialect wrote, else ``{}``."""
    if _pismo_metadata(event, data) is None:
        return {}
    created = entry_created(event, data)
    return {
        "pismo": created[0] if created is not None else None,
        "pismo_entries": [fields for fields, _ in event_entries(event, data)],
    }


def entry_created(event: Event, data: object) -> PismoRecord | None:
    """Pismo's ``entry_creation`` record of an event of a Pismo accounting entry, else None."""
    metadata = _pismo_metadata(event, data)
    if event.type != ENTRY_CREATED or metadata is None:
        return None
    exact = metadata.get("amount")
    fields = {
        "transaction_id": metadata.get("transaction_id"),
        "account_id": metadata.get("account_id"),
        "program_id": metadata.get("program_id"),
        "entry_type_id": metadata.get("entry_type_id"),
        # An accounting entry posted on its own comes from no accounting event.
        "accounting_event_id": None,
        "accounting_entry_id": event.entry_id,
        "created_at": _utc(event.created_at).isoformat(),
        "event_date": metadata.get("event_date"),
        "amount": _number(exact),
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
    return fields, exact


def event_entries(event: Event, data: object) -> list[PismoRecord]:
    """One ``entry_creation`` record per script an accounting event applied, in line order.

    Script ``i`` posted lines ``2i`` (debit) and ``2i + 1`` (credit); its accounting
    entry is the debit line, so ``accounting_entry_id`` is that line's id (null for
    events written before payloads had line ids) and ``accounting_event_id`` the entry
    the event posted. Events of other kinds give [].
    """
    metadata = _pismo_metadata(event, data)
    if event.type != EVENT_POSTED or metadata is None or not isinstance(data, dict):
        return []
    lines = data.get("lines")
    if not isinstance(lines, list):
        return []
    scripts = metadata.get("scripts")
    if not isinstance(scripts, list):
        scripts = []  # written before the scripts were recorded: their fields are null
    created_at = _utc(event.created_at).isoformat()
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


def _pismo_metadata(event: Event, data: object) -> dict[str, Any] | None:
    """The payload's metadata if the Pismo dialect wrote this event, else None.

    The dialect writes two event types and tags their entries' metadata
    ``dialect: "pismo"`` (``app.ledger.pismo``): the type says which record an event
    gives, the tag that the Pismo dialect posted it.
    """
    if event.type not in (ENTRY_CREATED, EVENT_POSTED) or not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("dialect") != "pismo":
        return None
    return metadata


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; every stored one was written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _number(value: object) -> int | float | None:
    """Pismo's ``amount`` is a JSON number: an integer when whole, else a float."""
    amount = amount_of(value)
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)
