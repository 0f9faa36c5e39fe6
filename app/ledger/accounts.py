"""The chart of accounts and journals of a tenant: creating them, finding them, setting
an account's balance limits (limits.py says what they are), and the normal-balance rule
of an account type (``net_of``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import limits as account_limits
from app.ledger.account_types import AccountType as AccountType
from app.ledger.errors import BadInput, Conflict, NotFound
from app.ledger.metadata import check_metadata, index_rows
from app.ledger.money import check_currency
from app.ledger.outbox import json_text, write_event
from app.ledger.paging import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.text import check_lookup, check_optional_text, check_text, column_length
from app.ledger.validation import parse_id
from db.engine import Database
from db.tables import Account, AccountMetadata, Journal, Tenant, utcnow


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
    limits: account_limits.LimitsChange | None = None
    # The client's metadata (app/ledger/metadata.py): found by accounts(metadata:).
    metadata: Mapping[str, Any] | None = None


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
    metadata = check_metadata(data.metadata)
    limits = None
    if data.limits is not None:
        try:
            limits = account_limits.apply(account_limits.NO_LIMITS, data.limits)
        except BadInput as error:
            raise error.at("limits") from None
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
            metadata_json=json_text(metadata) if metadata else None,
        )
        session.add(account)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same code won the race
            raise Conflict(f"account {code} already exists", field="code") from None
        assert account.id is not None
        session.add_all(
            AccountMetadata(tenant_id=tenant_id, key=key, value=value, account_id=account.id)
            for key, value in index_rows(metadata)
        )
        if limits is not None and not limits.empty:
            await _store_limits(session, account, limits)
    return account


async def set_account_limits(
    db: Database, tenant_id: int, code: str, change: account_limits.LimitsChange
) -> Account:
    """Changes an account's balance limits and records the change as an event.

    The account row is locked while the change is merged (an omitted setting stays as
    it is), so two concurrent changes of different settings both stick. A batch planned
    before the change commits is checked against the limits it read when planned.
    """
    check_lookup(code, field="accountCode", what="account code")
    account_limits.apply(account_limits.NO_LIMITS, change)  # a bad amount writes nothing
    async with db.write() as session:
        # The tenant's row first, as every writer of events takes it (the hash chain's
        # head): taken after the account's, it could deadlock with setAccountMetadata.
        await session.execute(
            select(col(Tenant.id)).where(col(Tenant.id) == tenant_id).with_for_update()
        )
        account = await session.scalar(
            select(Account)
            .where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
            .with_for_update()
        )
        if account is None:
            raise NotFound(f"account {code} does not exist", field="accountCode")
        current = account_limits.parse(account.limits_json)
        await _store_limits(session, account, account_limits.apply(current, change))
    return account


async def _store_limits(
    session: AsyncSession, account: Account, limits: account_limits.Limits
) -> None:
    """Writes ``limits`` on ``account`` and its ``account.limits_changed`` event."""
    assert account.id is not None
    account.limits_json = limits.to_json()
    tenant_id = account.tenant_id
    payload = json_text(
        {"account_id": account.id, "account_code": account.code, **limits.document()}
    )
    await session.flush()
    await session.run_sync(
        lambda sync: write_event(sync.connection(), tenant_id, account_limits.EVENT_TYPE, payload)
    )


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


# ---------------------------------------------------------------- finding them


async def find_account(
    session: AsyncSession, tenant_id: int, code: str, field: str = "code"
) -> Account:
    check_lookup(code, field=field, what="account code")
    account = await session.scalar(
        select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
    )
    if account is None:
        raise NotFound(f"account {code} does not exist", field=field)
    return account


async def get_account(db: Database, tenant_id: int, code: str) -> Account | None:
    check_lookup(code, field="code", what="account code")
    async with db.read() as session:
        return await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code) == code)
        )


async def list_accounts(
    db: Database,
    tenant_id: int,
    *,
    type: str | None = None,
    active: bool | None = None,
    first: int = 100,
    after: str | None = None,
) -> Page[Account]:
    """Accounts ordered by code, keyset-paginated on the code."""
    check_page_size(first)
    query = select(Account).where(col(Account.tenant_id) == tenant_id)
    if type is not None:
        query = query.where(col(Account.type) == type)
    if active is True:
        query = query.where(col(Account.deactivated_at).is_(None))
    elif active is False:
        query = query.where(col(Account.deactivated_at).is_not(None))
    if after:
        (code,) = decode_cursor(after, (str,))
        query = query.where(col(Account.code) > code)
    async with db.read() as session:
        rows = list(
            (await session.scalars(query.order_by(col(Account.code)).limit(first + 1))).all()
        )
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.code) for item in items])


async def find_journal_id(
    session: AsyncSession,
    tenant_id: int,
    *,
    journal_id: object | None = None,
    journal_code: str | None = None,
) -> int | None:
    """The id of the tenant's journal given by id or by code (at most one of them)."""
    if journal_id is None and journal_code is None:
        return None
    if journal_id is not None and journal_code is not None:
        raise BadInput("give at most one of journalId and journalCode", field="journalCode")
    query = select(col(Journal.id)).where(col(Journal.tenant_id) == tenant_id)
    if journal_id is not None:
        field = "journalId"
        query = query.where(col(Journal.id) == parse_id(journal_id, field=field))
    else:
        field = "journalCode"
        query = query.where(
            col(Journal.code) == check_lookup(journal_code or "", field=field, what="journal code")
        )
    found = await session.scalar(query)
    if found is None:
        raise NotFound("the journal does not exist", field=field)
    return int(found)
