"""A deterministic ledger for the import benchmark, as JSON Lines and as an hledger journal.

    .venv/bin/python -m benchmarks.gen_ledger --out /tmp/ledger [--entries 250000]
        [--seed 1] [--currencies EUR] [--start 2023-01-01] [--days 1096]

writes ``/tmp/ledger.jsonl`` and ``/tmp/ledger.journal``: the same ``--entries``
balanced entries (by default 250,000 entries and exactly 1,000,000 postings) over
the 50 accounts of CHART, dated evenly from ``--start`` over ``--days`` days, in
date order. Every block of five entries has 2, 3, 4, 5 and 6 lines in a random
order, so the postings average four per entry. Each entry is in one currency
(``--currencies``, picked at random per entry; EUR only by default so that the
hledger comparison stays one commodity). The same seed gives the same bytes.

JSON Lines, one entry a line (amounts as decimal strings, one of debit or credit)::

    {"date":"2026-01-15","memo":"...","currency":"EUR","external_id":"g-000001",
     "lines":[{"account":"assets:bank:checking","debit":"420.00"},
              {"account":"income:sales","credit":"420.00"}]}

hledger journal, the external id as the transaction code, debits positive; one
entry in ELIDED_EVERY leaves the amount of its last posting for hledger to infer::

    2026-01-15 (g-000001) memo
        assets:bank:checking  EUR 420.00
        income:sales  EUR -420.00
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app.ledger.money import check_currency, exponent

# hledger-style names; the top level gives the account's type. 50 accounts.
CHART = (
    "assets:bank:checking",
    "assets:bank:savings",
    "assets:bank:payroll",
    "assets:cash:register",
    "assets:cash:petty",
    "assets:receivable:customers",
    "assets:receivable:employees",
    "assets:inventory:goods",
    "assets:inventory:supplies",
    "assets:prepaid:insurance",
    "assets:prepaid:rent",
    "assets:fixed:equipment",
    "assets:fixed:vehicles",
    "assets:fixed:buildings",
    "liabilities:payable:suppliers",
    "liabilities:payable:contractors",
    "liabilities:card:visa",
    "liabilities:card:amex",
    "liabilities:tax:vat",
    "liabilities:tax:payroll",
    "liabilities:tax:income",
    "liabilities:loans:bank",
    "liabilities:loans:shareholder",
    "liabilities:accrued:wages",
    "liabilities:deferred:revenue",
    "equity:capital",
    "equity:retained-earnings",
    "equity:opening-balances",
    "equity:drawings",
    "income:sales:products",
    "income:sales:services",
    "income:sales:subscriptions",
    "income:interest",
    "income:fees",
    "income:other",
    "income:discounts-received",
    "expenses:rent",
    "expenses:utilities:power",
    "expenses:utilities:water",
    "expenses:utilities:internet",
    "expenses:salaries",
    "expenses:payroll-taxes",
    "expenses:insurance",
    "expenses:office:supplies",
    "expenses:office:software",
    "expenses:travel",
    "expenses:meals",
    "expenses:marketing",
    "expenses:bank-fees",
    "expenses:depreciation",
)
LINE_COUNTS = (2, 3, 4, 5, 6)  # one of each per block of five entries: four postings on average
ELIDED_EVERY = 10
MIN_MINOR, MAX_MINOR = 100, 500_000  # a debit line: 1.00 to 5,000.00 (EUR)
PAYEES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay")
ACTIONS = ("invoice", "payment", "refund", "transfer", "payroll", "purchase", "fee", "accrual")


@dataclass(frozen=True)
class Line:
    account: str
    minor: int  # positive: a debit; negative: a credit


@dataclass(frozen=True)
class Entry:
    date: dt.date
    memo: str
    currency: str
    external_id: str
    lines: list[Line]


@dataclass(frozen=True)
class Generated:
    entries: int
    postings: int
    jsonl: Path
    journal: Path


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` as ``parts`` positive integers."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def entries(
    count: int, seed: int, currencies: tuple[str, ...], start: dt.date, days: int
) -> Iterator[Entry]:
    """The ``count`` entries of ``seed``, in date order."""
    rng = random.Random(seed)
    sizes: list[int] = []
    for index in range(count):
        if not sizes:
            sizes = rng.sample(LINE_COUNTS, len(LINE_COUNTS))
        size = sizes.pop()
        debits = rng.randint(1, size - 1)
        debit_minor = [rng.randint(MIN_MINOR, MAX_MINOR) for _ in range(debits)]
        credit_minor = split(sum(debit_minor), size - debits, rng)
        accounts = rng.sample(CHART, size)
        yield Entry(
            date=start + dt.timedelta(days=index * days // count),
            memo=f"{rng.choice(PAYEES)} {rng.choice(ACTIONS)} {rng.randint(1000, 99999)}",
            currency=rng.choice(currencies),
            external_id=f"g-{index + 1:06d}",
            lines=[
                Line(account, minor)
                for account, minor in zip(
                    accounts, [*debit_minor, *(-m for m in credit_minor)], strict=True
                )
            ],
        )


def decimal_text(minor: int, digits: int) -> str:
    """``minor`` units as a plain decimal with ``digits`` decimals: 42000, 2 -> "420.00"."""
    sign = "-" if minor < 0 else ""
    if digits == 0:
        return f"{sign}{abs(minor)}"
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}"


def jsonl_line(entry: Entry) -> str:
    digits = exponent(entry.currency)
    document = {
        "date": entry.date.isoformat(),
        "memo": entry.memo,
        "currency": entry.currency,
        "external_id": entry.external_id,
        "lines": [
            {"account": line.account, "debit": decimal_text(line.minor, digits)}
            if line.minor > 0
            else {"account": line.account, "credit": decimal_text(-line.minor, digits)}
            for line in entry.lines
        ],
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def journal_text(entry: Entry, elide_last: bool) -> str:
    digits = exponent(entry.currency)
    postings = [
        f"    {line.account}  {entry.currency} {decimal_text(line.minor, digits)}\n"
        for line in entry.lines
    ]
    if elide_last:
        postings[-1] = f"    {entry.lines[-1].account}\n"
    head = f"{entry.date.isoformat()} ({entry.external_id}) {entry.memo}\n"
    return head + "".join(postings) + "\n"


def write(
    out: Path,
    count: int,
    *,
    seed: int = 1,
    currencies: tuple[str, ...] = ("EUR",),
    start: dt.date = dt.date(2023, 1, 1),
    days: int = 1096,
) -> Generated:
    """Writes ``out``.jsonl and ``out``.journal; the counts and the paths."""
    if count < 1 or days < 1:
        raise ValueError("count and days must be positive")
    jsonl, journal = out.with_name(out.name + ".jsonl"), out.with_name(out.name + ".journal")
    postings = 0
    rng = random.Random(seed + 1)  # which entries elide: apart from the entries' stream
    with jsonl.open("w") as lines_file, journal.open("w") as journal_file:
        _journal_header(journal_file, count, seed, currencies)
        for entry in entries(count, seed, currencies, start, days):
            lines_file.write(jsonl_line(entry))
            journal_file.write(journal_text(entry, rng.randrange(ELIDED_EVERY) == 0))
            postings += len(entry.lines)
    return Generated(entries=count, postings=postings, jsonl=jsonl, journal=journal)


def _journal_header(file: TextIO, count: int, seed: int, currencies: tuple[str, ...]) -> None:
    file.write(
        f"; benchmarks/gen_ledger.py: {count} entries, seed {seed}, {','.join(currencies)}\n\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.jsonl, OUT.journal")
    parser.add_argument("--entries", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--currencies", default="EUR", help="comma-separated ISO 4217 codes")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2023, 1, 1))
    parser.add_argument("--days", type=int, default=1096, help="the dates span this many days")
    args = parser.parse_args(argv)
    currencies = tuple(check_currency(c.strip()) for c in args.currencies.split(","))
    if args.entries < 1 or args.days < 1:
        parser.error("--entries and --days must be positive")
    made = write(
        args.out,
        args.entries,
        seed=args.seed,
        currencies=currencies,
        start=args.start,
        days=args.days,
    )
    print(f"{made.entries} entries, {made.postings} postings: {made.jsonl}, {made.journal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
