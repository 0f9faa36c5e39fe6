"""Pismo's accounting events: amounts per entry name, posted through the event type's scripts.

One journal entry per event, with a debit and a credit line per script applied; its
metadata keeps, per script, what Pismo's ``entry_creation`` event of the accounting
entry that script creates carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import posting
from app.ledger.errors import BadInput
from app.ledger.money import format_minor, from_minor
from app.ledger.pismo.accounting_accounts import accounts_by_id, check_usable
from app.ledger.pismo.accounting_scripts import ScriptView
from app.ledger.pismo.fields import (
    MAX_EVENT_AMOUNTS,
    check_entry_name,
    check_processing_code,
    check_tracking_id,
    parse_amount,
    parse_event_date,
    parse_id,
)
from app.ledger.pismo.posting import (
    EVENT_POSTED,
    EVENT_TRACKING_SCOPE,
    SOURCE,
    post_tracked,
    write_retrying,
)
from app.ledger.pismo.reference import find_event_type, find_program
from db.engine import Database
from db.pismo_tables import PismoAccountingScript, PismoEntryType


@dataclass(frozen=True)
class EventAmount:
    entry_name: str
    amount: object


@dataclass(frozen=True)
class AccountingEventInput:
    program_id: object
    event_type_id: object
    amounts: Sequence[EventAmount]
    processing_code: str | None = None
    event_date: object = None  # None: today (UTC)
    tracking_id: str | None = None


@dataclass(frozen=True)
class AccountingEventResult:
    entry: posting.EntryView
    scripts: list[ScriptView]


async def _entry_type_descriptions(
    session: AsyncSession, tenant_id: int, entry_type_ids: set[int]
) -> dict[int, str]:
    """Descriptions of the tenant's entry types, by Pismo id, in one query."""
    if not entry_type_ids:
        return {}
    rows = await session.execute(
        select(col(PismoEntryType.entry_type_id), col(PismoEntryType.description)).where(
            col(PismoEntryType.tenant_id) == tenant_id,
            col(PismoEntryType.entry_type_id).in_(entry_type_ids),
        )
    )
    return {entry_type_id: description for entry_type_id, description in rows.all()}


async def post_accounting_event(
    db: Database, tenant_id: int, data: AccountingEventInput
) -> AccountingEventResult:
    """Applies every script of the event type whose entry name has an amount, in one entry.

    Scripts are those with the event's processing code; when the event type has none
    with that code, those without a processing code. Each script gives a debit and a
    credit line of its entry name's amount; scripts whose entry name has no amount
    are skipped, and an amount that no script takes is an error.
    """
    program_id = parse_id(data.program_id, field="programId", what="program id")
    event_type_id = parse_id(data.event_type_id, field="eventTypeId", what="event type id")
    processing_code = check_processing_code(data.processing_code)
    tracking_id = check_tracking_id(data.tracking_id)
    if data.event_date is None:
        on = dt.datetime.now(dt.UTC).date()
        event_date = on.isoformat()
    else:
        on = parse_event_date(data.event_date)
        event_date = str(data.event_date)
    if not data.amounts:
        raise BadInput("give at least one amount", field="amounts")
    if len(data.amounts) > MAX_EVENT_AMOUNTS:
        raise BadInput(f"give at most {MAX_EVENT_AMOUNTS} amounts", field="amounts")
    names: dict[str, int] = {}
    for index, item in enumerate(data.amounts):
        name = check_entry_name(item.entry_name, f"amounts.{index}.entryName")
        if name in names:
            raise BadInput(
                f"entry name {name} is given twice (amounts.{names[name]} and amounts.{index})",
                field=f"amounts.{index}.entryName",
            )
        names[name] = index

    async def write(session: AsyncSession) -> AccountingEventResult:
        program = await find_program(session, tenant_id, program_id, "programId")
        event_type = await find_event_type(session, tenant_id, event_type_id, "eventTypeId")
        table = PismoAccountingScript
        scripts: list[PismoAccountingScript] = []
        for code in dict.fromkeys((processing_code, "")):
            scripts = list(
                (
                    await session.scalars(
                        select(table)
                        .where(
                            col(table.tenant_id) == tenant_id,
                            col(table.program_id) == program_id,
                            col(table.event_type_id) == event_type_id,
                            col(table.processing_code) == code,
                        )
                        .order_by(col(table.id))
                    )
                ).all()
            )
            if scripts:
                break
        code_text = f" and processing code {processing_code}" if processing_code else ""
        if not scripts:
            raise BadInput(
                f"no accounting script for program {program_id}, event type {event_type_id}"
                f"{code_text}",
                field="eventTypeId",
            )
        found = await accounts_by_id(
            session,
            tenant_id,
            {s.debit_account_id for s in scripts} | {s.credit_account_id for s in scripts},
        )
        lines: list[posting.LineInput] = []
        applied: list[ScriptView] = []
        amounts: dict[str, str] = {}
        for index, item in enumerate(data.amounts):
            matching = [s for s in scripts if s.entry_name == item.entry_name]
            if not matching:
                raise BadInput(
                    f"no accounting script for program {program_id}, event type {event_type_id}"
                    f"{code_text} and entry name {item.entry_name}",
                    field=f"amounts.{index}.entryName",
                )
            minor = parse_amount(item.amount, program.currency, f"amounts.{index}.amount")
            amount = from_minor(minor, program.currency)
            amounts[item.entry_name] = format_minor(minor, program.currency)
            for script in matching:
                debit = check_usable(
                    found[script.debit_account_id],
                    program,
                    f"accounting account {found[script.debit_account_id].code} "
                    f"(debit of script {script.id})",
                    f"amounts.{index}.entryName",
                )
                credit = check_usable(
                    found[script.credit_account_id],
                    program,
                    f"accounting account {found[script.credit_account_id].code} "
                    f"(credit of script {script.id})",
                    f"amounts.{index}.entryName",
                )
                description = (
                    f"script {script.id}: {script.entry_name}, entry type {script.entry_type_id}"
                )
                lines.append(
                    posting.LineInput(account_id=debit.id, debit=amount, description=description)
                )
                lines.append(
                    posting.LineInput(account_id=credit.id, credit=amount, description=description)
                )
                applied.append(ScriptView(script, debit, credit))
        entry_types = await _entry_type_descriptions(
            session, tenant_id, {view.script.entry_type_id for view in applied}
        )
        metadata = {
            "dialect": SOURCE,
            "program_id": program_id,
            "event_type_id": event_type_id,
            "processing_code": processing_code or None,
            "event_date": event_date,
            "currency": program.currency,
            "amounts": amounts,
            "tracking_id": tracking_id,
            "script_ids": [view.script.id for view in applied],
            # One per applied script, in line order (lines 2i and 2i+1): what Pismo's
            # entry_creation event of the accounting entry the script creates carries.
            "scripts": [
                {
                    "id": view.script.id,
                    "entry_type_id": view.script.entry_type_id,
                    "entry_name": view.script.entry_name,
                    "debit_cost_center": view.script.debit_cost,
                    "credit_cost_center": view.script.credit_cost,
                    "description": entry_types.get(view.script.entry_type_id),
                }
                for view in applied
            ],
        }
        result = await post_tracked(
            session,
            tenant_id,
            posting.EntryInput(
                date=on,
                memo=(
                    f"Pismo accounting event: {event_type.description} "
                    f"(event type {event_type_id}, program {program_id})"
                ),
                lines=lines,
                currency=program.currency,
                idempotency_key=tracking_id,
                idempotency_scope=EVENT_TRACKING_SCOPE,
                replay_allowed=False,
                source=SOURCE,
                event_type=EVENT_POSTED,
                metadata=metadata,
            ),
            posted="the event was posted before",
            fields={"date": "eventDate", "lines": "amounts"},
        )
        return AccountingEventResult(entry=result.entry, scripts=applied)

    return await write_retrying(db, write)
