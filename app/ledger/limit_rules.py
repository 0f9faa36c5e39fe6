"""The balance-limit rule of the write path, decided in memory: may these movements post
(or be held) against the balances and pending amounts read under the tenant's lock?

``check_limits`` is called by every writer (batches, reversals, due scheduled entries,
holds and their posting); the limits themselves are values of limits.py. No statement
is sent from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.ledger.accounts import net_of
from app.ledger.entries import LineView
from app.ledger.errors import Breach, InsufficientFunds, LedgerError, LimitExceeded
from app.ledger.limits import Limits, available_minor
from app.ledger.money import format_minor
from app.ledger.validation import PreparedLine

# (debit, credit) minor units per (account id, currency).
Totals = dict[tuple[int, str], list[int]]


@dataclass(frozen=True)
class Limited:
    """An account with balance limits, as posting checks it (unlimited accounts have none)."""

    code: str
    type: str
    limits: Limits


# Account id -> its limits, for the limited accounts a batch names.
LimitedAccounts = Mapping[int, Limited]


def reducing_pending(account_type: str, pending_debit: int, pending_credit: int) -> int:
    """The pending amount that reduces an account's available balance: pending debits of
    a credit-normal account, pending credits of a debit-normal one."""
    return pending_credit if net_of(account_type, 1, 0) > 0 else pending_debit


def sum_totals(parts: Sequence[Totals], pair: tuple[int, str]) -> tuple[int, int]:
    """The (debit, credit) of ``pair`` summed over ``parts`` (e.g. read under the lock,
    the batch's earlier entries, this entry)."""
    debit = credit = 0
    for part in parts:
        found = part.get(pair)
        if found is not None:
            debit += found[0]
            credit += found[1]
    return debit, credit


def available_of(
    account_type: str, debit: int, credit: int, pending_debit: int, pending_credit: int
) -> int:
    """An account's available balance from its posted and pending totals in a currency:
    its net on its normal side less the pending amounts that reduce it (docs/holds.md).
    What ``Balance.available`` and the trial balances show."""
    return available_minor(
        net_of(account_type, debit, credit),
        reducing_pending(account_type, pending_debit, pending_credit),
    )


def check_limits(
    moved: Totals,
    totals: Totals,
    deltas: Totals,
    lines: Sequence[PreparedLine] | Sequence[LineView],
    limited: LimitedAccounts,
    pending: Totals | None = None,
) -> None:
    """Refuses an entry that would take a limited account past its limits, against its
    balance read under the lock plus what the batch moved before it (``deltas``), less
    the pending amounts of open holds that reduce it (``pending``).

    Only a movement towards the limit is refused: an entry that brings an account back
    towards its limits posts even when the account is still past them (limits set
    after the fact). The error names the first line that moves an account the wrong way.
    """
    if not limited:
        return
    breaches: list[tuple[int, LedgerError]] = []
    for pair, (debit, credit) in moved.items():
        account = limited.get(pair[0])
        if account is None:
            continue
        currency = pair[1]
        base = totals.get(pair, (0, 0))
        earlier = deltas.get(pair, (0, 0))
        held = (pending or {}).get(pair, (0, 0))
        before = available_minor(
            net_of(account.type, base[0] + earlier[0], base[1] + earlier[1]),
            reducing_pending(account.type, held[0], held[1]),
        )
        change = net_of(account.type, debit, credit)
        after = before + change
        limits = account.limits
        floor = limits.floor(currency)
        ceiling = limits.max_balance.get(currency)
        error: LedgerError
        if change < 0 and floor is not None and after < floor:
            breach = Breach(account.code, currency, before, -change, -floor)
            error = InsufficientFunds(
                f"insufficient funds on account {account.code}: "
                f"{_text(before, currency)} {currency} available, "
                f"{_text(-change, currency)} asked, "
                + (
                    "no overdraft allowed"
                    if floor == 0
                    else f"overdraft limit {_text(-floor, currency)}"
                ),
                breach,
            )
        elif change > 0 and ceiling is not None and after > ceiling:
            breach = Breach(account.code, currency, before, change, ceiling)
            error = LimitExceeded(
                f"the entry would take account {account.code} past its max {currency} "
                f"balance of {_text(ceiling, currency)}: {_text(before, currency)} now, "
                f"{_text(change, currency)} more asked",
                breach,
            )
        else:
            continue
        ordered: Sequence[PreparedLine | LineView] = lines
        first = next(
            index
            for index, line in enumerate(ordered)
            if line.account_id == pair[0]
            and line.currency == currency
            and (net_of(account.type, line.debit_minor, line.credit_minor) > 0) == (change > 0)
        )
        error.field = f"lines.{first}"
        breaches.append((first, error))
    if breaches:
        raise min(breaches, key=lambda found: found[0])[1]


def _text(minor: int, currency: str) -> str:
    return format_minor(minor, currency)
