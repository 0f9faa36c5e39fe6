"""The books pass of ``ledgerql verify``: the entries and lines as stored, compared field
by field with what the chain says of them (audit_replay.py), a page of entries at a time.

Pages are keyset ranges of entry ids: the tenant's entries after the last one seen, then
every event, line and metadata index row whose entry id is in that range (the events by
``ix_events_entry``), so memory holds one page. An entry in the books without a link was
written outside the ledger; an entry of the chain missing from the books was deleted; a
SCHEDULED entry that has not posted has no link by design and is only counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlmodel import SQLModel

from app.ledger.audit_findings import Counts, Findings, Problem, Progress
from app.ledger.audit_replay import ChainEntry, exact_json, replay
from app.ledger.entries import REVERSED, SCHEDULED
from app.ledger.metadata import index_rows
from app.ledger.money import format_minor

PAGE = 2000
_BEYOND = 2**62  # the upper end of the last page's range: past every id

_tables = SQLModel.metadata.tables
ENTRIES: Table = _tables["journal_entries"]
LINES: Table = _tables["journal_lines"]
ACCOUNTS: Table = _tables["accounts"]
EVENTS: Table = _tables["events"]
ENTRY_METADATA: Table = _tables["entry_metadata"]

_ENTRY_COLUMNS = (
    ENTRIES.c.id,
    ENTRIES.c.number,
    ENTRIES.c.date,
    ENTRIES.c.memo,
    ENTRIES.c.currency,
    ENTRIES.c.status,
    ENTRIES.c.source,
    ENTRIES.c.reversal_of_id,
    ENTRIES.c.reversed_by_id,
    ENTRIES.c.metadata_json,
    ENTRIES.c.accrual_date,
)
_PAGE_OF_ENTRIES = (
    select(*_ENTRY_COLUMNS)
    .where(ENTRIES.c.tenant_id == bindparam("tenant_id"), ENTRIES.c.id > bindparam("lo"))
    .order_by(ENTRIES.c.id)
    .limit(bindparam("limit"))
)
# SQLite, without statistics, reads the page through ix_journal_entries_tenant_date and
# sorts all the tenant's entries for every page (quadratic); ``tenant_id + 0`` is no
# indexed column, so it walks the primary key from ``lo`` instead.
_PAGE_OF_ENTRIES_SQLITE = (
    select(*_ENTRY_COLUMNS)
    .where((ENTRIES.c.tenant_id + 0) == bindparam("tenant_id"), ENTRIES.c.id > bindparam("lo"))
    .order_by(ENTRIES.c.id)
    .limit(bindparam("limit"))
)
_ENTRIES_BY_ID = select(*_ENTRY_COLUMNS, ENTRIES.c.tenant_id).where(
    ENTRIES.c.id.in_(bindparam("ids", expanding=True))
)
_EVENT_COLUMNS = (
    EVENTS.c.entry_id,
    EVENTS.c.link,
    EVENTS.c.type,
    EVENTS.c.payload_json,
    EVENTS.c.tenant_id,
)
# The tenant is checked in Python, not in SQL: given it, SQLite reads the range through
# the tenant's index (every event of the tenant, each page) instead of ix_events_entry.
_EVENTS_IN_RANGE = (
    select(*_EVENT_COLUMNS)
    .where(EVENTS.c.entry_id > bindparam("lo"), EVENTS.c.entry_id <= bindparam("hi"))
    .order_by(EVENTS.c.entry_id, EVENTS.c.link)
)
_EVENTS_OF = (
    select(*_EVENT_COLUMNS)
    .where(EVENTS.c.entry_id.in_(bindparam("ids", expanding=True)))
    .order_by(EVENTS.c.entry_id, EVENTS.c.link)
)
_LINES_IN_RANGE = (
    select(
        LINES.c.id,
        LINES.c.entry_id,
        LINES.c.account_id,
        ACCOUNTS.c.code,
        ACCOUNTS.c.tenant_id.label("account_tenant_id"),
        LINES.c.currency,
        LINES.c.debit_minor,
        LINES.c.credit_minor,
        LINES.c.date,
        LINES.c.description,
    )
    .select_from(LINES.outerjoin(ACCOUNTS, ACCOUNTS.c.id == LINES.c.account_id))
    .where(LINES.c.entry_id > bindparam("lo"), LINES.c.entry_id <= bindparam("hi"))
    .order_by(LINES.c.entry_id, LINES.c.line_no, LINES.c.id)
)
# As for events, the tenant in Python: in SQL it would pick the primary key's prefix.
_METADATA_IN_RANGE = select(
    ENTRY_METADATA.c.entry_id,
    ENTRY_METADATA.c.key,
    ENTRY_METADATA.c.value,
    ENTRY_METADATA.c.tenant_id,
).where(
    ENTRY_METADATA.c.entry_id > bindparam("lo"),
    ENTRY_METADATA.c.entry_id <= bindparam("hi"),
)


_ENTRY_FIELDS = ("number", "date", "currency", "source", "reversal_of_id", "accrual_date")
"""The entry's fields its document states, compared with the columns of the same name."""
_LINE_FIELDS = ("id", "account_code", "currency", "debit", "credit", "date")
"""A line's fields: the document's (the date is the entry's posting date)."""


def _text(value: object) -> str | None:
    """A stored value as the chain writes it: a date as ISO text, None as None."""
    if value is None:
        return None
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if isoformat is not None else str(value)


class BooksPass:
    """Compares one tenant's entries with its chain; problems go to ``findings``."""

    def __init__(
        self,
        conn: Connection,
        tenant_id: int,
        findings: Findings,
        counts: Counts,
        progress: Progress,
    ) -> None:
        self.conn, self.tenant_id = conn, tenant_id
        self.findings, self.counts, self.progress = findings, counts, progress

    def run(self, total: int) -> None:
        self.progress.start("entries", total)
        lo = 0
        query = _PAGE_OF_ENTRIES_SQLITE if self.conn.dialect.name == "sqlite" else _PAGE_OF_ENTRIES
        while not self.findings.full:
            rows = self.conn.execute(
                query, {"tenant_id": self.tenant_id, "lo": lo, "limit": PAGE}
            ).all()
            # The last page reaches past every id: events of entries deleted after the
            # last one left are in it too.
            hi = int(rows[-1].id) if len(rows) == PAGE else _BEYOND
            self._page(rows, lo, hi)
            self.progress.advance(len(rows))
            if hi == _BEYOND:
                break
            lo = hi
        self.progress.finish()

    def _page(self, rows: Sequence[Any], lo: int, hi: int) -> None:
        tenant_id = self.tenant_id
        bounds = {"lo": lo, "hi": hi}
        events = self.conn.execute(_EVENTS_IN_RANGE, bounds)
        chain = replay(event for event in events if event.tenant_id == tenant_id)
        lines: dict[int, list[Any]] = defaultdict(list)
        for line in self.conn.execute(_LINES_IN_RANGE, bounds):
            lines[int(line.entry_id)].append(line)
        indexed: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for item in self.conn.execute(_METADATA_IN_RANGE, bounds):
            if item.tenant_id == tenant_id:
                indexed[int(item.entry_id)].add((item.key, item.value))
        reversers = self._reversers(rows)
        for row in rows:
            entry_id = int(row.id)
            told = chain.pop(entry_id, None)
            self.counts.entries += 1
            self.counts.lines += len(lines.get(entry_id, ()))
            if told is None or not told.known:
                if row.status == SCHEDULED:
                    self.counts.scheduled += 1  # no link until it posts: by design
                    continue
                self._add(row, "is in the books but has no link: it was written outside the ledger")
                continue
            _Compare(self, row, told, lines.get(entry_id, []), reversers).run()
            self._check_index(row, told, indexed.get(entry_id, set()))
        for told in chain.values():
            if told.known and int(told.document.get("entry_id", told.entry_id)) == told.entry_id:
                number = told.document.get("number")
                self.findings.add(
                    Problem(
                        "books",
                        f"entry {told.entry_id} ({number}) is in the chain (link {told.link}) "
                        "but not in the books: it was deleted",
                        link=told.link,
                        entry_id=told.entry_id,
                    )
                )

    # ------------------------------------------------------------- reversals

    def _reversers(self, rows: Sequence[Any]) -> dict[int, ChainEntry]:
        """The chain's reversal entries that the page's rows name as ``reversed_by_id``."""
        ids = sorted({int(row.reversed_by_id) for row in rows if row.reversed_by_id is not None})
        if not ids:
            return {}
        return replay(self.conn.execute(_EVENTS_OF, {"ids": ids}))

    def check_reversed(self, reversal_id: int, original_id: int, link: int) -> None:
        """The books' ``original_id`` is REVERSED by ``reversal_id``, as the chain says:
        checked from the reversal's side when the original's row no longer points to it
        (its own page compares it when it does)."""
        found = self.conn.execute(_ENTRIES_BY_ID, {"ids": [original_id]}).first()
        if found is None or int(found.tenant_id) != self.tenant_id:
            return  # the original's absence is named on its own page
        if found.reversed_by_id == reversal_id:
            return  # its own page compares it with the chain
        for name, books, chained in (
            ("status", found.status, REVERSED),
            ("reversed_by_id", found.reversed_by_id, reversal_id),
        ):
            if books != chained:
                self._add(
                    found,
                    f"{name} is {books} in the books, {chained} in the chain (link {link}, "
                    f"the reversal {reversal_id})",
                    link=link,
                )

    # ------------------------------------------------------------- metadata index

    def _check_index(self, row: Any, told: ChainEntry, found: set[tuple[str, str]]) -> None:
        if not found and not told.document.get("metadata") and not told.changes:
            return
        expected = set(index_rows(told.metadata()))
        if found != expected:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(found - expected)) or "none"
            missing = ", ".join(f"{k}={v}" for k, v in sorted(expected - found)) or "none"
            self._add(
                row,
                f"entry_metadata rows do not index its metadata of the chain (link "
                f"{told.link}): extra {extra}; missing {missing}",
                link=told.link,
            )

    def _add(self, row: Any, what: str, link: int | None = None) -> None:
        self.findings.add(
            Problem("books", f"entry {row.id} ({row.number}): {what}", link, int(row.id))
        )


class _Compare:
    """One entry's row and lines against its chain entry, field by field."""

    def __init__(
        self,
        books: BooksPass,
        row: Any,
        told: ChainEntry,
        lines: list[Any],
        reversers: dict[int, ChainEntry],
    ) -> None:
        self.books, self.row, self.told, self.lines = books, row, told, lines
        self.reversers = reversers
        self.document = told.document

    def differ(self, field: str, books: object, chained: object, link: int | None = None) -> None:
        link = self.told.link if link is None else link
        self.books._add(
            self.row,
            f"{field} is {books} in the books, {chained} in the chain (link {link})",
            link=link,
        )

    def run(self) -> None:
        row, document = self.row, self.document
        books = (
            row.number,
            _text(row.date),
            row.currency,
            row.source,
            row.reversal_of_id,
            _text(row.accrual_date),
        )
        chained = tuple(map(document.get, _ENTRY_FIELDS))
        if books != chained:  # one comparison for the entry that matches: most of them
            for name, have, want in zip(_ENTRY_FIELDS, books, chained, strict=True):
                if have != want:
                    self.differ(name, have, want)
        # Texts are in the documents written since the chain began (not in older ones).
        if "memo" in document and row.memo != document["memo"]:
            self.differ("memo", repr(row.memo), repr(document["memo"]))
        self._status()
        self._metadata()
        self._lines()
        original = document.get("reversal_of_id")
        if original is not None:
            self.books.check_reversed(int(row.id), int(original), self.told.link)

    def _status(self) -> None:
        row, status, link = self.row, self.told.status, self.told.link
        if row.reversed_by_id is not None:
            reverser = self.reversers.get(int(row.reversed_by_id))
            if reverser is None or reverser.document.get("reversal_of_id") != row.id:
                chained = "no reversal of it" if reverser is None else "another entry's reversal"
                self.differ("reversed_by_id", row.reversed_by_id, chained)
            else:
                status, link = REVERSED, reverser.link
        if row.status != status:
            self.differ("status", row.status, status, link)

    def _metadata(self) -> None:
        books_text = self.row.metadata_json
        if not books_text and not self.document.get("metadata") and not self.told.changes:
            return
        books = exact_json(books_text) if books_text else {}
        chained = self.told.metadata()
        if books == chained:
            return
        for key in sorted(books.keys() | chained.keys()):
            if books.get(key) != chained.get(key) or (key in books) != (key in chained):
                self.differ(
                    f"metadata.{key}",
                    _shown(books, key),
                    _shown(chained, key),
                    self.told.metadata_link,
                )

    def _lines(self) -> None:
        chained: list[dict[str, Any]] = self.document.get("lines") or []
        lines = self.lines
        if len(lines) != len(chained):
            self.differ("the number of lines", len(lines), len(chained))
        tenant_id = self.books.tenant_id
        on = self.document.get("accrual_date") or self.document.get("date")
        for index, (line, told) in enumerate(zip(lines, chained, strict=False)):
            code = line.code
            if line.account_tenant_id != tenant_id:
                code = f"{code} (another tenant's)"
            currency = line.currency
            books = (
                line.id,
                code,
                currency,
                format_minor(int(line.debit_minor), currency),
                format_minor(int(line.credit_minor), currency),
                _text(line.date),
            )
            want = (*map(told.get, _LINE_FIELDS[:-1]), on)
            if "description" in told and line.description != told["description"]:
                self.differ(
                    f"lines.{index}.description", repr(line.description), repr(told["description"])
                )
            if books == want:
                continue
            for name, have, wanted in zip(_LINE_FIELDS, books, want, strict=True):
                if have != wanted:
                    self.differ(f"lines.{index}.{name}", have, wanted)


def _shown(document: dict[str, Any], key: str) -> str:
    return repr(document[key]) if key in document else "absent"
