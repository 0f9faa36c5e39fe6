"""Benchmark: each /books page's GraphQL requests over HTTP, at ~1,000,000 journal lines.

    .venv/bin/python -m benchmarks.books_pages [--engine sqlite|postgres|both]
        [--entries 250000] [--rounds 21] [--json FILE] [--require-targets]

Per engine: a fresh database, migrated, the 200-account chart of
benchmarks/reports_at_scale.py (tenant ``bench``, EUR) and its generated ledger
(``--entries`` entries of 2-6 lines, four on average, over 2025-2026) loaded with
``ledgerql import`` as there, except that every entry has one line on HOT, so that one
account holds a quarter of all lines (its register is the one a viewer pages through).
On PostgreSQL nothing runs ANALYZE (autovacuum is off here), as after a real bulk load.

The documents are the viewer's own: read at run time from the template strings of
app/static/books/**/*.js (``query Books...``, constants such as ``${ACCOUNT}``
substituted), so the benchmark follows the viewer; the two documents the viewer builds
in a function are rebuilt the same way here (see ``balance_chart`` and
``balance_sheet_query``). Each page sends its requests as its ``render`` does: in
sequence after each ``await``, in parallel (two keep-alive connections, as a browser
opens) under ``Promise.all``. One uvicorn worker; every page once to warm up, then
``--rounds`` interleaved rounds (p1, p2, ..., p1, p2, ...); the median and p95 of each
page's wall time. Every answer must have data, no errors and its main field non-null.
Target: every page at most TARGET_PAGE_MS (median).
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import gen_ledger, harness
from benchmarks.harness import BenchmarkFailed, Target
from benchmarks.known_at_reports import load
from benchmarks.reports_at_scale import chart, entries, gl_positions, seeded

TARGET_PAGE_MS = 100.0
BOOKS = Path(__file__).resolve().parent.parent / "app" / "static" / "books"
HOT = "assets:g1:a000"  # a leaf of reports_at_scale.chart()
# The viewer dates its default columns from today; the ledger is fixed (2025-2026), so
# the benchmark's "today" is the ledger's last day: the same figures whenever it runs.
TODAY = dt.date(2026, 12, 31)
YEAR = ("2026-01-01", "2026-12-31")
REQUEST_TIMEOUT_S = 120.0
PAGE_SIZE = 100  # account.js PAGE_SIZE
CHART_MONTHS = 24  # account.js MONTHS
BROWSER_CONNECTIONS = 2  # the most any page sends at once (Promise.all of two)
# Top-level fields an answer may leave null: an entry without a hold.
NULLABLE = {"hold"}


# ---------------------------------------------------------------- the viewer's documents

_LITERAL_START = {'"', "'", "`"}


def _template_end(source: str, start: int) -> int:
    """The index after the backtick closing the template opened at ``start``; a
    ``${...}`` may hold strings and templates of its own."""
    index = start + 1
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if char == "`":
            return index + 1
        if source.startswith("${", index):
            index = _code_end(source, index + 2, "}")
            continue
        index += 1
    raise ValueError("unterminated template string")


def _code_end(source: str, index: int, closing: str) -> int:
    """The index after ``closing`` at depth 0, skipping strings, templates and comments."""
    depth = 0
    while index < len(source):
        char = source[index]
        if char in _LITERAL_START:
            index = _literal_end(source, index)
            continue
        if source.startswith("//", index):
            index = source.find("\n", index) + 1 or len(source)
            continue
        if source.startswith("/*", index):
            index = source.index("*/", index) + 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and closing == "}":
                return index + 1
            depth -= 1
        index += 1
    return index


def _literal_end(source: str, start: int) -> int:
    if source[start] == "`":
        return _template_end(source, start)
    index = start + 1
    while source[index] != source[start]:
        index += 2 if source[index] == "\\" else 1
    return index + 1


def literals(source: str) -> Iterator[tuple[int, str]]:
    """(start, text between the quotes) of the top-level string literals of a JS file.

    Small by design: strings, templates and comments are skipped correctly; a regular
    expression literal holding a quote would confuse it (the viewer has none)."""
    index = 0
    while index < len(source):
        if source.startswith("//", index):
            index = source.find("\n", index) + 1 or len(source)
        elif source.startswith("/*", index):
            index = source.index("*/", index) + 2
        elif source[index] in _LITERAL_START:
            end = _literal_end(source, index)
            yield index, source[index + 1 : end - 1]
            index = end
        else:
            index += 1


def viewer_number(name: str, path: Path) -> int:
    """A number constant of a viewer file (``export const NAME = 3;``)."""
    found = re.search(rf"const\s+{name}\s*=\s*(\d+)\s*;", path.read_text())
    if found is None:
        raise BenchmarkFailed(f"no number {name} in {path}")
    return int(found.group(1))


def viewer_documents(root: Path = BOOKS) -> tuple[dict[str, str], dict[str, str]]:
    """The viewer's complete query documents by operation name, and its string constants
    by name (``${NAME}`` substituted from the constants of all files, as the imports do).
    A document still holding ``${...}`` after that is built at run time: left out."""
    constants: dict[str, str] = {}
    found: list[str] = []
    for path in sorted(root.rglob("*.js")):
        source = path.read_text()
        for start, text in literals(source):
            before = re.search(r"const\s+(\w+)\s*=\s*$", source[:start])
            if before:
                constants[before.group(1)] = text
            if text.lstrip().startswith("query Books"):
                found.append(text)

    def resolve(text: str) -> str:
        for _ in range(5):  # constants refer to constants (STATEMENT_SECTION -> ACCOUNT)
            text = re.sub(r"\$\{(\w+)\}", lambda m: constants.get(m.group(1), m.group(0)), text)
        return text

    resolved = {name: resolve(text) for name, text in constants.items()}
    documents: dict[str, str] = {}
    for text in map(resolve, found):
        if "${" not in text:
            name = re.match(r"\s*query\s+(\w+)", text)
            assert name is not None
            documents[name.group(1)] = text
    return documents, resolved


def month_end(year: int, month: int) -> dt.date:
    """The last day of ``month`` (which may run past 1-12), as JS Date.UTC(y, m, 0) gives."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def chart_dates(start: str | None, today: dt.date = TODAY) -> list[str]:
    """account.js chartDates(step = "monthly", start)."""
    first = dt.date.fromisoformat(start) if start else None
    months = (
        (today.year - first.year) * 12 + today.month - first.month + 1
        if first and first <= today
        else 12
    )
    return [
        (today if i == 0 else month_end(today.year, today.month - i)).isoformat()
        for i in range(min(months, CHART_MONTHS) - 1, -1, -1)
    ]


def balance_chart_query(dates: list[str]) -> str:
    """account.js balanceChart: one balance(asOf:) field per date."""
    fields = " ".join(
        f'd{i}: balance(asOf: "{d}", currency: $currency) {{ net }}' for i, d in enumerate(dates)
    )
    return (
        "query BooksBalanceOverTime($code: String!, $currency: String) {\n"
        f"    account(code: $code) {{ {fields} }} }}"
    )


def column_dates(as_of: str, monthly: bool, count: int) -> list[str]:
    """balance_sheet.js columnDates(asOf, compare = "MONTHLY" or none, count)."""
    if not monthly:
        return [as_of]
    end = dt.date.fromisoformat(as_of)
    before = [month_end(end.year, end.month - i).isoformat() for i in range(count - 1, 0, -1)]
    return [*before, as_of]


def balance_sheet_query(count: int, fields: str) -> str:
    """balance_sheet.js balanceSheetQuery(count), with its FIELDS constant."""
    dates = ", ".join(f"$d{i}: Date" for i in range(count))
    columns = "\n  ".join(
        f"c{i}: balanceSheet(asOf: $d{i}, depth: $depth, valuation: $valuation) {{ {fields} }}"
        for i in range(count)
    )
    head = f"query BooksBalanceSheet($depth: Int, $valuation: ValuationInput, {dates})"
    return f"{head} {{\n  {columns}\n}}"


# ---------------------------------------------------------------- the browser


class Browser:
    """The viewer's api.js query() over keep-alive connections, one per thread."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(BROWSER_CONNECTIONS)

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        if fresh or getattr(self.local, "connection", None) is None:
            self.local.connection = http.client.HTTPConnection(
                harness.HOST, self.port, timeout=REQUEST_TIMEOUT_S
            )
        connection: http.client.HTTPConnection = self.local.connection
        return connection

    def query(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": document, "variables": variables})
        for attempt in (1, 2):
            connection = self._connection(fresh=attempt == 2)
            try:
                connection.request("POST", "/graphql", body=body, headers=self.headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closed a connection left idle past its keep-alive (a browser
                # reconnects too); a second failure is a failure.
                connection.close()
                if attempt == 2:
                    raise
        answer = json.loads(payload)
        data = answer.get("data")
        name = re.match(r"\s*query\s+(\w+)", document)
        label = name.group(1) if name else document[:40]
        if response.status != 200 or answer.get("errors") or not data:
            raise BenchmarkFailed(f"{label}: HTTP {response.status}: {payload[:500]!r}")
        empty = [k for k, v in data.items() if v is None and k not in NULLABLE]
        if empty:
            raise BenchmarkFailed(f"{label}: null {', '.join(empty)} for {variables}")
        return dict(data)

    def all(self, *steps: Callable[[], Any]) -> list[Any]:
        """Promise.all: the steps at once, on the pool's connections."""
        return [future.result() for future in [self.pool.submit(step) for step in steps]]

    def close(self) -> None:
        self.pool.shutdown()


# ---------------------------------------------------------------- the pages


@dataclass(frozen=True)
class Pages:
    """Each page's render, as the viewer sends its requests (the JS function named)."""

    docs: dict[str, str]
    constants: dict[str, str]
    code: str  # the big account
    middle: str  # a cursor to the middle of its register
    entry_id: str

    def accounts(self, b: Browser) -> None:
        """accounts.js render: Promise.all([tree, allAccounts()])."""

        def all_accounts() -> int:
            found, after = 0, None
            while True:
                page = b.query(self.docs["BooksAccounts"], {"after": after})["accounts"]
                found += len(page["nodes"])
                if not page["pageInfo"]["hasNextPage"]:
                    return found
                after = page["pageInfo"]["endCursor"]

        tree, count = b.all(
            lambda: b.query(self.docs["BooksAccountTree"], {"depth": None}), all_accounts
        )
        if not tree["trialBalanceReport"]["rows"] or not count:
            raise BenchmarkFailed("accounts: no rows")

    def trial_balance(self, b: Browser) -> None:
        """reports.js trialBalance: a year."""
        variables = {"from": YEAR[0], "to": YEAR[1], "depth": None}
        if not b.query(self.docs["BooksTrialBalance"], variables)["trialBalanceReport"]["rows"]:
            raise BenchmarkFailed("trial balance: no rows")

    def _balance_sheet(self, b: Browser, dates: list[str]) -> None:
        """balance_sheet.js render: queries of CHUNK aliased balanceSheet fields, together."""
        size = viewer_number("CHUNK", BOOKS / "pages" / "balance_sheet.js")
        chunks = [dates[start : start + size] for start in range(0, len(dates), size)]

        def one(part: list[str]) -> Callable[[], dict[str, Any]]:
            variables: dict[str, Any] = {"depth": None, "valuation": None}
            variables.update({f"d{i}": d for i, d in enumerate(part)})
            document = balance_sheet_query(len(part), self.constants["FIELDS"])
            return lambda: b.query(document, variables)

        answers = b.all(*(one(part) for part in chunks))
        columns = [
            data[f"c{i}"]
            for data, part in zip(answers, chunks, strict=True)
            for i in range(len(part))
        ]
        if not all(columns):
            raise BenchmarkFailed(f"balance sheet: an empty column in {dates}")

    def balance_sheet(self, b: Browser) -> None:
        self._balance_sheet(b, column_dates("2026-06-30", False, 1))

    def balance_sheet_12(self, b: Browser) -> None:
        """compare=MONTHLY, periods=12: 12 month ends side by side."""
        self._balance_sheet(b, column_dates(YEAR[1], True, 12))

    def income_statement(self, b: Browser) -> None:
        """reports.js incomeStatement: a year by month."""
        variables = {"from": YEAR[0], "to": YEAR[1], "compare": "MONTHLY", "depth": None,
                     "valuation": None}  # fmt: skip
        statements = b.query(self.docs["BooksIncomeStatement"], variables)["incomeStatement"]
        if not statements or len(statements[0]["columns"]) < 12:
            raise BenchmarkFailed(f"income statement: {statements!r:.200}")

    def _account(self, b: Browser, after: str | None) -> None:
        """account.js render: account, then the register page, then the chart from the
        page's first date, each after the other's answer (three awaits)."""
        account = b.query(self.docs["BooksAccount"], {"code": self.code})["account"]
        currency = (
            account["balances"][0]["currency"] if account["balances"] else account["currency"]
        )
        variables = {"code": self.code, "currency": currency, "after": after, "first": PAGE_SIZE}
        ledger = b.query(self.docs["BooksRegister"], variables)["generalLedger"]
        shown = ledger["lines"]["nodes"]
        if len(shown) != PAGE_SIZE:
            raise BenchmarkFailed(f"register: {len(shown)} lines after {after}")
        dates = chart_dates(shown[0]["date"])
        data = b.query(balance_chart_query(dates), {"code": self.code, "currency": currency})
        if len(data["account"]) != len(dates):
            raise BenchmarkFailed("chart: missing points")

    def account_first(self, b: Browser) -> None:
        self._account(b, None)

    def account_middle(self, b: Browser) -> None:
        self._account(b, self.middle)

    def _journal(self, b: Browser, start: str | None, end: str | None) -> None:
        """journal.js render with journalVariables(params)."""
        variables = {"from": start, "to": end, "accountCode": None, "status": None,
                     "journalIds": None, "metadata": None, "after": None}  # fmt: skip
        if not b.query(self.docs["BooksJournal"], variables)["journalEntries"]["nodes"]:
            raise BenchmarkFailed("journal: no entries")

    def journal(self, b: Browser) -> None:
        self._journal(b, None, None)

    def journal_month(self, b: Browser) -> None:
        self._journal(b, "2026-03-01", "2026-03-31")

    def entry(self, b: Browser) -> None:
        """journal.js entry."""
        if not b.query(self.docs["BooksEntry"], {"id": self.entry_id})["journalEntry"]["lines"]:
            raise BenchmarkFailed("entry: no lines")

    def all_pages(self) -> dict[str, Callable[[Browser], None]]:
        return {
            "accounts": self.accounts,
            "trialBalance": self.trial_balance,
            "balanceSheet": self.balance_sheet,
            "balanceSheet12": self.balance_sheet_12,
            "incomeStatement": self.income_statement,
            "accountFirst": self.account_first,
            "accountMiddle": self.account_middle,
            "journal": self.journal,
            "journalMonth": self.journal_month,
            "entry": self.entry,
        }


# ---------------------------------------------------------------- the run


@dataclass
class EngineResult:
    engine: str
    entries: int
    lines: int
    import_s: float
    hot_account: str
    hot_lines: int
    median_ms: dict[str, float]
    p95_ms: dict[str, float]
    per_round_ms: dict[str, list[float]]
    targets: list[Target] = field(default_factory=list)


def write_ledger(path: Path, count: int) -> int:
    """reports_at_scale's ledger with one line of every entry on HOT: its lines."""
    _, leaves = chart()
    postings = 0
    with path.open("w") as file:
        for entry in entries(count, leaves):
            if all(line.account != HOT for line in entry.lines):
                first = entry.lines[0]
                entry.lines[0] = gen_ledger.Line(HOT, first.minor)
            file.write(gen_ledger.jsonl_line(entry))
            postings += len(entry.lines)
    return postings


def bench_engine(engine: str, args: argparse.Namespace, workdir: Path) -> EngineResult:
    docs, constants = viewer_documents()
    ledger = workdir / f"ledger-{args.entries}.jsonl"
    if not ledger.exists():
        write_ledger(ledger, args.entries)
    postings = sum(len(json.loads(line)["lines"]) for line in ledger.open())
    with ExitStack() as stack:
        url, runner, db, key = seeded(stack, engine)
        import_s = load(url, ledger)
        print(f"  {engine}: {args.entries} entries, {postings} lines imported in {import_s:.1f} s")
        code, hot_lines, middle, _ = runner.run(gl_positions(db, chart()[1]))
        if code != HOT:
            raise BenchmarkFailed(f"the busiest account is {code}, not {HOT}")
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledgerql-logs-")))
        # The 12-column balance sheet is estimated far above the default LEDGERQL_MAX_COST
        # (about 8,300 a column against 25,000 a document): a default server refuses it,
        # so the limit is raised to time the query the viewer sends (docs/benchmarks.md).
        env = {**os.environ, "DATABASE_URL": url, "LEDGERQL_MAX_COST": str(args.max_cost)}
        port, _ = stack.enter_context(harness.serve("ledgerql", "app.main:create_app", env, logs))
        browser = Browser(port, key)
        stack.callback(browser.close)
        # Untimed: an entry to open, from the middle page of the big register.
        page = browser.query(
            docs["BooksRegister"], {"code": code, "currency": "EUR", "after": middle, "first": 1}
        )
        entry_id = page["generalLedger"]["lines"]["nodes"][0]["entryId"]
        pages = Pages(docs, constants, code, middle, entry_id).all_pages()
        for render in pages.values():
            render(browser)
        per_round: dict[str, list[float]] = {name: [] for name in pages}
        deadline = time.monotonic() + args.max_seconds
        for _ in range(args.rounds):
            for name, render in pages.items():
                started = time.perf_counter()
                render(browser)
                per_round[name].append((time.perf_counter() - started) * 1000)
            if time.monotonic() > deadline:
                print(f"  note: stopped after {len(per_round['accounts'])} rounds (time cap)")
                break
    medians = {name: statistics.median(v) for name, v in per_round.items()}
    p95 = {name: harness.percentile(v, 0.95) for name, v in per_round.items()}
    print(f"  {engine}: register of {code}: {hot_lines:,} lines; entry {entry_id}")
    print(f"  {'page':<17} {'median ms':>10} {'p95 ms':>8}")
    for name in pages:
        print(f"  {name:<17} {medians[name]:10.1f} {p95[name]:8.1f}")
    found = [
        Target(f"{name} at {postings:,} lines", medians[name], TARGET_PAGE_MS, "ms", True)
        for name in pages
    ]
    for target in found:
        print(target.line())
    sys.stdout.flush()
    return EngineResult(
        engine, args.entries, postings, import_s, code, hot_lines, medians, p95, per_round, found
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    harness.common_arguments(parser)
    parser.add_argument("--entries", type=int, default=250_000, help="entries (4 lines each)")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="cap on the rounds")
    parser.add_argument(
        "--max-cost", type=int, default=1_000_000, help="the server's LEDGERQL_MAX_COST"
    )
    args = parser.parse_args(argv)
    if min(args.entries, args.rounds) < 1:
        parser.error("--entries and --rounds must be positive")
    with tempfile.TemporaryDirectory(prefix="ledgerql-books-") as directory:
        return harness.main(args, lambda engine: bench_engine(engine, args, Path(directory)))


if __name__ == "__main__":
    sys.exit(main())
