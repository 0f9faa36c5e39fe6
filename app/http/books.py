"""``/books``: the read-only book viewer, a static page that is a client of ``/graphql``.

The page (``app/static/books/index.html``) and its ES modules are served as they are: no
build step, no template. Its scripts and styles are files under ``/static/`` (the viewer's own
in ``books/``, vendored libraries in ``vendor/``, see its README.md), so the policy allows
``'self'`` only: no inline script, no inline style attribute, no other origin, no framing.
The API key is asked for by the page and kept in ``sessionStorage`` (one tab); the server
never sees it here, only on ``/graphql``.
"""

from __future__ import annotations

from functools import cache

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.http.graphiql import STATIC_DIR

PAGE = STATIC_DIR / "books" / "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # uPlot sizes its elements through the CSSOM (element.style), which a policy does
        # not govern; style attributes and <style> elements stay refused.
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # /graphql only, in practice
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""Those of GraphiQL's page (app/http/graphiql.py); the middleware adds ``nosniff`` and
``Cache-Control: no-store``."""


@cache
def page_html() -> str:
    return PAGE.read_text(encoding="utf-8")


async def books(_request: Request) -> HTMLResponse:
    return HTMLResponse(page_html(), headers=HEADERS)


routes = [Route("/books", books, methods=["GET"])]
