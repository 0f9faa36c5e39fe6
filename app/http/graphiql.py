"""GraphiQL without internet access and safe by default: Strawberry's built-in page, patched.

The built-in page loads React, GraphiQL and the explorer plugin from unpkg.com. The directory
``app/static/graphiql/`` mirrors unpkg's layout (``<package>@<version>/<path>``, unmodified files
from the npm registry; see its README.md), so every ``https://unpkg.com/`` URL becomes
``<root_path>/static/graphiql/`` and the page's integrity hashes still hold. When the installed
Strawberry references a file that is not vendored, the page loads its assets from unpkg and a
warning says to refresh them.

The page's own script is patched (``PATCHES``) so that the API key typed in the headers editor
never reaches the browser's storage; so that, opened without a key, the page shows where the key
goes (the Headers tab, open, and ``WELCOME_QUERY``) and asks the server nothing, instead of
showing the UNAUTHENTICATED of an introspection with the placeholder; and so that the schema
loads as soon as a key is set. When
the installed Strawberry's template no longer has what a patch needs, the page is not served
(``unavailable_html``): a GraphiQL that would store keys is worse than none. The patches that
only change what the page shows first (``required=False``) are skipped with a warning instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import textwrap
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from starlette.responses import HTMLResponse
from strawberry.http.ides import get_graphql_ide_html

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parents[1] / "static"  # app/static
"""Served by ``app.main`` at ``STATIC_PATH``."""
STATIC_PATH = "/static"
ASSETS_DIR = STATIC_DIR / "graphiql"

UNPKG = "https://unpkg.com/"
_UNPKG_URL = re.compile(r'https://unpkg\.com/([^"\'\s]+)')
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)

DEFAULT_HEADERS = json.dumps({"Authorization": "Bearer <your key>"}, indent=2)
"""The headers editor's content until the user edits it (GraphiQL's ``defaultHeaders``)."""

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-tenant")
"""Headers whose change makes the page fetch the schema again (app.http.graphql_endpoint)."""

KEY_HEADERS = ("authorization", "x-api-key")
"""Headers that carry the key: until one holds a key (not empty, not ``<your key>``), GraphiQL
gets ``schema: null`` and sends no introspection."""

WELCOME_QUERY = """\
# ledgerql: every operation needs an API key.
# Put yours in the Headers tab below, in place of
# <your key>:
#
#   {"Authorization": "Bearer lq_..."}
#
# ({"X-API-Key": "lq_..."} works too.) The schema
# then loads by itself: Docs (the book icon, top
# left) and completion (Ctrl-Space) work, and
# Ctrl-Enter (or the run button) sends the query
# below.
#
# The key is not saved in this browser: set it
# again after a reload.

query Accounts {
  accounts(first: 10) {
    nodes { code name type }
  }
}
"""
"""The query editor's content when the URL has none (``?q=``), instead of Strawberry's."""

NO_KEY_RESULT = {
    "errors": [
        {
            "message": "No API key set, nothing was sent: in the Headers tab, replace "
            "<your key> with yours (Authorization: Bearer lq_..., or X-API-Key: lq_...)."
        }
    ]
}
"""What GraphiQL shows, without asking the server, for an operation run while the headers hold
no key."""

SCHEMA_REFETCH_DELAY_MS = 300
"""Quiet time after the last edit of a credential header before the schema is fetched: typing
a key sends one introspection, not one per keystroke."""

# Module-level helpers, placed before the page's component. GraphiQL (3.x) keeps the headers
# editor's content in its query history (``graphiql:queries``, ``graphiql:favorites``) and tabs
# (``graphiql:tabState``) whatever ``shouldPersistHeaders`` says, so its storage goes through
# ``keylessStorage``, which drops every ``headers`` value before it reaches localStorage.
# GraphiQL fetches the schema once per ``fetcher`` and ``schema`` prop, at page load, with the
# headers editor's content. ``useSchemaFetcher`` tells whether those headers hold a key: until
# they do the page passes ``schema: null`` (GraphiQL then sends no introspection, so the first
# screen is not a 401), and each time the credential headers change it gives GraphiQL a new
# fetcher, which makes it introspect again with the headers editor's content. An operation run
# without a key gets ``NO_KEY_RESULT`` from that fetcher, not the server's 401.
_HELPERS_JS = """\
const STORAGE_PREFIX = "graphiql:";
// Editor texts are stored as typed: re-serialising them would lose their layout.
const STORED_AS_TEXT = ["query", "variables"].map((name) => STORAGE_PREFIX + name);

function withoutHeaders(value) {
  if (Array.isArray(value)) {
    return value.map(withoutHeaders);
  }
  if (value === null || typeof value !== "object") {
    return value;
  }
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => name !== "headers")
      .map(([name, item]) => [name, withoutHeaders(item)]),
  );
}

function keyless(key, value) {
  if (key === STORAGE_PREFIX + "headers") {
    return null;
  }
  if (STORED_AS_TEXT.includes(key)) {
    return value;
  }
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return value;
  }
  return parsed !== null && typeof parsed === "object"
    ? JSON.stringify(withoutHeaders(parsed))
    : value;
}

function storedKeys() {
  return Object.keys(localStorage).filter((key) => key.startsWith(STORAGE_PREFIX));
}

const keylessStorage = {
  getItem: (key) => localStorage.getItem(key),
  setItem: (key, value) => {
    const kept = keyless(key, value);
    if (kept === null) {
      localStorage.removeItem(key);
    } else {
      localStorage.setItem(key, kept);
    }
  },
  removeItem: (key) => localStorage.removeItem(key),
  get length() {
    return storedKeys().length;
  },
  clear() {
    storedKeys().forEach((key) => localStorage.removeItem(key));
  },
};

const DEFAULT_HEADERS = __DEFAULT_HEADERS__;
const WELCOME_QUERY = __WELCOME_QUERY__;
const CREDENTIAL_HEADERS = __CREDENTIAL_HEADERS__;
const KEY_HEADERS = __KEY_HEADERS__;
const NO_KEY_RESULT = __NO_KEY_RESULT__;

function credentialsOf(headersText) {
  let headers;
  try {
    headers = JSON.parse(headersText || "{}");
  } catch (error) {
    return undefined;
  }
  if (headers === null || typeof headers !== "object") {
    return undefined;
  }
  return JSON.stringify(
    Object.entries(headers)
      .filter(([name]) => CREDENTIAL_HEADERS.includes(name.toLowerCase()))
      .sort(),
  );
}

function isKey(name, value) {
  if (!KEY_HEADERS.includes(name.toLowerCase()) || typeof value !== "string") {
    return false;
  }
  const key =
    name.toLowerCase() === "authorization" ? value.trim().replace(/^bearer(?= |$)/i, "") : value;
  // "<your key>" is the placeholder of DEFAULT_HEADERS; no key holds "<" or ">".
  return key.trim() !== "" && !/[<>]/.test(key);
}

function holdsKey(credentials) {
  return JSON.parse(credentials || "[]").some(([name, value]) => isKey(name, value));
}

function sendsKey(options) {
  const headers = (options && options.headers) || {};
  return Object.entries(headers).some(([name, value]) => isKey(name, value));
}

let credentialsTimer;

function useSchemaFetcher(initialHeadersText) {
  const [credentials, setCredentials] = React.useState(
    () => credentialsOf(initialHeadersText) || null,
  );
  const watchCredentials = React.useCallback((headersText) => {
    clearTimeout(credentialsTimer);
    credentialsTimer = setTimeout(() => {
      const next = credentialsOf(headersText);
      if (next !== undefined) {
        setCredentials(next);
      }
    }, __DELAY_MS__);
  }, []);
  const schemaFetcher = React.useMemo(
    () => (params, options) =>
      sendsKey(options) ? fetcher(params, options) : Promise.resolve(NO_KEY_RESULT),
    [credentials],
  );
  const keySet = React.useMemo(() => holdsKey(credentials), [credentials]);
  return [schemaFetcher, watchCredentials, keySet];
}

"""


@dataclass(frozen=True)
class Patch:
    """Replace the one occurrence of ``anchor`` in Strawberry's page with ``replacement``."""

    anchor: str
    replacement: str
    required: bool = True
    """Without it the page is not served; an optional patch that does not fit is skipped."""


def _indented(code: str, spaces: int) -> str:
    return textwrap.indent(code, " " * spaces).lstrip()


PATCHES = (
    Patch("shouldPersistHeaders: true,", "shouldPersistHeaders: false,"),
    Patch("headers: headers,", "headers: headers,\n          defaultHeaders: DEFAULT_HEADERS,"),
    Patch(
        "fetcher: fetcher,",
        "fetcher: schemaFetcher,\n"
        "          schema: keySet ? undefined : null,\n"
        "          storage: keylessStorage,",
    ),
    Patch(
        "defaultEditorToolsVisibility: true,",
        'defaultEditorToolsVisibility: "headers",',
        required=False,
    ),
    Patch("parameters.q || EXAMPLE_QUERY,", "parameters.q || WELCOME_QUERY,", required=False),
    Patch(
        "const [headers, setHeaders] = React.useState(parameters.headers);",
        "const [headers, setHeaders] = React.useState(parameters.headers);\n"
        "        const [schemaFetcher, watchCredentials, keySet] = useSchemaFetcher(\n"
        "          headers === undefined ? DEFAULT_HEADERS : headers,\n"
        "        );",
    ),
    Patch(
        "setHeaders(newHeaders);",
        "setHeaders(newHeaders);\n          watchCredentials(newHeaders);",
    ),
    Patch(
        "function GraphiQLWithExplorer() {",
        _indented(
            _HELPERS_JS.replace("__DEFAULT_HEADERS__", json.dumps(DEFAULT_HEADERS))
            .replace("__WELCOME_QUERY__", json.dumps(WELCOME_QUERY))
            .replace("__CREDENTIAL_HEADERS__", json.dumps(list(CREDENTIAL_HEADERS)))
            .replace("__KEY_HEADERS__", json.dumps(list(KEY_HEADERS)))
            .replace("__NO_KEY_RESULT__", json.dumps(NO_KEY_RESULT))
            .replace("__DELAY_MS__", str(SCHEMA_REFETCH_DELAY_MS)),
            6,
        )
        + "      function GraphiQLWithExplorer() {",
    ),
)


class TemplateChanged(Exception):
    """Strawberry's page no longer holds a patch's anchor exactly once."""


def patched(html: str) -> str:
    """``html`` with every one of ``PATCHES`` applied; TemplateChanged if a required one does
    not fit."""
    for patch in PATCHES:
        count = html.count(patch.anchor)
        if count != 1:
            if patch.required:
                raise TemplateChanged(f"{patch.anchor!r} occurs {count} times")
            logger.warning(
                "GraphiQL template changed, patch skipped: %r occurs %d times (see "
                "app/http/graphiql.py)",
                patch.anchor,
                count,
            )
            continue
        html = html.replace(patch.anchor, patch.replacement)
    return html


@cache
def builtin_html() -> str:
    """Strawberry's GraphiQL page as shipped."""
    return get_graphql_ide_html("graphiql")


def missing_assets(html: str) -> list[str]:
    """The unpkg paths ``html`` references that ``ASSETS_DIR`` does not hold."""
    paths = set(_UNPKG_URL.findall(html))
    return sorted(path for path in paths if not (ASSETS_DIR / path).is_file())


def unavailable_html(reason: str) -> str:
    return (
        "<!doctype html><title>GraphiQL unavailable</title>"
        "<p>GraphiQL is disabled: the installed strawberry-graphql's page is not one that "
        "ledgerql knows how to keep API keys out of the browser's storage "
        f"({reason}). POST GraphQL to this URL with any client.</p>"
    )


@dataclass(frozen=True)
class Page:
    html: str
    asset_origin: str
    """Where the page's scripts and styles come from, as a CSP source."""
    available: bool = True


@lru_cache(maxsize=8)
def graphiql_page(root_path: str = "") -> Page:
    """The GraphiQL page loading its assets from ``<root_path>/static/graphiql/``."""
    try:
        html = patched(builtin_html())
    except TemplateChanged as error:
        logger.error(
            "GraphiQL template changed, page disabled: %s (see app/http/graphiql.py)", error
        )
        return Page(unavailable_html(str(error)), "'self'", available=False)
    missing = missing_assets(html)
    if missing:
        logger.warning(
            "GraphiQL assets not vendored in %s: %s; serving the page from unpkg.com "
            "(see app/static/graphiql/README.md to refresh them)",
            ASSETS_DIR,
            ", ".join(missing),
        )
        return Page(html, f"'self' {UNPKG}")
    return Page(html.replace(UNPKG, f"{root_path.rstrip('/')}{STATIC_PATH}/graphiql/"), "'self'")


def graphiql_html(root_path: str = "") -> str:
    return graphiql_page(root_path).html


def script_hashes(html: str) -> list[str]:
    """CSP sources allowing exactly the inline scripts of ``html``."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()}'"
        for code in _INLINE_SCRIPT.findall(html)
    ]


def content_security_policy(page: Page) -> str:
    # Styles may be inline: GraphiQL injects <style> elements and style attributes at run
    # time, and a style cannot run code. Scripts may not: only the page's own, by hash.
    scripts = " ".join([page.asset_origin, *script_hashes(page.html)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {page.asset_origin} 'unsafe-inline'",
            "img-src 'self' data:",  # the favicon and GraphiQL's icons are data: URLs
            "font-src 'self' data:",  # GraphiQL's fonts are inlined in its CSS
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def graphiql_response(root_path: str = "") -> HTMLResponse:
    """The GraphiQL page with headers that keep it out of other sites' frames."""
    page = graphiql_page(root_path)
    return HTMLResponse(
        page.html,
        status_code=200 if page.available else 503,
        headers={
            "Content-Security-Policy": content_security_policy(page),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )
