"""/books without a browser: the page, its policy and headers, and its assets, each served
locally, vendored ones unchanged (their SRI hashes hold) with their licence."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx

from app.http.graphiql import STATIC_DIR

BOOKS_DIR = STATIC_DIR / "books"
VENDOR_DIR = STATIC_DIR / "vendor"


class Tags(HTMLParser):
    """The page's script and stylesheet URLs with their integrity, and any inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: dict[str, str | None] = {}
        self.inline_scripts = 0
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes or tag == "style":
            self.style_attributes += 1
        if tag == "script":
            self._in_script = True
            if attributes.get("src") is None:
                self.inline_scripts += 1
        url = attributes.get("src") if tag == "script" else attributes.get("href")
        if tag in ("script", "link") and url and not url.startswith("data:"):
            self.assets[url] = attributes.get("integrity")


def tags() -> Tags:
    parser = Tags()
    parser.feed((BOOKS_DIR / "index.html").read_text(encoding="utf-8"))
    return parser


async def test_books_page_is_served_with_a_strict_policy_and_no_framing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/books")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_the_page_has_no_inline_script_or_style() -> None:
    page = tags()
    assert page.inline_scripts == 0
    assert page.style_attributes == 0
    for path in [*BOOKS_DIR.glob("*.js"), *BOOKS_DIR.glob("pages/*.js")]:
        code = path.read_text(encoding="utf-8")
        # Style attributes and HTML strings would need 'unsafe-inline' or bypass escaping.
        assert ".innerHTML" not in code, path
        assert not re.search(r"setAttribute\(\s*[\"']style", code), path
        assert "mutation" not in code, f"{path}: the viewer reads only"


async def test_every_asset_is_local_and_vendored_files_match_their_integrity(
    client: httpx.AsyncClient,
) -> None:
    assets = tags().assets
    assert assets, "no asset found"
    for url, integrity in assets.items():
        assert not url.startswith(("http:", "https:", "//")), url
        response = await client.get("/" + url)
        assert response.status_code == 200, url
        if "/vendor/" in url:
            assert integrity is not None, f"{url}: a vendored file without integrity"
            digest = hashlib.sha384(response.content).digest()
            assert integrity == "sha384-" + base64.b64encode(digest).decode(), url
            package = Path(url.split("/vendor/", 1)[1].split("/", 1)[0])
            assert (VENDOR_DIR / package / "LICENSE").is_file(), package
            assert integrity in (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    for module in [*BOOKS_DIR.glob("*.js"), *BOOKS_DIR.glob("pages/*.js")]:
        response = await client.get(f"/static/{module.relative_to(STATIC_DIR)}")
        assert response.status_code == 200, module
        assert "javascript" in response.headers["content-type"], module
