"""The README says what exists: its routes table and REST dialects table, read from
README.md, against the app's routes, /openapi.json and the endpoints themselves.

A status or route added to the app and not to the README (or the other way round), a
dialect table that disagrees with the routes table, or an auth header an endpoint does
not take fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route, WebSocketRoute

from app.main import routes
from app.rest.openapi import document
from tests.conftest import TenantFixture

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
STATUS = re.compile(r"\b[1-5]\d\d\b")
DIALECTS = ("Pismo", "journal-entry API", "Pennylane", "Bookeeping.ai")


def _table(section: str, header: str) -> list[list[str]]:
    """The rows of the table that starts with ``header`` in the README's ``## section``."""
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = body.split("\n")
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])])
    return rows


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"not a single code span: {cell!r}"
    return match.group(1)


def _statuses(text: str) -> list[int]:
    """The statuses after the arrow: ``... → 201 / 400 / 401`` gives [201, 400, 401]."""
    assert "→" in text, f"no statuses (→) in {text!r}"
    return [int(s) for s in STATUS.findall(text.rsplit("→", 1)[1])]


def readme_routes() -> dict[tuple[str, str], str]:
    """(path, method) → the "does" cell of each row of the routes table."""
    rows = _table("Routes", "| route | method | does |")
    return {(_code(path), method): does for path, method, does in rows}


def openapi_statuses() -> dict[tuple[str, str], list[int]]:
    paths = document()["paths"]
    return {
        (path, method.upper()): sorted(int(code) for code in operation["responses"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    }


def app_routes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes():
        if isinstance(route, Route):
            found |= {(route.path, m) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            found.add((route.path, "WebSocket"))
        elif isinstance(route, Mount):
            found.add((route.path + "/graphiql/...", "GET"))
    return found


def test_the_routes_table_lists_every_route_of_the_app_and_no_other() -> None:
    assert set(readme_routes()) == app_routes()


def test_the_routes_table_gives_the_statuses_of_openapi() -> None:
    documented = readme_routes()
    for key, statuses in openapi_statuses().items():
        assert sorted(_statuses(documented[key])) == statuses, key


def dialect_rows() -> list[list[str]]:
    return _table("REST dialects", "| vendor | create endpoint | other endpoints | auth |")


def test_the_dialects_table_agrees_with_the_routes_table() -> None:
    documented = readme_routes()
    for vendor, create, _others, _auth in dialect_rows():
        method, path = create.split("`")[1].split(" ", 1)
        assert _statuses(create) == _statuses(documented[(path, method)]), vendor


def test_the_readme_names_all_five_dialects_first() -> None:
    opening = README.split("\n\n", 2)[1]
    vendors = [row[0] for row in dialect_rows()]
    assert len(vendors) == 5
    for name in DIALECTS:
        assert name in opening, name
        assert any(name.lower() in vendor.lower() for vendor in vendors), name


@pytest.mark.parametrize("row", dialect_rows(), ids=lambda row: row[0])
async def test_each_dialect_takes_the_auth_header_the_table_gives(
    client: httpx.AsyncClient, tenant: TenantFixture, row: list[str]
) -> None:
    _vendor, create, _others, auth = row
    method, path = create.split("`")[1].split(" ", 1)
    name, value = auth.split("`")[1].split(": ", 1)
    header = {name: value.replace("<key>", tenant.key), "Content-Type": "application/json"}

    anonymous = await client.request(method, path, content=b"{}", headers={})
    keyed = await client.request(method, path, content=b"{}", headers=header)

    # An empty body is refused for what it lacks, not for who sent it.
    assert anonymous.status_code == 401, anonymous.text
    assert keyed.status_code in (400, 422), keyed.text
