"""Journals and ledger accounts by their ids: what a client lists to learn the ids it sends.

Lists are in id order, keyset-paginated on the id, so a page boundary never skips nor
repeats a row whatever is created meanwhile. Another tenant's id finds nothing, exactly
as a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import col, select

from app.ledger.accounts import AccountType, check_journal_type
from app.ledger.errors import BadInput
from app.ledger.metadata_filter import ACCOUNTS, matching_ids, metadata_conditions
from app.ledger.paging import Page, check_page_size, decode_cursor, encode_cursor
from app.ledger.text import check_lookup
from app.ledger.validation import parse_id
from db.engine import Database
from db.tables import Account, Journal

# Values in one filter list (an SQL IN): both engines cap the parameters of a statement.
MAX_FILTER_VALUES = 500
# Marks an accounts cursor of the id order, so that one of the code order is refused.
ID_ORDER = "id"


def _listed(values: Sequence[object] | None, field: str) -> Sequence[object] | None:
    if values is not None and len(values) > MAX_FILTER_VALUES:
        raise BadInput(f"{field} takes at most {MAX_FILTER_VALUES} values", field=field)
    return values


def check_ids(values: Sequence[object] | None, field: str = "ids") -> list[int] | None:
    listed = _listed(values, field)
    if listed is None:
        return None
    return [parse_id(value, field=f"{field}.{i}") for i, value in enumerate(listed)]


# ---------------------------------------------------------------- journals


async def get_journal(db: Database, tenant_id: int, journal_id: object) -> Journal | None:
    id_ = parse_id(journal_id, what="journal id")
    async with db.read() as session:
        return await session.scalar(
            select(Journal).where(col(Journal.tenant_id) == tenant_id, col(Journal.id) == id_)
        )


async def list_journals(
    db: Database,
    tenant_id: int,
    *,
    types: Sequence[str] | None = None,
    ids: Sequence[object] | None = None,
    first: int = 100,
    after: str | None = None,
) -> Page[Journal]:
    """Journals in id order; ``types`` and ``ids`` keep those in the list (None: all)."""
    check_page_size(first)
    query = select(Journal).where(col(Journal.tenant_id) == tenant_id)
    listed_types = _listed(types, "type")
    if listed_types is not None:
        kinds = [check_journal_type(str(t), f"type.{i}").value for i, t in enumerate(listed_types)]
        query = query.where(col(Journal.type).in_(kinds))
    wanted = check_ids(ids)
    if wanted is not None:
        query = query.where(col(Journal.id).in_(wanted))
    if after:
        (last,) = decode_cursor(after, (int,))
        query = query.where(col(Journal.id) > last)
    async with db.read() as session:
        rows = list((await session.scalars(query.order_by(col(Journal.id)).limit(first + 1))).all())
    items = rows[:first]
    return Page(items, len(rows) > first, [encode_cursor(item.id) for item in items])


# ---------------------------------------------------------------- accounts


async def get_account_by_id(db: Database, tenant_id: int, account_id: object) -> Account | None:
    id_ = parse_id(account_id, what="account id")
    async with db.read() as session:
        return await session.scalar(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id) == id_)
        )


async def list_accounts_by_id(
    db: Database,
    tenant_id: int,
    *,
    ids: Sequence[object] | None = None,
    codes: Sequence[str] | None = None,
    type: str | None = None,
    active: bool | None = None,
    by_code: bool = False,
    first: int = 100,
    after: str | None = None,
    metadata: Mapping[str, object] | None = None,
    metadata_has: Sequence[str] | None = None,
) -> Page[Account]:
    """Accounts in id order (``by_code``: code order, cursors as ``accounts.list_accounts``);
    ``ids`` and ``codes`` keep those in the lists (None: all); ``metadata`` and
    ``metadata_has`` those whose metadata has those values and keys (metadata_filter.py)."""
    check_page_size(first)
    query = select(Account).where(col(Account.tenant_id) == tenant_id)
    wanted = check_ids(ids)
    if wanted is not None:
        query = query.where(col(Account.id).in_(wanted))
    listed_codes = _listed(codes, "codes")
    if listed_codes is not None:
        checked = [
            check_lookup(str(code), field=f"codes.{i}", what="account code")
            for i, code in enumerate(listed_codes)
        ]
        query = query.where(col(Account.code).in_(checked))
    if type is not None:
        query = query.where(col(Account.type) == AccountType(type).value)
    if active is True:
        query = query.where(col(Account.deactivated_at).is_(None))
    elif active is False:
        query = query.where(col(Account.deactivated_at).is_not(None))
    key = col(Account.code) if by_code else col(Account.id)
    if after:
        if by_code:
            (last,) = decode_cursor(after, (str,))
        else:
            order, last = decode_cursor(after, (str, int))
            if order != ID_ORDER:
                raise BadInput("the cursor is not valid", field="after")
        query = query.where(key > last)
    wanted_metadata = metadata_conditions(ACCOUNTS, tenant_id, metadata, metadata_has)
    async with db.read() as session:
        if wanted_metadata:
            found = await matching_ids(session, ACCOUNTS, wanted_metadata)
            query = query.where(col(Account.id).in_(found))
        rows = list((await session.scalars(query.order_by(key).limit(first + 1))).all())
    items = rows[:first]
    cursors = [
        encode_cursor(item.code) if by_code else encode_cursor(ID_ORDER, item.id) for item in items
    ]
    return Page(items, len(rows) > first, cursors)


async def account_codes(db: Database, tenant_id: int, ids: Sequence[int]) -> dict[int, str]:
    """The codes of the tenant's accounts among ``ids``, by id (parents' codes, in one
    query for a whole page of accounts)."""
    query = select(col(Account.id), col(Account.code)).where(
        col(Account.tenant_id) == tenant_id, col(Account.id).in_(list(ids))
    )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return {account_id: code for account_id, code in rows if account_id is not None}
