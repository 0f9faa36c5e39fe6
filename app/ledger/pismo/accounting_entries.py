"""Pismo's accounting entries: one amount from a credit to a debit accounting account.

Each is a two-line journal entry. Accounts the request leaves out (absent or "0")
come from the program's ``amount`` script of the entry type; the entry's metadata
keeps what Pismo's "accounting entry created" event carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import posting
from app.ledger.errors import BadInput
from app.ledger.money import format_minor, from_minor
from app.ledger.pismo.accounting_accounts import account_by_number, accounts_by_id, check_usable
from app.ledger.pismo.fields import (
    DEFAULT_ENTRY_NAME,
    MAX_ACCOUNT_NUMBER,
    NO_ACCOUNT,
    check_tracking_id,
    optional_id,
    parse_amount,
    parse_event_date,
    parse_id,
)
from app.ledger.pismo.posting import (
    ENTRY_CREATED,
    SOURCE,
    TRACKING_SCOPE,
    post_tracked,
    write_retrying,
)
from app.ledger.pismo.reference import find_entry_type, find_program
from app.ledger.text import check_text
from db.engine import Database
from db.pismo_tables import PismoAccountingScript, PismoProgram
from db.tables import Account


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
    found = await accounts_by_id(session, tenant_id, debit_ids | credit_ids)
    debit = credit = None
    if need_debit:
        (debit_id,) = debit_ids
        debit = check_usable(
            found[debit_id],
            program,
            f"accounting account {found[debit_id].code} (debit of script {rows[0].id})",
            "debitAccountingAccount",
        )
    if need_credit:
        (credit_id,) = credit_ids
        credit = check_usable(
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


async def create_accounting_entry(
    db: Database, tenant_id: int, data: AccountingEntryInput
) -> AccountingEntryResult:
    """Posts an accounting entry: ``amount`` from the credit to the debit accounting account.

    Accounts absent or "0" come from the program's script for the entry type (entry
    name ``amount``). A tracking id used before in the tenant is a Conflict, never a replay.
    """
    program_id = parse_id(data.program_id, field="programId", what="program id")
    entry_type_id = parse_id(data.entry_type_id, field="entryTypeId", what="entry type id")
    account_id = optional_id(data.account_id, field="accountId", what="account id")
    transaction_id = optional_id(data.transaction_id, field="transactionId", what="transaction id")
    if transaction_id is not None and account_id is None:
        raise BadInput("account id is required when transaction id is present", field="accountId")
    on = parse_event_date(data.event_date)
    event_date = str(data.event_date)
    tracking_id = check_tracking_id(data.tracking_id)
    debit_number = _account_number(data.debit_accounting_account, "debitAccountingAccount")
    credit_number = _account_number(data.credit_accounting_account, "creditAccountingAccount")

    async def write(session: AsyncSession) -> AccountingEntryResult:
        program = await find_program(session, tenant_id, program_id, "programId")
        entry_type = await find_entry_type(session, tenant_id, entry_type_id, "entryTypeId")
        currency = program.currency
        minor = parse_amount(data.amount, currency, "amount")
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
            debit = await account_by_number(
                session, tenant_id, debit_number, program, "debitAccountingAccount"
            )
        if credit_number is not None:
            credit = await account_by_number(
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
        result = await post_tracked(
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

    return await write_retrying(db, write)
