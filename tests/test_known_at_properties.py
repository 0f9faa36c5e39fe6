"""Property: a report as known at T equals the report computed from scratch from only the
entries recorded by T, for random postings and reversals (both engines, in the core)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import strategies as st

from app.ledger import posting, statements
from app.ledger.accounts import AccountInput, create_account
from app.ledger.balances import trial_balance
from app.ledger.entries import EntryInput, LineInput
from db.engine import Database
from tests.conftest import make_tenant
from tests.helpers import draw_examples

CODES = ["1000", "1100", "2000", "4000", "5000"]
TYPES = ["ASSET", "ASSET", "LIABILITY", "INCOME", "EXPENSE"]
START = dt.date(2026, 1, 1)

# ("post", debit account, credit account, minor units, day offset) or ("reverse", which)
Step = tuple[str, int, int, int, int]
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("post"),
            st.integers(0, 4),
            st.integers(0, 4),
            st.integers(1, 10**9),
            st.integers(0, 120),
        ),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.just(0), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)

Lines = list[tuple[str, dt.date, int, int]]  # (code, date, debit, credit)


def decimal(minor: int) -> str:
    """Minor units of USD as the decimal text the core takes (never a float)."""
    return f"{minor // 100}.{minor % 100:02d}"


def from_scratch(recorded: list[Lines], as_of: dt.date | None) -> dict[str, tuple[int, int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for lines in recorded:
        for code, date, debit, credit in lines:
            if as_of is None or date <= as_of:
                sums[code][0] += debit
                sums[code][1] += credit
    return {code: (d, c) for code, (d, c) in sums.items() if d or c}


async def test_a_report_known_at_t_is_the_report_of_what_was_recorded_by_t(
    db: Database,
) -> None:
    for example in draw_examples(steps, 12):
        tenant = await make_tenant(db)
        for code, kind in zip(CODES, TYPES, strict=True):
            await create_account(db, tenant.id, AccountInput(code=code, name=code, type=kind))
        posted: list[tuple[int, Lines]] = []  # (entry id, its lines), in order
        reversed_ids: set[int] = set()
        recorded: list[Lines] = []  # what each step recorded, in order
        moments: list[dt.datetime] = []
        for kind, a, b, amount, offset in example:
            if kind == "post":
                debit, credit = CODES[a], CODES[b if b != a else (a + 1) % 5]
                day = START + dt.timedelta(days=offset)
                result = await posting.post_entry(
                    db,
                    tenant.id,
                    EntryInput(
                        date=day,
                        memo="p",
                        lines=[
                            LineInput(account_code=debit, debit=decimal(amount)),
                            LineInput(account_code=credit, credit=decimal(amount)),
                        ],
                    ),
                )
                lines = [(debit, day, amount, 0), (credit, day, 0, amount)]
                posted.append((result.entry.id, lines))
                recorded.append(lines)
            else:
                open_ = [item for item in posted if item[0] not in reversed_ids]
                if not open_:
                    continue
                entry_id, lines = open_[a % len(open_)]
                await posting.reverse_entry(db, tenant.id, entry_id, date=lines[0][1])
                reversed_ids.add(entry_id)
                mirror = [(code, date, credit, debit) for code, date, debit, credit in lines]
                recorded.append(mirror)
            moments.append(dt.datetime.now(dt.UTC))
        for index, moment in enumerate(moments):
            so_far = recorded[: index + 1]
            for as_of in (None, START + dt.timedelta(days=60)):
                report = await trial_balance(db, tenant.id, as_of=as_of, known_at=moment)
                got = {row.account.code: (row.debit_minor, row.credit_minor) for row in report.rows}
                assert got == from_scratch(so_far, as_of), (example, index, as_of)
                sheets = await statements.balance_sheet(db, tenant.id, as_of=as_of, known_at=moment)
                expected = from_scratch(so_far, as_of)
                assets = sum(d - c for code, (d, c) in expected.items() if code < "2000")
                assert sum(sheet.assets.totals[0] for sheet in sheets) == assets
