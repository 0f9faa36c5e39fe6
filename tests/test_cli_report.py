"""`ledgerql report`: an aligned table for a person at a terminal, CSV for programs.

Without --csv or --table the format follows standard output: a terminal gets the
table, a pipe or a file gets CSV, so scripts written when CSV was the only format
keep working. The terminal case runs the installed command on a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import csv
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from click.testing import CliRunner, Result

from app.cli.main import main
from tests.conftest import GraphQLClient, TenantFixture
from tests.helpers import create_accounts, entry, post

LEDGERQL = str(Path(sys.executable).parent / "ledgerql")
TRIAL_BALANCE = ["report", "trial-balance"]
GENERAL_LEDGER = ["report", "general-ledger", "--account", "1000"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


async def _books(gql: GraphQLClient) -> None:
    await create_accounts(gql)
    for day, (debit, credit, amount, memo) in enumerate(
        [
            ("1000", "4000", "1234.50", "Sale, with a comma"),
            ("5000", "1000", "0.07", "Bank fee"),
            ("1000", "3000", "12000.00", "Capital"),
        ],
        start=1,
    ):
        await post(gql, entry(debit, credit, amount, date=f"2026-06-0{day}", memo=memo))


def _cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _on_a_terminal(url: str, *args: str) -> str:
    """The output of the installed command with a 200-column terminal as its stdout."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    # Not TERM=dumb: rich takes a dumb terminal to be 80 columns wide.
    env = {**os.environ, "DATABASE_URL": url, "TERM": "xterm-256color"}
    chunks = []
    try:
        with subprocess.Popen(
            [LEDGERQL, *args], stdout=follower, stderr=subprocess.PIPE, env=env
        ) as process:
            os.close(follower)
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the command has exited and closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            _, errors = process.communicate(timeout=60)
            assert process.returncode == 0, errors
    finally:
        os.close(leader)
    # The heading is bold: the escape codes out, the text stays.
    return ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))


def _check_table(table: str, rows: list[list[str]]) -> None:
    """Every CSV cell is in the table, the header on the first line, and the amount
    columns end at the same place on every line."""
    lines = [line.rstrip() for line in table.splitlines() if line.strip()]
    header, rule, *body = lines
    assert set(rule.strip()) <= {"─", "-", "━"}, rule
    assert header.split()[-1] in {"net", "balance"}
    assert len(body) == len(rows) - 1
    width = len(body[0])
    for line, row in zip(body, rows[1:], strict=True):
        assert len(line) == width, body  # the last column, an amount, is right-aligned
        position = 0
        for cell in row:
            found = line.find(cell, position)
            assert found >= 0, (cell, line)
            position = found + len(cell)
    assert "," not in "".join(body).replace("Sale, with", "")  # not CSV


async def test_a_terminal_gets_an_aligned_table_and_a_pipe_gets_csv(
    db_url: str, gql: GraphQLClient, tenant: TenantFixture
) -> None:
    await _books(gql)
    for report in (TRIAL_BALANCE, GENERAL_LEDGER):
        args = [*report, "--tenant", tenant.slug]
        csv_text = (await asyncio.to_thread(_cli, db_url, *args, "--csv")).stdout
        rows = _rows(csv_text)
        assert len(rows) > 3 and rows[0][0] in {"account_code", "date"}

        _check_table(await asyncio.to_thread(_on_a_terminal, db_url, *args), rows)
        # --csv on a terminal too: the choice is the user's.
        forced = await asyncio.to_thread(_on_a_terminal, db_url, *args, "--csv")
        assert forced == csv_text

        piped = await asyncio.to_thread(
            subprocess.run,
            [LEDGERQL, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "DATABASE_URL": db_url},
            timeout=60,
            check=True,
        )
        assert piped.stdout == csv_text


async def test_table_forced_into_a_pipe_or_a_file_is_laid_out_unfolded(
    db_url: str, gql: GraphQLClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    await _books(gql)
    args = [*GENERAL_LEDGER, "--tenant", tenant.slug]
    rows = _rows((await asyncio.to_thread(_cli, db_url, *args)).stdout)
    table = await asyncio.to_thread(_cli, db_url, *args, "--table")
    assert table.exit_code == 0, table.output
    _check_table(table.stdout, rows)
    assert len(table.stdout.splitlines()) == len(rows) + 1  # one line a row: nothing folded

    out = tmp_path / "tb.txt"
    written = await asyncio.to_thread(
        _cli, db_url, *TRIAL_BALANCE, "--tenant", tenant.slug, "--table", "-o", str(out)
    )
    assert written.exit_code == 0 and written.stdout == ""
    tb_rows = _rows(
        (await asyncio.to_thread(_cli, db_url, *TRIAL_BALANCE, "--tenant", tenant.slug)).stdout
    )
    _check_table(out.read_text(encoding="utf-8"), tb_rows)

    # -o without a choice writes CSV.
    await asyncio.to_thread(_cli, db_url, *TRIAL_BALANCE, "--tenant", tenant.slug, "-o", str(out))
    assert _rows(out.read_text(encoding="utf-8")) == tb_rows
