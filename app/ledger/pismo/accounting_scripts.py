"""Pismo's accounting scripts: which accounts an event type's entry name debits and credits.

A script is unique per (program, event type, entry type, entry name, processing code);
accounting events apply them, and an accounting entry without accounts takes them
from its entry type's ``amount`` script.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict
from app.ledger.paging import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.pismo.accounting_accounts import account_by_id, accounts_by_id
from app.ledger.pismo.fields import (
    MAX_COST_CENTER_FIELD,
    check_entry_name,
    check_processing_code,
    parse_id,
)
from app.ledger.pismo.reference import find_entry_type, find_event_type, find_program
from app.ledger.text import check_text
from db.engine import Database
from db.pismo_tables import PismoAccountingScript
from db.tables import Account


@dataclass(frozen=True)
class CostCenterInput:
    debit_org: str
    credit_org: str
    debit_cost: str
    credit_cost: str
    deactivated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ScriptInput:
    program_id: object
    event_type_id: object
    entry_type_id: object
    debit_accounting_account_id: object
    credit_accounting_account_id: object
    entry_name: str | None = None
    processing_code: str | None = None
    cost_center: CostCenterInput | None = None


@dataclass(frozen=True)
class ScriptView:
    script: PismoAccountingScript
    debit_account: Account
    credit_account: Account


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _cost_center(data: CostCenterInput | None) -> dict[str, Any]:
    if data is None:
        return {}
    values: dict[str, Any] = {}
    for name, camel in (
        ("debit_org", "debitOrg"),
        ("credit_org", "creditOrg"),
        ("debit_cost", "debitCost"),
        ("credit_cost", "creditCost"),
    ):
        value = getattr(data, name)
        if not isinstance(value, str):
            raise BadInput(f"cost center {camel} must be a string", field=f"costCenter.{camel}")
        check_text(
            value,
            field=f"costCenter.{camel}",
            what=f"cost center {camel}",
            max_length=MAX_COST_CENTER_FIELD,
            required=False,
            strip=False,
        )
        if len(value) > MAX_COST_CENTER_FIELD:
            raise BadInput(
                f"cost center {camel} is longer than {MAX_COST_CENTER_FIELD} characters",
                field=f"costCenter.{camel}",
            )
        values[name] = value
    values["cost_center_deactivated_at"] = _utc(data.deactivated_at)
    return values


async def create_script(db: Database, tenant_id: int, data: ScriptInput) -> ScriptView:
    """An accounting script; the same (program, event type, entry type, entry name,
    processing code) twice is a Conflict."""
    program_id = parse_id(data.program_id, field="programId", what="program id")
    event_type_id = parse_id(data.event_type_id, field="eventTypeId", what="event type id")
    entry_type_id = parse_id(data.entry_type_id, field="entryTypeId", what="entry type id")
    debit_id = parse_id(
        data.debit_accounting_account_id,
        field="debitAccountingAccountId",
        what="debit accounting account id",
    )
    credit_id = parse_id(
        data.credit_accounting_account_id,
        field="creditAccountingAccountId",
        what="credit accounting account id",
    )
    entry_name = check_entry_name(data.entry_name)
    processing_code = check_processing_code(data.processing_code)
    cost_center = _cost_center(data.cost_center)
    if debit_id == credit_id:
        raise BadInput(
            "the debit and the credit accounting accounts must differ",
            field="creditAccountingAccountId",
        )
    key = (
        f"program {program_id}, event type {event_type_id}, entry type {entry_type_id}, "
        f"entry name {entry_name}, processing code {processing_code or '(none)'}"
    )
    async with db.write() as session:
        program = await find_program(session, tenant_id, program_id, "programId")
        await find_event_type(session, tenant_id, event_type_id, "eventTypeId")
        await find_entry_type(session, tenant_id, entry_type_id, "entryTypeId")
        debit = await account_by_id(
            session, tenant_id, debit_id, program, "debitAccountingAccountId"
        )
        credit = await account_by_id(
            session, tenant_id, credit_id, program, "creditAccountingAccountId"
        )
        existing = await session.scalar(
            select(col(PismoAccountingScript.id)).where(
                col(PismoAccountingScript.tenant_id) == tenant_id,
                col(PismoAccountingScript.program_id) == program_id,
                col(PismoAccountingScript.event_type_id) == event_type_id,
                col(PismoAccountingScript.entry_type_id) == entry_type_id,
                col(PismoAccountingScript.entry_name) == entry_name,
                col(PismoAccountingScript.processing_code) == processing_code,
            )
        )
        if existing is not None:
            raise Conflict(f"accounting script {existing} already exists for {key}")
        row = PismoAccountingScript(
            tenant_id=tenant_id,
            program_id=program_id,
            event_type_id=event_type_id,
            entry_type_id=entry_type_id,
            entry_name=entry_name,
            processing_code=processing_code,
            debit_account_id=debit_id,
            credit_account_id=credit_id,
            **cost_center,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same script won the race
            raise Conflict(f"an accounting script already exists for {key}") from None
    return ScriptView(row, debit, credit)


async def list_scripts(
    db: Database,
    tenant_id: int,
    *,
    program_id: object = None,
    event_type_id: object = None,
    entry_type_id: object = None,
    first: int = 100,
    after: str | None = None,
) -> Page[ScriptView]:
    """Scripts by id, optionally of one program, event type and entry type."""
    check_page_size(first)
    table = PismoAccountingScript
    query = select(table).where(col(table.tenant_id) == tenant_id)
    for value, column, field, what in (
        (program_id, table.program_id, "programId", "program id"),
        (event_type_id, table.event_type_id, "eventTypeId", "event type id"),
        (entry_type_id, table.entry_type_id, "entryTypeId", "entry type id"),
    ):
        if value is not None:
            query = query.where(col(column) == parse_id(value, field=field, what=what))
    if after:
        (last,) = decode_cursor(after, (int,))
        query = query.where(col(table.id) > last)
    async with db.read() as session:
        rows = list((await session.scalars(query.order_by(col(table.id)).limit(first + 1))).all())
        found = await accounts_by_id(
            session,
            tenant_id,
            {row.debit_account_id for row in rows} | {row.credit_account_id for row in rows},
        )
    items = [
        ScriptView(row, found[row.debit_account_id], found[row.credit_account_id])
        for row in rows[:first]
    ]
    return Page(items, len(rows) > first, [encode_cursor(item.script.id) for item in items])
