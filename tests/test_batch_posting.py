"""Set-based batch posting on both engines: what each caller of a shared batch gets back.

- concurrent posts coalesce into one transaction, yet each caller gets its own
  entry or its own error;
- an idempotency key is claimed only by an entry that posts, even within a batch;
- an atomic batch is all or none, a non-atomic one posts what it can;
- no running total passes 2^63-1 minor units, and passing it is bad input;
- random batches keep the maintained balances equal to the lines (hypothesis);
- racing reversals reverse once and restore every balance.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import col, select

from app.ledger import accounts, balances, listings, posting
from app.ledger.errors import BadInput, Conflict
from app.ledger.group_commit import committer
from app.ledger.money import MAX_MINOR
from db.engine import Database
from db.tables import Event, IdempotencyRecord, JournalEntry, JournalLine
from tests.conftest import GraphQLClient, TenantFixture, make_tenant
from tests.helpers import create_accounts, line_sums, post, set_lock_date

DAY = dt.date(2026, 6, 1)
CHART = [("1000", "ASSET"), ("1100", "ASSET"), ("4000", "INCOME"), ("5000", "EXPENSE")]
CODES = [code for code, _ in CHART]

Outcome = posting.PostResult | BaseException
Mode = Literal["bulk", "concurrent"]

POST_ENTRIES = """
mutation($inputs: [PostJournalEntryInput!]!, $atomic: Boolean) {
  postJournalEntries(inputs: $inputs, atomic: $atomic) {
    entry { id } replayed errors { code field message }
  }
}"""


async def _books(db: Database, currency: str = "USD") -> TenantFixture:
    tenant = await make_tenant(db, currency=currency)
    for code, kind in CHART:
        await accounts.create_account(
            db, tenant.id, accounts.AccountInput(code=code, name=code, type=kind)
        )
    return tenant


def _entry(
    amount: str = "1.00",
    *,
    key: str | None = None,
    debit: str = "1000",
    credit: str = "4000",
    credit_amount: str | None = None,
    memo: str = "sale",
    on: dt.date = DAY,
    replay_allowed: bool = True,
) -> posting.EntryInput:
    return posting.EntryInput(
        date=on,
        memo=memo,
        idempotency_key=key,
        replay_allowed=replay_allowed,
        lines=[
            posting.LineInput(account_code=debit, debit=amount),
            posting.LineInput(account_code=credit, credit=credit_amount or amount),
        ],
    )


async def _count(db: Database, tenant_column: Any, tenant_id: int) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(select(func.count()).where(tenant_column == tenant_id)) or 0
        )


async def _counts(db: Database, tenant_id: int) -> dict[str, int]:
    """Rows of every table a posting writes, for one tenant."""
    return {
        "entries": await _count(db, col(JournalEntry.tenant_id), tenant_id),
        "lines": await _count(db, col(JournalLine.tenant_id), tenant_id),
        "events": await _count(db, col(Event.tenant_id), tenant_id),
        "keys": await _count(db, col(IdempotencyRecord.tenant_id), tenant_id),
    }


async def _entries_per_key(db: Database, tenant_id: int) -> dict[str, int]:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(col(JournalEntry.idempotency_key), func.count())
                .where(
                    col(JournalEntry.tenant_id) == tenant_id,
                    col(JournalEntry.idempotency_key).is_not(None),
                )
                .group_by(col(JournalEntry.idempotency_key))
            )
        ).all()
    return {str(row[0]): int(row[1]) for row in rows}


def _seq(number: str) -> int:
    """The per-tenant sequence at the end of a journal number (JE-2026-06-01-0007)."""
    return int(number.rsplit("-", 1)[1])


def _nets(totals: dict[tuple[int, str], tuple[int, int]]) -> dict[tuple[int, str], int]:
    return {key: debit - credit for key, (debit, credit) in totals.items() if debit != credit}


def _nonzero(
    totals: dict[tuple[int, str], tuple[int, int]],
) -> dict[tuple[int, str], tuple[int, int]]:
    return {key: value for key, value in totals.items() if value != (0, 0)}


async def _assert_balances_match_lines(db: Database, tenant_id: int) -> None:
    """The running totals and the per-day movements both equal the sums of the lines."""
    lines = await line_sums(db, tenant_id)
    assert _nonzero(await balances.balances_by_account(db, tenant_id)) == lines
    everything = dt.date(2100, 1, 1)
    assert _nonzero(await balances.balances_by_account(db, tenant_id, as_of=everything)) == lines


# ---------------------------------------------------------------- 1. group commit


async def test_group_commit_answers_each_caller(db: Database) -> None:
    tenant = await _books(db)
    await set_lock_date(db, tenant.slug, dt.date(2026, 3, 31))
    inputs: list[posting.EntryInput] = []
    refused: dict[int, str] = {}  # input index -> the field its error must name
    for i in range(50):
        amount = f"{i + 1}.00"
        match i % 10:
            case 3:
                inputs.append(_entry(amount, credit="9999"))
                refused[i] = "lines.1.accountCode"
            case 5:
                inputs.append(_entry(amount, credit_amount=f"{i + 2}.00"))
                refused[i] = "lines"
            case 7:
                inputs.append(_entry(amount, on=dt.date(2026, 3, 1)))
                refused[i] = "date"
            case 9:
                inputs.append(_entry(f"{i + 1}.001"))  # more decimals than USD has
                refused[i] = "lines.0.debit"
            case _:
                inputs.append(_entry(amount, memo=f"sale {i}"))
    group = committer(db)
    group.largest_batch = 0  # a figure for tests: reset it so it speaks of this run only
    batches_before = group.batches

    outcomes = await asyncio.gather(
        *(posting.post_entry(db, tenant.id, data) for data in inputs), return_exceptions=True
    )

    assert group.largest_batch > 1, "no two posts shared a transaction"
    assert group.batches - batches_before < len(inputs)
    valid = [i for i in range(len(inputs)) if i not in refused]
    for i, outcome in enumerate(outcomes):
        if i in refused:
            assert isinstance(outcome, BadInput), (i, outcome)
            assert outcome.field == refused[i], (i, outcome.field, outcome.message)
        else:
            assert isinstance(outcome, posting.PostResult), (i, outcome)
            assert not outcome.replayed
            assert outcome.entry.memo == f"sale {i}"
            minor = (i + 1) * 100
            assert [(line.debit_minor, line.credit_minor) for line in outcome.entry.lines] == [
                (minor, 0),
                (0, minor),
            ]
    results = [o for o in outcomes if isinstance(o, posting.PostResult)]
    assert len({r.entry.id for r in results}) == len(valid)
    assert sorted(_seq(r.entry.number) for r in results) == list(range(1, len(valid) + 1))

    total = sum((i + 1) * 100 for i in valid)
    report = await balances.trial_balance(db, tenant.id)
    assert report.balanced
    assert [(r.account.code, r.currency, r.debit_minor, r.credit_minor) for r in report.rows] == [
        ("1000", "USD", total, 0),
        ("4000", "USD", 0, total),
    ]
    await _assert_balances_match_lines(db, tenant.id)
    assert await _counts(db, tenant.id) == {
        "entries": len(valid),
        "lines": 2 * len(valid),
        "events": len(valid),
        "keys": 0,
    }


# ---------------------------------------------------------------- 2. idempotency in one batch


async def _post_two(
    db: Database, tenant_id: int, first: posting.EntryInput, second: posting.EntryInput, mode: Mode
) -> list[Outcome]:
    """Posts both in one batch: one non-atomic post_entries, or two concurrent post_entry."""
    if mode == "bulk":
        items = await posting.post_entries(db, tenant_id, [first, second], atomic=False)
        outcomes: list[Outcome] = []
        for item in items:
            if item.result is not None:
                outcomes.append(item.result)
            else:
                assert item.error is not None
                outcomes.append(item.error)
        return outcomes
    group = committer(db)
    before = group.batches
    both = await asyncio.gather(
        posting.post_entry(db, tenant_id, first),
        posting.post_entry(db, tenant_id, second),
        return_exceptions=True,
    )
    assert group.batches - before == 1, "the two posts were not decided in one batch"
    return list(both)


def _field(mode: Mode, index: int, field: str) -> str:
    return f"inputs.{index}.{field}" if mode == "bulk" else field


@pytest.mark.parametrize("mode", ["bulk", "concurrent"])
async def test_one_key_twice_in_one_batch(db: Database, mode: Mode) -> None:
    tenant = await _books(db)

    same = await _post_two(db, tenant.id, _entry(key="same"), _entry(key="same"), mode)
    assert isinstance(same[0], posting.PostResult) and not same[0].replayed
    assert isinstance(same[1], posting.PostResult) and same[1].replayed
    assert same[1].entry.id == same[0].entry.id

    differ = await _post_two(
        db, tenant.id, _entry("1.00", key="differ"), _entry("2.00", key="differ"), mode
    )
    assert isinstance(differ[0], posting.PostResult) and not differ[0].replayed
    assert isinstance(differ[1], Conflict), differ[1]
    assert differ[1].field == _field(mode, 1, "idempotencyKey")

    # The invalid entry never claimed the key, so the valid one is not a conflict.
    claimed = await _post_two(
        db, tenant.id, _entry("3.00", key="claim", credit="9999"), _entry("4.00", key="claim"), mode
    )
    assert isinstance(claimed[0], BadInput), claimed[0]
    assert claimed[0].field == _field(mode, 0, "lines.1.accountCode")
    assert isinstance(claimed[1], posting.PostResult) and not claimed[1].replayed
    assert claimed[1].entry.lines[0].debit_minor == 400

    # Pismo: a reused key is a conflict even with the same body, in the batch and after it.
    pismo = _entry("5.00", key="pismo", replay_allowed=False)
    refused = await _post_two(db, tenant.id, pismo, pismo, mode)
    assert isinstance(refused[0], posting.PostResult) and not refused[0].replayed
    assert isinstance(refused[1], Conflict), refused[1]
    assert refused[1].field == _field(mode, 1, "idempotencyKey")
    with pytest.raises(Conflict) as later:
        await posting.post_entry(db, tenant.id, pismo)
    assert later.value.field == "idempotencyKey"

    assert await _entries_per_key(db, tenant.id) == {"same": 1, "differ": 1, "claim": 1, "pismo": 1}
    assert (await _counts(db, tenant.id))["entries"] == 4
    assert (await _counts(db, tenant.id))["keys"] == 4
    await _assert_balances_match_lines(db, tenant.id)


# ---------------------------------------------------------------- 3. atomic or not


async def test_atomic_batch_with_one_bad_input_writes_nothing(db: Database) -> None:
    tenant = await _books(db)
    inputs = [_entry("1.00", key="atomic"), _entry("2.00", credit="9999"), _entry("3.00")]

    items = await posting.post_entries(db, tenant.id, inputs, atomic=True)

    assert [item.result for item in items] == [None, None, None]
    bad = items[1].error
    assert isinstance(bad, BadInput) and bad.field == "inputs.1.lines.1.accountCode"
    for index in (0, 2):
        error = items[index].error
        assert isinstance(error, BadInput), error
        assert error.field == f"inputs.{index}"
        assert "not posted" in error.message and "inputs.1" in error.message
    assert await _counts(db, tenant.id) == {"entries": 0, "lines": 0, "events": 0, "keys": 0}
    assert await balances.balances_by_account(db, tenant.id) == {}

    items = await posting.post_entries(db, tenant.id, inputs, atomic=False)

    assert [item.error is None for item in items] == [True, False, True]
    assert items[0].result is not None and not items[0].result.replayed  # the key was free
    error = items[1].error
    assert error is not None and error.field == "inputs.1.lines.1.accountCode"
    assert await _counts(db, tenant.id) == {"entries": 2, "lines": 4, "events": 2, "keys": 1}
    cash = await balances.balances_by_account(db, tenant.id)
    assert sorted(cash.values()) == [(0, 400), (400, 0)]


async def test_failed_atomic_request_leaves_no_claim_for_its_batch_neighbours(
    db: Database,
) -> None:
    tenant = await _books(db)
    group = committer(db)
    before = group.batches
    failed, neighbour = await asyncio.gather(
        posting.post_entries(
            db,
            tenant.id,
            [_entry("1.00", key="shared"), _entry("2.00", credit="9999")],
            atomic=True,
        ),
        posting.post_entry(db, tenant.id, _entry("7.00", key="shared")),
    )
    assert group.batches - before == 1
    assert all(item.result is None and item.error is not None for item in failed)
    # Had the atomic request's claim survived its failure, this would be a conflict.
    assert not neighbour.replayed and neighbour.entry.lines[0].debit_minor == 700
    assert await _entries_per_key(db, tenant.id) == {"shared": 1}
    await _assert_balances_match_lines(db, tenant.id)


# ---------------------------------------------------------------- 6. overflow


def _yen(amount: int, *, key: str | None = None) -> posting.EntryInput:
    return _entry(str(amount), key=key, memo=f"big {amount}")


async def test_overflow_refuses_only_the_entry_that_passes_the_limit(db: Database) -> None:
    tenant = await _books(db, currency="JPY")  # JPY: minor units are yen, amounts stay legible
    big = 4 * 10**18
    items = await posting.post_entries(
        db, tenant.id, [_yen(big), _yen(big), _yen(big), _yen(10**18)], atomic=False
    )
    error = items[2].error
    assert isinstance(error, BadInput), error
    assert error.field == "inputs.2.lines"
    assert [item.error is None for item in items] == [True, True, False, True]
    held = 9 * 10**18
    assert sorted((await balances.balances_by_account(db, tenant.id)).values()) == [
        (0, held),
        (held, 0),
    ]

    # The totals read back from the database refuse the next one, and allow up to the limit.
    with pytest.raises(BadInput) as caught:
        await posting.post_entry(db, tenant.id, _yen(MAX_MINOR - held + 1))
    assert caught.value.field == "lines"
    await posting.post_entry(db, tenant.id, _yen(MAX_MINOR - held))
    assert sorted((await balances.balances_by_account(db, tenant.id)).values()) == [
        (0, MAX_MINOR),
        (MAX_MINOR, 0),
    ]
    assert (await _counts(db, tenant.id))["entries"] == 4
    await _assert_balances_match_lines(db, tenant.id)


async def test_failed_atomic_request_leaves_no_movement_for_its_batch_neighbours(
    db: Database,
) -> None:
    tenant = await _books(db, currency="JPY")
    big = 4 * 10**18
    failed, first, second = await asyncio.gather(
        posting.post_entries(db, tenant.id, [_yen(big), _yen(big), _yen(big)], atomic=True),
        posting.post_entry(db, tenant.id, _yen(big)),
        posting.post_entry(db, tenant.id, _yen(big)),
    )
    error = failed[2].error
    assert isinstance(error, BadInput) and error.field == "inputs.2.lines"
    # Had the failed request's first two movements been kept, these would overflow.
    assert not first.replayed and not second.replayed
    assert sorted((await balances.balances_by_account(db, tenant.id)).values()) == [
        (0, 2 * big),
        (2 * big, 0),
    ]


async def test_one_entry_past_the_limit_on_one_account_is_bad_input(db: Database) -> None:
    tenant = await _books(db, currency="JPY")
    data = posting.EntryInput(
        date=DAY,
        memo="two lines on 1000 sum past 2^63-1",
        lines=[
            posting.LineInput(account_code="1000", debit=str(MAX_MINOR)),
            posting.LineInput(account_code="1000", debit="1"),
            posting.LineInput(account_code="4000", credit=str(MAX_MINOR)),
            posting.LineInput(account_code="5000", credit="1"),
        ],
    )
    with pytest.raises(BadInput) as caught:
        await posting.post_entry(db, tenant.id, data)
    assert caught.value.field == "lines"
    # Refused by the bound on an entry's total, which covers every account's share of it.
    assert str(MAX_MINOR) in caught.value.message
    assert await _counts(db, tenant.id) == {"entries": 0, "lines": 0, "events": 0, "keys": 0}


async def test_overflow_through_graphql_is_a_payload_error(
    gql: GraphQLClient, db: Database, tenant: TenantFixture
) -> None:
    await create_accounts(gql)
    largest = "92233720368547758.07"  # 2^63-1 cents
    result = await post(
        gql,
        {
            "date": "2026-06-01",
            "memo": "past the limit",
            "lines": [
                {"accountCode": "1000", "debit": largest},
                {"accountCode": "1000", "debit": "0.01"},
                {"accountCode": "4000", "credit": largest},
                {"accountCode": "5000", "credit": "0.01"},
            ],
        },
    )
    assert result["entry"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("BAD_USER_INPUT", "lines")]

    half = "46116860184273879.03"  # (2^63-1)/2 cents, rounded down: two fit, a third does not
    one = {
        "date": "2026-06-01",
        "memo": "half",
        "lines": [{"accountCode": "1100", "debit": half}, {"accountCode": "2000", "credit": half}],
    }
    data = await gql(POST_ENTRIES, {"inputs": [one, one, one], "atomic": False})
    payloads = data["postJournalEntries"]
    assert [p["errors"] for p in payloads[:2]] == [[], []]
    assert [(e["code"], e["field"]) for e in payloads[2]["errors"]] == [
        ("BAD_USER_INPUT", "inputs.2.lines")
    ]
    assert (await _counts(db, tenant.id))["entries"] == 2
    await _assert_balances_match_lines(db, tenant.id)


# ---------------------------------------------------------------- 8. random batches


KEYS = ["k0", "k1", "k2"]
START = dt.date(2026, 1, 1)
Kind = Literal["valid", "unknown account", "unbalanced", "bad amount"]


@st.composite
def _input(draw: st.DrawFn) -> tuple[Kind, posting.EntryInput]:
    """An entry of a few lines; its kind says whether, and why, it must be refused.

    Amounts, dates and memos come from small sets so that repeated keys often carry
    equal bodies (replays) as well as different ones (conflicts).
    """
    kind: Kind = draw(
        st.sampled_from(["valid"] * 5 + ["unknown account", "unbalanced", "bad amount"])
    )
    minor = draw(st.sampled_from([1, 250, 10_000]))
    debit_code, credit_code, split_code = (draw(st.sampled_from(CODES)) for _ in range(3))
    split = draw(st.booleans()) and minor > 1
    credits = [(credit_code, minor - 1), (split_code, 1)] if split else [(credit_code, minor)]
    lines = [posting.LineInput(account_code=debit_code, debit=_usd(minor))]
    lines += [posting.LineInput(account_code=c, credit=_usd(m)) for c, m in credits]
    if kind == "unknown account":
        lines[-1] = posting.LineInput(account_code="9999", credit=lines[-1].credit)
    elif kind == "unbalanced":
        lines[0] = posting.LineInput(account_code=debit_code, debit=_usd(minor + 1))
    elif kind == "bad amount":
        lines[0] = posting.LineInput(account_code=debit_code, debit=f"{_usd(minor)}1")
    data = posting.EntryInput(
        date=START + dt.timedelta(days=draw(st.sampled_from([0, 40]))),
        memo=draw(st.sampled_from(["a", "b"])),
        lines=lines,
        idempotency_key=draw(st.none() | st.sampled_from(KEYS)),
    )
    return kind, data


def _usd(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


Batch = tuple[bool, list[tuple[Kind, posting.EntryInput]]]


@st.composite
def _batches(draw: st.DrawFn) -> list[Batch]:
    """Batches of inputs; some inputs are exact copies of earlier ones (a client's retry)."""
    drawn: list[tuple[Kind, posting.EntryInput]] = []
    batches: list[Batch] = []
    for _ in range(draw(st.integers(1, 4))):
        inputs: list[tuple[Kind, posting.EntryInput]] = []
        for _ in range(draw(st.integers(1, 4))):
            if drawn and draw(st.integers(0, 2)) == 0:
                inputs.append(drawn[draw(st.integers(0, len(drawn) - 1))])
            else:
                inputs.append(draw(_input()))
        drawn += inputs
        batches.append((draw(st.booleans()), inputs))
    return batches


async def _unbalanced_entries(db: Database, tenant_id: int) -> list[tuple[int, str]]:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(col(JournalLine.entry_id), col(JournalLine.currency))
                .where(col(JournalLine.tenant_id) == tenant_id)
                .group_by(col(JournalLine.entry_id), col(JournalLine.currency))
                .having(
                    func.sum(col(JournalLine.debit_minor))
                    != func.sum(col(JournalLine.credit_minor))
                )
            )
        ).all()
    return [(int(row[0]), str(row[1])) for row in rows]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=_batches(), together=st.booleans())
async def test_random_batches_keep_balances_equal_to_lines(
    db: Database, batches: list[Batch], together: bool
) -> None:
    tenant = await _books(db)
    calls = [
        posting.post_entries(db, tenant.id, [data for _, data in inputs], atomic=atomic)
        for atomic, inputs in batches
    ]
    # Together: one group-commit batch; else one batch after the other.
    answers = list(await asyncio.gather(*calls)) if together else [await c for c in calls]

    posted: set[int] = set()
    replayed: set[int] = set()
    entry_of_key: dict[str, set[int]] = defaultdict(set)
    for (atomic, inputs), items in zip(batches, answers, strict=True):
        assert len(items) == len(inputs)
        assert all((item.result is None) != (item.error is None) for item in items)
        if atomic and any(
            kind != "valid" or item.error is not None
            for (kind, _), item in zip(inputs, items, strict=True)
        ):
            assert all(item.error is not None for item in items), items
        for (kind, data), item in zip(inputs, items, strict=True):
            keyed = data.idempotency_key is not None
            if kind != "valid":
                # A key already taken is answered before the body is checked.
                assert isinstance(item.error, BadInput) or (
                    keyed and isinstance(item.error, Conflict)
                ), (kind, item)
            elif not atomic and not keyed:
                assert item.result is not None and not item.result.replayed, item
            elif not atomic:  # posted, replayed, or a conflict on its key
                assert item.result is not None or isinstance(item.error, Conflict), item
            if item.result is None:
                continue
            view = item.result.entry
            (replayed if item.result.replayed else posted).add(view.id)
            if data.idempotency_key is not None:
                entry_of_key[data.idempotency_key].add(view.id)
            assert sum(line.debit_minor for line in view.lines) == sum(
                line.credit_minor for line in view.lines
            )

    counts = await _counts(db, tenant.id)
    assert counts["entries"] == len(posted)
    assert counts["events"] == len(posted)
    async with db.read() as session:
        stored = set(
            await session.scalars(
                select(col(JournalEntry.id)).where(col(JournalEntry.tenant_id) == tenant.id)
            )
        )
    assert stored == posted and replayed <= stored
    assert all(len(ids) == 1 for ids in entry_of_key.values()), entry_of_key
    assert all(n == 1 for n in (await _entries_per_key(db, tenant.id)).values())
    assert await _unbalanced_entries(db, tenant.id) == []
    await _assert_balances_match_lines(db, tenant.id)
    assert (await balances.trial_balance(db, tenant.id)).balanced


# ---------------------------------------------------------------- 9. reversals


async def test_racing_reversals_reverse_once_and_restore_every_balance(db: Database) -> None:
    tenant = await _books(db)
    for i in range(3):
        await posting.post_entry(db, tenant.id, _entry(f"{i + 1}.00"))
    before = _nets(await balances.balances_by_account(db, tenant.id))
    target = await posting.post_entry(
        db,
        tenant.id,
        posting.EntryInput(
            date=DAY,
            memo="to reverse",
            lines=[
                posting.LineInput(account_code="1000", debit="10.00"),
                posting.LineInput(account_code="5000", debit="2.50"),
                posting.LineInput(account_code="4000", credit="12.50"),
                posting.LineInput(account_code="1100", debit="700", currency="JPY"),
                posting.LineInput(account_code="4000", credit="700", currency="JPY"),
            ],
        ),
    )
    on = DAY + dt.timedelta(days=5)
    # Separate Database objects are separate connections, as separate processes would be.
    others = [Database(db.url) for _ in range(2)]
    databases = [db, *others]
    try:
        outcomes = await asyncio.gather(
            *(
                posting.reverse_entry(databases[i % 3], tenant.id, target.entry.id, date=on)
                for i in range(12)
            ),
            return_exceptions=True,
        )
    finally:
        for other in others:
            await other.dispose()

    reversals = [o for o in outcomes if isinstance(o, posting.PostResult)]
    assert len(reversals) == 1, outcomes
    refused = [o for o in outcomes if not isinstance(o, posting.PostResult)]
    assert all(isinstance(o, Conflict) and o.field == "id" for o in refused), refused
    reversal = reversals[0].entry
    assert reversal.reversal_of_id == target.entry.id and reversal.date == on
    assert [
        (line.account_code, line.currency, line.debit_minor, line.credit_minor)
        for line in reversal.lines
    ] == [
        (line.account_code, line.currency, line.credit_minor, line.debit_minor)
        for line in target.entry.lines
    ]
    original = await listings.get_entry(db, tenant.id, target.entry.id)
    assert original is not None
    assert original.status == "REVERSED" and original.reversed_by_id == reversal.id

    assert _nets(await balances.balances_by_account(db, tenant.id)) == before
    assert _nets(await balances.balances_by_account(db, tenant.id, as_of=on)) == before
    between = _nets(await balances.balances_by_account(db, tenant.id, as_of=on - dt.timedelta(1)))
    assert between != before  # the original still counts before the reversal's date
    await _assert_balances_match_lines(db, tenant.id)
    assert (await _counts(db, tenant.id))["entries"] == 5

    for entry_id in (target.entry.id, reversal.id):
        with pytest.raises(Conflict):
            await posting.reverse_entry(db, tenant.id, entry_id, date=on)
    assert (await _counts(db, tenant.id))["entries"] == 5


async def test_a_batch_of_more_keys_than_one_lookup_takes_replays_every_one(db: Database) -> None:
    """10,050 keys in one call: SQLite looks them up in slices, PostgreSQL in one array."""
    tenant = await _books(db)
    inputs = [_entry(key=f"bulk-{index}") for index in range(10_050)]
    first = await posting.post_entries(db, tenant.id, inputs, atomic=False)
    assert all(item.error is None and not item.result.replayed for item in first if item.result)
    again = await posting.post_entries(db, tenant.id, inputs, atomic=False)
    assert [item.result.entry.id for item in again if item.result] == [
        item.result.entry.id for item in first if item.result
    ]
    assert all(item.result is not None and item.result.replayed for item in again)
    assert (await _counts(db, tenant.id))["entries"] == 10_050
