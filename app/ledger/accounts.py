"""The chart of accounts and journals of a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict, NotFound
from app.ledger.money import check_currency
from app.ledger.text import check_lookup, check_optional_text, check_text, column_length
from db.engine import Database
from db.tables import Account, Journal, utcnow


class AccountType(StrEnum):
    ASSET = "ASSET"
    LIABILITY = "LIABILITY"
    EQUITY = "EQUITY"
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


class JournalType(StrEnum):
    """Pennylane's journal types; journals made before types existed are miscellaneous."""

    SALES = "sales"
    PURCHASES = "purchases"
    BANK = "bank"
    PAYROLL = "payroll"
    MISCELLANEOUS = "miscellaneous"


def check_journal_type(value: str, field: str = "type") -> JournalType:
    try:
        return JournalType(value)
    except ValueError:
        raise BadInput(
            f"type must be one of {', '.join(JournalType)}, got {value!r}", field=field
        ) from None


# Assets and expenses grow with debits; the others with credits.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


def net_of(account_type: str, debit_minor: int, credit_minor: int) -> int:
    """The balance in the account's normal direction (positive for a normal balance).

    The one place the normal-balance rule is written: balances, the general ledger,
    statements and exports all turn (debit, credit) into a balance through it.
    """
    if account_type in DEBIT_NORMAL:
        return debit_minor - credit_minor
    return credit_minor - debit_minor


@dataclass(frozen=True)
class AccountInput:
    code: str
    name: str
    type: str
    category: str | None = None
    parent_code: str | None = None
    currency: str | None = None
    program_id: int | None = None


MAX_CODE = column_length(Account, "code")
MAX_NAME = column_length(Account, "name")
MAX_CATEGORY = column_length(Account, "category")
MAX_JOURNAL_CODE = column_length(Journal, "code")
MAX_JOURNAL_NAME = column_length(Journal, "name")


async def create_account(db: Database, tenant_id: int, data: AccountInput) -> Account:
    code = check_text(data.code or "", field="code", max_length=MAX_CODE)
    name = check_text(data.name or "", field="name", max_length=MAX_NAME)
    category = check_optional_text(data.category, field="category", max_length=MAX_CATEGORY)
    if data.parent_code:
        check_lookup(data.parent_code, field="parentCode", what="parent code")
    try:
        account_type = AccountType(data.type)
    except ValueError:
        raise BadInput(
            f"type must be one of {', '.join(AccountType)}, got {data.type!r}", field="type"
        ) from None
    if data.currency is not None:
        check_currency(data.currency)
    async with db.write() as session:
        existing = await session.scalar(
            select(col(Account.id)).where(
                col(Account.tenant_id) == tenant_id, col(Account.code) == code
            )
        )
        if existing is not None:
            raise Conflict(f"account {code} already exists", field="code")
        parent_id = None
        if data.parent_code:
            parent = await session.scalar(
                select(Account).where(
                    col(Account.tenant_id) == tenant_id, col(Account.code) == data.parent_code
                )
            )
            if parent is None:
                raise BadInput(
                    f"parent account {data.parent_code} does not exist", field="parentCode"
                )
            parent_id = parent.id
        account = Account(
            tenant_id=tenant_id,
            code=code,
            name=name,
            type=account_type.value,
            category=category,
            parent_id=parent_id,
            currency=data.currency,
            program_id=data.program_id,
        )
        session.add(account)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same code won the race
            raise Conflict(f"account {code} already exists", field="code") from None
    return account


async def deactivate_account(db: Database, tenant_id: int, code: str) -> Account:
    """Stops the account taking postings; its history and balances stay."""
    check_lookup(code, field="code")
    async with db.write() as session:
        account = await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
        )
        if account is None:
            raise NotFound(f"account {code} does not exist", field="code")
        if account.deactivated_at is None:
            account.deactivated_at = utcnow()
    return account


async def create_journal(
    db: Database,
    tenant_id: int,
    *,
    code: str,
    name: str,
    type: str = JournalType.MISCELLANEOUS.value,
) -> Journal:
    code = check_text(code, field="code", max_length=MAX_JOURNAL_CODE)
    name = check_text(name, field="name", max_length=MAX_JOURNAL_NAME)
    journal_type = check_journal_type(type)
    async with db.write() as session:
        existing = await session.scalar(
            select(col(Journal.id)).where(
                col(Journal.tenant_id) == tenant_id, col(Journal.code) == code
            )
        )
        if existing is not None:
            raise Conflict(f"journal {code} already exists", field="code")
        journal = Journal(tenant_id=tenant_id, code=code, name=name, type=journal_type.value)
        session.add(journal)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same code won the race
            raise Conflict(f"journal {code} already exists", field="code") from None
    return journal
