"""The chart of accounts and journals of a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict, NotFound
from app.ledger.money import check_currency
from db.engine import Database
from db.tables import Account, Journal, utcnow


class AccountType(StrEnum):
    ASSET = "ASSET"
    LIABILITY = "LIABILITY"
    EQUITY = "EQUITY"
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


# Assets and expenses grow with debits; the others with credits.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


def net_of(account_type: str, debit_minor: int, credit_minor: int) -> int:
    """The balance in the account's normal direction (positive for a normal balance)."""
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


def _required_text(value: str | None, field: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise BadInput(f"{field} is longer than {max_length} characters", field=field)
    return text


async def create_account(db: Database, tenant_id: int, data: AccountInput) -> Account:
    code = _required_text(data.code, "code", 50)
    name = _required_text(data.name, "name", 200)
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
            category=(data.category or None),
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
    async with db.write() as session:
        account = await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
        )
        if account is None:
            raise NotFound(f"account {code} does not exist", field="code")
        if account.deactivated_at is None:
            account.deactivated_at = utcnow()
    return account


async def create_journal(db: Database, tenant_id: int, *, code: str, name: str) -> Journal:
    code = _required_text(code, "code", 50)
    name = _required_text(name, "name", 200)
    async with db.write() as session:
        existing = await session.scalar(
            select(col(Journal.id)).where(
                col(Journal.tenant_id) == tenant_id, col(Journal.code) == code
            )
        )
        if existing is not None:
            raise Conflict(f"journal {code} already exists", field="code")
        journal = Journal(tenant_id=tenant_id, code=code, name=name)
        session.add(journal)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same code won the race
            raise Conflict(f"journal {code} already exists", field="code") from None
    return journal
