"""The README as a new user meets it: after ``ledgerql demo``, its examples work as written.

The GraphQL documents and curl commands are read from README.md itself, so the
README and this test cannot drift apart.
"""

from __future__ import annotations

import re
import shlex
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from packaging.requirements import Requirement

from app.main import create_app, routes
from db.engine import Database
from graphql_schema import benchmark
from graphql_schema.schema import build_schema
from tests.test_cli import KEY_LINE, _invoke

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SERVER = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def code_blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


@dataclass
class Curl:
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None


def shell_commands(block: str) -> list[list[str]]:
    """The commands of a shell block, split as a shell would (quotes may span lines)."""
    commands: list[list[str]] = []
    pending = ""
    for line in block.replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on on the next line
            continue
        commands.append(words)
        pending = ""
    assert not pending, f"unterminated shell command in the README: {pending!r}"
    return commands


def curls() -> list[Curl]:
    """The README's curl commands to the local server, parsed as a shell would split them."""
    found = []
    for block in code_blocks("sh"):
        for words in shell_commands(block):
            if not words or words[0] != "curl":
                continue
            curl = Curl(path="")
            rest = iter(words[1:])
            for word in rest:
                if word == "-H":
                    name, _, value = next(rest).partition(":")
                    curl.headers[name.strip()] = value.strip()
                elif word == "-d":
                    curl.data = next(rest)
                elif word.startswith(SERVER):
                    curl.path = word.removeprefix(SERVER)
            found.append(curl)
    return found


def test_the_readme_has_the_examples_this_test_runs() -> None:
    assert len(code_blocks("graphql")) >= 3
    paths = [curl.path for curl in curls()]
    assert {
        "/health",
        "/graphql",
        "/accounting/v1/accounting-entries",
        "/external/v1/journal_entries/create/",
    } <= set(paths), paths


@pytest.mark.parametrize("document", code_blocks("graphql"))
def test_graphql_examples_are_one_operation_each_or_named(document: str) -> None:
    operations = [
        node
        for node in graphql.parse(document).definitions
        if isinstance(node, graphql.OperationDefinitionNode)
    ]
    assert len(operations) == 1 or all(op.name for op in operations), document


def _no_errors(data: Any, where: str = "data") -> None:
    """Fails on a non-empty ``errors`` anywhere in a payload."""
    if isinstance(data, dict):
        assert not data.get("errors"), (where, data["errors"])
        for name, value in data.items():
            _no_errors(value, f"{where}.{name}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _no_errors(value, f"{where}.{index}")


async def test_readme_examples_work_after_the_demo_command(db_url: str) -> None:
    slug = f"demo-{uuid.uuid4().hex[:8]}"
    output = await _invoke(db_url, "demo", "--tenant", slug)
    key = KEY_LINE.search(output)
    assert key, output
    # The README's First steps show what the command prints.
    shown = re.search(r"^# (tenant: demo .*)\n# (pismo: .*)$", README, re.M)
    assert shown, "the README's First steps no longer show the demo's summary"
    for line in shown.groups():
        assert line.replace("tenant: demo ", f"tenant: {slug} ") in output.splitlines()
    auth = {"Authorization": f"Bearer {key.group(1)}"}
    db = Database(db_url)
    try:
        transport = httpx.ASGITransport(app=create_app(db=db))
        async with httpx.AsyncClient(transport=transport, base_url=SERVER) as http:
            for document in code_blocks("graphql"):
                response = await http.post("/graphql", json={"query": document}, headers=auth)
                assert response.status_code == 200, (document, response.text)
                assert "errors" not in response.json(), (document, response.text)
                _no_errors(response.json()["data"])

            statuses = {}
            for curl in curls():
                headers = {
                    name: value.replace("$KEY", key.group(1))
                    for name, value in curl.headers.items()
                }
                # The README's journal entry names the tenant "demo"; this one has its own slug.
                data = curl.data and curl.data.replace(
                    '"domain_url": "demo"', f'"domain_url": "{slug}"'
                )
                if data is None:
                    response = await http.get(curl.path, headers=headers)
                else:
                    response = await http.post(curl.path, content=data, headers=headers)
                statuses[curl.path] = response.status_code
                if curl.path == "/graphql":
                    _no_errors(response.json())
            assert statuses == {
                "/health": 200,
                "/graphql": 200,
                "/accounting/v1/accounting-entries": 202,
                "/external/v1/journal_entries/create/": 200,
            }

            # The Pismo entry took its accounts from the demo's script.
            response = await http.post(
                "/graphql",
                json={
                    "query": '{ a: account(code: "1.1.02") { balance { net } } '
                    'b: account(code: "2.1.01") { balance { net } } }'
                },
                headers=auth,
            )
            assert response.json()["data"] == {
                "a": {"balance": {"net": "10.00"}},
                "b": {"balance": {"net": "10.00"}},
            }
    finally:
        await db.dispose()


def test_readme_names_every_route_query_and_mutation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(benchmark.ENV_VAR, raising=False)
    schema = graphql.build_schema(build_schema().as_str())
    assert schema.query_type and schema.mutation_type
    names = [*schema.query_type.fields, *schema.mutation_type.fields]
    missing = [name for name in names if f"`{name}" not in README]
    assert missing == []
    paths = [getattr(route, "path", "") for route in routes()]
    assert [path for path in paths if f"`{path}" not in README] == []


def test_the_package_metadata_needs_no_deprecated_setuptools_form() -> None:
    """`license` as a table makes setuptools warn on every `pip install -e .` (so on
    `make demo`); the SPDX string needs setuptools 77, which the build must ask for."""
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert pyproject["project"]["license"] == "MIT"
    (setuptools,) = [
        Requirement(r) for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")
    ]
    assert setuptools.specifier.contains("77.0") and not setuptools.specifier.contains("76.9")
