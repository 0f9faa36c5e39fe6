"""Importing a whole ledger file: streamed, posted in chunks, safe to run again.

A first pass over the bytes takes the file's SHA-256 (and checks it is UTF-8);
the second parses it one entry at a time and posts chunks of entries (never all at
once: memory stays flat whatever the file's size), each through the bulk load
(app/ledger/bulk_load, one transaction) when all its entries are plain and pass, else
through ``posting.post_entries``, which decides each entry on its own. Every entry
carries an idempotency key in the ``import`` scope: the file's own id
(``external_id``, a journal's ``(CODE)``) or else the file's hash and the entry's
line. Running an import again, after a crash or not, replays what is already posted
and posts only the rest.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, cast

from sqlmodel import col, select

from app.ledger.accounts import AccountInput, AccountType, create_account
from app.ledger.batch import collector_paused
from app.ledger.bulk_load import Expected, plan_plain_file, write_planned
from app.ledger.bulk_load.from_file import accounts_named
from app.ledger.bulk_load.switching import quick_switches
from app.ledger.errors import BadInput, Conflict, LedgerError, NotFound
from app.ledger.hold_rules import check_expiry
from app.ledger.ledgerfile import FileAccount, FileEntry, FileError, Format
from app.ledger.ledgerfile.journal_plain import PlainRecord, to_file_entry
from app.ledger.ledgerfile.model import entry_metadata
from app.ledger.posting import EntryInput, LineInput, as_hold, post_entries
from db.engine import Database
from db.tables import Account, Tenant

IMPORT_SCOPE = "import"
IMPORT_SOURCE = "import"
# Entries per chunk: one transaction of the bulk load each. Fewer, larger commits are
# faster, and memory holds two or three chunks at a time: 1M postings on PostgreSQL took
# 24.1 s in chunks of 10,000 against 25.3 s of 5,000 (23.6 s of 20,000), peak RSS 196
# MiB; on SQLite, whose chunks also hold their rows built ahead, 9.9 s against 10.2 s,
# but 257 MiB of the 300 allowed against 169 MiB.
DEFAULT_CHUNK_SQLITE = 5000
DEFAULT_CHUNK_POSTGRES = 10_000
MAX_REPORTED_ERRORS = 100
_READ_BLOCK = 1 << 20
# Entries parsed between two yields to the event loop. On PostgreSQL the parsing fills
# the time the server spends on the chunk being written, and the finer the slices the
# sooner that write sends its next statement (100,000 entries: 16.1 s against 17.0 s);
# on SQLite the write runs in its own thread and finer slices only cost.
_YIELD_EVERY_SQLITE = 64
_YIELD_EVERY_POSTGRES = 16
_CHUNKS_IN_FLIGHT = 2
# Account look-ups go in batches that stay under both engines' bind-parameter limits.
_LOOKUP_BATCH = 500
_BULK_PREFIX = re.compile(r"^inputs\.\d+\.?")
# What a chunk holds: entries as read (a journal's plain ones as PlainRecords) and the
# lines the parser refused.
Read = FileEntry | FileError | PlainRecord

_TOP_LEVEL = {
    "assets": AccountType.ASSET,
    "asset": AccountType.ASSET,
    "liabilities": AccountType.LIABILITY,
    "liability": AccountType.LIABILITY,
    "debt": AccountType.LIABILITY,  # hledger reads debts? as liabilities too
    "debts": AccountType.LIABILITY,
    "equity": AccountType.EQUITY,
    "income": AccountType.INCOME,
    "incomes": AccountType.INCOME,
    "revenue": AccountType.INCOME,
    "revenues": AccountType.INCOME,
    "expenses": AccountType.EXPENSE,
    "expense": AccountType.EXPENSE,
}
_BY_DIGIT = {
    "1": AccountType.ASSET,
    "2": AccountType.LIABILITY,
    "3": AccountType.EQUITY,
    "4": AccountType.INCOME,
}


@dataclass(frozen=True)
class EntryError:
    """Why one entry of the file was not posted, and where."""

    line: int
    field: str | None
    message: str
    code: str = "BAD_USER_INPUT"

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class ImportSummary:
    """What an import did; ``errors`` keeps the first MAX_REPORTED_ERRORS failures."""

    sha256: str
    posted: int = 0
    already_imported: int = 0
    failed: int = 0
    accounts_created: int = 0
    errors: list[EntryError] = field(default_factory=list)

    def fail(self, error: EntryError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def __str__(self) -> str:
        created = f", {self.accounts_created} accounts created" if self.accounts_created else ""
        return (
            f"posted {self.posted}, already imported {self.already_imported}, "
            f"failed {self.failed}{created} (file sha256 {self.sha256[:16]})"
        )


@dataclass(frozen=True)
class Progress:
    bytes_read: int
    bytes_total: int
    summary: ImportSummary


def account_type_of(code: str) -> AccountType:
    """The type of a new account: from an hledger top-level name, else the code's first digit."""
    top = code.split(":", 1)[0].strip().lower()
    if top in _TOP_LEVEL:
        return _TOP_LEVEL[top]
    if code[:1] in _BY_DIGIT:
        return _BY_DIGIT[code[0]]
    if code[:1].isdigit() and code[0] >= "5":
        return AccountType.EXPENSE
    raise BadInput(
        f"cannot tell the type of account {code!r} to create it: put it under assets, "
        "liabilities, equity, income or expenses, or start its code with a digit "
        "(1 asset, 2 liability, 3 equity, 4 income, 5-9 expense)",
        field="accountCode",
    )


async def tenant_by_slug(db: Database, slug: str) -> Tenant:
    async with db.read() as session:
        tenant = await session.scalar(select(Tenant).where(col(Tenant.slug) == slug))
    if tenant is None:
        raise NotFound(f"tenant {slug!r} does not exist", field="tenant")
    return tenant


def file_digest(source: BinaryIO) -> tuple[str, int]:
    """The SHA-256 and size of ``source``, read once; BadInput if it is not UTF-8 text."""
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    while block := source.read(_READ_BLOCK):
        sha.update(block)
        try:
            decoder.decode(block)
        except UnicodeDecodeError as error:
            raise BadInput(
                f"the file is not UTF-8 text (byte {size + error.start})", field="file"
            ) from None
        size += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise BadInput(
            "the file is not UTF-8 text (it ends inside a character)", field="file"
        ) from None
    return sha.hexdigest(), size


class _Lines:
    """The text lines of a binary file (each ending with its "\n" but the last), counting
    the bytes read for the progress bar. Decoded a block at a time: a line at a time was
    a twentieth of reading a journal."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for text in self.blocks():
            lines = text.split("\n")
            last = lines.pop()  # the empty text after the block's last "\n", but at the end
            for line in lines:
                yield line + "\n"
            if last:
                yield last

    def blocks(self) -> Iterator[str]:
        """The file's text a block at a time, each but the last ending with a "\n"."""
        rest = b""
        first = True
        while block := self.source.read(_READ_BLOCK):
            self.bytes_read += len(block)
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if not cut:
                continue
            text = block[:cut].decode("utf-8")  # checked by file_digest; cut at a "\n"
            if first:
                text, first = text.removeprefix("\ufeff"), False
            yield text
        if rest:
            text = rest.decode("utf-8")
            yield text.removeprefix("\ufeff") if first else text


def parents_of(code: str) -> list[str]:
    """The hledger parents of an account name, top first: ``a:b:c`` -> ``a``, ``a:b``.

    An empty segment (``a::b``, a trailing colon) makes no parent of its own: such a
    name is an account of its own, as hledger shows it.
    """
    parts = code.split(":")
    if len(parts) < 2 or not all(part.strip() for part in parts):
        return []
    return [":".join(parts[:end]) for end in range(1, len(parts))]


class _Accounts:
    """Which account codes exist; creates the missing ones when asked to.

    Created accounts follow hledger's hierarchy: ``expenses:software:hosting`` is
    created under ``expenses:software``, itself under ``expenses``, creating the
    parents that do not exist, so statements roll up as hledger's ``--depth`` does.
    """

    def __init__(self, db: Database, tenant_id: int, create: bool, hint: str) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.create = create
        self.hint = hint
        # Both grow with the chart of accounts, not with the file.
        self.known: set[str] = set()
        self.refused: dict[str, str] = {}
        # Types the file declares (hledger's ``account CODE  ; type: R``): a created
        # account takes its declared type rather than the one its code suggests.
        self.declared: dict[str, AccountType] = {}
        # Metadata the file declares for an account: given to it if the import creates it.
        self.metadata: dict[str, Mapping[str, Any]] = {}
        self.created = 0

    def type_of(self, code: str) -> AccountType:
        """hledger's order: the type declared for the account or its nearest declared
        parent, else the one its top-level name (or its code's first digit) gives."""
        for name in [code, *reversed(parents_of(code))]:
            if name in self.declared:
                return self.declared[name]
        return account_type_of(code)

    def parent_type_of(self, code: str, child: AccountType) -> AccountType:
        """A parent the file never names by itself: typed as an account would be, or
        else like the child it is created for (``account shop:sales  ; type: R``)."""
        try:
            return self.type_of(code)
        except BadInput:
            return child

    async def _look_up(self, codes: list[str]) -> None:
        for start in range(0, len(codes), _LOOKUP_BATCH):
            batch = codes[start : start + _LOOKUP_BATCH]
            async with self.db.read() as session:
                found = await session.scalars(
                    select(col(Account.code)).where(
                        col(Account.tenant_id) == self.tenant_id, col(Account.code).in_(batch)
                    )
                )
                self.known.update(found)

    async def _create(self, code: str, kind: AccountType, parent: str | None) -> None:
        try:
            await create_account(
                self.db,
                self.tenant_id,
                AccountInput(
                    code=code,
                    name=code,
                    type=kind.value,
                    parent_code=parent,
                    metadata=self.metadata.get(code),
                ),
            )
            self.created += 1
        except Conflict:  # created meanwhile by someone else: it exists, all the same
            pass
        self.known.add(code)
        # A name refused alone (no type of its own) that now exists as a parent takes
        # postings from the next chunk on, like any account.
        self.refused.pop(code, None)

    async def _create_with_parents(self, code: str) -> None:
        kind = self.type_of(code)
        parent = None
        for name in parents_of(code):
            if name not in self.known:
                await self._create(name, self.parent_type_of(name, kind), parent)
            parent = name
        await self._create(code, kind, parent)

    async def check(self, codes: set[str]) -> None:
        unknown = sorted(codes - self.known - self.refused.keys())
        wanted = set(unknown)
        if self.create:  # their parents too: an existing parent is linked, not created
            wanted.update(name for code in unknown for name in parents_of(code))
        await self._look_up(sorted(wanted - self.known))
        for code in unknown:
            if code in self.known:
                continue
            if not self.create:
                self.refused[code] = f"account {code} does not exist (import with {self.hint})"
                continue
            try:
                await self._create_with_parents(code)
            except LedgerError as error:
                self.refused[code] = error.message


def _input(entry: FileEntry, base_currency: str, key: str) -> EntryInput:
    # Filled in the same way whatever the file wrote, so that a file which spells
    # out the currency or leaves it out replays as the same request.
    currency = entry.currency or base_currency
    data = EntryInput(
        date=entry.date,
        memo=entry.memo,
        currency=currency,
        lines=[
            LineInput(
                account_code=line.account,
                debit=line.debit,
                credit=line.credit,
                description=line.description,
                currency=None if line.currency in (None, currency) else line.currency,
            )
            for line in entry.lines
        ],
        idempotency_key=key,
        idempotency_scope=IMPORT_SCOPE,
        source=IMPORT_SOURCE,
        metadata=entry_metadata(entry),
    )
    return as_hold(data, entry.expires_at) if entry.hold else data


class _Importer:
    def __init__(
        self,
        db: Database,
        tenant: Tenant,
        fmt: Format,
        summary: ImportSummary,
        accounts: _Accounts,
    ) -> None:
        self.db = db
        self.tenant = tenant
        self.fmt = fmt
        self.summary = summary
        self.accounts = accounts
        self.planning = asyncio.Lock()
        # The highest entry id written so far: a chunk whose ids were drawn at its plan
        # (PostgreSQL) below it, by a chunk before it written since, draws them again
        # when written, so that ids follow the file (``post``).
        self.last_id = 0
        # What the chunk planned last leaves, if its rows were built ahead (SQLite): the
        # next chunk's are built after it (bulk_load.ahead).
        self.expected: Expected | None = None

    def key(self, entry: FileEntry | PlainRecord) -> str:
        return entry.external_id or f"{self.summary.sha256[:32]}:{entry.line}"

    def error(self, entry: FileEntry, field: str | None, error: LedgerError) -> EntryError:
        line, name = self.fmt.locate(entry, field)
        return EntryError(line, name, error.message, error.code)

    async def check_accounts(self, chunk: list[Read]) -> set[str]:
        """Finds (or creates) the chunk's accounts, done chunk by chunk, in file order; the
        codes it names."""
        named = accounts_named([item for item in chunk if not isinstance(item, FileError)])
        await self.accounts.check(named)
        return named

    def checked(
        self, chunk: list[FileEntry | FileError]
    ) -> tuple[list[FileEntry], list[EntryError]]:
        """The chunk's entries that can be posted, and the failures of the others: the
        lines the parser refused, holds already expired, accounts refused."""
        failures: list[EntryError] = [
            EntryError(item.line, item.field, item.message)
            for item in chunk
            if isinstance(item, FileError)
        ]
        ready: list[FileEntry] = []
        now = dt.datetime.now(dt.UTC)
        refused = self.accounts.refused
        for entry in chunk:
            if isinstance(entry, FileError):
                continue
            if entry.hold:
                try:
                    check_expiry(entry.expires_at, now)
                except BadInput as error:
                    failures.append(self.error(entry, "hold.expires_at", error))
                    continue
            missing = (
                next((i for i, line in enumerate(entry.lines) if line.account in refused), None)
                if refused
                else None
            )
            if missing is None:
                ready.append(entry)
                continue
            message = self.accounts.refused[entry.lines[missing].account]
            failures.append(self.error(entry, f"lines.{missing}.accountCode", BadInput(message)))
        return ready, failures

    async def post(
        self, chunk: list[Read], previous: asyncio.Task[None] | None, named: set[str]
    ) -> None:
        """Posts the chunk's entries (accounts checked) once ``previous`` (the chunk before
        it) is written; failures are recorded in line order.

        A chunk of valid, plain entries goes through the bulk load (app/ledger/bulk_load)
        in one transaction; any other, through the general path entry by entry, which
        gives each refusal its usual message.
        """
        ready: Sequence[FileEntry | PlainRecord]
        failures: list[EntryError] = []
        if not self.accounts.refused and all(type(item) is PlainRecord for item in chunk):
            ready = cast(list[PlainRecord], chunk)  # nothing to check before the plan
        else:
            ready, failures = self.checked(
                [to_file_entry(item) if isinstance(item, PlainRecord) else item for item in chunk]
            )
        assert self.tenant.id is not None
        keys = [self.key(entry) for entry in ready]
        planned = None
        # One plan at a time, in file order: a plan builds the chunk's rows after what the
        # plan before it expects (on PostgreSQL with the ids it draws).
        async with self.planning:
            if failures:
                self.expected = None  # the general path writes it: the next plan reads it
            else:
                if self.expected is None and previous is not None:
                    # Rows built ahead follow what the chunk before leaves: known from its
                    # plan, else (it went to the general path, or another writer
                    # came between) read once it is written, so that the chunks after it
                    # are built ahead again instead of each one under the lock.
                    await previous
                planned = await plan_plain_file(
                    self.db,
                    self.tenant.id,
                    ready,
                    keys,
                    scope=IMPORT_SCOPE,
                    source=IMPORT_SOURCE,
                    expected=self.expected,
                    named=named,
                )
                prebuilt = planned.prebuilt if planned is not None else None
                self.expected = prebuilt.after if prebuilt is not None else None
        if previous is not None:  # chunks are written in file order
            await previous
        if planned is not None:
            drawn = planned.lines.entry_ids if planned.lines is not None else []
            if drawn and drawn[0] < self.last_id:  # drawn again, so built again
                planned = replace(planned, lines=None, prebuilt=None)
            stored = await write_planned(self.db, self.tenant.id, planned)
            if planned.prebuilt is not None and not (stored is not None and stored.as_built):
                # Another writer came between: the chunks planned after this one were
                # built against what it was expected to leave; the next plan reads anew.
                self.expected = None
            if stored is not None:
                self.last_id = max(self.last_id, stored.last_id)
                self.summary.posted += stored.written
                self.summary.already_imported += stored.replayed
                self.summary.accounts_created = self.accounts.created
                return
        base = self.tenant.base_currency
        entries = [item if isinstance(item, FileEntry) else to_file_entry(item) for item in ready]
        inputs = [_input(entry, base, key) for entry, key in zip(entries, keys, strict=True)]
        items = await post_entries(self.db, self.tenant.id, inputs, atomic=False)
        self.last_id = max(
            [self.last_id]
            + [item.result.entry.id for item in items if item.result and not item.result.replayed]
        )
        for entry, item in zip(entries, items, strict=True):
            if item.error is not None:
                field = _BULK_PREFIX.sub("", item.error.field or "") or None
                failures.append(self.error(entry, field, item.error))
            elif item.result is not None and item.result.replayed:
                self.summary.already_imported += 1
            else:
                self.summary.posted += 1
        for failure in sorted(failures, key=lambda failure: failure.line):
            self.summary.fail(failure)
        self.summary.accounts_created = self.accounts.created


async def import_file(
    db: Database,
    tenant_id: int,
    source: BinaryIO,
    fmt: Format,
    *,
    create_accounts: bool = False,
    chunk_size: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    create_hint: str = "--create-accounts to create it",
) -> ImportSummary:
    """Posts every entry of ``source`` (a seekable binary file) in ``fmt`` to the tenant.

    An entry that is refused is counted and reported with its line; the import
    goes on. Only a file that cannot be read at all (not UTF-8, a bad CSV header)
    raises, before anything is written.
    """
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK_SQLITE if db.sqlite else DEFAULT_CHUNK_POSTGRES
    if chunk_size < 1:
        raise BadInput("the chunk size is at least 1", field="chunk")
    async with db.read() as session:
        tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist", field="tenant")
    sha256, size = file_digest(source)
    source.seek(0)
    summary = ImportSummary(sha256)
    importer = _Importer(
        db, tenant, fmt, summary, _Accounts(db, tenant_id, create_accounts, create_hint)
    )
    lines = _Lines(source)
    # Chunks are posted while the next is parsed (the parser yields to the event loop
    # every few entries): a chunk is planned as soon as it is parsed and written once the
    # chunk before it is committed, so they commit in file order; two at a time.
    in_flight: deque[asyncio.Task[None]] = deque()

    async def hand_over(chunk: list[Read], read: int) -> None:
        while len(in_flight) >= _CHUNKS_IN_FLIGHT:
            await in_flight.popleft()
            if on_progress is not None:
                on_progress(Progress(read, size, summary))
        named = await importer.check_accounts(chunk)
        previous = in_flight[-1] if in_flight else None
        in_flight.append(asyncio.create_task(importer.post(chunk, previous, named)))

    chunk: list[Read] = []
    entries = 0
    # The collector off for the whole import, as for a batch (batch.collector_paused):
    # parsing makes millions of short-lived objects and no cycle (100,000 entries: 13.2 s
    # instead of 14.2). Back on when the last batch or import running ends. The switch
    # interval short meanwhile, so the writer thread gets the GIL back soon after each
    # statement (bulk_load.switching).
    yield_every = _YIELD_EVERY_SQLITE if db.sqlite else _YIELD_EVERY_POSTGRES
    with collector_paused(), quick_switches():
        try:
            for item in fmt.scan(lines.blocks()) if fmt.scan else fmt.parse(lines):
                if isinstance(item, FileAccount):
                    if item.type is not None:
                        importer.accounts.declared[item.code] = AccountType(item.type)
                    if item.metadata:
                        importer.accounts.metadata[item.code] = item.metadata
                    continue
                chunk.append(item)
                entries += not isinstance(item, FileError)
                if len(chunk) % yield_every == 0:
                    await asyncio.sleep(0)
                # Unreadable entries wait in the chunk too, so failures are reported in line order.
                if entries >= chunk_size or len(chunk) >= 2 * chunk_size:
                    await hand_over(chunk, lines.bytes_read)
                    chunk, entries = [], 0
            if chunk:
                await hand_over(chunk, lines.bytes_read)
            while in_flight:
                await in_flight.popleft()
        finally:
            # A failure while parsing (or in a chunk) leaves no write running unawaited.
            if in_flight:
                await asyncio.wait(in_flight)
    if on_progress is not None:
        on_progress(Progress(size, size, summary))
    return summary
