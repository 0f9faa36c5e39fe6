"""GraphiQL works offline: the page loads every asset from ledgerql itself, unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, parse, validate

from app.http import graphiql
from app.main import create_app
from db.engine import Database
from graphql_schema.schema import schema

HTML = {"Accept": "text/html"}


class Assets(HTMLParser):
    """The URLs of a page's scripts and stylesheets, with their integrity hashes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href")
        if tag in ("script", "link") and url:
            self.urls[url] = attributes.get("integrity")


def assets_of(html: str) -> dict[str, str | None]:
    parser = Assets()
    parser.feed(html)
    return {url: sri for url, sri in parser.urls.items() if not url.startswith("data:")}


def sha256(content: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(content).digest()).decode() + "'"


def sha384(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


@pytest.fixture
def fresh_page_cache() -> Iterator[None]:
    graphiql.graphiql_page.cache_clear()
    yield
    graphiql.graphiql_page.cache_clear()


async def test_graphiql_page_needs_no_key_and_no_internet(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "unpkg.com" not in response.text
    urls = assets_of(response.text)
    assert len(urls) == 7, urls
    for url in urls:
        assert url.startswith("/static/graphiql/"), url
    assert "defaultHeaders:" in response.text
    assert "Bearer <your key>" in response.text


async def test_graphiql_assets_are_served_unchanged(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)
    for url, integrity in assets_of(page.text).items():
        response = await client.get(url)
        assert response.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), url
        assert integrity is not None, url
        assert sha384(response.content) == integrity, url


async def test_graphql_operations_still_need_a_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 401


async def test_graphiql_honours_root_path(db: Database, fresh_page_cache: None) -> None:
    transport = httpx.ASGITransport(app=create_app(db=db), root_path="/ledger")
    async with httpx.AsyncClient(transport=transport, base_url="http://ledgerql.test") as http:
        page = await http.get("/ledger/graphql", headers=HTML)
        assert page.status_code == 200
        urls = assets_of(page.text)
        assert urls
        for url in urls:
            assert url.startswith("/ledger/static/graphiql/"), url
            assert (await http.get(url)).status_code == 200, url


def test_missing_assets_fall_back_to_unpkg(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_page_cache: None,
) -> None:
    monkeypatch.setattr(graphiql, "ASSETS_DIR", tmp_path)
    assert graphiql.graphiql_html() == graphiql.patched(graphiql.builtin_html())
    assert "GraphiQL assets not vendored" in caplog.text
    policy = graphiql.graphiql_response().headers["content-security-policy"]
    assert "script-src 'self' https://unpkg.com/ 'sha256-" in policy


class InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open = False
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open = tag == "script" and "src" not in dict(attrs)
        if self.open:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self.open = False

    def handle_data(self, data: str) -> None:
        if self.open:
            self.scripts[-1] += data


def directives(policy: str) -> dict[str, list[str]]:
    return {
        name: sources
        for name, *sources in (part.split() for part in policy.split(";") if part.strip())
    }


def test_graphiql_is_patched_to_keep_the_key_out_of_storage(fresh_page_cache: None) -> None:
    html = graphiql.graphiql_html()
    assert graphiql.graphiql_page().available
    assert "shouldPersistHeaders: false," in html
    assert "shouldPersistHeaders: true" not in html
    assert "storage: keylessStorage," in html
    assert "fetcher: schemaFetcher," in html
    assert "watchCredentials(newHeaders);" in html


def test_graphiql_opened_without_a_key_shows_where_the_key_goes(fresh_page_cache: None) -> None:
    """No introspection while the headers hold no key (``schema: null``), the Headers tab open,
    and the query editor saying where the key goes; tests/test_graphiql_browser.py runs it."""
    html = graphiql.graphiql_html()
    assert "schema: keySet ? undefined : null," in html
    assert 'defaultEditorToolsVisibility: "headers",' in html
    assert "defaultEditorToolsVisibility: true" not in html
    assert "parameters.q || WELCOME_QUERY," in html
    assert json.dumps(graphiql.WELCOME_QUERY) in html
    assert json.dumps(graphiql.NO_KEY_RESULT) in html
    assert "Welcome to GraphiQL" not in graphiql.WELCOME_QUERY
    assert "Headers tab" in graphiql.WELCOME_QUERY
    assert '{"Authorization": "Bearer lq_..."}' in graphiql.WELCOME_QUERY
    assert "Headers tab" in graphiql.NO_KEY_RESULT["errors"][0]["message"]


def test_welcome_query_is_valid_against_the_schema() -> None:
    document = parse(graphiql.WELCOME_QUERY)
    assert validate(build_schema(schema.as_str()), document) == []
    assert len(document.definitions) == 1


def test_changed_template_skips_only_the_first_screen_patches(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_page_cache: None
) -> None:
    """The welcome text and the open Headers tab are not worth a disabled page."""
    changed = (
        graphiql.builtin_html()
        .replace("defaultEditorToolsVisibility: true,", "defaultEditorToolsVisibility: false,")
        .replace("parameters.q || EXAMPLE_QUERY,", "parameters.q || SOME_QUERY,")
    )
    monkeypatch.setattr(graphiql, "builtin_html", lambda: changed)
    page = graphiql.graphiql_page()
    assert page.available
    assert "defaultEditorToolsVisibility: false," in page.html
    assert "parameters.q || SOME_QUERY," in page.html
    assert "shouldPersistHeaders: false," in page.html
    assert "schema: keySet ? undefined : null," in page.html
    assert caplog.text.count("patch skipped") == 2


def test_graphiql_response_cannot_be_framed_and_runs_only_its_own_scripts(
    fresh_page_cache: None,
) -> None:
    response = graphiql.graphiql_response()
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    parser = InlineScripts()
    parser.feed(graphiql.graphiql_html())
    assert len(parser.scripts) == 1
    assert policy["script-src"] == ["'self'", sha256(parser.scripts[0].encode())]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]


async def test_graphiql_page_is_served_with_its_security_headers(
    client: httpx.AsyncClient, fresh_page_cache: None
) -> None:
    response = await client.get("/graphql", headers=HTML)
    expected = graphiql.graphiql_response()
    for name in ("content-security-policy", "x-frame-options"):
        assert response.headers.get(name) == expected.headers[name], name


def test_changed_template_disables_the_page(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_page_cache: None
) -> None:
    persisting = graphiql.builtin_html().replace("shouldPersistHeaders: true,", "")
    monkeypatch.setattr(graphiql, "builtin_html", lambda: persisting)
    response = graphiql.graphiql_response()
    assert response.status_code == 503
    assert b"GraphiQL is disabled" in response.body
    assert b"<script" not in response.body
    assert "GraphiQL template changed" in caplog.text
