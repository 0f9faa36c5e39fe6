"""/books in a real browser, on SQLite and on PostgreSQL: every page loads with no console
error and no request leaving 127.0.0.1, sends queries only, shows the figures GraphQL gives
for the same arguments, and the API key lives in the tab's sessionStorage only.

Runs Debian's headless Chromium through Playwright against the application served by uvicorn
(as tests/test_graphiql_browser.py); skips where either is missing, except with
LEDGERQL_REQUIRE_BROWSER=1 (CI), where it fails. Each page's screenshot is saved under
LEDGERQL_SCREENSHOTS when set (docs/books/*.png are such screenshots), else under tmp_path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ledger.accounts import AccountInput, create_account, deactivate_account
from app.ledger.entries import EntryInput, LineInput
from app.ledger.fx import set_rate
from app.ledger.posting import hold_entry, post_entries
from app.ledger.tenants import create_key, create_tenant
from benchmarks.harness import HOST, serve
from db.engine import Database
from tests.conftest import fresh_postgres_database
from tests.test_graphiql_browser import CHROMIUM, _unavailable

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
SLOW_MS = 1000  # a generous bound on a shared CI machine; the target is 100 ms at 1M lines
ACCOUNTS = [
    ("1000", "Current assets", "ASSET", None),
    ("1010", "Cash", "ASSET", "1000"),
    ("1020", "Bank", "ASSET", "1000"),
    ("1030", "Petty cash", "ASSET", "1000"),  # nothing posted: in the tree all the same
    ("2000", "Payables", "LIABILITY", None),
    ("3000", "Owner's equity", "EQUITY", None),
    ("4000", "Sales", "INCOME", None),
    ("4100", "Services", "INCOME", "4000"),
    ("5000", "Rent", "EXPENSE", None),
    ("5100", "Supplies", "EXPENSE", None),
    ("5900", "Old expenses", "EXPENSE", None),
]
CASH_SALES = 130  # more than a register page (100 lines)
YEAR = 2025


def _entry(date: dt.date, memo: str, debit: str, credit: str, amount: str) -> EntryInput:
    lines = [
        LineInput(account_code=debit, debit=amount),
        LineInput(account_code=credit, credit=amount),
    ]
    return EntryInput(date=date, memo=memo, lines=lines, metadata={"batch": "seed"})


def _entries() -> list[EntryInput]:
    entries = [_entry(dt.date(YEAR, 1, 2), "Owner investment", "1020", "3000", "50000.00")]
    for month in range(1, 7):
        day = dt.date(YEAR, month, 10)
        entries += [
            _entry(day, f"Services {month}", "1020", "4100", f"{900 + 37 * month}.15"),
            _entry(day, f"Rent {month}", "5000", "1020", "1200.00"),
            _entry(day, f"Supplies {month}", "5100", "2000", f"{100 + month}.45"),
        ]
    entries.append(_entry(dt.date(YEAR, 2, 1), "Old cost", "5900", "1010", "12.00"))
    for n in range(CASH_SALES):
        date = dt.date(YEAR, 3, 1) + dt.timedelta(days=n % 90)
        entries.append(_entry(date, f"Cash sale {n}", "1010", "4000", f"{10 + n}.50"))
    return entries


async def _seed(url: str) -> tuple[str, str]:
    """The books of tenant "books"; a key restricted to them, and its owner's key, which
    also reaches tenant "other" (so it needs X-Tenant)."""
    db = Database(url)
    try:
        tenant, issued = await create_tenant(db, slug="books", name="Books Ltd", currency="EUR")
        assert tenant.id is not None
        for code, name, kind, parent in ACCOUNTS:
            data = AccountInput(code=code, name=name, type=kind, parent_code=parent)
            await create_account(db, tenant.id, data)
        items = await post_entries(db, tenant.id, _entries(), atomic=True)
        assert all(item.error is None for item in items), items
        await hold_entry(
            db, tenant.id, _entry(dt.date.today(), "Held sale", "1010", "4000", "5.00")
        )
        await deactivate_account(db, tenant.id, "5900")
        await set_rate(db, tenant.id, "EUR", "USD", dt.date(YEAR, 1, 1), "1.1")
        await create_tenant(db, slug="other", name="Other", currency="USD", owner="books")
        restricted = await create_key(db, slug="books", restrict=True)
        return restricted.key, issued.key
    finally:
        await db.dispose()


@dataclass
class Server:
    url: str
    key: str
    owner_key: str
    """Reaches two tenants: "books" and "other"."""

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


@contextmanager
def _database(engine: str, directory: Path) -> Iterator[str]:
    if engine == "sqlite":
        from db.migrate import upgrade

        url = f"sqlite+aiosqlite:///{directory / 'books.db'}"
        upgrade(url)
        yield url
    else:
        with fresh_postgres_database("ledgerql_books") as url:
            yield url


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium and Playwright, as tests/test_graphiql_browser.py."""
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    return CHROMIUM


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp(f"books-{request.param}")
    with _database(request.param, directory) as url:
        key, owner_key = asyncio.run(_seed(url))
        env = {**os.environ, "DATABASE_URL": url}
        with serve("books", "app.main:create_app", env, directory) as (port, _process):
            yield Server(url=f"http://{HOST}:{port}", key=key, owner_key=owner_key)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    given = os.environ.get("LEDGERQL_SCREENSHOTS")
    engine = request.node.callspec.params["server"]
    directory = (Path(given) / engine) if given else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Browser:
    """A Chromium tab on the viewer, watching what it asks and what it reports."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.operations: list[str] = []
        self.timings: list[tuple[str, float]] = []
        """(operation, ms from the request's start to the answer's end) of each /graphql."""
        self.page = self.tab(browser.new_context(viewport={"width": 1280, "height": 900}))

    def tab(self, context: Any) -> Any:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        page.on("requestfailed", lambda r: self.problems.append(f"{r.url}: {r.failure}"))
        page.on("requestfinished", self._on_finished)
        return page

    def _on_finished(self, request: Any) -> None:
        if request.url == f"{self.server.url}/graphql":
            name = (request.post_data_json or {}).get("query", "").split("(")[0].split("{")[0]
            self.timings.append((name.strip(), request.timing["responseEnd"]))

    def _on_console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _on_request(self, request: Any) -> None:
        self.requests.append(request.url)
        if request.method == "POST" and request.url == f"{self.server.url}/graphql":
            self.operations.append(request.post_data or "")

    def open(self, route: str) -> None:
        """Shows ``route`` (``#/...``) and waits until its content is in place."""
        self.page.goto(f"{self.server.url}/books{route}")
        self.page.wait_for_selector(
            f'#main[data-state="ready"][data-route="{route}"]', state="attached"
        )
        errors = self.page.locator("#main .error").all_inner_texts()
        assert errors == [], errors

    def sign_in(self, key: str | None = None, tenant: str = "") -> None:
        self.page.goto(f"{self.server.url}/books")
        self.page.fill("#key", key or self.server.key)
        self.page.fill("#tenant", tenant)
        self.page.click("#key-form button[type=submit]")
        self.page.wait_for_selector('#main[data-state="ready"]', state="attached")

    def rows(self, selector: str) -> list[list[str]]:
        """Each body row under ``selector``: its account code, then its amounts as given."""
        return list(
            self.page.evaluate(
                """(selector) => [...document.querySelectorAll(selector)].map((tr) => {
                    const account = tr.querySelector("td.account a");
                    const amounts = [...tr.querySelectorAll("td.num")].map((td) => td.dataset.value);
                    return [account ? account.textContent.split(" ")[0] : "", ...amounts];
                })""",
                selector,
            )
        )

    def shoot(self, directory: Path, name: str) -> None:
        self.page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
        self.page.set_viewport_size(PHONE)
        # Two frames: the charts follow their box's new width (a ResizeObserver).
        overflow = self.page.evaluate(
            """() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(
                () => done(document.documentElement.scrollWidth - innerWidth))))"""
        )
        assert overflow <= 0, f"{name}: {overflow}px wider than a phone"
        self.page.screenshot(path=str(directory / f"{name}-phone.png"))
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def record_timings(self, directory: Path) -> None:
        """Appends each GraphQL answer's time to timings.txt (docs/books.md quotes them)."""
        with (directory / "timings.txt").open("a", encoding="utf-8") as out:
            out.writelines(f"{name}\t{ms:.1f}\n" for name, ms in self.timings)
        slow = [(name, ms) for name, ms in self.timings if ms > SLOW_MS]
        assert slow == [], slow

    def check_clean(self) -> None:
        assert self.problems == [], self.problems
        outside = [url for url in self.requests if not url.startswith(self.server.url)]
        assert outside == [], outside
        reads = [
            op for op in self.operations if '"query": "query ' not in op.replace('":"', '": "')
        ]
        assert reads == [], reads


@contextmanager
def _browser(chromium_path: str, server: Server) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield Browser(browser, server)
        finally:
            browser.close()


def test_the_key_is_asked_once_per_tab_and_kept_in_its_session_storage_only(
    chromium: str, server: Server
) -> None:
    with _browser(chromium, server) as tab:
        tab.page.goto(f"{server.url}/books")
        assert tab.page.locator("#key-form").is_visible()
        assert tab.operations == [], "asked the server before a key was given"
        tab.sign_in()
        assert tab.page.locator("#who").inner_text().startswith("Books Ltd")
        stored = tab.page.evaluate(
            "() => ({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})"
        )
        assert stored["local"] == {} and stored["cookie"] == ""
        assert server.key in stored["session"].values()
        tab.page.reload()  # the same tab: still open
        tab.page.wait_for_selector('#main[data-state="ready"]', state="attached")
        assert not tab.page.locator("#key-form").is_visible()
        # Another tab, and another browser session, start without it.
        for context in (tab.page.context, tab.browser.new_context()):
            other = tab.tab(context)
            other.goto(f"{server.url}/books")
            assert other.locator("#key-form").is_visible()
            assert other.evaluate("() => sessionStorage.length + localStorage.length") == 0
        tab.page.close()  # the tab closed, no storage of the context holds the key
        state = str(tab.page.context.storage_state())
        assert server.key not in state
        tab.check_clean()


def test_reports_show_the_figures_graphql_gives(
    chromium: str, server: Server, screenshots: Path
) -> None:
    with _browser(chromium, server) as tab:
        tab.sign_in()

        tab.open(f"#/trial-balance?from={YEAR}-01-01&to={YEAR}-06-30")
        report = server.graphql(
            """query ($from: Date, $to: Date) { trialBalanceReport(from: $from, to: $to) {
                rows { account { code } openingBalance debit credit closingBalance }
                totals { openingBalance debit credit closingBalance } } }""",
            {"from": f"{YEAR}-01-01", "to": f"{YEAR}-06-30"},
        )["trialBalanceReport"]
        assert tab.rows("#trial-balance tbody tr") == [
            [
                r["account"]["code"],
                r["openingBalance"],
                r["debit"],
                r["credit"],
                r["closingBalance"],
            ]
            for r in report["rows"]
        ]
        assert tab.rows("#trial-balance tfoot tr") == [
            ["", t["openingBalance"], t["debit"], t["credit"], t["closingBalance"]]
            for t in report["totals"]
        ]
        with tab.page.expect_download() as download:
            tab.page.click("#trial-balance button.csv")
        csv = Path(download.value.path()).read_text(encoding="utf-8")
        query = "query ($asOf: Date) { trialBalanceCsv(asOf: $asOf) }"
        assert csv == server.graphql(query, {"asOf": f"{YEAR}-06-30"})["trialBalanceCsv"]
        tab.shoot(screenshots, "trial-balance")

        tab.open(f"#/balance-sheet?asOf={YEAR}-06-30")
        sheets = server.graphql(
            """query ($asOf: Date) { balanceSheet(asOf: $asOf) {
                assets { groups { rows { account { code } amount } } total }
                liabilities { groups { rows { account { code } amount } } total }
                equity { groups { rows { account { code } amount } } total }
                currentEarnings totalAssets totalLiabilitiesAndEquity difference } }""",
            {"asOf": f"{YEAR}-06-30"},
        )["balanceSheet"]
        (sheet,) = sheets
        expected = [
            [row["account"]["code"], row["amount"]]
            for part in ("assets", "liabilities", "equity")
            for group in sheet[part]["groups"]
            for row in group["rows"]
        ]
        assert [r for r in tab.rows("#balance-sheet .sheet tbody tr") if r[0]] == expected
        totals = [r[1] for r in tab.rows("#balance-sheet .sheet tr") if not r[0] and len(r) > 1]
        assert totals == [
            sheet["assets"]["total"], sheet["liabilities"]["total"], sheet["equity"]["total"],
            sheet["currentEarnings"], sheet["totalAssets"], sheet["totalLiabilitiesAndEquity"],
            sheet["difference"],
        ]  # fmt: skip
        tab.shoot(screenshots, "balance-sheet")

        tab.open(f"#/balance-sheet?asOf={YEAR}-06-30&valueIn=USD&method=END")
        valued = server.graphql(
            """query ($asOf: Date) { balanceSheet(asOf: $asOf, valuation: {currency: "USD", method: END}) {
                currency assets { groups { rows { account { code } amount } } }
                liabilities { groups { rows { account { code } amount } } }
                equity { groups { rows { account { code } amount } } } valuation { currency } } }""",
            {"asOf": f"{YEAR}-06-30"},
        )["balanceSheet"][-1]
        assert valued["valuation"] == {"currency": "USD"}
        shown = [r for r in tab.rows('#balance-sheet .sheet[data-valued="1"] tbody tr') if r[0]]
        assert shown == [
            [row["account"]["code"], row["amount"]]
            for part in ("assets", "liabilities", "equity")
            for group in valued[part]["groups"]
            for row in group["rows"]
        ]
        assert shown != expected  # valued at 1.1, not the EUR figures again

        # Comparative: a column per month end, each the balance sheet at that date.
        tab.open(f"#/balance-sheet?asOf={YEAR}-06-30&compare=MONTHLY&periods=3")
        ends = [f"{YEAR}-04-30", f"{YEAR}-05-31", f"{YEAR}-06-30"]
        headers = tab.page.locator("#balance-sheet .sheet table").first.locator("th.num")
        assert headers.all_inner_texts() == ends
        by_date = [
            {
                row["account"]["code"]: row["amount"]
                for part in ("assets", "liabilities", "equity")
                for group in server.graphql(
                    """query ($asOf: Date) { balanceSheet(asOf: $asOf) {
                        assets { groups { rows { account { code } amount } } }
                        liabilities { groups { rows { account { code } amount } } }
                        equity { groups { rows { account { code } amount } } } } }""",
                    {"asOf": end},
                )["balanceSheet"][0][part]["groups"]
                for row in group["rows"]
            }
            for end in ends
        ]
        compared = [r for r in tab.rows("#balance-sheet .sheet tbody tr") if r[0]]
        assert compared == [
            [code, *(column.get(code, "") for column in by_date)] for code in by_date[-1]
        ]
        tab.shoot(screenshots, "balance-sheet-monthly")
        # The default of "month ends" (6 columns) and 12: more balance sheets than the
        # server's default cost limit takes in one query, so the viewer splits them.
        for periods, last in ((None, f"{YEAR}-06-30"), (12, f"{YEAR}-06-30")):
            count = "" if periods is None else f"&periods={periods}"
            tab.open(f"#/balance-sheet?asOf={YEAR}-06-30&compare=MONTHLY{count}")
            headers = tab.page.locator("#balance-sheet .sheet table").first.locator("th.num")
            texts = headers.all_inner_texts()
            assert len(texts) == (periods or 6) and texts[-1] == last, texts

        tab.open(f"#/income-statement?from={YEAR}-01-01&to={YEAR}-06-30&compare=MONTHLY")
        (statement,) = server.graphql(
            """query ($from: Date!, $to: Date!) {
                incomeStatement(from: $from, to: $to, compare: MONTHLY) {
                  columns { from income expenses } netIncome
                  income { groups { rows { account { code } amounts } } totals }
                  expenses { groups { rows { account { code } amounts } } totals } } }""",
            {"from": f"{YEAR}-01-01", "to": f"{YEAR}-06-30"},
        )["incomeStatement"]
        expected = [
            [row["account"]["code"], *row["amounts"]]
            for part in ("income", "expenses")
            for group in statement[part]["groups"]
            for row in group["rows"]
        ]
        assert [r for r in tab.rows("#income-statement .table-wrap tbody tr") if r[0]] == expected
        assert tab.rows("#income-statement .table-wrap tfoot tr") == [
            ["", *statement["income"]["totals"]],
            ["", *statement["expenses"]["totals"]],
        ]
        assert [r for r in tab.rows("#income-statement .table-wrap tbody tr") if not r[0]] == [
            ["", *statement["netIncome"]]
        ]
        # The bar chart of income and expenses per month is drawn, and the treemap of the
        # expense accounts holds each one's sum over the months.
        tab.page.wait_for_selector("#income-statement .chart canvas")
        tiles = tab.page.evaluate(
            """() => [...document.querySelectorAll("#income-statement .tile")].map((a) =>
                [a.getAttribute("href").split("code=")[1], a.querySelector(".num").textContent])"""
        )
        expense_rows = [r for g in statement["expenses"]["groups"] for r in g["rows"]]
        assert sorted(tiles) == sorted(
            [r["account"]["code"], f"{sum(Decimal(a) for a in r['amounts']):,}"]
            for r in expense_rows
            if sum(Decimal(a) for a in r["amounts"]) > 0
        )
        assert len(statement["columns"]) >= 6, statement["columns"]
        tab.shoot(screenshots, "income-statement")

        tab.open("#/accounts")
        tree = server.graphql(
            """{ trialBalanceReport { rows { account { code }
                closingBalance pendingDebit pendingCredit available } } }"""
        )["trialBalanceReport"]
        shown = tab.rows("#accounts > .table-wrap tbody tr")
        assert [r for r in shown if len(r) > 1] == [
            [r["account"]["code"], r["closingBalance"], r["pendingDebit"], r["pendingCredit"],
             r["available"]]
            for r in tree["rows"]
        ]  # fmt: skip
        # 1030 has no posting: a row without figures under its parent 1000 (its parentCode),
        # after 1000's other children, one level down.
        codes = [r[0] for r in shown]
        assert shown[codes.index("1030")] == ["1030"]
        assert codes.index("1000") < codes.index("1020") == codes.index("1030") - 1
        petty = tab.page.locator("#accounts tr.unposted td.account", has_text="1030 Petty cash")
        assert "level-1" in (petty.get_attribute("class") or "")
        parents = server.graphql('{ accounts(codes: ["1030"]) { nodes { parentCode } } }')
        assert parents["accounts"]["nodes"] == [{"parentCode": "1000"}]
        assert tab.page.locator("#accounts td.account.inactive").count() >= 1  # 5900, dimmed
        tab.shoot(screenshots, "accounts")
        tab.record_timings(screenshots)
        tab.check_clean()


def test_the_register_pages_through_the_general_ledger_by_cursor(
    chromium: str, server: Server, screenshots: Path
) -> None:
    register = """query ($after: String) { generalLedger(accountCode: "1010", first: 100, after: $after) {
        openingBalance closingBalance
        lines { nodes { entryNumber debit credit runningBalance } pageInfo { hasNextPage endCursor } } } }"""
    with _browser(chromium, server) as tab:
        tab.sign_in()
        tab.open("#/account?code=1010")
        tab.page.wait_for_selector("#account .chart canvas")
        first = server.graphql(register)["generalLedger"]
        shown = tab.page.evaluate(
            """() => [...document.querySelectorAll("#register tbody tr")].map((tr) => [tr.children[1].textContent,
                    ...[...tr.querySelectorAll("td.num")].map((td) => td.dataset.value)])"""
        )
        assert shown == [
            [n["entryNumber"], n["debit"], n["credit"], n["runningBalance"]]
            for n in first["lines"]["nodes"]
        ]
        assert len(shown) == 100
        with tab.page.expect_download() as download:
            tab.page.click("#account button.csv")
        csv = Path(download.value.path()).read_text(encoding="utf-8")
        query = '{ generalLedgerCsv(accountCode: "1010", currency: "EUR") }'
        assert csv == server.graphql(query)["generalLedgerCsv"]
        tab.shoot(screenshots, "account")

        tab.page.click("a.next")
        cursor = first["lines"]["pageInfo"]["endCursor"]
        tab.page.wait_for_function(
            "() => document.querySelector('#main').dataset.route.includes('after=')"
            " && document.querySelector('#main').dataset.state === 'ready'"
        )
        second = server.graphql(register, {"after": cursor})["generalLedger"]
        numbers = tab.page.evaluate(
            """() => [...document.querySelectorAll("#register tbody tr td:nth-child(2) a")]
                .map((a) => a.textContent)"""
        )
        assert numbers == [n["entryNumber"] for n in second["lines"]["nodes"]]
        # The sales and the old cost: the hold is pending, not in the register.
        assert len(numbers) == CASH_SALES + 1 - 100
        tab.record_timings(screenshots)
        tab.check_clean()


def test_the_journal_and_an_entry(chromium: str, server: Server, screenshots: Path) -> None:
    with _browser(chromium, server) as tab:
        tab.sign_in()
        tab.open("#/journal")
        newest = server.graphql(
            "{ journalEntries(first: 50, order: DATE_DESC) { nodes { id number } } }"
        )["journalEntries"]["nodes"]
        numbers = tab.page.locator("#journal tbody tr td:nth-child(2) a").all_inner_texts()
        assert numbers == [n["number"] for n in newest]
        tab.shoot(screenshots, "journal")
        # The memo filter, typed in the form: what journalEntries(memoContains:) answers.
        tab.page.fill("#journal input[name=memo]", "CASH SALE 12")
        tab.page.click("#journal form.filters button[type=submit]")
        tab.page.wait_for_selector(
            '#main[data-page="journal"][data-state="ready"][data-route*="memo="]', state="attached"
        )
        found = server.graphql(
            """{ journalEntries(memoContains: "cash sale 12", first: 50, order: DATE_DESC) {
                nodes { number memo } } }"""
        )["journalEntries"]["nodes"]
        shown = tab.page.locator("#journal tbody tr td:nth-child(2) a").all_inner_texts()
        assert shown == [n["number"] for n in found]
        assert len(found) == 11 and all("Cash sale 12" in n["memo"] for n in found)
        tab.open("#/journal")
        tab.page.click(f"text={newest[-1]['number']}")
        tab.page.wait_for_selector('#main[data-page="entry"][data-state="ready"]', state="attached")
        entry = server.graphql(
            "query ($id: ID!) { journalEntry(id: $id) { lines { accountCode debit credit } } }",
            {"id": newest[-1]["id"]},
        )["journalEntry"]
        lines = tab.page.evaluate(
            """() => [...document.querySelectorAll("#lines tbody tr")].map((tr) =>
                [tr.children[0].textContent, tr.children[2].dataset.value, tr.children[3].dataset.value])"""
        )
        assert lines == [[ln["accountCode"], ln["debit"], ln["credit"]] for ln in entry["lines"]]
        # Its history: the types of events(entryId:), oldest first.
        events = server.graphql(
            "query ($id: ID!) { events(entryId: $id) { nodes { type createdAt } } }",
            {"id": newest[-1]["id"]},
        )["events"]["nodes"]
        shown = tab.page.evaluate(
            """() => [...document.querySelectorAll("#history tbody tr")].map((tr) =>
                [tr.children[0].textContent, tr.children[1].textContent])"""
        )
        assert shown == [[e["createdAt"], e["type"]] for e in events]
        assert [e["type"] for e in events] == ["journal_entry.posted"]
        tab.shoot(screenshots, "entry")
        (held,) = server.graphql("{ journalEntries(status: PENDING) { nodes { id } } }")[
            "journalEntries"
        ]["nodes"]
        tab.open(f"#/entry?id={held['id']}")
        types = tab.page.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
        assert types == ["hold.created"]
        tab.record_timings(screenshots)
        tab.check_clean()


def test_a_key_of_several_tenants_is_asked_which_one(chromium: str, server: Server) -> None:
    tenants: list[str | None] = []
    with _browser(chromium, server) as tab:
        tab.page.on("request", lambda request: tenants.append(request.headers.get("x-tenant")))
        tab.page.goto(f"{server.url}/books")
        tab.page.fill("#key", server.owner_key)
        tab.page.click("#key-form button[type=submit]")
        tab.page.wait_for_selector("#key-error:has-text('several tenants')")
        assert tab.page.locator("#key-form").is_visible()
        assert tab.page.evaluate("() => sessionStorage.length") == 0  # a key that failed
        # The first try's 400 is on the console, and nothing else.
        assert tab.problems and all("400" in problem for problem in tab.problems), tab.problems
        tab.problems.clear()
        tab.sign_in(server.owner_key, tenant="books")
        assert tab.page.locator("#who").inner_text().startswith("Books Ltd (books")
        tab.open("#/accounts")
        assert tenants[-1] == "books"
        tab.check_clean()
