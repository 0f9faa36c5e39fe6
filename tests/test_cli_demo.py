"""`ledgerql demo` (what `make demo` runs): safe to run again, and its summary counts
what the tenant has in the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from click.testing import CliRunner

from app.cli.main import main
from app.ledger import accounts, posting
from app.ledger.importing import tenant_by_slug
from db.engine import Database
from tests.test_cli import KEY_LINE, _invoke

LEDGERQL = str(Path(sys.executable).parent / "ledgerql")


def _demo(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as `make demo` runs it."""
    return subprocess.run(
        [LEDGERQL, "demo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=120,
        check=False,
    )


def test_demo_twice_exits_0_and_the_second_run_says_the_tenant_exists(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledgerql.db'}"
    first = _demo(url)
    assert first.returncode == 0, first.stderr
    assert KEY_LINE.search(first.stdout), first.stdout
    second = _demo(url)
    assert second.returncode == 0, second.stderr
    assert "tenant demo exists already: nothing was changed" in second.stdout
    assert "ledgerql key create --tenant demo" in second.stdout
    assert not KEY_LINE.search(second.stdout)  # keys are shown once
    assert "tenant: demo (USD, 9 accounts, 5 entries)" in second.stdout
    assert second.stderr == ""

    # The hint works as printed (and --slug, the option's old name, still does).
    hint = re.search(r"(ledgerql key create .*)$", second.stdout, re.M)
    assert hint
    key = subprocess.run(
        [LEDGERQL, *hint.group(1).split()[1:]],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url},
        timeout=120,
        check=False,
    )
    assert key.returncode == 0 and KEY_LINE.search(key.stdout), key.stderr
    old = _demo(url, "--slug", "demo")
    assert old.returncode == 0 and "exists already" in old.stdout
    assert "--slug is deprecated; use --tenant demo" in old.stderr


async def test_the_summary_counts_what_the_tenant_has(db_url: str, db: Database) -> None:
    slug = f"demo-{uuid.uuid4().hex[:8]}"
    first = await _invoke(db_url, "demo", "--tenant", slug)
    # Seven accounts of the chart and two Pismo accounting accounts, which are ledger
    # accounts too.
    assert f"tenant: {slug} (USD, 9 accounts, 5 entries)\n" in first
    assert (
        "pismo: program 12, entry type 2100, event type 1, "
        "accounting accounts 1.1.02, 2.1.01, 1 script\n"
    ) in first

    tenant = await tenant_by_slug(db, slug)
    assert tenant.id is not None
    await accounts.create_account(
        db, tenant.id, accounts.AccountInput(code="6000", name="Travel", type="EXPENSE")
    )
    today = dt.date.today()
    for day, memo in ((today, "Taxi"), (today + dt.timedelta(days=40), "Accrued travel")):
        await posting.post_entry(
            db,
            tenant.id,
            posting.EntryInput(
                date=today,
                accrual_date=day if day > today else None,
                memo=memo,
                lines=[
                    posting.LineInput(account_code="6000", debit="12.00"),
                    posting.LineInput(account_code="1000", credit="12.00"),
                ],
            ),
        )
    again = await _invoke(db_url, "demo", "--tenant", slug)
    assert f"tenant: {slug} (USD, 10 accounts, 6 entries, 1 scheduled)\n" in again


def test_a_demo_that_cannot_be_made_is_an_error_not_a_tenant_that_exists(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bad.db'}"
    bad = CliRunner().invoke(main, ["demo", "--tenant", "Not A Slug"], env={"DATABASE_URL": url})
    assert bad.exit_code == 1 and "slug" in bad.output and "exists" not in bad.output


async def test_concurrent_demos_make_one_tenant(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    await asyncio.to_thread(CliRunner().invoke, main, ["migrate"], env={"DATABASE_URL": url})
    outputs = await asyncio.gather(*(asyncio.to_thread(_demo, url) for _ in range(2)))
    assert [run.returncode for run in outputs] == [0, 0], [run.stderr for run in outputs]
    assert sum(bool(KEY_LINE.search(run.stdout)) for run in outputs) == 1
