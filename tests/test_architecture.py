"""Dependencies point one way: transports -> ledger core -> storage."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_ledger_core_imports_no_transport() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in {"starlette", "strawberry", "graphql", "httpx", "uvicorn"}
            or name.startswith(
                ("graphql_schema", "app.rest", "app.main", "app.http.graphql_endpoint")
            )
        )
        for path in (ROOT / "app" / "ledger").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_storage_imports_nothing_above_it() -> None:
    for path in (ROOT / "db").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("app", "graphql_schema")), (path, name)


def test_rest_shims_never_touch_the_database() -> None:
    rest = ROOT / "app" / "rest"
    for path in rest.rglob("*.py") if rest.exists() else []:
        for name in _imports(path):
            assert not name.startswith(("db", "sqlalchemy", "sqlmodel", "app.ledger.posting")), (
                path,
                name,
            )
