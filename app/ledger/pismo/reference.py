"""Pismo's reference data: programs, entry types and event types.

A client picks their ids (positive 64-bit integers, unique per tenant of each kind) or
leaves them to the tenant's counter (``ids``). Scripts, accounting entries and events
name them; ``find_program`` and its siblings turn such a name into the row, or a
BadInput naming the field that held it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict
from app.ledger.money import check_currency
from app.ledger.pismo import ids
from app.ledger.pismo.fields import MAX_NAME, optional_id, parse_id
from app.ledger.text import check_text
from db.engine import Database
from db.pismo_tables import PismoEntryType, PismoEventType, PismoProgram


@dataclass(frozen=True)
class ProgramInput:
    name: str
    currency: str
    id: object = None  # None: the next free id of the tenant


@dataclass(frozen=True)
class TypeInput:
    """An entry type or an event type."""

    description: str
    id: object = None  # None: the next free id of the tenant


Reference = TypeVar("Reference", PismoProgram, PismoEntryType, PismoEventType)


async def _find(
    session: AsyncSession,
    tenant_id: int,
    model: type[Reference],
    pismo_id: Any,
    wanted: int,
    what: str,
    field: str,
) -> Reference:
    """The tenant's ``model`` row whose Pismo id is ``wanted``; BadInput naming ``field``."""
    row = await session.scalar(
        select(model).where(col(model.tenant_id) == tenant_id, pismo_id == wanted)
    )
    if row is None:
        raise BadInput(f"{what} {wanted} does not exist", field=field)
    return row


async def find_program(
    session: AsyncSession, tenant_id: int, program_id: int, field: str
) -> PismoProgram:
    return await _find(
        session, tenant_id, PismoProgram, col(PismoProgram.program_id), program_id, "program", field
    )


async def find_entry_type(
    session: AsyncSession, tenant_id: int, entry_type_id: int, field: str
) -> PismoEntryType:
    return await _find(
        session,
        tenant_id,
        PismoEntryType,
        col(PismoEntryType.entry_type_id),
        entry_type_id,
        "entry type",
        field,
    )


async def find_event_type(
    session: AsyncSession, tenant_id: int, event_type_id: int, field: str
) -> PismoEventType:
    return await _find(
        session,
        tenant_id,
        PismoEventType,
        col(PismoEventType.event_type_id),
        event_type_id,
        "event type",
        field,
    )


async def _create_reference(
    db: Database,
    tenant_id: int,
    model: type[Reference],
    pismo_id: Any,
    wanted: int | None,
    what: str,
    build: Callable[[int], Reference],
) -> Reference:
    """Inserts ``build(id)``: ``wanted``, or the next id of the tenant's counter of ``what``."""
    kind = what.replace(" ", "_")
    async with db.write() as session:
        if wanted is None:
            wanted = await ids.next_id(session, tenant_id, kind)
            if wanted is None:
                raise BadInput(f"no {what} id is left: give one explicitly", field="id")
        else:
            await ids.claim(session, tenant_id, kind, wanted)
            taken = await session.scalar(
                select(col(model.id)).where(col(model.tenant_id) == tenant_id, pismo_id == wanted)
            )
            if taken is not None:
                raise Conflict(f"{what} {wanted} already exists", field="id")
        row = build(wanted)
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same id won the race
            raise Conflict(f"{what} {wanted} already exists", field="id") from None
    return row


async def create_program(db: Database, tenant_id: int, data: ProgramInput) -> PismoProgram:
    name = check_text(data.name, field="name", what="name", max_length=MAX_NAME)
    currency = check_currency(data.currency)
    wanted = optional_id(data.id, field="id", what="program id")
    return await _create_reference(
        db,
        tenant_id,
        PismoProgram,
        col(PismoProgram.program_id),
        wanted,
        "program",
        lambda number: PismoProgram(
            tenant_id=tenant_id, program_id=number, name=name, currency=currency
        ),
    )


async def create_entry_type(db: Database, tenant_id: int, data: TypeInput) -> PismoEntryType:
    description = check_text(
        data.description, field="description", what="description", max_length=MAX_NAME
    )
    wanted = optional_id(data.id, field="id", what="entry type id")
    return await _create_reference(
        db,
        tenant_id,
        PismoEntryType,
        col(PismoEntryType.entry_type_id),
        wanted,
        "entry type",
        lambda number: PismoEntryType(
            tenant_id=tenant_id, entry_type_id=number, description=description
        ),
    )


async def create_event_type(db: Database, tenant_id: int, data: TypeInput) -> PismoEventType:
    description = check_text(
        data.description, field="description", what="description", max_length=MAX_NAME
    )
    wanted = optional_id(data.id, field="id", what="event type id")
    return await _create_reference(
        db,
        tenant_id,
        PismoEventType,
        col(PismoEventType.event_type_id),
        wanted,
        "event type",
        lambda number: PismoEventType(
            tenant_id=tenant_id, event_type_id=number, description=description
        ),
    )


async def list_programs(db: Database, tenant_id: int) -> list[PismoProgram]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PismoProgram)
            .where(col(PismoProgram.tenant_id) == tenant_id)
            .order_by(col(PismoProgram.program_id))
        )
        return list(rows.all())


async def get_program(db: Database, tenant_id: int, program_id: object) -> PismoProgram | None:
    wanted = parse_id(program_id, field="id", what="program id")
    async with db.read() as session:
        return await session.scalar(
            select(PismoProgram).where(
                col(PismoProgram.tenant_id) == tenant_id, col(PismoProgram.program_id) == wanted
            )
        )


async def list_entry_types(db: Database, tenant_id: int) -> list[PismoEntryType]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PismoEntryType)
            .where(col(PismoEntryType.tenant_id) == tenant_id)
            .order_by(col(PismoEntryType.entry_type_id))
        )
        return list(rows.all())


async def list_event_types(db: Database, tenant_id: int) -> list[PismoEventType]:
    async with db.read() as session:
        rows = await session.scalars(
            select(PismoEventType)
            .where(col(PismoEventType.tenant_id) == tenant_id)
            .order_by(col(PismoEventType.event_type_id))
        )
        return list(rows.all())
