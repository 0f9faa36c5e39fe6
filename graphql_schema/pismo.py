"""Pismo accounting in GraphQL: programs, entry and event types, accounting accounts,
accounting scripts, accounting entries and accounting events.

Pismo ids are 64-bit: they travel as ``ID`` (a string, or an integer in input) and the
ledger core checks them (1 to 2^63-1), never as GraphQL's 32-bit ``Int``. Amounts are
``Money``. Resolvers only translate; every rule is in ``app.ledger.pismo``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

import strawberry

from app.ledger import pismo
from app.ledger.paging import Page
from db.pismo_tables import PismoAccountingScript as ScriptRow
from db.pismo_tables import PismoEntryType as EntryTypeRow
from db.pismo_tables import PismoEventType as EventTypeRow
from db.pismo_tables import PismoProgram as ProgramRow
from db.tables import Account as AccountRow
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.scalars import Money
from graphql_schema.types import Account, AccountType, Connection, JournalEntry, money

N = TypeVar("N")


def _id(value: int | None) -> strawberry.ID:
    return strawberry.ID(str(value))


def _optional_id(value: int | None) -> strawberry.ID | None:
    return None if value is None else _id(value)


def _connection(nodes: list[N], page: Page[Any]) -> Connection[N]:
    return Connection.of(nodes, page)


# ---------------------------------------------------------------- types


@strawberry.type(
    name="PismoProgram", description="A Pismo program; its amounts are in one currency."
)
class Program:
    id: strawberry.ID = strawberry.field(description="Pismo's program id (64-bit).")
    name: str
    currency: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: ProgramRow) -> Program:
        return cls(
            id=_id(row.program_id), name=row.name, currency=row.currency, created_at=row.created_at
        )


@strawberry.type(name="PismoEntryType", description="A Pismo entry type, e.g. 2100.")
class EntryType:
    id: strawberry.ID
    description: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: EntryTypeRow) -> EntryType:
        return cls(
            id=_id(row.entry_type_id), description=row.description, created_at=row.created_at
        )


@strawberry.type(name="PismoEventType", description="A Pismo event type.")
class EventType:
    id: strawberry.ID
    description: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: EventTypeRow) -> EventType:
        return cls(
            id=_id(row.event_type_id), description=row.description, created_at=row.created_at
        )


@strawberry.type(description="Pismo's AccountingAccount: a ledger account of the tenant.")
class AccountingAccount:
    id: strawberry.ID = strawberry.field(description="The ledger account's id.")
    account: str = strawberry.field(description="Account number: the ledger account's code.")
    description: str = strawberry.field(description="The ledger account's name.")
    program_id: strawberry.ID | None
    created_at: dt.datetime
    deactivated_at: dt.datetime | None
    ledger_account: Account = strawberry.field(description="The same account, with its balances.")

    @classmethod
    def of(cls, row: AccountRow) -> AccountingAccount:
        return cls(
            id=_id(row.id),
            account=row.code,
            description=row.name,
            program_id=_optional_id(row.program_id),
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
            ledger_account=Account.of(row),
        )


@strawberry.type(name="PismoCostCenter")
class CostCenter:
    debit_org: str
    credit_org: str
    debit_cost: str
    credit_cost: str
    deactivated_at: dt.datetime | None


@strawberry.type(
    description="Routes one amount (entry name) of an event to a debit and a credit account."
)
class AccountingScript:
    id: strawberry.ID
    program_id: strawberry.ID
    event_type_id: strawberry.ID
    entry_type_id: strawberry.ID
    entry_name: str
    processing_code: str | None
    debit_accounting: AccountingAccount
    credit_accounting: AccountingAccount
    cost_center: CostCenter | None
    created_at: dt.datetime

    @classmethod
    def of(cls, view: pismo.ScriptView) -> AccountingScript:
        row: ScriptRow = view.script
        cost_center = None
        if row.debit_org is not None:
            cost_center = CostCenter(
                debit_org=row.debit_org,
                credit_org=row.credit_org or "",
                debit_cost=row.debit_cost or "",
                credit_cost=row.credit_cost or "",
                deactivated_at=row.cost_center_deactivated_at,
            )
        return cls(
            id=_id(row.id),
            program_id=_id(row.program_id),
            event_type_id=_id(row.event_type_id),
            entry_type_id=_id(row.entry_type_id),
            entry_name=row.entry_name,
            processing_code=row.processing_code or None,
            debit_accounting=AccountingAccount.of(view.debit_account),
            credit_accounting=AccountingAccount.of(view.credit_account),
            cost_center=cost_center,
            created_at=row.created_at,
        )


@strawberry.type(description="A posted Pismo accounting entry.")
class AccountingEntry:
    id: strawberry.ID = strawberry.field(description="The journal entry's id.")
    program_id: strawberry.ID
    entry_type_id: strawberry.ID
    event_date: str = strawberry.field(description="As sent: a date or a date-time.")
    amount: Money
    currency: str = strawberry.field(description="The program's currency.")
    account_id: strawberry.ID | None
    transaction_id: strawberry.ID | None
    tracking_id: str | None
    debit_accounting_account: str | None = strawberry.field(
        description='As sent; null or "0" took the account from the script.'
    )
    credit_accounting_account: str | None = strawberry.field(
        description='As sent; null or "0" took the account from the script.'
    )
    debit_accounting: AccountingAccount = strawberry.field(description="The account debited.")
    credit_accounting: AccountingAccount = strawberry.field(description="The account credited.")
    script_ids: list[strawberry.ID] = strawberry.field(
        description="The scripts that chose an account; empty when the entry named both."
    )

    @classmethod
    def of(cls, result: pismo.AccountingEntryResult) -> AccountingEntry:
        return cls(
            id=_id(result.entry.id),
            program_id=_id(result.program_id),
            entry_type_id=_id(result.entry_type_id),
            event_date=result.event_date,
            amount=money(result.amount_minor, result.currency),
            currency=result.currency,
            account_id=_optional_id(result.account_id),
            transaction_id=_optional_id(result.transaction_id),
            tracking_id=result.tracking_id,
            debit_accounting_account=result.debit_accounting_account,
            credit_accounting_account=result.credit_accounting_account,
            debit_accounting=AccountingAccount.of(result.debit_account),
            credit_accounting=AccountingAccount.of(result.credit_account),
            script_ids=[_id(script_id) for script_id in result.script_ids],
        )


# ---------------------------------------------------------------- inputs


@strawberry.input
class CreateProgramInput:
    name: str
    currency: str = strawberry.field(description="ISO 4217 code of every amount of the program.")
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Pismo's program id; default: the tenant's highest plus one."
    )

    def to_core(self) -> pismo.ProgramInput:
        return pismo.ProgramInput(name=self.name, currency=self.currency, id=self.id)


@strawberry.input
class CreateEntryTypeInput:
    description: str
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Pismo's entry type id; default: the highest plus one."
    )

    def to_core(self) -> pismo.TypeInput:
        return pismo.TypeInput(description=self.description, id=self.id)


@strawberry.input
class CreateEventTypeInput:
    description: str
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Pismo's event type id; default: the highest plus one."
    )

    def to_core(self) -> pismo.TypeInput:
        return pismo.TypeInput(description=self.description, id=self.id)


@strawberry.input
class CreateAccountingAccountInput:
    program_id: strawberry.ID
    account: str = strawberry.field(description="Account number; becomes the ledger code.")
    description: str
    type: AccountType
    category: str | None = None

    def to_core(self) -> pismo.AccountingAccountInput:
        return pismo.AccountingAccountInput(
            program_id=self.program_id,
            account=self.account,
            description=self.description,
            type=self.type.value,
            category=self.category,
        )


@strawberry.input(name="PismoCostCenterInput")
class CostCenterInput:
    debit_org: str
    credit_org: str
    debit_cost: str
    credit_cost: str
    deactivated_at: dt.datetime | None = None

    def to_core(self) -> pismo.CostCenterInput:
        return pismo.CostCenterInput(
            debit_org=self.debit_org,
            credit_org=self.credit_org,
            debit_cost=self.debit_cost,
            credit_cost=self.credit_cost,
            deactivated_at=self.deactivated_at,
        )


@strawberry.input
class CreateAccountingScriptInput:
    program_id: strawberry.ID
    event_type_id: strawberry.ID
    entry_type_id: strawberry.ID
    debit_accounting_account_id: strawberry.ID
    credit_accounting_account_id: strawberry.ID
    entry_name: str | None = strawberry.field(
        default=pismo.DEFAULT_ENTRY_NAME,
        description="One of Pismo's entry names (amount, interest, fine, iof, ...).",
    )
    processing_code: str | None = strawberry.field(
        default=None, description="At most 6 characters."
    )
    cost_center: CostCenterInput | None = None

    def to_core(self) -> pismo.ScriptInput:
        return pismo.ScriptInput(
            program_id=self.program_id,
            event_type_id=self.event_type_id,
            entry_type_id=self.entry_type_id,
            debit_accounting_account_id=self.debit_accounting_account_id,
            credit_accounting_account_id=self.credit_accounting_account_id,
            entry_name=self.entry_name,
            processing_code=self.processing_code,
            cost_center=self.cost_center.to_core() if self.cost_center else None,
        )


@strawberry.input
class CreateAccountingEntryInput:
    amount: Money = strawberry.field(description="In the program's currency.")
    entry_type_id: strawberry.ID
    event_date: str = strawberry.field(description="A date (YYYY-MM-DD) or an ISO 8601 date-time.")
    program_id: strawberry.ID
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="Pismo account; required when transactionId is given."
    )
    credit_accounting_account: str | None = strawberry.field(
        default=None, description='Account number; null or "0": the script\'s.'
    )
    debit_accounting_account: str | None = strawberry.field(
        default=None, description='Account number; null or "0": the script\'s.'
    )
    tracking_id: str | None = strawberry.field(
        default=None, description="Idempotency key: used before in the tenant is a CONFLICT."
    )
    transaction_id: strawberry.ID | None = None

    def to_core(self) -> pismo.AccountingEntryInput:
        return pismo.AccountingEntryInput(
            amount=self.amount,
            entry_type_id=self.entry_type_id,
            event_date=self.event_date,
            program_id=self.program_id,
            account_id=self.account_id,
            credit_accounting_account=self.credit_accounting_account,
            debit_accounting_account=self.debit_accounting_account,
            tracking_id=self.tracking_id,
            transaction_id=self.transaction_id,
        )


@strawberry.input
class AccountingAmountInput:
    entry_name: str
    amount: Money


# ---------------------------------------------------------------- payloads


@strawberry.type
class ProgramPayload:
    program: Program | None
    errors: list[UserError]


@strawberry.type
class EntryTypePayload:
    entry_type: EntryType | None
    errors: list[UserError]


@strawberry.type
class EventTypePayload:
    event_type: EventType | None
    errors: list[UserError]


@strawberry.type
class AccountingAccountPayload:
    accounting_account: AccountingAccount | None
    errors: list[UserError]


@strawberry.type
class AccountingScriptPayload:
    script: AccountingScript | None
    errors: list[UserError]


@strawberry.type
class AccountingEntryPayload:
    accounting_entry: AccountingEntry | None
    journal_entry: JournalEntry | None
    errors: list[UserError]


@strawberry.type
class AccountingEventPayload:
    journal_entry: JournalEntry | None
    scripts: list[AccountingScript] = strawberry.field(description="The scripts applied.")
    errors: list[UserError]


# ---------------------------------------------------------------- query and mutation


@strawberry.type
class PismoQuery:
    @strawberry.field
    async def programs(self, info: Info) -> list[Program]:
        rows = await pismo.list_programs(info.context.db, info.context.tenant_id)
        return [Program.of(row) for row in rows]

    @strawberry.field
    async def program(self, info: Info, id: strawberry.ID) -> Program | None:
        row = await pismo.get_program(info.context.db, info.context.tenant_id, id)
        return Program.of(row) if row else None

    @strawberry.field
    async def entry_types(self, info: Info) -> list[EntryType]:
        rows = await pismo.list_entry_types(info.context.db, info.context.tenant_id)
        return [EntryType.of(row) for row in rows]

    @strawberry.field
    async def event_types(self, info: Info) -> list[EventType]:
        rows = await pismo.list_event_types(info.context.db, info.context.tenant_id)
        return [EventType.of(row) for row in rows]

    @strawberry.field
    async def accounting_accounts(
        self,
        info: Info,
        program_id: strawberry.ID | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[AccountingAccount]:
        page = await pismo.list_accounting_accounts(
            info.context.db, info.context.tenant_id, program_id=program_id, first=first, after=after
        )
        return _connection([AccountingAccount.of(row) for row in page.items], page)

    @strawberry.field
    async def accounting_scripts(
        self,
        info: Info,
        program_id: strawberry.ID | None = None,
        event_type_id: strawberry.ID | None = None,
        entry_type_id: strawberry.ID | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[AccountingScript]:
        page = await pismo.list_scripts(
            info.context.db,
            info.context.tenant_id,
            program_id=program_id,
            event_type_id=event_type_id,
            entry_type_id=entry_type_id,
            first=first,
            after=after,
        )
        return _connection([AccountingScript.of(view) for view in page.items], page)


@strawberry.type
class PismoMutation:
    @strawberry.mutation
    async def create_program(self, info: Info, input: CreateProgramInput) -> ProgramPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: pismo.create_program(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return ProgramPayload(program=Program.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def create_entry_type(self, info: Info, input: CreateEntryTypeInput) -> EntryTypePayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: pismo.create_entry_type(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return EntryTypePayload(entry_type=EntryType.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def create_event_type(self, info: Info, input: CreateEventTypeInput) -> EventTypePayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: pismo.create_event_type(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return EventTypePayload(event_type=EventType.of(row) if row else None, errors=errors)

    @strawberry.mutation
    async def create_accounting_account(
        self, info: Info, input: CreateAccountingAccountInput
    ) -> AccountingAccountPayload:
        ctx = info.context
        row, errors = await attempt(
            lambda: pismo.create_accounting_account(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return AccountingAccountPayload(
            accounting_account=AccountingAccount.of(row) if row else None, errors=errors
        )

    @strawberry.mutation
    async def create_accounting_script(
        self, info: Info, input: CreateAccountingScriptInput
    ) -> AccountingScriptPayload:
        ctx = info.context
        view, errors = await attempt(
            lambda: pismo.create_script(ctx.db, ctx.writable_tenant(), input.to_core())
        )
        return AccountingScriptPayload(
            script=AccountingScript.of(view) if view else None, errors=errors
        )

    @strawberry.mutation
    async def create_accounting_entry(
        self, info: Info, input: CreateAccountingEntryInput
    ) -> AccountingEntryPayload:
        ctx = info.context

        async def post() -> pismo.AccountingEntryResult:
            tenant_id = ctx.writable_tenant()
            ctx.posting.charge(1, 2, field="input")  # a debit and a credit line
            return await pismo.create_accounting_entry(ctx.db, tenant_id, input.to_core())

        result, errors = await attempt(post)
        return AccountingEntryPayload(
            accounting_entry=AccountingEntry.of(result) if result else None,
            journal_entry=JournalEntry.of(result.entry) if result else None,
            errors=errors,
        )

    @strawberry.mutation
    async def post_accounting_event(
        self,
        info: Info,
        program_id: strawberry.ID,
        event_type_id: strawberry.ID,
        amounts: list[AccountingAmountInput],
        processing_code: str | None = None,
        event_date: Annotated[
            str | None, strawberry.argument(description="Date or date-time; default today (UTC).")
        ] = None,
        tracking_id: Annotated[
            str | None, strawberry.argument(description="Idempotency key; reused is a CONFLICT.")
        ] = None,
    ) -> AccountingEventPayload:
        ctx = info.context
        data = pismo.AccountingEventInput(
            program_id=program_id,
            event_type_id=event_type_id,
            amounts=[pismo.EventAmount(item.entry_name, item.amount) for item in amounts],
            processing_code=processing_code,
            event_date=event_date,
            tracking_id=tracking_id,
        )

        async def post() -> pismo.AccountingEventResult:
            tenant_id = ctx.writable_tenant()
            # At most a debit and a credit line per amount: scripts are one per entry name.
            ctx.posting.charge(1, 2 * len(amounts), field="amounts")
            return await pismo.post_accounting_event(ctx.db, tenant_id, data)

        result, errors = await attempt(post)
        return AccountingEventPayload(
            journal_entry=JournalEntry.of(result.entry) if result else None,
            scripts=[AccountingScript.of(view) for view in result.scripts] if result else [],
            errors=errors,
        )
