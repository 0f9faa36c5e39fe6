"""GraphiQL in a real browser: opened without a key it says where the key goes and asks the
server nothing; the key set in the Headers tab loads the schema and never lands in the
browser's storage; and the page's Content-Security-Policy does not break it.

Runs Debian's headless Chromium (``apt-get install chromium``) through Playwright, against
the real application served by uvicorn. Skips where Chromium or Playwright is missing, except
with LEDGERQL_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.ledger.accounts import AccountInput, create_account
from app.ledger.tenants import create_tenant
from benchmarks.harness import HOST, serve
from db.engine import Database
from db.migrate import upgrade

REQUIRE_BROWSER = os.environ.get("LEDGERQL_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("LEDGERQL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 10_000
ACCOUNT_NAME = "Cash drawer"
SCHEMA_PARSE_WAIT_MS = 600
NO_REQUEST_WAIT_MS = 400
CLOSE_PERIOD = 'mutation { closePeriod(throughDate: "2025-12-31") { errors { message } } }'


def _unavailable(message: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(message + " and LEDGERQL_REQUIRE_BROWSER=1")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    return CHROMIUM


@dataclass
class Server:
    url: str
    key: str


async def _seed(url: str) -> str:
    db = Database(url)
    try:
        tenant, issued = await create_tenant(db, slug="browser", name="Browser", currency="EUR")
        assert tenant.id is not None
        await create_account(
            db, tenant.id, AccountInput(code="1000", name=ACCOUNT_NAME, type="ASSET")
        )
        return issued.key
    finally:
        await db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The real application in a uvicorn process, on a SQLite file with one tenant."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    upgrade(database_url)
    key = asyncio.run(_seed(database_url))
    env = {**os.environ, "DATABASE_URL": database_url}
    with serve("browser", "app.main:create_app", env, tmp_path) as (port, _process):
        yield Server(url=f"http://{HOST}:{port}", key=key)


@contextmanager
def _page(chromium: str, problems: list[str]) -> Iterator[Any]:
    """A page in headless Chromium, its uncaught errors added to ``problems``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            yield page
        finally:
            browser.close()


def _storage(page: Any) -> dict[str, dict[str, str]]:
    return dict(
        page.evaluate(
            """() => ({
                local: Object.fromEntries(Object.entries(localStorage)),
                session: Object.fromEntries(Object.entries(sessionStorage)),
            })"""
        )
    )


def _is_introspection(response: Any) -> bool:
    request = response.request
    return bool(request.method == "POST" and "IntrospectionQuery" in (request.post_data or ""))


def test_first_screen_without_a_key_points_to_the_headers_tab_not_to_an_error(
    chromium: str, server: Server
) -> None:
    """No request (so no UNAUTHENTICATED) until a key is set; the Headers tab is open with the
    key's format, the query editor says where the key goes, and so does running it; the key
    pasted, Docs load and the welcome query runs as it stands."""
    from playwright.sync_api import Request, Response, expect

    operations: list[str] = []
    introspections: list[tuple[str | None, int]] = []
    problems: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.startswith(f"{server.url}/graphql"):
            operations.append(request.post_data or "")

    def on_response(response: Response) -> None:
        if _is_introspection(response):
            introspections.append((response.request.headers.get("authorization"), response.status))

    def on_console(message: Any) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    with _page(chromium, problems) as page:
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("console", on_console)
        page.goto(f"{server.url}/graphql")

        query_editor = page.locator(".graphiql-query-editor .CodeMirror-lines")
        expect(query_editor).to_contain_text("Headers tab")
        expect(query_editor).to_contain_text('{"Authorization": "Bearer lq_')
        headers_tab = page.locator(".graphiql-editor-tools button[data-name=headers]")
        expect(headers_tab).to_have_class(re.compile(r"\bactive\b"))
        headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
        expect(headers_editor).to_contain_text('"Authorization": "Bearer <your key>"')
        # Past the debounce of header edits and GraphiQL's own start-up: still nothing asked.
        page.wait_for_timeout(SCHEMA_PARSE_WAIT_MS + NO_REQUEST_WAIT_MS)
        assert operations == [], operations
        response_pane = page.locator(".graphiql-response")
        expect(response_pane).not_to_contain_text("UNAUTHENTICATED")
        expect(response_pane).not_to_contain_text("error")
        page.get_by_role("button", name="Show Documentation Explorer").click()
        explorer = page.locator(".graphiql-doc-explorer")
        expect(explorer).to_contain_text("No GraphQL schema available")
        expect(explorer).not_to_contain_text("Error fetching schema")
        # Run without a key: the page says where the key goes, and still asks nothing.
        page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        expect(response_pane).to_contain_text("No API key set, nothing was sent")
        expect(response_pane).to_contain_text("Headers tab")
        assert operations == [], operations
        assert problems == [], problems

        # The Headers tab is already open: paste the key there, as the page says.
        headers_editor.locator(".CodeMirror-lines").click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {server.key}"}))
        expect(explorer.get_by_text("Query", exact=True)).to_be_visible()
        assert introspections == [(f"Bearer {server.key}", 200)], introspections

        page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        expect(response_pane).to_contain_text(ACCOUNT_NAME)
        expect(response_pane).not_to_contain_text("errors")
        assert problems == [], problems


def test_key_set_in_headers_loads_schema_runs_queries_and_is_not_stored(
    chromium: str, server: Server
) -> None:
    from playwright.sync_api import Request, Response, expect

    introspections: list[tuple[str | None, int]] = []
    problems: list[str] = []

    def on_response(response: Response) -> None:
        if _is_introspection(response):
            introspections.append((response.request.headers.get("authorization"), response.status))

    def on_console(message: Any) -> None:
        # A CSP refusal is reported on the console ("Refused to ... because it violates ...").
        if message.type == "error" and "401" not in message.text:
            problems.append(message.text)

    def on_failed(request: Request) -> None:
        problems.append(f"{request.url}: {request.failure}")

    with _page(chromium, problems) as page:
        page.on("response", on_response)
        page.on("console", on_console)
        page.on("requestfailed", on_failed)

        # Page load: nothing is introspected before a key is set.
        response = page.goto(f"{server.url}/graphql")
        assert response is not None and response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        page.get_by_role("button", name="Headers", exact=True).click()
        headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
        headers_editor.locator(".CodeMirror-lines").click()
        page.keyboard.press("ControlOrMeta+a")
        # The braces and quotes pasted (typed, they would fight the editor's auto-closing),
        # then the key typed between the quotes, one keystroke at a time.
        page.keyboard.insert_text('{"Authorization": "Bearer "}')
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.keyboard.type(server.key)

        # No re-fetch clicked: the schema loads, with the key, by itself.
        page.get_by_role("button", name="Show Documentation Explorer").click()
        explorer = page.locator(".graphiql-doc-explorer")
        expect(explorer.get_by_text("Query", exact=True)).to_be_visible()
        # One introspection once the key is typed, not one per keystroke.
        assert len(introspections) <= 3, introspections
        assert introspections[-1] == (f"Bearer {server.key}", 200), introspections

        query_editor = page.locator(".graphiql-query-editor .CodeMirror-lines")
        query_editor.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text("query Accounts { accounts { nodes { code name } } }")
        page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        expect(page.locator(".graphiql-response")).to_contain_text(ACCOUNT_NAME)

        # GraphiQL keeps the headers editor's content in its history and tabs (the
        # latter written after a 500 ms debounce): wait until both are stored.
        page.wait_for_function(
            """() => ["graphiql:queries", "graphiql:tabState"].every(
                (name) => (localStorage.getItem(name) || "").includes("Accounts"))"""
        )
        stored = _storage(page)
        leaked = [
            f"{area}Storage[{name!r}]"
            for area, items in stored.items()
            for name, value in items.items()
            if server.key in value or server.key in name
        ]
        assert leaked == [], stored
        assert problems == [], problems


def test_a_subscription_runs_over_the_websocket_with_the_key_in_connection_params(
    chromium: str, server: Server
) -> None:
    """GraphiQL opens ws://<host>/graphql (graphql-transport-ws), passes the headers editor's
    content as connection_init's payload, and shows each event as it commits."""
    import httpx
    from playwright.sync_api import WebSocket, expect

    sockets: list[str] = []
    problems: list[str] = []

    def on_websocket(socket: WebSocket) -> None:
        sockets.append(socket.url)

    def on_console(message: Any) -> None:
        if message.type == "error" and "401" not in message.text:
            problems.append(message.text)

    with _page(chromium, problems) as page:
        page.on("websocket", on_websocket)
        page.on("console", on_console)
        page.goto(f"{server.url}/graphql")
        page.get_by_role("button", name="Headers", exact=True).click()
        headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
        headers_editor.locator(".CodeMirror-lines").click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {server.key}"}))
        # The schema loaded with the key: GraphiQL then knows the operation's type.
        page.get_by_role("button", name="Show Documentation Explorer").click()
        explorer = page.locator(".graphiql-doc-explorer")
        expect(explorer.get_by_text("Subscription", exact=True)).to_be_visible()

        query_editor = page.locator(".graphiql-query-editor .CodeMirror-lines")
        query_editor.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text("subscription Live { events { cursor node { id type } } }")
        # GraphiQL parses the editor's text after a debounce; executed before, it would
        # still hold the previous document and send the operation over HTTP.
        page.wait_for_timeout(SCHEMA_PARSE_WAIT_MS)
        page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        # Stored or live, the subscription (from the first event) delivers it.
        posted = httpx.post(
            f"{server.url}/graphql",
            json={"query": CLOSE_PERIOD},
            headers={"Authorization": f"Bearer {server.key}"},
            timeout=TIMEOUT_MS / 1000,
        )
        assert posted.json() == {"data": {"closePeriod": {"errors": []}}}, posted.text
        expect(page.locator(".graphiql-response")).to_contain_text("period.closed")
        assert sockets == [f"{server.url.replace('http', 'ws', 1)}/graphql"], sockets
        assert problems == [], problems
