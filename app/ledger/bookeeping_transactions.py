"""Bookeeping.ai transactions: journal entries with Bookeeping's fields, and duplicates.

A transaction is one journal entry posted through the ledger's write path (source
``bookeeping``); its Bookeeping fields (transactionDate, paymentMethod, isReconciled,
refNo, counterparty, bank account, and every line as sent, zero lines included) are
the entry's metadata, so entry and fields are written in one transaction (refNo,
paymentMethod and isReconciled also flat, as ``bookeeping.<field>``, to be found). Its
24-hex id is the entry id in hexadecimal.

Duplicates: a transaction's fingerprint (sha256 over the entry date, currency,
total, refNo and its lines as a multiset of (category, type, amount)) is its
idempotency key in the scope ``bookeeping``. The key is claimed under the tenant's
lock, so of concurrent similar transactions exactly one posts; the others get the
posted one back (ALREADY_EXISTS). ``force`` posts anyway: it claims the key when
still free (so later similar ones are duplicates of it), else posts without one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger import posting
from app.ledger.bookeeping import (
    Category,
    ParentCategory,
    categories_by_ids,
    categories_by_public_ids,
    check_object_id,
    check_parent_category,
    find_record,
    records_by_ids,
)
from app.ledger.entries import MAX_DATE, MIN_DATE, EntryInput, EntryView, LineInput
from app.ledger.errors import BadInput, Conflict, LedgerError, NotFound
from app.ledger.metadata import recorded
from app.ledger.money import check_currency, format_minor, to_minor
from app.ledger.text import check_optional_text, check_text
from db.bookeeping_tables import BookeepingBankAccount, BookeepingCounterparty
from db.engine import Database
from db.tables import IdempotencyRecord, JournalEntry, Tenant

SOURCE = "bookeeping"
SCOPE = "bookeeping"
# What Bookeeping's response calls the source of a transaction created through its API.
API_SOURCE = "API_HOOK"
CREATED = "CREATED"
ALREADY_EXISTS = "ALREADY_EXISTS"
MAX_REF_NO = 200
MAX_LINE_ID = 100
MAX_NOTE = 500
MAX_ENTRIES = 1000


class PaymentMethod(StrEnum):
    CASH = "CASH"
    CHEQUE = "CHEQUE"
    NEFT = "NEFT"
    IMPS = "IMPS"
    UPI = "UPI"
    CARD = "CARD"
    TRANSFER = "TRANSFER"
    OTHER = "OTHER"


class LineType(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


@dataclass(frozen=True)
class TransactionLineInput:
    id: str
    amount: object  # a decimal string, int or Decimal; never a float
    type: str
    category: str
    parent_category: str | None = None
    is_main: bool | None = None
    note: str | None = None


@dataclass(frozen=True)
class TransactionInput:
    total_amount: object
    transaction_date: dt.datetime
    payment_method: str
    is_reconciled: bool
    entries: Sequence[TransactionLineInput]
    ref_no: str | None = None
    currency: str | None = None
    counter_party: str | None = None
    account: str | None = None
    description: str | None = None  # the entry's memo (not in Bookeeping's request)


@dataclass(frozen=True)
class TransactionLine:
    id: str
    type: str
    amount_minor: int
    category: Category | None
    parent_category: str | None
    is_main: bool | None
    note: str | None


@dataclass(frozen=True)
class Transaction:
    id: str
    entry_id: int
    entry_number: str
    project_id: str
    memo: str
    ref_no: str | None
    currency: str
    total_minor: int
    transaction_date: dt.datetime
    payment_method: str
    is_reconciled: bool
    counterparty: BookeepingCounterparty | None
    bank_account: BookeepingBankAccount | None
    created_at: dt.datetime
    updated_at: dt.datetime
    lines: list[TransactionLine] = field(default_factory=list)
    source: str = API_SOURCE


@dataclass(frozen=True)
class Outcome:
    transaction: Transaction
    action: str
    warnings: list[str]


def public_id(entry_id: int) -> str:
    return f"{entry_id:024x}"


def entry_id_of(value: str, *, field: str = "id") -> int | None:
    """The entry id of a transaction id, or None for one no entry can have."""
    number = int(check_object_id(value, field=field, what="transaction id"), 16)
    return number if 0 < number < 2**63 else None


def _utc_aware(moment: dt.datetime) -> dt.datetime:
    # A date-time without an offset is taken as UTC, as Bookeeping stores them.
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=dt.UTC)


def fingerprint(
    on: dt.date, currency: str, total_minor: int, ref_no: str | None, lines: Sequence[Any]
) -> str:
    """What makes two transactions similar: date, currency, total, reference and the
    lines as a multiset of (category, type, amount); ids, notes and flags are left out."""
    document = {
        "date": on.isoformat(),
        "currency": currency,
        "total": total_minor,
        "refNo": ref_no,
        "lines": sorted([line["category"], line["type"], line["amount"]] for line in lines),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class _Checked:
    entry: EntryInput
    key: str
    warnings: list[str]
    posted: list[int]  # the index in ``entries`` of each journal line


async def _check(session: AsyncSession, tenant: Tenant, data: TransactionInput) -> _Checked:
    """``data`` against every Bookeeping rule, with its records resolved in the tenant."""
    assert tenant.id is not None
    try:
        method = PaymentMethod(data.payment_method)
    except ValueError:
        raise BadInput(
            f"paymentMethod must be one of {', '.join(PaymentMethod)}", field="paymentMethod"
        ) from None
    if not isinstance(data.is_reconciled, bool):
        raise BadInput("isReconciled must be a boolean", field="isReconciled")
    moment = _utc_aware(data.transaction_date)
    on = moment.date()
    if not MIN_DATE <= on <= MAX_DATE:
        raise BadInput(
            f"transactionDate must be between {MIN_DATE} and {MAX_DATE}", field="transactionDate"
        )
    # An empty currency is a bad one, not an absent one.
    currency = check_currency(tenant.base_currency if data.currency is None else data.currency)
    ref_no = check_optional_text(data.ref_no, field="refNo", max_length=MAX_REF_NO)
    memo = check_optional_text(data.description, field="description", max_length=500)
    try:
        total = to_minor(data.total_amount, currency, allow_zero=True)
    except BadInput as error:
        raise error.at("totalAmount") from None
    if not data.entries:
        raise BadInput("a transaction needs entries", field="entries")
    if len(data.entries) > MAX_ENTRIES:
        raise BadInput(f"a transaction has at most {MAX_ENTRIES} entries", field="entries")
    category_ids = [
        check_object_id(line.category, field=f"entries.{i}.category", what="category")
        for i, line in enumerate(data.entries)
    ]
    categories = await categories_by_public_ids(session, tenant.id, category_ids)
    warnings: list[str] = []
    lines: list[dict[str, Any]] = []
    debits = credits = 0
    for index, (line, category_id) in enumerate(zip(data.entries, category_ids, strict=True)):
        where = f"entries.{index}"
        category = categories.get(category_id)
        if category is None:
            raise NotFound(f"category {category_id} does not exist", field=f"{where}.category")
        if category.is_archived:
            raise BadInput(f"category {category.name} is archived", field=f"{where}.category")
        try:
            kind = LineType(line.type)
        except ValueError:
            raise BadInput("type must be DEBIT or CREDIT", field=f"{where}.type") from None
        try:
            amount = to_minor(line.amount, currency, allow_zero=True)
        except BadInput as error:
            raise error.at(f"{where}.amount") from None
        parent: ParentCategory | None = None
        if line.parent_category is not None:
            parent = check_parent_category(line.parent_category, field=f"{where}.parentCategory")
            if parent != category.parent_category:
                warnings.append(
                    f"{where}.parentCategory {parent} differs from category {category.name}'s "
                    f"({category.parent_category}); the category's is kept"
                )
        if line.is_main is not None and not isinstance(line.is_main, bool):
            raise BadInput("isMain must be a boolean", field=f"{where}.isMain")
        if kind is LineType.DEBIT:
            debits += amount
        else:
            credits += amount
        lines.append(
            {
                "id": check_text(line.id, field=f"{where}.id", max_length=MAX_LINE_ID),
                "type": kind.value,
                "amount": amount,
                "category": category_id,
                "accountId": category.account_id,
                "parentCategory": parent.value if parent else None,
                "isMain": line.is_main,
                "note": check_optional_text(line.note, field=f"{where}.note", max_length=MAX_NOTE),
            }
        )
    if debits != total or credits != total:
        raise BadInput(
            f"totalAmount {format_minor(total, currency)} must equal the debit total "
            f"{format_minor(debits, currency)} and the credit total "
            f"{format_minor(credits, currency)}",
            field="totalAmount",
        )
    if total == 0:
        raise BadInput("totalAmount must be greater than zero", field="totalAmount")
    counterparty = bank_account = None
    if data.counter_party is not None:
        wanted = check_object_id(data.counter_party, field="counterParty", what="counterParty")
        counterparty = await find_record(session, BookeepingCounterparty, tenant.id, wanted)
        if counterparty is None:
            raise NotFound(f"counterparty {wanted} does not exist", field="counterParty")
    if data.account is not None:
        wanted = check_object_id(data.account, field="account", what="account")
        bank_account = await find_record(session, BookeepingBankAccount, tenant.id, wanted)
        if bank_account is None:
            raise NotFound(f"bank account {wanted} does not exist", field="account")
    key = fingerprint(on, currency, total, ref_no, lines)
    metadata = {
        "bookeeping": {
            "transactionDate": moment.isoformat(),
            "paymentMethod": method.value,
            "isReconciled": data.is_reconciled,
            "refNo": ref_no,
            "totalAmount": total,
            "counterPartyId": counterparty.id if counterparty else None,
            "bankAccountId": bank_account.id if bank_account else None,
            "fingerprint": key,
            "entries": lines,
        },
        # The same fields flat (docs/metadata.md), so journalEntries(metadata:) finds them.
        **recorded(
            SOURCE,
            {"refNo": ref_no, "paymentMethod": method.value, "isReconciled": data.is_reconciled},
        ),
    }
    # Zero lines move nothing and the ledger refuses them: they live in the metadata only.
    entry_lines = [
        LineInput(
            account_id=line["accountId"],
            debit=format_minor(line["amount"], currency) if line["type"] == "DEBIT" else None,
            credit=format_minor(line["amount"], currency) if line["type"] == "CREDIT" else None,
            description=line["note"],
        )
        for line in lines
        if line["amount"]
    ]
    entry = EntryInput(
        date=on,
        memo=memo or (f"Bookeeping transaction {ref_no}" if ref_no else "Bookeeping transaction"),
        lines=entry_lines,
        currency=currency,
        source=SOURCE,
        metadata=metadata,
        idempotency_scope=SCOPE,
    )
    return _Checked(entry, key, warnings, [i for i, line in enumerate(lines) if line["amount"]])


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return tenant


def _entries_field(error: LedgerError, posted: Sequence[int]) -> LedgerError:
    """The core's ``lines.K.accountId`` as the client's ``entries.N.category``."""
    parts = (error.field or "").split(".")
    if (
        len(parts) >= 2
        and parts[0] == "lines"
        and parts[1].isdigit()
        and int(parts[1]) < len(posted)
    ):
        rest = ["category" if p in ("accountId", "accountCode") else p for p in parts[2:]]
        error.field = ".".join(["entries", str(posted[int(parts[1])]), *rest])
    return error


async def _post(
    db: Database, tenant_id: int, checked: _Checked, key: str | None
) -> tuple[int, bool]:
    """(entry id, whether it was posted now) for the entry with or without its key."""
    entry = replace(checked.entry, idempotency_key=key)
    try:
        result = await posting.post_entry(db, tenant_id, entry)
    except Conflict as error:
        # The key is claimed by a similar transaction that differs elsewhere (a note, the
        # payment method): it is the existing one all the same.
        if entry.idempotency_key is None or error.field != "idempotencyKey":
            raise
        existing = await _claimed_entry(db, tenant_id, entry.idempotency_key)
        if existing is None:
            raise
        return existing, False
    except LedgerError as error:
        raise _entries_field(error, checked.posted) from None
    return result.entry.id, not result.replayed


async def _claimed_entry(db: Database, tenant_id: int, key: str) -> int | None:
    async with db.read() as session:
        entry_id: int | None = await session.scalar(
            select(col(IdempotencyRecord.entry_id)).where(
                col(IdempotencyRecord.tenant_id) == tenant_id,
                col(IdempotencyRecord.scope) == SCOPE,
                col(IdempotencyRecord.key) == key,
            )
        )
        return entry_id


async def create_transaction(
    db: Database, tenant_id: int, data: TransactionInput, *, force: bool = False
) -> Outcome:
    async with db.read() as session:
        tenant = await _tenant(session, tenant_id)
        checked = await _check(session, tenant, data)
    entry_id, created = await _post(db, tenant_id, checked, checked.key)
    if not created and force:
        entry_id, created = await _post(db, tenant_id, checked, None)
    found = await load_transactions(db, tenant_id, [entry_id])
    return Outcome(found[0], CREATED if created else ALREADY_EXISTS, checked.warnings)


# ---------------------------------------------------------------- reads


async def _views(
    session: AsyncSession, tenant: Tenant, views: Sequence[EntryView]
) -> list[Transaction]:
    assert tenant.id is not None
    fields = [_fields(view) for view in views]
    account_ids = [line["accountId"] for f in fields for line in f["entries"]]
    categories = await categories_by_ids(session, tenant.id, account_ids)
    parties = [f["counterPartyId"] for f in fields if f["counterPartyId"]]
    counterparties = await records_by_ids(session, BookeepingCounterparty, tenant.id, parties)
    bank_ids = [f["bankAccountId"] for f in fields if f["bankAccountId"]]
    banks = await records_by_ids(session, BookeepingBankAccount, tenant.id, bank_ids)
    return [
        Transaction(
            id=public_id(view.id),
            entry_id=view.id,
            entry_number=view.number,
            project_id=tenant.slug,
            memo=view.memo,
            ref_no=f["refNo"],
            currency=view.currency,
            total_minor=f["totalAmount"],
            transaction_date=dt.datetime.fromisoformat(f["transactionDate"]),
            payment_method=f["paymentMethod"],
            is_reconciled=f["isReconciled"],
            counterparty=counterparties.get(f["counterPartyId"]),
            bank_account=banks.get(f["bankAccountId"]),
            created_at=view.created_at,
            updated_at=view.created_at,
            lines=[
                TransactionLine(
                    id=line["id"],
                    type=line["type"],
                    amount_minor=line["amount"],
                    category=categories.get(line["accountId"]),
                    parent_category=line["parentCategory"],
                    is_main=line["isMain"],
                    note=line["note"],
                )
                for line in f["entries"]
            ],
        )
        for view, f in zip(views, fields, strict=True)
    ]


def _fields(view: EntryView) -> Mapping[str, Any]:
    assert view.metadata is not None
    fields: Mapping[str, Any] = view.metadata["bookeeping"]
    return fields


async def load_transactions(
    db: Database, tenant_id: int, entry_ids: Sequence[int]
) -> list[Transaction]:
    """The tenant's transactions of these entry ids, in their order; others left out."""
    async with db.read() as session:
        tenant = await _tenant(session, tenant_id)
        views = await posting.load_entries(session, tenant_id, entry_ids)
        ours = [
            v for v in views if v.source == SOURCE and v.metadata and "bookeeping" in v.metadata
        ]
        return await _views(session, tenant, ours)


async def find_transaction(db: Database, tenant_id: int, transaction_id: str) -> Transaction | None:
    entry_id = entry_id_of(transaction_id)
    if entry_id is None:
        return None
    found = await load_transactions(db, tenant_id, [entry_id])
    return found[0] if found else None


async def list_transactions(
    db: Database, tenant_id: int, *, first: int = 50, after: str | None = None
) -> tuple[list[Transaction], bool]:
    """Newest first, ``first`` at most 250; ``after`` is the id of the last one seen."""
    if not 1 <= first <= 250:
        raise BadInput("first must be between 1 and 250", field="first")
    where = [col(JournalEntry.tenant_id) == tenant_id, col(JournalEntry.source) == SOURCE]
    if after is not None:
        before = entry_id_of(after, field="after")
        if before is None:
            raise BadInput("after is not a transaction id", field="after")
        where.append(col(JournalEntry.id) < before)
    async with db.read() as session:
        ids = list(
            await session.scalars(
                select(col(JournalEntry.id))
                .where(*where)
                .order_by(col(JournalEntry.id).desc())
                .limit(first + 1)
            )
        )
    page = [i for i in ids[:first] if i is not None]
    return await load_transactions(db, tenant_id, page), len(ids) > first
