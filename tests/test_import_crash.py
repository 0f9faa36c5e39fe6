"""An import killed with SIGKILL part-way, then run again, posts every entry of the
file exactly once (both engines; the command runs as a separate process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from asyncio.subprocess import DEVNULL, PIPE
from pathlib import Path

import pytest

from db.engine import Database
from tests.conftest import make_tenant
from tests.test_import import balances, entry_count

ENTRIES = 400
# Generous: the process only has to start, migrate (a no-op) and post a few entries.
GIVE_UP_AFTER_POLLS = 12_000


def write_ledger(path: Path) -> dict[tuple[str, str], int]:
    """ENTRIES entries without ids (keyed by the file's hash and line); returns the balances."""
    total = 0
    with path.open("w") as out:
        for n in range(1, ENTRIES + 1):
            total += n
            out.write(
                f'{{"date":"2026-02-{n % 28 + 1:02d}","memo":"Sale {n}","lines":['
                f'{{"account":"1000","debit":"{n // 100}.{n % 100:02d}"}},'
                f'{{"account":"4000","credit":"{n // 100}.{n % 100:02d}"}}]}}\n'
            )
    return {("1000", "USD"): total, ("4000", "USD"): -total}


def command(path: Path, slug: str, chunk: int) -> list[str]:
    script = Path(sys.executable).parent / "ledgerql"
    return [
        str(script), "import", str(path), "--tenant", slug, "--create-accounts",
        "--chunk", str(chunk),
    ]  # fmt: skip


# (chunk of the killed run, chunk of the rerun). 1: entries commit one by one, so the
# kill lands between or inside commits. 7 then 5: the bulk load's chunks of 7 commit
# whole, and the rerun's chunks of 5 straddle them, so some hold entries already
# posted and entries not yet posted (the general path's replays and posts, together).
CHUNKS = [(1, 1), (7, 5)]


@pytest.mark.parametrize(("chunk", "rerun_chunk"), CHUNKS)
async def test_an_import_killed_halfway_then_rerun_posts_each_entry_once(
    db: Database, db_url: str, tmp_path: Path, chunk: int, rerun_chunk: int
) -> None:
    tenant = await make_tenant(db, "USD")
    path = tmp_path / "sales.jsonl"
    expected = write_ledger(path)
    env = {**os.environ, "DATABASE_URL": db_url}
    process = await asyncio.create_subprocess_exec(
        *command(path, tenant.slug, chunk), env=env, stdout=DEVNULL, stderr=PIPE
    )
    try:
        for _ in range(GIVE_UP_AFTER_POLLS):
            if process.returncode is not None or await entry_count(db, tenant.id) >= 5:
                break
            await asyncio.sleep(0.01)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        _, stderr = await process.communicate()
    assert process.returncode == -signal.SIGKILL, f"the import ended before the kill: {stderr!r}"
    killed_at = await entry_count(db, tenant.id)
    assert 0 < killed_at < ENTRIES

    rerun = await asyncio.create_subprocess_exec(
        *command(path, tenant.slug, rerun_chunk), env=env, stdout=PIPE, stderr=PIPE
    )
    stdout, stderr = await rerun.communicate()
    assert rerun.returncode == 0, stderr.decode()
    summary = f"posted {ENTRIES - killed_at}, already imported {killed_at}, failed 0"
    assert summary in stdout.decode()
    assert await entry_count(db, tenant.id) == ENTRIES
    assert await balances(db, tenant.id) == expected
