"""Pismo's accounting accounts: the ledger accounts of a program.

An accounting account is a ledger account: its ``code`` is Pismo's account number, its
``name`` the description, and it only takes the program's currency. Here too are the
lookups every posting makes: an account by id or by number, checked usable by the
program (active, of that program, in its currency).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import accounts
from app.ledger.errors import BadInput, LedgerError
from app.ledger.paging import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.pismo.fields import (
    MAX_ACCOUNT_DESCRIPTION,
    MAX_ACCOUNT_NUMBER,
    NO_ACCOUNT,
    parse_id,
    relabel,
)
from app.ledger.pismo.reference import find_program
from app.ledger.text import check_text
from db.engine import Database
from db.pismo_tables import PismoProgram
from db.tables import Account


@dataclass(frozen=True)
class AccountingAccountInput:
    program_id: object
    account: str
    description: str
    type: str
    category: str | None = None


async def create_accounting_account(
    db: Database, tenant_id: int, data: AccountingAccountInput
) -> Account:
    """A ledger account of the program, restricted to the program's currency."""
    program_id = parse_id(data.program_id, field="programId", what="program id")
    number = check_text(
        data.account, field="account", what="account number", max_length=MAX_ACCOUNT_NUMBER
    )
    if number == NO_ACCOUNT:
        raise BadInput(
            '"0" means "no account" in Pismo entries: choose another number', field="account"
        )
    description = check_text(
        data.description,
        field="description",
        what="description",
        max_length=MAX_ACCOUNT_DESCRIPTION,
    )
    async with db.read() as session:
        program = await find_program(session, tenant_id, program_id, "programId")
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
        raise relabel(error, {"code": "account", "name": "description"}) from None


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


def check_usable(account: Account, program: PismoProgram, what: str, field: str) -> Account:
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


async def account_by_id(
    session: AsyncSession, tenant_id: int, account_id: int, program: PismoProgram, field: str
) -> Account:
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id) == account_id)
    )
    if account is None:
        raise BadInput(f"accounting account {account_id} does not exist", field=field)
    return check_usable(
        account, program, f"accounting account {account_id} ({account.code})", field
    )


async def account_by_number(
    session: AsyncSession, tenant_id: int, number: str, program: PismoProgram, field: str
) -> Account:
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == number)
    )
    if account is None:
        raise BadInput(f"accounting account {number} does not exist", field=field)
    return check_usable(account, program, f"accounting account {number}", field)


async def accounts_by_id(
    session: AsyncSession, tenant_id: int, ids: set[int]
) -> dict[int, Account]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id).in_(ids))
    )
    return {row.id: row for row in rows.all() if row.id is not None}
