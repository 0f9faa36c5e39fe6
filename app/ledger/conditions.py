"""Balance conditions of an entry (docs/holds.md): bounds on an account's posted or
available balance that must hold once the entry is applied, or nothing is written.

FRAGMENT's and Modern Treasury's optimistic checks: a client that read a balance and
decided on it says what it relied on ("the wallet keeps at least 0.00 available",
"the float account still holds exactly 500.00"), and the ledger checks it under the
tenant's lock, against the balances read there, with the entries earlier in the same
batch counted. The bounds are on the balance *after* the entry (a condition on an
account the entry does not touch is on its balance as it is), on the account's normal
side like every balance the ledger shows.

``prepare_conditions`` checks the input before any lock; ``check_conditions`` is the
rule under the lock. No statement is sent from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.ledger.accounts import net_of
from app.ledger.entries import ConditionInput
from app.ledger.errors import BadInput, ConditionFailed, Failure, LedgerError
from app.ledger.limit_rules import Totals, available_of, sum_totals
from app.ledger.money import check_currency, format_minor, parse_decimal, to_minor
from app.ledger.validation import AccountRef


class BalanceLayer(StrEnum):
    """The balance a condition bounds, on the account's normal side."""

    POSTED = "POSTED"  # debits and credits of posted entries: Balance.net
    AVAILABLE = "AVAILABLE"  # posted less the pending amounts that reduce it: Balance.available


POSTED = BalanceLayer.POSTED.value
LAYERS = tuple(layer.value for layer in BalanceLayer)
# Conditions one entry may carry: each costs a balance row read under the lock.
MAX_CONDITIONS = 100


@dataclass(frozen=True)
class Condition:
    """A condition checked against the account it names, bounds in minor units."""

    index: int
    account_id: int
    account_code: str
    account_type: str
    currency: str
    layer: str
    at_least: int | None
    at_most: int | None


def prepare_conditions(
    inputs: Sequence[ConditionInput], by_code: Mapping[str, AccountRef]
) -> tuple[Condition, ...]:
    """``inputs`` checked (accounts exist, currencies and amounts valid, a bound given,
    atLeast <= atMost), or the first BadInput, naming ``conditions.N.field``."""
    if len(inputs) > MAX_CONDITIONS:
        raise BadInput(f"an entry has at most {MAX_CONDITIONS} conditions", field="conditions")
    prepared = []
    for index, raw in enumerate(inputs):
        where = f"conditions.{index}"
        account = by_code.get(raw.account_code)
        if account is None:
            raise BadInput(
                f"account {raw.account_code} does not exist", field=f"{where}.accountCode"
            )
        currency = check_currency(raw.currency, field=f"{where}.currency")
        if raw.layer not in LAYERS:
            raise BadInput(
                f"unknown layer {raw.layer!r}: expected one of {', '.join(LAYERS)}",
                field=f"{where}.layer",
            )
        if raw.at_least is None and raw.at_most is None:
            raise BadInput("give atLeast, atMost or both", field=f"{where}.atLeast")
        at_least = _bound(raw.at_least, currency, f"{where}.atLeast")
        at_most = _bound(raw.at_most, currency, f"{where}.atMost")
        if at_least is not None and at_most is not None and at_least > at_most:
            raise BadInput("atLeast is greater than atMost", field=f"{where}.atMost")
        prepared.append(
            Condition(
                index,
                account.id,
                account.code,
                account.type,
                currency,
                raw.layer,
                at_least,
                at_most,
            )
        )
    return tuple(prepared)


def _bound(value: object, currency: str, field: str) -> int | None:
    """A signed amount in minor units (a balance may be below zero), exact to the currency."""
    if value is None:
        return None
    try:
        amount = parse_decimal(value)
        minor = to_minor(abs(amount), currency, allow_zero=True)
    except LedgerError as error:
        raise error.at(field) if error.field is None else error from None
    return -minor if amount < Decimal(0) else minor


def layer_value(condition: Condition, posted: tuple[int, int], pending: tuple[int, int]) -> int:
    """The layer's value on the account's normal side from its posted and pending totals."""
    if condition.layer == POSTED:
        return net_of(condition.account_type, posted[0], posted[1])
    return available_of(condition.account_type, *posted, *pending)


def check_conditions(
    conditions: Sequence[Condition],
    posted: Sequence[Totals],
    pending: Sequence[Totals],
) -> None:
    """Refuses the entry when a condition does not hold on the posted and pending totals
    after it: each the sum of its parts (read under the lock, the batch's earlier
    entries, this entry's movement). Names ``conditions.N``."""
    for condition in conditions:
        pair = (condition.account_id, condition.currency)
        value = layer_value(condition, sum_totals(posted, pair), sum_totals(pending, pair))
        low, high = condition.at_least, condition.at_most
        if (low is None or value >= low) and (high is None or value <= high):
            continue
        currency = condition.currency
        bounds = " and ".join(
            f"{word} {format_minor(bound, currency)}"
            for word, bound in (("at least", low), ("at most", high))
            if bound is not None
        )
        raise ConditionFailed(
            f"condition failed: the {condition.layer.lower()} {currency} balance of account "
            f"{condition.account_code} would be {format_minor(value, currency)}, "
            f"asked {bounds}",
            Failure(condition.account_code, currency, condition.layer, value, low, high),
            field=f"conditions.{condition.index}",
        )
