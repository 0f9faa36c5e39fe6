"""One command-line convention: every command that works on a tenant takes ``--tenant SLUG``.

The slug as the first argument, the form some commands had before, still works: it
is read as --tenant, with a deprecation note on stderr and nothing else changed.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from app.cli.common import LegacySlugCommand
from app.cli.main import main
from db.engine import Database
from tests.conftest import make_tenant

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# The commands that act on no tenant: the server, the database, a key by its id, and
# the jobs that run over every tenant.
NO_TENANT = {
    "migrate",
    "serve",
    "key revoke",
    "key limits",
    "post-due",
    "webhook deliver",
}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    context = click.Context(group)  # the root group imports its commands when asked
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path + " ")
        else:
            yield path, command


COMMANDS = dict(_commands(main))


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_on_a_tenant_shows_tenant_in_its_help(path: str) -> None:
    result = CliRunner().invoke(main, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    if path in NO_TENANT:
        assert "--tenant" not in result.output
        return
    assert re.search(r"^\s+--tenant SLUG\b", result.output, re.M), result.output
    # No command is left with the tenant as a positional argument of its own.
    arguments = [p.name for p in COMMANDS[path].params if isinstance(p, click.Argument)]
    assert "slug" not in arguments, path


def test_the_commands_that_had_a_positional_slug_say_it_is_deprecated_in_their_help() -> None:
    legacy = sorted(path for path, cmd in COMMANDS.items() if isinstance(cmd, LegacySlugCommand))
    assert legacy == [
        "key create",
        "period close",
        "period close-year",
        "period reopen",
        "tenant create",
        "tenant lock",
        "tenant set-domain",
        "tenant set-prefix",
        "webhook create",
        "webhook deliveries",
        "webhook disable",
        "webhook enable",
        "webhook list",
        "webhook replay",
    ]
    for path in legacy:
        shown = CliRunner().invoke(main, [*path.split(), "--help"]).output
        assert "first argument (the old form) still works but is deprecated" in shown, path


def test_the_readme_shows_the_tenant_as_an_option() -> None:
    """No usage line of the README's command table gives the slug as an argument."""
    usage = [row.split(" | ")[0] for row in re.findall(r"^\| `ledgerql .*$", README, re.M)]
    assert len(usage) > 20
    # SLUG anywhere in a row's command cell but after --tenant.
    positional = [cell for cell in usage if re.search(r"(?<!--tenant) SLUG\b", cell)]
    assert positional == []


def _run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def _note(slug: str) -> str:
    return f"is deprecated; use --tenant {slug}"


async def test_the_old_positional_form_still_works_with_a_note_on_stderr(
    db: Database, db_url: str
) -> None:
    tenant = await make_tenant(db)
    slug = tenant.slug
    pairs = [
        # (the old form, the same with --tenant)
        (["tenant", "set-prefix", slug, "old"], ["tenant", "set-prefix", "--tenant", slug, "old"]),
        (
            ["tenant", "set-domain", slug, "--clear"],
            ["tenant", "set-domain", "--tenant", slug, "--clear"],
        ),
        (
            ["period", "close", slug, "--through", "2020-01-31"],
            ["period", "close", "--through", "2020-01-31", "--tenant", slug],
        ),
        (["webhook", "list", slug], ["webhook", "list", "--tenant", slug]),
        # Options with a value before the slug: the value is not taken for the slug.
        (
            ["webhook", "deliveries", "--status", "FAILED", "--limit=5", slug],
            ["webhook", "deliveries", "--status", "FAILED", "--limit=5", "--tenant", slug],
        ),
        # After "--" every word is an argument.
        (
            ["tenant", "set-prefix", "--", slug, "NEW"],
            ["tenant", "set-prefix", f"--tenant={slug}", "--", "NEW"],
        ),
    ]
    for old, new in pairs:
        before = await asyncio.to_thread(_run, db_url, *old)
        after = await asyncio.to_thread(_run, db_url, *new)
        assert before.exit_code == after.exit_code == 0, (old, before.output, after.output)
        assert before.stdout == after.stdout, old
        assert _note(slug) in before.stderr and "DeprecationWarning" in before.stderr, old
        assert after.stderr == "", new
        assert "eprecat" not in before.stdout  # scripts reading stdout see what they saw

    # The commands whose output differs on every run: a key, a new tenant.
    created = f"old-{uuid.uuid4().hex[:8]}"
    for args in (
        ["tenant", "create", created, "--name", "Old Form", "--currency", "EUR"],
        ["key", "create", created, "--read-only"],
    ):
        result = await asyncio.to_thread(_run, db_url, *args)
        assert result.exit_code == 0, result.output
        assert "api_key: lq_" in result.stdout and _note(created) in result.stderr


async def test_webhook_commands_with_more_arguments_take_the_old_form(
    db: Database, db_url: str
) -> None:
    tenant = await make_tenant(db)
    url = "https://hooks.example.com/ledgerql"
    created = await asyncio.to_thread(_run, db_url, "webhook", "create", tenant.slug, url)
    assert created.exit_code == 0, created.output
    assert _note(tenant.slug) in created.stderr
    endpoint_id = created.stdout.split("endpoint: ")[1].split()[0]
    disabled = await asyncio.to_thread(_run, db_url, "webhook", "disable", tenant.slug, endpoint_id)
    assert disabled.exit_code == 0 and "\tdisabled\t" in disabled.stdout, disabled.output
    enabled = await asyncio.to_thread(
        _run, db_url, "webhook", "enable", "--tenant", tenant.slug, endpoint_id
    )
    assert enabled.exit_code == 0 and f"{endpoint_id}\tactive\t*\t{url}" in enabled.stdout
    assert enabled.stderr == ""


def test_the_tenant_given_twice_or_not_at_all_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"
    both = _run(url, "period", "close", "acme", "--tenant", "acme", "--through", "2026-01-31")
    assert both.exit_code == 2 and "unexpected extra argument (acme)" in both.output
    neither = _run(url, "period", "close", "--through", "2026-01-31")
    assert neither.exit_code == 2 and "Missing option '--tenant'" in neither.output
    assert "deprecated" not in both.output + neither.output
