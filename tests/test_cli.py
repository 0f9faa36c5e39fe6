"""The ledgerql command line, run as a user would, against both engines."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from app.cli.main import main
from app.main import create_app
from db.engine import Database

KEY_LINE = re.compile(r"^api_key: (lq_\S+)$", re.M)
KEY_ID_LINE = re.compile(r"^key_id: (\S+)$", re.M)


def _invoke_sync(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


async def _invoke(url: str, *args: str) -> str:
    """Runs the command in a thread: it runs its own event loop, as it does from a shell."""
    return await asyncio.to_thread(_invoke_sync, url, *args)


async def _status(
    url: str, key: str, query: str = "{ accounts { nodes { code } } }"
) -> tuple[int, dict[str, object]]:
    db = Database(url)
    try:
        transport = httpx.ASGITransport(app=create_app(db=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://cli.test") as http:
            response = await http.post(
                "/graphql", json={"query": query}, headers={"X-API-Key": key}
            )
            return response.status_code, response.json()
    finally:
        await db.dispose()


async def test_tenant_create_key_create_and_revoke(db_url: str) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    output = await _invoke(
        db_url, "tenant", "create", "--tenant", slug, "--name", "CLI Co", "--currency", "EUR"
    )
    key = KEY_LINE.search(output)
    assert key, output
    status, _ = await _status(db_url, key.group(1))
    assert status == 200
    second = await _invoke(db_url, "key", "create", "--tenant", slug, "--read-only")
    second_key, second_id = KEY_LINE.search(second), KEY_ID_LINE.search(second)
    assert second_key and second_id
    status, body = await _status(
        db_url,
        second_key.group(1),
        'mutation { createJournal(input: {code: "X", name: "x"}) { errors { code } } }',
    )
    assert status == 200 and body["data"] == {"createJournal": {"errors": [{"code": "FORBIDDEN"}]}}
    await _invoke(db_url, "key", "revoke", second_id.group(1))
    status, _ = await _status(db_url, second_key.group(1))
    assert status == 401
    status, _ = await _status(db_url, key.group(1))
    assert status == 200


def test_cli_errors_are_clean(db_url: str) -> None:
    runner = CliRunner()
    bad = runner.invoke(
        main,
        ["tenant", "create", "--tenant", "Bad Slug", "--name", "x", "--currency", "EUR"],
        env={"DATABASE_URL": db_url},
    )
    assert bad.exit_code == 1 and "slug" in bad.output
    bad = runner.invoke(
        main,
        ["tenant", "create", "--tenant", "okslug", "--name", "x", "--currency", "EURO"],
        env={"DATABASE_URL": db_url},
    )
    assert bad.exit_code == 1 and "currency" in bad.output
    bad = runner.invoke(main, ["key", "revoke", "nope"], env={"DATABASE_URL": db_url})
    assert bad.exit_code == 1 and "does not exist" in bad.output


async def test_demo_on_a_new_database_gives_a_working_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    output = await _invoke(url, "demo")  # migrates the new database first
    key = KEY_LINE.search(output)
    assert key, output
    status, body = await _status(
        url, key.group(1), "{ trialBalance { balanced totals { debit credit } } }"
    )
    assert status == 200
    assert body["data"] == {
        "trialBalance": {"balanced": True, "totals": [{"debit": "16510.45", "credit": "16510.45"}]}
    }


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["migrate", "--help"]])
def test_console_script_is_installed(args: list[str]) -> None:
    script = Path(sys.executable).parent / "ledgerql"
    completed = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "Usage" in completed.stdout


def _invoke_result_sync(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


async def test_tenant_lock_closes_and_reopens_the_books_with_events(db_url: str) -> None:
    """The deprecated alias goes through period close / reopen: recorded, reasons required."""
    slug = f"lock-{uuid.uuid4().hex[:8]}"
    output = await _invoke(
        db_url, "tenant", "create", "--tenant", slug, "--name", "Lock Co", "--currency", "USD"
    )
    key = KEY_LINE.search(output)
    assert key
    create = 'mutation { a: createAccount(input: {code: "1", name: "a", type: ASSET}) { errors { code } } b: createAccount(input: {code: "2", name: "b", type: EQUITY}) { errors { code } } }'
    assert (await _status(db_url, key.group(1), create))[0] == 200
    post = 'mutation { postJournalEntry(input: {date: "2026-03-31", memo: "m", lines: [{accountCode: "1", debit: "1"}, {accountCode: "2", credit: "1"}]}) { errors { field } } }'
    lock_date = "{ tenant { lockDate } }"
    closed = await _invoke(db_url, "tenant", "lock", "--tenant", slug, "--until", "2026-03-31")
    assert "lock date of " + slug + ": 2026-03-31" in closed
    assert "deprecated" in closed and "period close" in closed
    _, body = await _status(db_url, key.group(1), post)
    assert body["data"] == {"postJournalEntry": {"errors": [{"field": "date"}]}}

    # Moving the lock date back or clearing it reopens the books: a reason is required.
    for args in (["--until", "2026-02-28"], []):
        refused = await asyncio.to_thread(
            _invoke_result_sync, db_url, "tenant", "lock", "--tenant", slug, *args
        )
        assert refused.exit_code == 2 and "--reason" in refused.output, refused.output
    assert (await _status(db_url, key.group(1), lock_date))[1]["data"] == {
        "tenant": {"lockDate": "2026-03-31"}
    }
    back = await _invoke(
        db_url,
        "tenant",
        "lock",
        "--tenant",
        slug,
        "--until",
        "2026-02-28",
        "--reason",
        "fix February",
    )
    assert "lock date of " + slug + ": 2026-02-28" in back
    # The slug as the first argument, the form before --tenant, still works.
    assert "none" in await _invoke(db_url, "tenant", "lock", slug, "--reason", "fix March")
    _, body = await _status(db_url, key.group(1), post)
    assert body["data"] == {"postJournalEntry": {"errors": []}}

    _, body = await _status(
        db_url, key.group(1), "{ events(first: 50) { nodes { type payload } } }"
    )
    data = body["data"]
    assert isinstance(data, dict)
    nodes: list[dict[str, str]] = data["events"]["nodes"]
    events = [
        (node["type"], json.loads(node["payload"]))
        for node in nodes
        if node["type"].startswith("period.")
    ]
    assert [(kind, payload.get("to"), payload.get("reason")) for kind, payload in events] == [
        ("period.closed", None, None),
        ("period.reopened", "2026-02-28", "fix February"),
        ("period.reopened", None, "fix March"),
    ]
    assert all(payload["by"]["via"] == "cli" for _, payload in events)
    bad = CliRunner().invoke(
        main,
        ["tenant", "lock", "--tenant", slug, "--until", "31/03/2026"],
        env={"DATABASE_URL": db_url},
    )
    assert bad.exit_code == 2


@pytest.mark.parametrize("module", ["app.cli", "app.cli.main"])
def test_the_command_runs_as_a_module(module: str) -> None:
    """``python -m app.cli`` (and ``app.cli.main``) is ``ledgerql`` without the script."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: ledgerql ") and "verify" in done.stdout
