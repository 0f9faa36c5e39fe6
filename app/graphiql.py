"""GraphiQL without internet access: Strawberry's built-in page, pointed at vendored assets.

The built-in page loads React, GraphiQL and the explorer plugin from unpkg.com. The directory
``app/static/graphiql/`` mirrors unpkg's layout (``<package>@<version>/<path>``, unmodified files
from the npm registry; see its README.md), so every ``https://unpkg.com/`` URL becomes
``<root_path>/static/graphiql/`` and the page's integrity hashes still hold. When the installed
Strawberry references a file that is not vendored, the page is served unchanged (loading from
unpkg) and a warning says to refresh the assets.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cache, lru_cache
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
"""Served by ``app.main`` at ``STATIC_PATH``."""
STATIC_PATH = "/static"
ASSETS_DIR = STATIC_DIR / "graphiql"

UNPKG = "https://unpkg.com/"
_UNPKG_URL = re.compile(r'https://unpkg\.com/([^"\'\s]+)')

DEFAULT_HEADERS = json.dumps({"Authorization": "Bearer <your key>"}, indent=2)
"""The headers editor's content until the user edits it (GraphiQL's ``defaultHeaders``)."""
_HEADERS_PROP = "headers: headers,"


@cache
def builtin_html() -> str:
    """Strawberry's GraphiQL page as shipped."""
    return get_graphql_ide_html("graphiql")


def missing_assets(html: str) -> list[str]:
    """The unpkg paths ``html`` references that ``ASSETS_DIR`` does not hold."""
    paths = set(_UNPKG_URL.findall(html))
    return sorted(path for path in paths if not (ASSETS_DIR / path).is_file())


@lru_cache(maxsize=8)
def graphiql_html(root_path: str = "") -> str:
    """The GraphiQL page loading its assets from ``<root_path>/static/graphiql/``."""
    html = builtin_html()
    missing = missing_assets(html)
    if missing:
        logger.warning(
            "GraphiQL assets not vendored in %s: %s; serving the page from unpkg.com "
            "(see app/static/graphiql/README.md to refresh them)",
            ASSETS_DIR,
            ", ".join(missing),
        )
        return html
    html = html.replace(UNPKG, f"{root_path.rstrip('/')}{STATIC_PATH}/graphiql/")
    if html.count(_HEADERS_PROP) == 1:
        html = html.replace(
            _HEADERS_PROP,
            f"{_HEADERS_PROP}\n          defaultHeaders: {json.dumps(DEFAULT_HEADERS)},",
        )
    else:
        logger.info("GraphiQL template changed: default headers editor content not set")
    return html
