"""The event log's GraphQL types: LedgerEvent (the events query and subscription) and
the Pismo entry_creation record some events carry."""

from __future__ import annotations

import datetime as dt
import json

import strawberry

from app.events import pismo_document, shape
from app.ledger.outbox import json_text
from db.tables import Event as EventRow
from graphql_schema.scalars import Money
from graphql_schema.types import id_or_none


@strawberry.type(
    description=(
        'Pismo\'s "accounting entry created" event (domain accounting, event '
        "entry_creation, version 1), from an accounting entry posted through the Pismo "
        "dialect, directly or by a script of an accounting event; "
        "null where ledgerql records nothing (docs/events.md)."
    )
)
class PismoEntryCreatedEvent:
    transaction_id: strawberry.ID | None
    account_id: strawberry.ID | None
    program_id: strawberry.ID | None
    entry_type_id: strawberry.ID | None
    accounting_event_id: strawberry.ID | None
    accounting_entry_id: strawberry.ID | None
    created_at: dt.datetime
    event_date: str | None = strawberry.field(description="As sent by the client.")
    amount: Money | None = strawberry.field(
        description="Exact; the JSON document gives it as a number, as Pismo does."
    )
    description: str | None
    debit_account: str | None
    credit_account: str | None
    debit_cost_center: str | None
    credit_cost_center: str | None
    authorization_date: str | None
    installment_number: int | None

    @classmethod
    def of(cls, fields: dict[str, object], exact_amount: object) -> PismoEntryCreatedEvent:
        def text(name: str) -> str | None:
            value = fields.get(name)
            return None if value is None else str(value)

        installment = fields.get("installment_number")
        return cls(
            transaction_id=id_or_none(fields.get("transaction_id")),
            account_id=id_or_none(fields.get("account_id")),
            program_id=id_or_none(fields.get("program_id")),
            entry_type_id=id_or_none(fields.get("entry_type_id")),
            accounting_event_id=id_or_none(fields.get("accounting_event_id")),
            accounting_entry_id=id_or_none(fields.get("accounting_entry_id")),
            created_at=dt.datetime.fromisoformat(str(fields["created_at"])),
            event_date=text("event_date"),
            amount=pismo_document.amount_of(exact_amount),  # type: ignore[arg-type]
            description=text("description"),
            debit_account=text("debit_account"),
            credit_account=text("credit_account"),
            debit_cost_center=text("debit_cost_center"),
            credit_cost_center=text("credit_cost_center"),
            authorization_date=text("authorization_date"),
            installment_number=installment if isinstance(installment, int) else None,
        )


@strawberry.type
class LedgerEvent:
    id: strawberry.ID
    type: str
    entry_id: strawberry.ID | None
    payload: str = strawberry.field(description="The event's payload, as JSON text.")
    created_at: dt.datetime
    row: strawberry.Private[EventRow]

    @classmethod
    def of(cls, row: EventRow) -> LedgerEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            type=row.type,
            entry_id=strawberry.ID(str(row.entry_id)) if row.entry_id else None,
            payload=row.payload_json,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(
        description=(
            "The event's document as JSON text: what webhooks post and subscriptions "
            "deliver ({id, type, entryId, createdAt, data}, plus a dialect's own keys: "
            "pismo and pismo_entries on Pismo events; docs/events.md)."
        )
    )
    def document(self) -> str:
        # Exact decimals and integers past 64 bits (vendor metadata), as stored.
        return json_text(shape.event_document(self.row))

    @strawberry.field(
        description="Pismo's entry_creation fields, for an entry posted through the Pismo "
        "dialect; null for every other event."
    )
    def pismo(self) -> PismoEntryCreatedEvent | None:
        record = pismo_document.entry_created(self.row, json.loads(self.row.payload_json))
        return PismoEntryCreatedEvent.of(*record) if record is not None else None

    @strawberry.field(
        description="Pismo's entry_creation fields of each accounting entry a Pismo "
        "accounting event created (one per applied script, in line order); empty for "
        "every other event."
    )
    def pismo_entries(self) -> list[PismoEntryCreatedEvent]:
        data = json.loads(self.row.payload_json)
        return [
            PismoEntryCreatedEvent.of(fields, exact)
            for fields, exact in pismo_document.event_entries(self.row, data)
        ]
