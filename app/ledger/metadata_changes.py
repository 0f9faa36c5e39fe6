"""Changing an entry's or an account's metadata after it is written (``setEntryMetadata``,
``setAccountMetadata``, docs/metadata.md).

Metadata is the client's data about an entry, not the entry: changing it never touches
amounts, accounts, dates or status, so it is allowed on any entry (posted, reversed,
held, in a closed period). A change merges into what is there (a key set to null is
deleted), under the tenant's lock like every writer of events, replaces the entry's
index rows, and is recorded as a ``journal_entry.metadata_changed`` event with each
changed key's value before and after and who changed it (``account.metadata_changed``
for an account).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlmodel import col

from app.ledger.batch_store import METADATA_COLUMNS, read_tenant
from app.ledger.closing import Actor
from app.ledger.entries import EntryView
from app.ledger.entry_reads import load_views
from app.ledger.errors import BadInput, NotFound
from app.ledger.metadata import (
    MAX_BYTES,
    MAX_KEYS,
    RESERVED,
    check_key,
    check_value,
    index_rows,
    merged,
)
from app.ledger.outbox import EVENT_COLUMNS, json_text, write_events
from app.ledger.text import check_lookup
from db.bulk import db_datetime, insert_rows
from db.engine import Database
from db.tables import Account, AccountMetadata, EntryMetadata, JournalEntry, utcnow

EVENT_TYPE = "journal_entry.metadata_changed"
ACCOUNT_EVENT_TYPE = "account.metadata_changed"
ACCOUNT_METADATA_COLUMNS = ("tenant_id", "key", "value", "account_id")

_READ = select(col(JournalEntry.metadata_json)).where(
    col(JournalEntry.tenant_id) == bindparam("tenant_id"),
    col(JournalEntry.id) == bindparam("entry_id"),
)
_WRITE = (
    update(JournalEntry)
    .where(col(JournalEntry.id) == bindparam("entry_id"))
    .values(metadata_json=bindparam("text"))
)
_CLEAR_INDEX = delete(EntryMetadata).where(col(EntryMetadata.entry_id) == bindparam("entry_id"))
_READ_ACCOUNT = select(col(Account.id), col(Account.metadata_json)).where(
    col(Account.tenant_id) == bindparam("tenant_id"), col(Account.code) == bindparam("code")
)
_WRITE_ACCOUNT = (
    update(Account)
    .where(col(Account.id) == bindparam("account_id"))
    .values(metadata_json=bindparam("text"))
)
_CLEAR_ACCOUNT_INDEX = delete(AccountMetadata).where(
    col(AccountMetadata.account_id) == bindparam("account_id")
)


def check_change(change: object) -> dict[str, Any]:
    """A change: keys under the key rule (not the ledger's own), values a metadata value
    or null (delete). BadInput naming ``metadata.<key>``."""
    if not isinstance(change, Mapping):
        raise BadInput("metadata must be a JSON object", field="metadata")
    if not change:
        raise BadInput("give at least one key to set or delete", field="metadata")
    checked: dict[str, Any] = {}
    for key, value in change.items():
        where = f"metadata.{key}"
        check_key(key, where)
        checked[key] = check_value(value, field=where)
    return checked


async def set_entry_metadata(
    db: Database, tenant_id: int, entry_id: int, change: object, actor: Actor
) -> EntryView:
    """Merges ``change`` into the entry's metadata; the entry as it is after."""
    checked = check_change(change)
    return await db.run_write(lambda conn: _change(conn, tenant_id, entry_id, checked, actor))


def _change(
    conn: Connection, tenant_id: int, entry_id: int, change: dict[str, Any], actor: Actor
) -> EntryView:
    if read_tenant(conn, tenant_id, lock=True) is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    found = conn.execute(_READ, {"tenant_id": tenant_id, "entry_id": entry_id}).first()
    if found is None:
        raise NotFound(f"journal entry {entry_id} does not exist", field="entryId")
    after, changes = _merge(found[0], change)
    conn.execute(_WRITE, {"entry_id": entry_id, "text": json_text(after) if after else None})
    conn.execute(_CLEAR_INDEX, {"entry_id": entry_id})
    insert_rows(
        conn,
        "entry_metadata",
        METADATA_COLUMNS,
        [(tenant_id, key, value, entry_id) for key, value in index_rows(after)],
    )
    payload = {"entry_id": entry_id, "changes": changes, "by": actor.document()}
    _record(conn, tenant_id, EVENT_TYPE, entry_id, payload)
    (view,) = load_views(conn, tenant_id, [entry_id])
    return view


async def set_account_metadata(
    db: Database, tenant_id: int, code: str, change: object, actor: Actor
) -> Account:
    """Merges ``change`` into the account's metadata; the account as it is after."""
    check_lookup(code, field="accountCode", what="account code")
    checked = check_change(change)
    account_id = await db.run_write(
        lambda conn: _change_account(conn, tenant_id, code, checked, actor)
    )
    async with db.read() as session:
        account = await session.get(Account, account_id)
    assert account is not None
    return account


def _change_account(
    conn: Connection, tenant_id: int, code: str, change: dict[str, Any], actor: Actor
) -> int:
    if read_tenant(conn, tenant_id, lock=True) is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    found = conn.execute(_READ_ACCOUNT, {"tenant_id": tenant_id, "code": code}).first()
    if found is None:
        raise NotFound(f"account {code} does not exist", field="accountCode")
    account_id = int(cast(int, found[0]))
    after, changes = _merge(found[1], change)
    conn.execute(
        _WRITE_ACCOUNT, {"account_id": account_id, "text": json_text(after) if after else None}
    )
    conn.execute(_CLEAR_ACCOUNT_INDEX, {"account_id": account_id})
    insert_rows(
        conn,
        "account_metadata",
        ACCOUNT_METADATA_COLUMNS,
        [(tenant_id, key, value, account_id) for key, value in index_rows(after)],
    )
    payload = {
        "account_id": account_id,
        "account_code": code,
        "changes": changes,
        "by": actor.document(),
    }
    _record(conn, tenant_id, ACCOUNT_EVENT_TYPE, None, payload)
    return account_id


def _merge(text: str | None, change: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metadata after ``change`` (checked against the limits), and each changed key's
    value before and after."""
    current: dict[str, Any] = json.loads(text, parse_float=Decimal) if text else {}
    after = merged(current, change)
    _check_size(after)
    changes = {
        key: {"before": current.get(key), "after": after.get(key)}
        for key in change
        if current.get(key) != after.get(key) or (key in current) != (key in after)
    }
    return after, changes


def _record(
    conn: Connection, tenant_id: int, kind: str, entry_id: int | None, payload: object
) -> None:
    event = (tenant_id, kind, entry_id, json_text(payload), db_datetime(conn, utcnow()))
    assert len(event) == len(EVENT_COLUMNS)
    write_events(conn, tenant_id, [event])


def _check_size(after: Mapping[str, Any]) -> None:
    """The merged metadata within the limits (the ledger's own keys aside)."""
    own = {key: value for key, value in after.items() if key not in RESERVED}
    if len(own) > MAX_KEYS:
        raise BadInput(f"metadata would have {len(own)} keys, at most {MAX_KEYS}", field="metadata")
    if len(json_text(own).encode()) > MAX_BYTES:
        raise BadInput(f"metadata would be larger than {MAX_BYTES} bytes", field="metadata")
