"""An account's balance limits as values: what they are, how a change applies, how they
are stored, and the one test of a balance against them.

Three settings, on the account's normal side (``accounts.net_of``):

- ``no_overdraft``: the available balance stays >= 0, in every currency;
- ``overdraft`` (per currency, minor units >= 0): the available balance stays >= -L;
- ``max_balance`` (per currency, minor units >= 0): the balance stays <= M.

Both floors apply when both are set, so no-overdraft wins over an overdraft limit. The
available balance is the posted normal-side balance minus the pending amounts that
reduce it (pending debits of open holds on a credit-normal account, pending credits
on a debit-normal one: ``limit_rules.reducing_pending``).

Limits are stored as JSON text in ``accounts.limits_json``, NULL when there are none:
posting reads that column with the accounts and parses it only for limited accounts.
The posting check against balances read under the lock is
``limit_rules.check_limits``; changing limits is ``accounts.set_account_limits``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from app.ledger.errors import BadInput
from app.ledger.money import check_currency, format_minor, to_minor

EVENT_TYPE = "account.limits_changed"


@dataclass(frozen=True)
class Limits:
    no_overdraft: bool = False
    overdraft: Mapping[str, int] = field(default_factory=dict)
    max_balance: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.no_overdraft or self.overdraft or self.max_balance)

    def floor(self, currency: str) -> int | None:
        """The lowest available balance allowed in ``currency`` (None: no floor)."""
        if self.no_overdraft:
            return 0
        limit = self.overdraft.get(currency)
        return None if limit is None else -limit

    def to_json(self) -> str | None:
        """The stored form; None (a NULL column) for no limits."""
        if self.empty:
            return None
        stored = {"no_overdraft": self.no_overdraft, "overdraft": self.overdraft}
        return orjson.dumps({**stored, "max": self.max_balance}).decode()

    def document(self) -> dict[str, object]:
        """The limits as an event payload shows them: amounts as decimal text."""
        return {
            "no_overdraft": self.no_overdraft,
            "overdraft_limits": _amounts(self.overdraft),
            "max_balances": _amounts(self.max_balance),
        }


NO_LIMITS = Limits()


def _amounts(minors: Mapping[str, int]) -> list[dict[str, str]]:
    return [
        {"currency": currency, "amount": format_minor(minor, currency)}
        for currency, minor in sorted(minors.items())
    ]


def parse(text: str | None) -> Limits:
    """The limits stored as ``text`` (None: no limits)."""
    if text is None:
        return NO_LIMITS
    stored = orjson.loads(text)
    return Limits(
        bool(stored.get("no_overdraft", False)),
        {str(c): int(m) for c, m in stored.get("overdraft", {}).items()},
        {str(c): int(m) for c, m in stored.get("max", {}).items()},
    )


@dataclass(frozen=True)
class LimitsChange:
    """A change of limits as asked: None leaves a setting as it is, an empty list clears
    it; amounts are decimal text (or Decimals) in their currency, checked by ``apply``."""

    no_overdraft: bool | None = None
    overdraft: Sequence[tuple[str, object]] | None = None
    max_balance: Sequence[tuple[str, object]] | None = None


def apply(current: Limits, change: LimitsChange) -> Limits:
    """``current`` with ``change`` applied; BadInput naming the field for a bad amount."""
    return Limits(
        current.no_overdraft if change.no_overdraft is None else change.no_overdraft,
        current.overdraft
        if change.overdraft is None
        else _per_currency(change.overdraft, "overdraftLimits"),
        current.max_balance
        if change.max_balance is None
        else _per_currency(change.max_balance, "maxBalances"),
    )


def _per_currency(amounts: Sequence[tuple[str, object]], name: str) -> dict[str, int]:
    minors: dict[str, int] = {}
    for index, (currency, amount) in enumerate(amounts):
        check_currency(currency, field=f"{name}.{index}.currency")
        if currency in minors:
            raise BadInput(
                f"{currency} is given twice: one limit per currency",
                field=f"{name}.{index}.currency",
            )
        try:
            minors[currency] = to_minor(amount, currency, allow_zero=True)
        except BadInput as error:
            raise BadInput(error.message, field=f"{name}.{index}.amount") from None
    return minors


def available_minor(balance_minor: int, pending_minor: int = 0) -> int:
    """The available balance: the posted normal-side balance less what the pending amounts
    of open holds take off it."""
    return balance_minor - pending_minor
