"""Posting journal entries: the one write path of the ledger.

An entry is written with its lines, the maintained balances, the per-day
balance movements, its event and its idempotency record in one database
transaction, or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import BigInteger, Date, String, TextClause, bindparam, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict, LedgerError, NotFound
from app.ledger.money import MAX_MINOR, check_currency, format_minor, parse_decimal, to_minor
from app.ledger.tenants import DEFAULT_JOURNAL_CODE
from db.engine import Database, dialect_insert
from db.tables import (
    Account,
    Event,
    IdempotencyRecord,
    Journal,
    JournalEntry,
    JournalLine,
    Tenant,
    utcnow,
)

MAX_LINES = 1000
MAX_MEMO = 500
IDEMPOTENCY_SCOPE = "entry"


@dataclass(frozen=True)
class LineInput:
    """One line as a client sent it; amounts are raw (str, int or Decimal), checked here."""

    account_code: str | None = None
    debit: object = None
    credit: object = None
    description: str | None = None
    currency: str | None = None
    account_id: int | None = None  # for dialects that name accounts by id


@dataclass(frozen=True)
class EntryInput:
    date: dt.date
    memo: str
    lines: Sequence[LineInput]
    currency: str | None = None
    journal_code: str | None = None
    idempotency_key: str | None = None
    source: str = "graphql"
    metadata: Mapping[str, Any] | None = None
    event_type: str = "journal_entry.posted"
    # The scope in which idempotency_key is unique (dialects keep their own keys apart).
    idempotency_scope: str = IDEMPOTENCY_SCOPE
    # Pismo answers a reused key with 409 instead of a replay.
    replay_allowed: bool = True


@dataclass(frozen=True)
class LineView:
    id: int
    account_id: int
    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int
    description: str | None
    line_no: int


@dataclass(frozen=True)
class EntryView:
    id: int
    tenant_id: int
    number: str
    date: dt.date
    memo: str
    currency: str
    status: str
    source: str
    journal_code: str
    idempotency_key: str | None
    reversal_of_id: int | None
    reversed_by_id: int | None
    metadata: Mapping[str, Any] | None
    created_at: dt.datetime
    lines: list[LineView] = field(default_factory=list)


@dataclass(frozen=True)
class PostResult:
    entry: EntryView
    replayed: bool = False


@dataclass(frozen=True)
class _Line:
    account_id: int
    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int
    description: str | None


@dataclass(frozen=True)
class _Prepared:
    date: dt.date
    memo: str
    currency: str
    journal_code: str
    lines: list[_Line]


# ---------------------------------------------------------------- validation


def _check_memo(memo: str | None) -> str:
    text = (memo or "").strip()
    if not text:
        raise BadInput("memo must not be empty", field="memo")
    if len(text) > MAX_MEMO:
        raise BadInput(f"memo is longer than {MAX_MEMO} characters", field="memo")
    return text


def _line_amounts(line: LineInput, currency: str) -> tuple[int, int]:
    has_debit = line.debit is not None and line.debit != ""
    has_credit = line.credit is not None and line.credit != ""
    if has_debit == has_credit:
        raise BadInput("a line is either a debit or a credit: give exactly one of the two")
    if has_debit:
        try:
            return to_minor(line.debit, currency), 0
        except LedgerError as error:
            raise error.at("debit") from None
    try:
        return 0, to_minor(line.credit, currency)
    except LedgerError as error:
        raise error.at("credit") from None


def _check_balanced(lines: Iterable[_Line]) -> None:
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for line in lines:
        debits[line.currency] += line.debit_minor
        credits[line.currency] += line.credit_minor
    for currency in sorted(debits.keys() | credits.keys()):
        if debits[currency] != credits[currency]:
            raise BadInput(
                f"entry does not balance in {currency}: debits "
                f"{format_minor(debits[currency], currency)} != credits "
                f"{format_minor(credits[currency], currency)}",
                field="lines",
            )


async def _load_accounts(
    session: AsyncSession, tenant_id: int, lines: Sequence[LineInput]
) -> tuple[dict[str, Account], dict[int, Account]]:
    codes = {line.account_code for line in lines if line.account_code}
    ids = {
        line.account_id for line in lines if line.account_id is not None and not line.account_code
    }
    by_code: dict[str, Account] = {}
    by_id: dict[int, Account] = {}
    if codes:
        rows = await session.scalars(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.code).in_(codes))
        )
        by_code = {account.code: account for account in rows}
    if ids:
        rows = await session.scalars(
            select(Account).where(col(Account.tenant_id) == tenant_id, col(Account.id).in_(ids))
        )
        by_id = {account.id: account for account in rows if account.id is not None}
    return by_code, by_id


async def _prepare(session: AsyncSession, tenant: Tenant, data: EntryInput) -> _Prepared:
    memo = _check_memo(data.memo)
    if not isinstance(data.date, dt.date):
        raise BadInput("date must be a date (YYYY-MM-DD)", field="date")
    if tenant.lock_date is not None and data.date <= tenant.lock_date:
        raise BadInput(
            f"the books are locked up to {tenant.lock_date.isoformat()}: "
            f"cannot post on {data.date.isoformat()}",
            field="date",
        )
    currency = check_currency(data.currency or tenant.base_currency)
    if len(data.lines) < 2:
        raise BadInput("an entry needs at least two lines", field="lines")
    if len(data.lines) > MAX_LINES:
        raise BadInput(f"an entry has at most {MAX_LINES} lines", field="lines")
    by_code, by_id = await _load_accounts(session, tenant.id or 0, data.lines)
    prepared: list[_Line] = []
    for index, raw in enumerate(data.lines):
        where = f"lines.{index}"
        line_currency = currency
        if raw.currency is not None:
            line_currency = check_currency(raw.currency, field=f"{where}.currency")
        if raw.account_code:
            account = by_code.get(raw.account_code)
            account_field, named = f"{where}.accountCode", raw.account_code
        elif raw.account_id is not None:
            account = by_id.get(raw.account_id)
            account_field, named = f"{where}.accountId", str(raw.account_id)
        else:
            raise BadInput("every line names an account", field=f"{where}.accountCode")
        if account is None:
            raise BadInput(f"account {named} does not exist", field=account_field)
        if account.deactivated_at is not None:
            raise BadInput(f"account {named} is deactivated", field=account_field)
        if account.currency and account.currency != line_currency:
            raise BadInput(
                f"account {named} only takes {account.currency}, not {line_currency}",
                field=account_field,
            )
        try:
            debit, credit = _line_amounts(raw, line_currency)
        except LedgerError as error:
            raise error.at(where) from None
        description = raw.description.strip() if raw.description else None
        if description and len(description) > MAX_MEMO:
            raise BadInput(
                f"description is longer than {MAX_MEMO} characters", field=f"{where}.description"
            )
        assert account.id is not None
        prepared.append(_Line(account.id, account.code, line_currency, debit, credit, description))
    _check_balanced(prepared)
    return _Prepared(
        date=data.date,
        memo=memo,
        currency=currency,
        journal_code=data.journal_code or DEFAULT_JOURNAL_CODE,
        lines=prepared,
    )


def _amount_key(value: object) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(parse_decimal(value).normalize())
    except LedgerError:
        return repr(value)


def _request_hash(data: EntryInput) -> str:
    """A digest of what the request asks for, so a replay with equal meaning matches."""
    document = {
        "date": data.date.isoformat() if isinstance(data.date, dt.date) else repr(data.date),
        "memo": (data.memo or "").strip(),
        "currency": data.currency,
        "journal": data.journal_code,
        "source": data.source,
        "metadata": data.metadata,
        "lines": [
            [
                line.account_code,
                line.account_id,
                line.currency,
                _amount_key(line.debit),
                _amount_key(line.credit),
                (line.description or "").strip() or None,
            ]
            for line in data.lines
        ],
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------- writing


@cache
def _upsert_sql(table: str, keys: tuple[str, ...], rows: int) -> TextClause:
    """``INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x`` for ``rows`` rows.

    Written as text because SQLAlchemy cannot cache a compiled ON CONFLICT statement
    (it recompiled both upserts on every posting, a third of the posting's CPU);
    the syntax is the same on SQLite and PostgreSQL.
    """
    columns = (*keys, "tenant_id", "debit_minor", "credit_minor")
    values = ", ".join(
        "(" + ", ".join(f":{column}_{i}" for column in columns) + ")" for i in range(rows)
    )
    types: dict[str, TypeEngine[Any]] = {
        "account_id": BigInteger(),
        "tenant_id": BigInteger(),
        "currency": String(),
        "day": Date(),
        "debit_minor": BigInteger(),
        "credit_minor": BigInteger(),
    }
    return text(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        f"debit_minor = {table}.debit_minor + excluded.debit_minor, "
        f"credit_minor = {table}.credit_minor + excluded.credit_minor "
        "RETURNING account_id, currency, debit_minor, credit_minor"
    ).bindparams(
        *(
            bindparam(f"{column}_{i}", type_=types[column])
            for i in range(rows)
            for column in columns
        )
    )


async def _add_to_balances(
    session: AsyncSession, tenant_id: int, date: dt.date, lines: Sequence[_Line]
) -> None:
    """Adds the lines to the maintained balances and to the day's movements.

    Upserts with ``x = x + excluded.x`` are atomic on both engines, and rows are
    touched in (account, currency) order so concurrent postings cannot deadlock.
    """
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        pair = totals[(line.account_id, line.currency)]
        pair[0] += line.debit_minor
        pair[1] += line.credit_minor
    keys = sorted(totals)
    params: dict[str, object] = {}
    for i, (account_id, currency) in enumerate(keys):
        debit, credit = totals[(account_id, currency)]
        params |= {
            f"account_id_{i}": account_id,
            f"currency_{i}": currency,
            f"day_{i}": date,
            f"tenant_id_{i}": tenant_id,
            f"debit_minor_{i}": debit,
            f"credit_minor_{i}": credit,
        }
    for table, key_columns in (
        ("account_balances", ("account_id", "currency")),
        ("balance_days", ("account_id", "currency", "day")),
    ):
        try:
            totals_after = (
                await session.execute(_upsert_sql(table, key_columns, len(keys)), params)
            ).all()
        except DBAPIError as error:
            # PostgreSQL refuses a BIGINT past 2^63-1 (SQLSTATE 22003, numeric out of range).
            if getattr(error.orig, "sqlstate", None) != "22003":
                raise
            raise BadInput(
                f"the entry would take a balance past {MAX_MINOR} minor units", field="lines"
            ) from None
        for account_id, currency, debit_total, credit_total in totals_after:
            # SQLite turns an integer sum past 2^63-1 into a REAL instead of failing.
            if not all(
                isinstance(total, int) and total <= MAX_MINOR
                for total in (debit_total, credit_total)
            ):
                code = next(line.account_code for line in lines if line.account_id == account_id)
                raise BadInput(
                    f"the entry would take the {currency} balance of account {code} "
                    f"past {MAX_MINOR} minor units",
                    field="lines",
                )


async def _claim_key(
    session: AsyncSession, tenant_id: int, data: EntryInput, request_hash: str
) -> IdempotencyRecord | None:
    """Claims the idempotency key; returns the earlier record when it was already taken.

    ``INSERT .. ON CONFLICT DO NOTHING`` waits for a concurrent claim of the same
    key to commit or roll back, so exactly one racer writes the entry.
    """
    assert data.idempotency_key is not None
    stmt = (
        dialect_insert(session, IdempotencyRecord)
        .values(
            tenant_id=tenant_id,
            scope=data.idempotency_scope,
            key=data.idempotency_key,
            request_hash=request_hash,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "scope", "key"])
        .returning(col(IdempotencyRecord.id))
    )
    if (await session.execute(stmt)).first() is not None:
        return None
    return await session.scalar(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.tenant_id) == tenant_id,
            col(IdempotencyRecord.scope) == data.idempotency_scope,
            col(IdempotencyRecord.key) == data.idempotency_key,
        )
    )


async def _journal_id(session: AsyncSession, tenant_id: int, code: str) -> int:
    journal_id = await session.scalar(
        select(col(Journal.id)).where(
            col(Journal.tenant_id) == tenant_id, col(Journal.code) == code
        )
    )
    if journal_id is None:
        raise BadInput(f"journal {code} does not exist", field="journalCode")
    return int(journal_id)


async def _write_entry(
    session: AsyncSession,
    tenant_id: int,
    prepared: _Prepared,
    *,
    source: str,
    idempotency_key: str | None,
    metadata: Mapping[str, Any] | None,
    event_type: str,
    reversal_of_id: int | None = None,
) -> EntryView:
    """Writes the entry, its lines, balances and event; returns the entry as written."""
    journal_id = await _journal_id(session, tenant_id, prepared.journal_code)
    seq_row = (
        await session.execute(
            update(Tenant)
            .where(col(Tenant.id) == tenant_id)
            .values(entry_seq=col(Tenant.entry_seq) + 1)
            .returning(col(Tenant.entry_seq), col(Tenant.journal_prefix))
        )
    ).one()
    number = f"{seq_row.journal_prefix}-{prepared.date.isoformat()}-{seq_row.entry_seq:04d}"
    created_at = utcnow()
    entry_id = await session.scalar(
        insert(JournalEntry)
        .values(
            tenant_id=tenant_id,
            journal_id=journal_id,
            number=number,
            date=prepared.date,
            memo=prepared.memo,
            currency=prepared.currency,
            status="POSTED",
            source=source,
            idempotency_key=idempotency_key,
            reversal_of_id=reversal_of_id,
            metadata_json=json.dumps(metadata, default=str) if metadata else None,
            created_at=created_at,
        )
        .returning(col(JournalEntry.id))
    )
    assert entry_id is not None
    # Unordered RETURNING lets SQLite batch the rows; line_no matches ids to lines.
    inserted = await session.execute(
        insert(JournalLine).returning(col(JournalLine.line_no), col(JournalLine.id)),
        [
            {
                "entry_id": entry_id,
                "tenant_id": tenant_id,
                "account_id": line.account_id,
                "date": prepared.date,
                "currency": line.currency,
                "debit_minor": line.debit_minor,
                "credit_minor": line.credit_minor,
                "description": line.description,
                "line_no": index,
            }
            for index, line in enumerate(prepared.lines)
        ],
    )
    line_ids = {line_no: cast(int, line_id) for line_no, line_id in inserted}
    await _add_to_balances(session, tenant_id, prepared.date, prepared.lines)
    payload = {
        "entry_id": entry_id,
        "number": number,
        "date": prepared.date.isoformat(),
        "currency": prepared.currency,
        "source": source,
        "reversal_of_id": reversal_of_id,
        "metadata": metadata,
        "lines": [
            {
                "account_code": line.account_code,
                "currency": line.currency,
                "debit": format_minor(line.debit_minor, line.currency),
                "credit": format_minor(line.credit_minor, line.currency),
            }
            for line in prepared.lines
        ],
    }
    await session.execute(
        insert(Event).values(
            tenant_id=tenant_id,
            type=event_type,
            entry_id=entry_id,
            payload_json=json.dumps(payload, default=str),
        )
    )
    return EntryView(
        id=int(entry_id),
        tenant_id=tenant_id,
        number=number,
        date=prepared.date,
        memo=prepared.memo,
        currency=prepared.currency,
        status="POSTED",
        source=source,
        journal_code=prepared.journal_code,
        idempotency_key=idempotency_key,
        reversal_of_id=reversal_of_id,
        reversed_by_id=None,
        metadata=metadata,
        created_at=created_at,
        lines=[
            LineView(
                id=line_ids[index],
                account_id=line.account_id,
                account_code=line.account_code,
                currency=line.currency,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                description=line.description,
                line_no=index,
            )
            for index, line in enumerate(prepared.lines)
        ],
    )


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return tenant


async def post_in(session: AsyncSession, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts ``data`` inside the caller's write transaction.

    The idempotency key is claimed before the input is checked, so a replay
    returns the original entry even if, say, an account was deactivated since.
    """
    tenant = await _tenant(session, tenant_id)
    if data.idempotency_key is not None:
        earlier = await _claim(session, tenant_id, data)
        if earlier is not None:
            return PostResult(await load_entry(session, tenant_id, earlier), True)
    view = await _write_entry(
        session,
        tenant_id,
        await _prepare(session, tenant, data),
        source=data.source,
        idempotency_key=data.idempotency_key,
        metadata=data.metadata,
        event_type=data.event_type,
    )
    if data.idempotency_key is not None:
        await session.execute(
            update(IdempotencyRecord)
            .where(
                col(IdempotencyRecord.tenant_id) == tenant_id,
                col(IdempotencyRecord.scope) == data.idempotency_scope,
                col(IdempotencyRecord.key) == data.idempotency_key,
            )
            .values(entry_id=view.id)
        )
    return PostResult(view, False)


async def _claim(session: AsyncSession, tenant_id: int, data: EntryInput) -> int | None:
    """Claims ``data.idempotency_key``: None when new, else the id of the entry to replay."""
    key = data.idempotency_key or ""
    if not key.strip() or len(key) > 200:
        raise BadInput("idempotency key must be 1 to 200 characters", field="idempotencyKey")
    request_hash = _request_hash(data)
    earlier = await _claim_key(session, tenant_id, data, request_hash)
    if earlier is None:
        return None
    if not data.replay_allowed:
        raise Conflict(f"key {key!r} was already used", field="idempotencyKey")
    if earlier.request_hash != request_hash or earlier.entry_id is None:
        raise Conflict(
            f"idempotency key {key!r} was used for a different entry", field="idempotencyKey"
        )
    return earlier.entry_id


async def post_entry(db: Database, tenant_id: int, data: EntryInput) -> PostResult:
    """Posts one balanced entry in its own transaction."""
    async with db.write() as session:
        return await post_in(session, tenant_id, data)


@dataclass(frozen=True)
class BulkItem:
    result: PostResult | None = None
    error: LedgerError | None = None


async def post_entries(
    db: Database, tenant_id: int, inputs: Sequence[EntryInput], *, atomic: bool
) -> list[BulkItem]:
    """Posts several entries: all or none when ``atomic``, else each on its own."""
    if not atomic:
        items: list[BulkItem] = []
        for index, data in enumerate(inputs):
            try:
                items.append(BulkItem(result=await post_entry(db, tenant_id, data)))
            except LedgerError as error:
                items.append(BulkItem(error=error.at(f"inputs.{index}")))
        return items
    failed: tuple[int, LedgerError] | None = None
    results: list[PostResult] = []
    try:
        async with db.write() as session:
            for index, data in enumerate(inputs):
                try:
                    results.append(await post_in(session, tenant_id, data))
                except LedgerError as error:
                    failed = (index, error.at(f"inputs.{index}"))
                    raise
    except LedgerError:
        assert failed is not None
        bad_index, bad_error = failed
        return [
            BulkItem(error=bad_error)
            if index == bad_index
            else BulkItem(
                error=BadInput(
                    f"not posted: the batch is atomic and inputs.{bad_index} failed",
                    field=f"inputs.{index}",
                )
            )
            for index in range(len(inputs))
        ]
    return [BulkItem(result=result) for result in results]


async def reverse_entry(
    db: Database,
    tenant_id: int,
    entry_id: int,
    *,
    date: dt.date | None = None,
    memo: str | None = None,
) -> PostResult:
    """Posts the mirror of ``entry_id`` and marks it REVERSED; reversing twice is a Conflict.

    The reversal is dated ``date``, by default the later of the original's date and
    today, and may use accounts deactivated since: correcting the books must stay possible.
    """
    async with db.write() as session:
        tenant = await _tenant(session, tenant_id)
        original = await load_entry(session, tenant_id, entry_id)
        if original.reversal_of_id is not None:
            raise Conflict(
                f"entry {entry_id} is itself a reversal; post a new entry instead", field="id"
            )
        on = date or max(original.date, dt.date.today())
        if on < original.date:
            raise BadInput("a reversal cannot be dated before the entry it reverses", field="date")
        if tenant.lock_date is not None and on <= tenant.lock_date:
            raise BadInput(
                f"the books are locked up to {tenant.lock_date.isoformat()}", field="date"
            )
        claimed = await session.execute(
            update(JournalEntry)
            .where(col(JournalEntry.id) == entry_id, col(JournalEntry.status) == "POSTED")
            .values(status="REVERSED")
            .returning(col(JournalEntry.id))
        )
        if claimed.first() is None:
            raise Conflict(f"entry {entry_id} is already reversed", field="id")
        prepared = _Prepared(
            date=on,
            memo=_check_memo(memo) if memo is not None else f"Reversal of {original.number}",
            currency=original.currency,
            journal_code=original.journal_code,
            lines=[
                _Line(
                    line.account_id,
                    line.account_code,
                    line.currency,
                    line.credit_minor,
                    line.debit_minor,
                    line.description,
                )
                for line in original.lines
            ],
        )
        reversal = await _write_entry(
            session,
            tenant_id,
            prepared,
            source=original.source,
            idempotency_key=None,
            metadata=None,
            event_type="journal_entry.reversed",
            reversal_of_id=entry_id,
        )
        await session.execute(
            update(JournalEntry)
            .where(col(JournalEntry.id) == entry_id)
            .values(reversed_by_id=reversal.id)
        )
        return PostResult(reversal)


# ---------------------------------------------------------------- reading


async def load_entries(
    session: AsyncSession, tenant_id: int, entry_ids: Sequence[int]
) -> list[EntryView]:
    """Entries with their lines, in the order of ``entry_ids``; unknown ids are left out."""
    if not entry_ids:
        return []
    rows = (
        await session.execute(
            select(JournalEntry, col(Journal.code))
            .join(Journal, col(Journal.id) == col(JournalEntry.journal_id))
            .where(col(JournalEntry.tenant_id) == tenant_id, col(JournalEntry.id).in_(entry_ids))
        )
    ).all()
    line_rows = (
        await session.execute(
            select(JournalLine, col(Account.code))
            .join(Account, col(Account.id) == col(JournalLine.account_id))
            .where(col(JournalLine.entry_id).in_(entry_ids))
            .order_by(col(JournalLine.entry_id), col(JournalLine.line_no))
        )
    ).all()
    lines: dict[int, list[LineView]] = defaultdict(list)
    for line, code in line_rows:
        assert line.id is not None
        lines[line.entry_id].append(
            LineView(
                id=line.id,
                account_id=line.account_id,
                account_code=code,
                currency=line.currency,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                description=line.description,
                line_no=line.line_no,
            )
        )
    views = {}
    for entry, journal_code in rows:
        assert entry.id is not None
        views[entry.id] = EntryView(
            id=entry.id,
            tenant_id=entry.tenant_id,
            number=entry.number,
            date=entry.date,
            memo=entry.memo,
            currency=entry.currency,
            status=entry.status,
            source=entry.source,
            journal_code=journal_code,
            idempotency_key=entry.idempotency_key,
            reversal_of_id=entry.reversal_of_id,
            reversed_by_id=entry.reversed_by_id,
            metadata=json.loads(entry.metadata_json) if entry.metadata_json else None,
            created_at=entry.created_at,
            lines=lines[entry.id],
        )
    return [views[entry_id] for entry_id in entry_ids if entry_id in views]


async def load_entry(session: AsyncSession, tenant_id: int, entry_id: int) -> EntryView:
    found = await load_entries(session, tenant_id, [entry_id])
    if not found:
        raise NotFound(f"journal entry {entry_id} does not exist", field="id")
    return found[0]
