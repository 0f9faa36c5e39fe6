"""Pismo accounting: programs, entry and event types, accounting accounts and scripts,
accounting entries and accounting events.

Pismo ids (program 12, entry type 2100) are chosen by the client: positive 64-bit
integers, unique per tenant. An accounting account is a ledger account: its ``code``
is Pismo's account number, its ``name`` the description. Every posting goes through
``posting.post_in``: an accounting entry is one two-line journal entry, an accounting
event one journal entry with a debit and a credit line per script it applies.

Errors name the GraphQL input field (``programId``); the REST shim renames them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import accounts, pismo_ids, posting, validation
from app.ledger.errors import BadInput, Conflict, LedgerError, TryAgain
from app.ledger.money import check_currency, format_minor, from_minor, parse_decimal, to_minor
from app.ledger.reports import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.text import check_text
from db.engine import Database, WriteContention
from db.pismo_tables import PismoAccountingScript, PismoEntryType, PismoEventType, PismoProgram
from db.tables import Account

MAX_ID = 2**63 - 1
SOURCE = "pismo"
TRACKING_SCOPE = "pismo_tracking"
EVENT_TRACKING_SCOPE = "pismo_event"
ENTRY_CREATED = "accounting_entry.created"
EVENT_POSTED = "accounting_event.posted"
# Pismo's documented `entry_name` values (seed 001, AccountingScriptPost.entry_name).
ENTRY_NAMES: tuple[str, ...] = (
    "amount",
    "amount-advancement",
    "amount-advancement-dueDate",
    "amount-advancement-shift",
    "amount-advancement-shift-dueDate",
    "amount-anticipation",
    "amount-cancelment-anticipation",
    "amount-clearing",
    "amount-contract",
    "amount-dueDate",
    "amount-dueDate-cancelment",
    "amount-reversal",
    "contractAmount",
    "daily-interest",
    "fine",
    "interest",
    "interest-advancement",
    "interest-advancement-dueDate",
    "interest-anticipation",
    "interest-dueDate",
    "interest-not-appropriated",
    "interest-partial",
    "iof",
    "iof-dueDate",
    "overdue",
)
DEFAULT_ENTRY_NAME = "amount"
# An accounting entry whose account is absent or "0" takes it from the script.
NO_ACCOUNT = "0"
MAX_PROCESSING_CODE = 6
MAX_TRACKING_ID = 50
MAX_ACCOUNT_NUMBER = 50
MAX_ACCOUNT_DESCRIPTION = 100
MAX_COST_CENTER_FIELD = 50
MAX_NAME = 200
MAX_EVENT_AMOUNTS = 100
# No currency has more than 4 decimals and no amount reaches 10^20 minor units: bounding
# the exponent first keeps a JSON number like 1e999999999 from being expanded.
MAX_AMOUNT_ADJUSTED = 30

_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# ---------------------------------------------------------------- inputs and views


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


@dataclass(frozen=True)
class AccountingAccountInput:
    program_id: object
    account: str
    description: str
    type: str
    category: str | None = None


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


@dataclass(frozen=True)
class AccountingEntryInput:
    amount: object
    entry_type_id: object
    event_date: object
    program_id: object
    account_id: object = None
    credit_accounting_account: str | None = None
    debit_accounting_account: str | None = None
    tracking_id: str | None = None
    transaction_id: object = None


@dataclass(frozen=True)
class AccountingEntryResult:
    entry: posting.EntryView
    program_id: int
    entry_type_id: int
    event_date: str  # as sent: a date or a date-time
    amount_minor: int
    currency: str
    account_id: int | None
    transaction_id: int | None
    tracking_id: str | None
    # As sent (None when absent); the accounts posted to are debit_account/credit_account.
    debit_accounting_account: str | None
    credit_accounting_account: str | None
    debit_account: Account
    credit_account: Account
    script_ids: list[int]


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


# ---------------------------------------------------------------- field checks


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_id(value: object, *, field: str, what: str) -> int:
    """A Pismo id: a positive 64-bit integer, from an int or a string of ASCII digits."""
    return validation.parse_id(value, field=field, what=what)


def _optional_id(value: object, *, field: str, what: str) -> int | None:
    return None if value is None else parse_id(value, field=field, what=what)


def _text(value: object, *, field: str, what: str, max_length: int) -> str:
    return check_text(value, field=field, what=what, max_length=max_length)


def check_entry_name(value: str | None, field: str = "entryName") -> str:
    """The entry name, ``amount`` when absent; one of Pismo's documented values."""
    if value is None:
        return DEFAULT_ENTRY_NAME
    if value not in ENTRY_NAMES:
        raise BadInput(
            f"entry name {_show(value)} is not one of: {', '.join(ENTRY_NAMES)}", field=field
        )
    return value


def check_processing_code(value: str | None, field: str = "processingCode") -> str:
    """The processing code, ``""`` when absent; at most 6 characters."""
    if value is None or value == "":
        return ""
    check_text(
        value,
        field=field,
        what="processing code",
        max_length=MAX_PROCESSING_CODE,
        required=False,
        strip=False,
    )
    if len(value) > MAX_PROCESSING_CODE:
        raise BadInput(
            f"processing code {_show(value)} is longer than {MAX_PROCESSING_CODE} characters",
            field=field,
        )
    if value != value.strip():
        raise BadInput("processing code has leading or trailing spaces", field=field)
    return value


def _tracking_id(value: str | None, field: str = "trackingId") -> str | None:
    if value is None:
        return None
    # Kept as sent, like an idempotency key, which it is.
    return check_text(
        value, field=field, what="tracking id", max_length=MAX_TRACKING_ID, strip=False
    )


def parse_event_date(value: object, field: str = "eventDate") -> dt.date:
    """The calendar date of a date (``2021-02-01``) or an ISO 8601 date-time.

    A date-time counts on the date written in it (``2021-02-01T23:30:00-03:00`` is
    2021-02-01), not on the UTC date: the sender's business day.
    """
    if not isinstance(value, str):
        raise BadInput(
            "event date must be a string (YYYY-MM-DD or an ISO 8601 date-time)", field=field
        )
    text = value.strip()
    try:
        if len(text) > 40 or not text.isascii():
            raise ValueError
        if _PLAIN_DATE.fullmatch(text):
            on = dt.date.fromisoformat(text)
        else:
            on = dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise BadInput(
            f"event date {_show(value)} is not a date (YYYY-MM-DD) or an ISO 8601 date-time",
            field=field,
        ) from None
    return validation.check_date(on, field=field)


def _amount(value: object, currency: str, field: str) -> int:
    """Minor units of a positive amount in ``currency``; more decimals is an error."""
    try:
        amount = parse_decimal(value)
        if amount.adjusted() > MAX_AMOUNT_ADJUSTED:
            raise BadInput(f"amount is too large for {currency}")
        return to_minor(amount, currency)
    except LedgerError as error:
        raise error.at(field) from None


def _account_number(value: str | None, field: str) -> str | None:
    """An accounting account number, or None when absent, empty or "0" (use the script)."""
    if value is None or value.strip() in ("", NO_ACCOUNT):
        return None
    check_text(value, field=field, what="accounting account number", max_length=MAX_ACCOUNT_NUMBER)
    if len(value) > MAX_ACCOUNT_NUMBER:
        raise BadInput(
            f"accounting account number is longer than {MAX_ACCOUNT_NUMBER} characters",
            field=field,
        )
    return value.strip()


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _relabel(error: LedgerError, fields: Mapping[str, str]) -> LedgerError:
    """``error`` with a field of the posting core renamed to the Pismo input's field."""
    if error.field is not None:
        for prefix, name in fields.items():
            if error.field == prefix or error.field.startswith(prefix + "."):
                error.field = name
                break
    return error


# ---------------------------------------------------------------- reference data


Reference = TypeVar("Reference", PismoProgram, PismoEntryType, PismoEventType)
R = TypeVar("R")


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


async def _program(
    session: AsyncSession, tenant_id: int, program_id: int, field: str
) -> PismoProgram:
    return await _find(
        session, tenant_id, PismoProgram, col(PismoProgram.program_id), program_id, "program", field
    )


async def _entry_type(
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


async def _event_type(
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
            wanted = await pismo_ids.next_id(session, tenant_id, kind)
            if wanted is None:
                raise BadInput(f"no {what} id is left: give one explicitly", field="id")
        else:
            await pismo_ids.claim(session, tenant_id, kind, wanted)
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
    name = _text(data.name, field="name", what="name", max_length=MAX_NAME)
    currency = check_currency(data.currency)
    wanted = _optional_id(data.id, field="id", what="program id")
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
    description = _text(
        data.description, field="description", what="description", max_length=MAX_NAME
    )
    wanted = _optional_id(data.id, field="id", what="entry type id")
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
    description = _text(
        data.description, field="description", what="description", max_length=MAX_NAME
    )
    wanted = _optional_id(data.id, field="id", what="event type id")
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


# ---------------------------------------------------------------- accounting accounts


async def create_accounting_account(
    db: Database, tenant_id: int, data: AccountingAccountInput
) -> Account:
    """A ledger account of the program, restricted to the program's currency."""
    program_id = parse_id(data.program_id, field="programId", what="program id")
    number = _text(
        data.account, field="account", what="account number", max_length=MAX_ACCOUNT_NUMBER
    )
    if number == NO_ACCOUNT:
        raise BadInput(
            '"0" means "no account" in Pismo entries: choose another number', field="account"
        )
    description = _text(
        data.description,
        field="description",
        what="description",
        max_length=MAX_ACCOUNT_DESCRIPTION,
    )
    async with db.read() as session:
        program = await _program(session, tenant_id, program_id, "programId")
    try:
        return await accounts.create_account(
            db,
            tenant_id,
            accounts.AccountInput(
                code=number,
                name=description,
                type=data.type,
                category=data.category,
                currency=program.currency,
                program_id=program_id,
            ),
        )
    except LedgerError as error:
        raise _relabel(error, {"code": "account", "name": "description"}) from None


async def list_accounting_accounts(
    db: Database,
    tenant_id: int,
    *,
    program_id: object = None,
    first: int = 100,
    after: str | None = None,
) -> Page[Account]:
    """Ledger accounts of the tenant (of one program when given), by id."""
    check_page_size(first)
    query = select(Account).where(col(Account.tenant_id) == tenant_id)
    if program_id is not None:
        wanted = parse_id(program_id, field="programId", what="program id")
        query = query.where(col(Account.program_id) == wanted)
    if after:
        (last,) = decode_cursor(after, (int,))
        query = query.where(col(Account.id) > last)
    async with db.read() as session:
        rows = list((await session.scalars(query.order_by(col(Account.id)).limit(first + 1))).all())
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.id) for item in items])


def _check_usable(account: Account, program: PismoProgram, what: str, field: str) -> Account:
    """``account`` if it can take postings of ``program``; ``what`` names it in errors."""
    if account.deactivated_at is not None:
        raise BadInput(f"{what} is deactivated", field=field)
    if account.program_id is not None and account.program_id != program.program_id:
        raise BadInput(
            f"{what} belongs to program {account.program_id}, not to program {program.program_id}",
            field=field,
        )
    if account.currency is not None and account.currency != program.currency:
        raise BadInput(
            f"{what} only takes {account.currency}; program {program.program_id} "
            f"is in {program.currency}",
            field=field,
        )
    return account


async def _account_by_id(
    session: AsyncSession, tenant_id: int, account_id: int, program: PismoProgram, field: str
) -> Account:
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id) == account_id)
    )
    if account is None:
        raise BadInput(f"accounting account {account_id} does not exist", field=field)
    return _check_usable(
        account, program, f"accounting account {account_id} ({account.code})", field
    )


async def _account_by_number(
    session: AsyncSession, tenant_id: int, number: str, program: PismoProgram, field: str
) -> Account:
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == number)
    )
    if account is None:
        raise BadInput(f"accounting account {number} does not exist", field=field)
    return _check_usable(account, program, f"accounting account {number}", field)


async def _accounts_by_id(
    session: AsyncSession, tenant_id: int, ids: set[int]
) -> dict[int, Account]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id).in_(ids))
    )
    return {row.id: row for row in rows.all() if row.id is not None}


# ---------------------------------------------------------------- accounting scripts


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
        program = await _program(session, tenant_id, program_id, "programId")
        await _event_type(session, tenant_id, event_type_id, "eventTypeId")
        await _entry_type(session, tenant_id, entry_type_id, "entryTypeId")
        debit = await _account_by_id(
            session, tenant_id, debit_id, program, "debitAccountingAccountId"
        )
        credit = await _account_by_id(
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
        found = await _accounts_by_id(
            session,
            tenant_id,
            {row.debit_account_id for row in rows} | {row.credit_account_id for row in rows},
        )
    items = [
        ScriptView(row, found[row.debit_account_id], found[row.credit_account_id])
        for row in rows[:first]
    ]
    return Page(items, len(rows) > first, [encode_cursor(item.script.id) for item in items])


# ---------------------------------------------------------------- accounting entries


async def _script_accounts(
    session: AsyncSession,
    tenant_id: int,
    program: PismoProgram,
    entry_type_id: int,
    *,
    need_debit: bool,
    need_credit: bool,
) -> tuple[Account | None, Account | None, list[PismoAccountingScript]]:
    """The accounts the program's ``amount`` scripts of the entry type give the missing
    sides, and those scripts."""
    rows = list(
        (
            await session.scalars(
                select(PismoAccountingScript)
                .where(
                    col(PismoAccountingScript.tenant_id) == tenant_id,
                    col(PismoAccountingScript.program_id) == program.program_id,
                    col(PismoAccountingScript.entry_type_id) == entry_type_id,
                    col(PismoAccountingScript.entry_name) == DEFAULT_ENTRY_NAME,
                )
                .order_by(col(PismoAccountingScript.id))
            )
        ).all()
    )
    field = "debitAccountingAccount" if need_debit else "creditAccountingAccount"
    where = f"program {program.program_id} and entry type {entry_type_id} (entry name amount)"
    if not rows:
        raise BadInput(
            f"no accounting script for {where}: create one, or name the debit and credit "
            "accounting accounts in the entry",
            field=field,
        )
    debit_ids = {row.debit_account_id for row in rows} if need_debit else set()
    credit_ids = {row.credit_account_id for row in rows} if need_credit else set()
    for side, ids in (("debit", debit_ids), ("credit", credit_ids)):
        if len(ids) > 1:
            scripts = ", ".join(str(row.id) for row in rows)
            raise BadInput(
                f"the accounting scripts {scripts} for {where} disagree on the {side} "
                f"accounting account: name the debit and credit accounting accounts in the entry",
                field=f"{side}AccountingAccount",
            )
    found = await _accounts_by_id(session, tenant_id, debit_ids | credit_ids)
    debit = credit = None
    if need_debit:
        (debit_id,) = debit_ids
        debit = _check_usable(
            found[debit_id],
            program,
            f"accounting account {found[debit_id].code} (debit of script {rows[0].id})",
            "debitAccountingAccount",
        )
    if need_credit:
        (credit_id,) = credit_ids
        credit = _check_usable(
            found[credit_id],
            program,
            f"accounting account {found[credit_id].code} (credit of script {rows[0].id})",
            "creditAccountingAccount",
        )
    return debit, credit, rows


def _script_cost_centers(
    rows: Sequence[PismoAccountingScript], *, debit: bool, credit: bool
) -> tuple[str | None, str | None]:
    """The debit and credit cost centers of the scripts a direct entry's accounts came from.

    Only the sides the scripts gave (``debit``, ``credit``) have one: an account named in
    the request comes from no script. Scripts that agree on the accounts may still differ
    on a cost center; then no single script applied and the side has none.
    """

    def agreed(values: set[str | None]) -> str | None:
        return next(iter(values)) if len(values) == 1 else None

    return (
        agreed({row.debit_cost for row in rows}) if debit and rows else None,
        agreed({row.credit_cost for row in rows}) if credit and rows else None,
    )


async def _post_tracked(
    session: AsyncSession,
    tenant_id: int,
    data: posting.EntryInput,
    *,
    posted: str,
    fields: Mapping[str, str],
) -> posting.PostResult:
    """Posts ``data`` through the ledger core, in Pismo's terms.

    A reused tracking id is a Conflict on ``trackingId`` (``posted`` says what
    happened before); other errors get the core's fields renamed by ``fields``.
    """
    try:
        return await posting.post_in(session, tenant_id, data)
    except Conflict as error:
        if error.field != "idempotencyKey":
            raise
        raise Conflict(
            f"tracking id {data.idempotency_key} already exists: {posted}", field="trackingId"
        ) from None
    except LedgerError as error:
        raise _relabel(error, fields) from None


async def _write_retrying(db: Database, write: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """``write`` in one write transaction, retried after a deadlock; then TRY_AGAIN, never a 500."""
    try:
        return await db.run_write_session(write)
    except WriteContention:
        raise TryAgain.contended() from None


async def create_accounting_entry(
    db: Database, tenant_id: int, data: AccountingEntryInput
) -> AccountingEntryResult:
    """Posts an accounting entry: ``amount`` from the credit to the debit accounting account.

    Accounts absent or "0" come from the program's script for the entry type (entry
    name ``amount``). A tracking id used before in the tenant is a Conflict, never a replay.
    """
    program_id = parse_id(data.program_id, field="programId", what="program id")
    entry_type_id = parse_id(data.entry_type_id, field="entryTypeId", what="entry type id")
    account_id = _optional_id(data.account_id, field="accountId", what="account id")
    transaction_id = _optional_id(data.transaction_id, field="transactionId", what="transaction id")
    if transaction_id is not None and account_id is None:
        raise BadInput("account id is required when transaction id is present", field="accountId")
    on = parse_event_date(data.event_date)
    event_date = str(data.event_date)
    tracking_id = _tracking_id(data.tracking_id)
    debit_number = _account_number(data.debit_accounting_account, "debitAccountingAccount")
    credit_number = _account_number(data.credit_accounting_account, "creditAccountingAccount")

    async def write(session: AsyncSession) -> AccountingEntryResult:
        program = await _program(session, tenant_id, program_id, "programId")
        entry_type = await _entry_type(session, tenant_id, entry_type_id, "entryTypeId")
        currency = program.currency
        minor = _amount(data.amount, currency, "amount")
        scripts: list[PismoAccountingScript] = []
        debit = credit = None
        if debit_number is None or credit_number is None:
            debit, credit, scripts = await _script_accounts(
                session,
                tenant_id,
                program,
                entry_type_id,
                need_debit=debit_number is None,
                need_credit=credit_number is None,
            )
        if debit_number is not None:
            debit = await _account_by_number(
                session, tenant_id, debit_number, program, "debitAccountingAccount"
            )
        if credit_number is not None:
            credit = await _account_by_number(
                session, tenant_id, credit_number, program, "creditAccountingAccount"
            )
        assert debit is not None and credit is not None
        if debit.id == credit.id:
            raise BadInput(
                f"the debit and the credit accounting account are both {debit.code}",
                field="creditAccountingAccount",
            )
        script_ids = [row.id for row in scripts if row.id is not None]
        debit_cost_center, credit_cost_center = _script_cost_centers(
            scripts, debit=debit_number is None, credit=credit_number is None
        )
        amount = from_minor(minor, currency)
        description = f"Pismo transaction {transaction_id}" if transaction_id else None
        metadata = {
            "dialect": SOURCE,
            "program_id": program_id,
            "entry_type_id": entry_type_id,
            "event_date": event_date,
            "amount": format_minor(minor, currency),
            "currency": currency,
            "account_id": account_id,
            "transaction_id": transaction_id,
            "tracking_id": tracking_id,
            "debit_accounting_account": debit.code,
            "credit_accounting_account": credit.code,
            "script_ids": script_ids,
            # Pismo's "accounting entry created" event carries the entry type's description.
            "description": entry_type.description,
            # ... and the cost centers of the script that gave the accounts (null if none).
            "debit_cost_center": debit_cost_center,
            "credit_cost_center": credit_cost_center,
        }
        result = await _post_tracked(
            session,
            tenant_id,
            posting.EntryInput(
                date=on,
                memo=(
                    f"Pismo accounting entry: {entry_type.description} "
                    f"(entry type {entry_type_id}, program {program_id})"
                ),
                lines=[
                    posting.LineInput(account_id=debit.id, debit=amount, description=description),
                    posting.LineInput(account_id=credit.id, credit=amount, description=description),
                ],
                currency=currency,
                idempotency_key=tracking_id,
                idempotency_scope=TRACKING_SCOPE,
                replay_allowed=False,
                source=SOURCE,
                event_type=ENTRY_CREATED,
                metadata=metadata,
            ),
            posted="the entry was created before",
            fields={
                "date": "eventDate",
                "lines.0": "debitAccountingAccount",
                "lines.1": "creditAccountingAccount",
                "lines": "amount",
            },
        )
        return AccountingEntryResult(
            entry=result.entry,
            program_id=program_id,
            entry_type_id=entry_type_id,
            event_date=event_date,
            amount_minor=minor,
            currency=currency,
            account_id=account_id,
            transaction_id=transaction_id,
            tracking_id=tracking_id,
            debit_accounting_account=data.debit_accounting_account,
            credit_accounting_account=data.credit_accounting_account,
            debit_account=debit,
            credit_account=credit,
            script_ids=script_ids,
        )

    return await _write_retrying(db, write)


# ---------------------------------------------------------------- accounting events


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
    tracking_id = _tracking_id(data.tracking_id)
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
        program = await _program(session, tenant_id, program_id, "programId")
        event_type = await _event_type(session, tenant_id, event_type_id, "eventTypeId")
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
        found = await _accounts_by_id(
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
            minor = _amount(item.amount, program.currency, f"amounts.{index}.amount")
            amount = from_minor(minor, program.currency)
            amounts[item.entry_name] = format_minor(minor, program.currency)
            for script in matching:
                debit = _check_usable(
                    found[script.debit_account_id],
                    program,
                    f"accounting account {found[script.debit_account_id].code} "
                    f"(debit of script {script.id})",
                    f"amounts.{index}.entryName",
                )
                credit = _check_usable(
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
        result = await _post_tracked(
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

    return await _write_retrying(db, write)
