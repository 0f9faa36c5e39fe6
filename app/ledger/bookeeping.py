"""Bookeeping.ai records: categories (ledger accounts), counterparties, bank accounts.

A Bookeeping category is a ledger account of the tenant, named by the account's
24-hex ``public_id``; its ``parentCategory`` is stored (``updateAccountCategory``)
or derived from the account's type. Counterparties and bank accounts are records of
their own. Lists page like Bookeeping's (``page`` from 1, ``limit`` at most 250) and
return the total ``count``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.accounts import AccountType
from app.ledger.errors import BadInput, NotFound
from app.ledger.text import check_lookup, check_optional_text, column_length
from db.bookeeping_tables import BookeepingBankAccount, BookeepingCategory, BookeepingCounterparty
from db.engine import Database
from db.tables import Account, utcnow

MAX_LIMIT = 250
DEFAULT_LIMIT = 10
_OBJECT_ID = re.compile(r"[0-9A-Fa-f]{24}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ParentCategory(StrEnum):
    INCOME = "INCOME"
    OTHER_INCOME = "OTHER_INCOME"
    SALES = "SALES"
    EXPENSE = "EXPENSE"
    DEPRECIATION = "DEPRECIATION"
    COST_OF_GOODS_SOLD = "COST_OF_GOODS_SOLD"
    OTHER_EXPENSE = "OTHER_EXPENSE"
    OVERHEAD = "OVERHEAD"
    CURRENT_ASSET = "CURRENT_ASSET"
    FIXED_ASSET = "FIXED_ASSET"
    INVENTORY = "INVENTORY"
    NON_CURRENT_ASSET = "NON_CURRENT_ASSET"
    PREPAYMENT = "PREPAYMENT"
    LIABILITY = "LIABILITY"
    CURRENT_LIABILITY = "CURRENT_LIABILITY"
    NON_CURRENT_LIABILITY = "NON_CURRENT_LIABILITY"
    TAX_PAYABLE = "TAX_PAYABLE"
    TAX = "TAX"
    EQUITY = "EQUITY"
    OTHER = "OTHER"


P = ParentCategory
# The account type each parentCategory belongs to (docs/compatibility.md). OTHER has
# none: it may be set on an account of any type and is never derived.
PARENT_TYPES: dict[ParentCategory, AccountType | None] = {
    P.INCOME: AccountType.INCOME,
    P.OTHER_INCOME: AccountType.INCOME,
    P.SALES: AccountType.INCOME,
    P.EXPENSE: AccountType.EXPENSE,
    P.DEPRECIATION: AccountType.EXPENSE,
    P.COST_OF_GOODS_SOLD: AccountType.EXPENSE,
    P.OTHER_EXPENSE: AccountType.EXPENSE,
    P.OVERHEAD: AccountType.EXPENSE,
    P.CURRENT_ASSET: AccountType.ASSET,
    P.FIXED_ASSET: AccountType.ASSET,
    P.INVENTORY: AccountType.ASSET,
    P.NON_CURRENT_ASSET: AccountType.ASSET,
    P.PREPAYMENT: AccountType.ASSET,
    P.LIABILITY: AccountType.LIABILITY,
    P.CURRENT_LIABILITY: AccountType.LIABILITY,
    P.NON_CURRENT_LIABILITY: AccountType.LIABILITY,
    P.TAX_PAYABLE: AccountType.LIABILITY,
    P.TAX: AccountType.LIABILITY,
    P.EQUITY: AccountType.EQUITY,
    P.OTHER: None,
}
# The parentCategory of an account that has none stored.
DEFAULT_PARENT: dict[str, ParentCategory] = {
    AccountType.ASSET: P.CURRENT_ASSET,
    AccountType.LIABILITY: P.CURRENT_LIABILITY,
    AccountType.EQUITY: P.EQUITY,
    AccountType.INCOME: P.INCOME,
    AccountType.EXPENSE: P.EXPENSE,
}

COUNTERPARTY_TYPES = ("customer", "vendor", "both")
BANK_ACCOUNT_TYPES = ("Depository", "Credit", "Loan", "Investment", "Other")


def new_object_id() -> str:
    return secrets.token_hex(12)


def check_object_id(value: object, *, field: str, what: str) -> str:
    """A 24-hex id as Bookeeping's pattern allows it, in the lower case ids are stored in."""
    if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
        raise BadInput(f"{what} must be 24 hexadecimal characters", field=field)
    return value.lower()


def check_parent_category(value: object, *, field: str = "parentCategory") -> ParentCategory:
    try:
        return ParentCategory(str(value))
    except ValueError:
        raise BadInput(
            f"parentCategory must be one of {', '.join(ParentCategory)}, got {value!r}",
            field=field,
        ) from None


def parent_of(account_type: str, stored: str | None) -> ParentCategory:
    """The parentCategory of an account: the one stored, else its type's."""
    if stored is not None:
        return ParentCategory(stored)
    return DEFAULT_PARENT[account_type]


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def check_page(page: int | None, limit: int | None) -> Page:
    page = 1 if page is None else page
    limit = DEFAULT_LIMIT if limit is None else limit
    if page < 1:
        raise BadInput("page starts at 1", field="page")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    # Past any real list, and no offset overflows a 64-bit integer.
    if page > 10_000_000:
        raise BadInput("page is too large", field="page")
    return Page(page, limit)


# ---------------------------------------------------------------- categories


@dataclass(frozen=True)
class Category:
    id: str
    account_id: int
    name: str
    number: str
    type: str
    emoji: str | None
    parent_category: ParentCategory
    group: str | None
    is_archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


def _category(account: Account, details: BookeepingCategory | None) -> Category:
    assert account.id is not None and account.public_id is not None
    return Category(
        id=account.public_id,
        account_id=account.id,
        name=account.name,
        number=account.code,
        type=account.type,
        emoji=details.emoji if details else None,
        parent_category=parent_of(account.type, details.parent_category if details else None),
        group=details.group_name if details else None,
        is_archived=account.deactivated_at is not None,
        created_at=account.created_at,
        updated_at=details.updated_at if details else account.created_at,
    )


def _categories_query(tenant_id: int) -> Any:
    return (
        select(Account, BookeepingCategory)
        .outerjoin(BookeepingCategory, col(BookeepingCategory.account_id) == col(Account.id))
        .where(col(Account.tenant_id) == tenant_id)
    )


async def categories_by_ids(
    session: AsyncSession, tenant_id: int, account_ids: Iterable[int]
) -> dict[int, Category]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = await session.execute(_categories_query(tenant_id).where(col(Account.id).in_(ids)))
    return {account.id: _category(account, details) for account, details in rows.all()}


async def categories_by_public_ids(
    session: AsyncSession, tenant_id: int, public_ids: Iterable[str]
) -> dict[str, Category]:
    """The tenant's categories of these ids; another tenant's are simply not found."""
    ids = sorted(set(public_ids))
    if not ids:
        return {}
    rows = await session.execute(
        _categories_query(tenant_id).where(col(Account.public_id).in_(ids))
    )
    return {account.public_id: _category(account, details) for account, details in rows.all()}


def parse_parent_filter(accounts: str | None) -> set[ParentCategory] | None:
    """Bookeeping's ``accounts`` filter: comma-separated parentCategory values."""
    if accounts is None or not accounts.strip():
        return None
    return {
        check_parent_category(part.strip(), field="accounts")
        for part in accounts.split(",")
        if part.strip()
    }


async def list_categories(
    db: Database, tenant_id: int, *, page: int | None, limit: int | None, accounts: str | None
) -> tuple[list[Category], int]:
    """The tenant's accounts as categories, by code; the parentCategory filter applies
    to the stored or derived value, so it is applied here rather than in SQL."""
    window = check_page(page, limit)
    wanted = parse_parent_filter(accounts)
    async with db.read() as session:
        rows = await session.execute(_categories_query(tenant_id).order_by(col(Account.code)))
        every = [_category(account, details) for account, details in rows.all()]
    chosen = [c for c in every if wanted is None or c.parent_category in wanted]
    return chosen[window.offset : window.offset + window.limit], len(chosen)


MAX_EMOJI = column_length(BookeepingCategory, "emoji")
MAX_GROUP = column_length(BookeepingCategory, "group_name")


async def update_account_category(
    db: Database,
    tenant_id: int,
    code: str,
    *,
    emoji: str | None = None,
    group: str | None = None,
    parent_category: str | None = None,
) -> Category:
    """Sets what is given (None leaves a field as it is; "" clears emoji and group)."""
    check_lookup(code, field="code")
    emoji_text = check_optional_text(emoji, field="emoji", max_length=MAX_EMOJI)
    group_text = check_optional_text(group, field="group", max_length=MAX_GROUP)
    parent = None if parent_category is None else check_parent_category(parent_category)
    async with db.write() as session:
        account = await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
        )
        if account is None or account.id is None:
            raise NotFound(f"account {code} does not exist", field="code")
        if parent is not None and PARENT_TYPES[parent] not in (None, account.type):
            raise BadInput(
                f"parentCategory {parent} is for {PARENT_TYPES[parent]} accounts; "
                f"account {code} is {account.type}",
                field="parentCategory",
            )
        details = await session.get(BookeepingCategory, account.id)
        if details is None:
            details = BookeepingCategory(account_id=account.id, tenant_id=tenant_id)
            session.add(details)
        if emoji is not None:
            details.emoji = emoji_text
        if group is not None:
            details.group_name = group_text
        if parent is not None:
            details.parent_category = parent.value
        details.updated_at = utcnow()
        await session.flush()
        return _category(account, details)


# ---------------------------------------------------------------- counterparties


@dataclass(frozen=True)
class CounterpartyInput:
    account_name: str | None = None
    account_number: str | None = None
    email: str | None = None
    phone: str | None = None
    other_emails: Sequence[str] = ()
    type: str | None = None
    tax_id: str | None = None
    address: str | None = None


def _text(table: Any, column: str, value: str | None, field: str) -> str | None:
    return check_optional_text(value, field=field, max_length=column_length(table, column))


def _email(value: str | None, field: str) -> str | None:
    email = _text(BookeepingCounterparty, "email", value, field)
    if email is not None and not _EMAIL.fullmatch(email):
        raise BadInput(f"{email!r} is not an email address", field=field)
    return email


def other_emails(row: BookeepingCounterparty) -> list[str]:
    return list(json.loads(row.other_emails_json)) if row.other_emails_json else []


async def create_counterparty(
    db: Database, tenant_id: int, data: CounterpartyInput
) -> BookeepingCounterparty:
    table = BookeepingCounterparty
    if data.type is not None and data.type not in COUNTERPARTY_TYPES:
        raise BadInput(
            f"type must be one of {', '.join(COUNTERPARTY_TYPES)}, got {data.type!r}", field="type"
        )
    if len(data.other_emails) > 50:
        raise BadInput("at most 50 other emails", field="otherEmails")
    others = [_email(e, f"otherEmails.{i}") for i, e in enumerate(data.other_emails)]
    now = utcnow()
    row = BookeepingCounterparty(
        tenant_id=tenant_id,
        public_id=new_object_id(),
        account_name=_text(table, "account_name", data.account_name, "accountName"),
        account_number=_text(table, "account_number", data.account_number, "accountNumber"),
        email=_email(data.email, "email"),
        phone=_text(table, "phone", data.phone, "phone"),
        other_emails_json=json.dumps([e for e in others if e]) if others else None,
        type=data.type,
        tax_id=_text(table, "tax_id", data.tax_id, "taxId"),
        address=_text(table, "address", data.address, "address"),
        created_at=now,
        updated_at=now,
    )
    async with db.write() as session:
        session.add(row)
        await session.flush()
    return row


# ---------------------------------------------------------------- bank accounts


@dataclass(frozen=True)
class BankAccountInput:
    account_type: str
    nick_name: str | None = None
    account_name: str | None = None
    account_number: str | None = None


async def create_bank_account(
    db: Database, tenant_id: int, data: BankAccountInput
) -> BookeepingBankAccount:
    table = BookeepingBankAccount
    if data.account_type not in BANK_ACCOUNT_TYPES:
        raise BadInput(
            f"accountType must be one of {', '.join(BANK_ACCOUNT_TYPES)}, "
            f"got {data.account_type!r}",
            field="accountType",
        )
    now = utcnow()
    row = BookeepingBankAccount(
        tenant_id=tenant_id,
        public_id=new_object_id(),
        account_type=data.account_type,
        nick_name=_text(table, "nick_name", data.nick_name, "nickName"),
        account_name=_text(table, "account_name", data.account_name, "accountName"),
        account_number=_text(table, "account_number", data.account_number, "accountNumber"),
        created_at=now,
        updated_at=now,
    )
    async with db.write() as session:
        session.add(row)
        await session.flush()
    return row


# ---------------------------------------------------------------- lists and look-ups

Record = BookeepingCounterparty | BookeepingBankAccount
SORT_KEYS = ("_id", "name", "createdAt", "updatedAt", "transactionDate")


def _order(table: type[Record], sort_key: str | None, sort_order: int | None) -> list[Any]:
    key = sort_key or "_id"
    if key not in SORT_KEYS:
        raise BadInput(f"sortKey must be one of {', '.join(SORT_KEYS)}", field="sortKey")
    if sort_order not in (None, 1, -1):
        raise BadInput("sortOrder must be 1 or -1", field="sortOrder")
    # A record has no transaction date: it sorts by creation like Bookeeping's _id.
    column = {
        "_id": col(table.id),
        "name": col(table.account_name),
        "createdAt": col(table.created_at),
        "updatedAt": col(table.updated_at),
        "transactionDate": col(table.created_at),
    }[key]
    ordered: list[Any] = [column.desc() if sort_order == -1 else column.asc()]
    if key != "_id":  # ties keep one order, so pages never overlap
        ordered.append(col(table.id).desc() if sort_order == -1 else col(table.id).asc())
    return ordered


async def _list(
    db: Database,
    table: type[Record],
    searched: Sequence[Any],
    tenant_id: int,
    *,
    page: int | None,
    limit: int | None,
    sort_key: str | None,
    sort_order: int | None,
    query: str | None,
) -> tuple[list[Any], int]:
    window = check_page(page, limit)
    ordered = _order(table, sort_key, sort_order)
    where = [col(table.tenant_id) == tenant_id]
    if query is not None and query.strip():
        needle = check_lookup(query.strip(), field="query").lower()
        where.append(or_(*(func.lower(c).contains(needle, autoescape=True) for c in searched)))
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(table).where(*where))
        rows = await session.scalars(
            select(table).where(*where).order_by(*ordered).offset(window.offset).limit(window.limit)
        )
        return list(rows.all()), int(count or 0)


async def list_counterparties(
    db: Database,
    tenant_id: int,
    *,
    page: int | None = None,
    limit: int | None = None,
    sort_key: str | None = None,
    sort_order: int | None = None,
    query: str | None = None,
) -> tuple[list[BookeepingCounterparty], int]:
    t = BookeepingCounterparty
    searched = [col(t.account_name), col(t.account_number), col(t.email), col(t.tax_id)]
    return await _list(
        db, t, searched, tenant_id, page=page, limit=limit, sort_key=sort_key,
        sort_order=sort_order, query=query,
    )  # fmt: skip


async def list_bank_accounts(
    db: Database,
    tenant_id: int,
    *,
    page: int | None = None,
    limit: int | None = None,
    sort_key: str | None = None,
    sort_order: int | None = None,
    query: str | None = None,
) -> tuple[list[BookeepingBankAccount], int]:
    t = BookeepingBankAccount
    searched = [col(t.nick_name), col(t.account_name), col(t.account_number)]
    return await _list(
        db, t, searched, tenant_id, page=page, limit=limit, sort_key=sort_key,
        sort_order=sort_order, query=query,
    )  # fmt: skip


async def find_record(
    session: AsyncSession, table: type[Record], tenant_id: int, public_id: str
) -> Any:
    """The tenant's record of this id, or None (another tenant's is not found either)."""
    return await session.scalar(
        select(table).where(col(table.tenant_id) == tenant_id, col(table.public_id) == public_id)
    )


async def records_by_ids(
    session: AsyncSession, table: type[Record], tenant_id: int, ids: Iterable[int]
) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(table).where(col(table.tenant_id) == tenant_id, col(table.id).in_(wanted))
    )
    found: list[Any] = list(rows.all())
    return {row.id: row for row in found}


async def find_counterparty(
    db: Database, tenant_id: int, public_id: str
) -> BookeepingCounterparty | None:
    wanted = check_object_id(public_id, field="id", what="counterparty id")
    async with db.read() as session:
        found: BookeepingCounterparty | None = await find_record(
            session, BookeepingCounterparty, tenant_id, wanted
        )
        return found
