"""GraphQL output types; each is built from a ledger-core record."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Generic, TypeVar

import strawberry

from app.ledger import balances, general_ledger, listings, paging
from app.ledger.accounts import AccountType as AccountType  # re-exported, as a GraphQL enum
from app.ledger.accounts import JournalType as JournalType
from app.ledger.accounts import net_of
from app.ledger.conditions import BalanceLayer as BalanceLayer
from app.ledger.limit_rules import available_of
from app.ledger.limits import Limits
from app.ledger.limits import parse as parse_limits
from app.ledger.money import from_minor
from app.ledger.posting import EntryView, LineView
from db.tables import Account as AccountRow
from db.tables import Journal as JournalRow
from graphql_schema.context import Info
from graphql_schema.known_at import KnownAt, moment
from graphql_schema.scalars import Metadata, Money

N = TypeVar("N")


# The core's enums are the GraphQL enums (strawberry.enum marks the class in place): one
# list of values, that the schema cannot drift from.
strawberry.enum(AccountType)
strawberry.enum(JournalType, description="Pennylane's journal types.")
strawberry.enum(BalanceLayer, description="A balance on the account's normal side.")


@strawberry.enum
class AccountOrder(Enum):
    CODE = "CODE"
    ID = "ID"


@strawberry.enum
class EntryStatus(Enum):
    POSTED = "POSTED"
    SCHEDULED = "SCHEDULED"
    REVERSED = "REVERSED"
    PENDING = "PENDING"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


def id_or_none(value: object) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


def money(minor: int, currency: str) -> Money:
    return Money(from_minor(minor, currency))


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    nodes: list[N]
    page_info: PageInfo

    @classmethod
    def of(cls, nodes: list[N], page: paging.Page[object]) -> Connection[N]:
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
        )


@strawberry.type
class Balance:
    currency: str
    debit: Money = strawberry.field(description="Total posted debits.")
    credit: Money = strawberry.field(description="Total posted credits.")
    net: Money = strawberry.field(
        description="Balance in the account's normal direction: debit - credit for "
        "ASSET and EXPENSE, credit - debit for the others."
    )
    pending_debit: Money = strawberry.field(
        description="Debits of open holds (PENDING entries, docs/holds.md); 0 with asOf."
    )
    pending_credit: Money = strawberry.field(
        description="Credits of open holds (PENDING entries, docs/holds.md); 0 with asOf."
    )
    available: Money = strawberry.field(
        description="What the account's limits are checked against: net less the pending "
        "amounts that reduce it (pending debits of a credit-normal account, pending "
        "credits of a debit-normal one). With asOf, the balance as of that date "
        "(nothing is pending in the past); limits always use the current one."
    )

    @classmethod
    def of(cls, balance: balances.Balance, available: int) -> Balance:
        cur = balance.currency
        return cls(
            currency=cur,
            debit=money(balance.debit_minor, cur),
            credit=money(balance.credit_minor, cur),
            net=money(balance.net_minor, cur),
            pending_debit=money(balance.pending_debit_minor, cur),
            pending_credit=money(balance.pending_credit_minor, cur),
            available=money(available, cur),
        )


@strawberry.type(description="An amount in one currency.")
class CurrencyAmount:
    currency: str
    amount: Money

    @classmethod
    def list_of(cls, minors: Mapping[str, int]) -> list[CurrencyAmount]:
        return [cls(currency=c, amount=money(m, c)) for c, m in sorted(minors.items())]


@strawberry.type(description="An account's balance limits, on its normal side (docs/holds.md).")
class AccountLimits:
    no_overdraft: bool = strawberry.field(
        description="The available balance may not go below 0, in any currency."
    )
    overdraft_limits: list[CurrencyAmount] = strawberry.field(
        description="Per currency: the available balance may not go below -amount."
    )
    max_balances: list[CurrencyAmount] = strawberry.field(
        description="Per currency: the balance may not go above amount."
    )

    @classmethod
    def of(cls, limits: Limits) -> AccountLimits:
        return cls(
            no_overdraft=limits.no_overdraft,
            overdraft_limits=CurrencyAmount.list_of(limits.overdraft),
            max_balances=CurrencyAmount.list_of(limits.max_balance),
        )


@strawberry.type
class Account:
    id: strawberry.ID
    code: str
    name: str
    type: AccountType
    category: str | None
    currency: str | None = strawberry.field(
        description="Set when the account takes only this currency."
    )
    # An ID, not an Int: Pismo program ids are 64-bit and GraphQL's Int is 32 (issue 17).
    program_id: strawberry.ID | None = strawberry.field(
        description="Pismo program of the account, if any (a 64-bit id, as a string)."
    )
    created_at: dt.datetime
    deactivated_at: dt.datetime | None
    _row: strawberry.Private[AccountRow]

    @strawberry.field
    def active(self) -> bool:
        return self.deactivated_at is None

    @strawberry.field(description="The parent account's code; null for a top-level account.")
    async def parent_code(self, info: Info) -> str | None:
        parent = self._row.parent_id
        return None if parent is None else await info.context.account_codes.load(parent)

    @strawberry.field(description="Balance limits; every setting off for an unlimited account.")
    def limits(self) -> AccountLimits:
        return AccountLimits.of(parse_limits(self._row.limits_json))

    @strawberry.field(description="Your metadata on the account (docs/metadata.md); null without.")
    def metadata(self) -> Metadata | None:
        text = self._row.metadata_json
        return Metadata(json.loads(text, parse_float=Decimal)) if text else None

    @strawberry.field(
        description="Balance in one currency (default: the account's, else the tenant's)."
    )
    async def balance(
        self,
        info: Info,
        as_of: dt.date | None = None,
        currency: str | None = None,
        known_at: KnownAt = None,
    ) -> Balance:
        cur = currency or self.currency or info.context.principal.base_currency
        then = moment(known_at)
        totals = await info.context.balances.load((self._row.id or 0, as_of, cur, then))
        return self._balance(cur, *totals.get(cur, (0, 0, 0, 0)))

    @strawberry.field(description="Balances in every currency the account holds.")
    async def balances(
        self, info: Info, as_of: dt.date | None = None, known_at: KnownAt = None
    ) -> list[Balance]:
        then = moment(known_at)
        totals = await info.context.balances.load((self._row.id or 0, as_of, None, then))
        return [self._balance(cur, *four) for cur, four in sorted(totals.items())]

    def _balance(
        self, currency: str, debit: int, credit: int, pending_debit: int, pending_credit: int
    ) -> Balance:
        kind = self._row.type
        net = net_of(kind, debit, credit)
        return Balance.of(
            balances.Balance(currency, debit, credit, net, pending_debit, pending_credit),
            available_of(kind, debit, credit, pending_debit, pending_credit),
        )

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(
            id=strawberry.ID(str(row.id)),
            code=row.code,
            name=row.name,
            type=AccountType(row.type),
            category=row.category,
            currency=row.currency,
            program_id=id_or_none(row.program_id),
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
            _row=row,
        )


@strawberry.type
class Journal:
    id: strawberry.ID
    code: str
    name: str
    type: JournalType

    @classmethod
    def of(cls, row: JournalRow) -> Journal:
        return cls(
            id=strawberry.ID(str(row.id)),
            code=row.code,
            name=row.name,
            type=JournalType(row.type),
        )


@strawberry.type
class JournalLine:
    id: strawberry.ID
    account_id: strawberry.ID
    account_code: str
    currency: str
    debit: Money
    credit: Money
    description: str | None
    reporting_debit: Money | None = strawberry.field(
        description="The debit in the entry's reporting currency; null without one."
    )
    reporting_credit: Money | None = strawberry.field(
        description="The credit in the entry's reporting currency; null without one."
    )

    @classmethod
    def of(cls, line: LineView, reporting_currency: str | None = None) -> JournalLine:
        reported = reporting_currency is not None and line.reporting_debit_minor is not None
        return cls(
            id=strawberry.ID(str(line.id)),
            account_id=strawberry.ID(str(line.account_id)),
            account_code=line.account_code,
            currency=line.currency,
            debit=money(line.debit_minor, line.currency),
            credit=money(line.credit_minor, line.currency),
            description=line.description,
            reporting_debit=(
                money(line.reporting_debit_minor or 0, reporting_currency)
                if reported and reporting_currency
                else None
            ),
            reporting_credit=(
                money(line.reporting_credit_minor or 0, reporting_currency)
                if reported and reporting_currency
                else None
            ),
        )


@strawberry.type
class JournalEntry:
    id: strawberry.ID
    number: str = strawberry.field(description="PREFIX-YYYY-MM-DD-NNNN, numbered per tenant.")
    date: dt.date
    memo: str
    currency: str
    status: EntryStatus
    source: str
    journal_code: str
    idempotency_key: str | None
    reversal_of_id: strawberry.ID | None
    reversed_by_id: strawberry.ID | None
    created_at: dt.datetime
    external_id: str | None
    accrual_date: dt.date | None = strawberry.field(
        description="The day the entry posts (SCHEDULED until then); null: on its date."
    )
    reporting_currency: str | None = strawberry.field(
        description="The currency the lines are also recorded in; null without one."
    )
    exchange_rate: str | None = strawberry.field(
        description="Units of the reporting currency for one unit of the entry's currency, "
        "11 decimals."
    )
    rate_source: str | None = strawberry.field(
        description="Where the rate came from: same-currency, tenant, tenant-inverse or ecb."
    )
    rate_date: dt.date | None = strawberry.field(description="The date of the rate used.")
    journal_id: strawberry.ID
    attachment_id: strawberry.ID | None = strawberry.field(
        description="The attachment the entry references; null without one."
    )
    attachment_filename: str | None = strawberry.field(
        description="The filename of that attachment."
    )
    # Lines are built when selected: a bulk answer selecting only ids skips them.
    _view: strawberry.Private[EntryView]

    @strawberry.field
    def lines(self) -> list[JournalLine]:
        currency = self._view.reporting_currency
        return [JournalLine.of(line, currency) for line in self._view.lines]

    @strawberry.field(
        description="The entry's metadata (docs/metadata.md): yours, and the keys a REST "
        "dialect or an import wrote; null without any."
    )
    def metadata(self) -> Metadata | None:
        found = self._view.metadata
        return Metadata(dict(found)) if found else None

    @classmethod
    def of(cls, view: EntryView) -> JournalEntry:
        return cls(
            id=strawberry.ID(str(view.id)),
            number=view.number,
            date=view.date,
            memo=view.memo,
            currency=view.currency,
            status=EntryStatus(view.status),
            source=view.source,
            journal_code=view.journal_code,
            idempotency_key=view.idempotency_key,
            reversal_of_id=strawberry.ID(str(view.reversal_of_id)) if view.reversal_of_id else None,
            reversed_by_id=strawberry.ID(str(view.reversed_by_id)) if view.reversed_by_id else None,
            created_at=view.created_at,
            external_id=view.external_id,
            accrual_date=view.accrual_date,
            reporting_currency=view.reporting_currency,
            exchange_rate=view.exchange_rate,
            rate_source=view.rate_source,
            rate_date=view.rate_date,
            journal_id=strawberry.ID(str(view.journal_id)),
            attachment_id=strawberry.ID(str(view.attachment_id)) if view.attachment_id else None,
            attachment_filename=view.attachment_filename,
            _view=view,
        )


@strawberry.enum
class EntryOrder(Enum):
    DATE = "DATE"
    DATE_DESC = "DATE_DESC"
    ID = "ID"
    ID_DESC = "ID_DESC"


@strawberry.type(description="A journal line with its entry, as journalEntryLines lists it.")
class EntryLine:
    id: strawberry.ID
    entry_id: strawberry.ID
    journal_id: strawberry.ID
    account_id: strawberry.ID
    account_code: str
    date: dt.date = strawberry.field(description="The line's posting date.")
    currency: str
    debit: Money
    credit: Money
    description: str | None

    @classmethod
    def of(cls, line: listings.EntryLine) -> EntryLine:
        return cls(
            id=strawberry.ID(str(line.id)),
            entry_id=strawberry.ID(str(line.entry_id)),
            journal_id=strawberry.ID(str(line.journal_id)),
            account_id=strawberry.ID(str(line.account_id)),
            account_code=line.account_code,
            date=line.date,
            currency=line.currency,
            debit=money(line.debit_minor, line.currency),
            credit=money(line.credit_minor, line.currency),
            description=line.description,
        )


@strawberry.type
class LedgerLine:
    entry_id: strawberry.ID
    entry_number: str
    date: dt.date
    memo: str
    description: str | None
    debit: Money
    credit: Money
    running_balance: Money


@strawberry.type
class GeneralLedger:
    account: Account
    currency: str
    opening_balance: Money = strawberry.field(
        description="Net balance before `from` (zero without `from`); with a journal filter, "
        "of that journal's lines only."
    )
    closing_balance: Money = strawberry.field(
        description="Net balance through `to` (everything posted without `to`), on every "
        "page; with a journal filter, of that journal's lines only."
    )
    journal_id: strawberry.ID | None = strawberry.field(
        description="The journal the lines were filtered by, if any."
    )
    lines: Connection[LedgerLine]

    @classmethod
    def of(cls, ledger: general_ledger.GeneralLedger) -> GeneralLedger:
        cur = ledger.currency
        nodes = [
            LedgerLine(
                entry_id=strawberry.ID(str(line.entry_id)),
                entry_number=line.entry_number,
                date=line.date,
                memo=line.memo,
                description=line.description,
                debit=money(line.debit_minor, cur),
                credit=money(line.credit_minor, cur),
                running_balance=money(line.running_minor, cur),
            )
            for line in ledger.page.items
        ]
        return cls(
            account=Account.of(ledger.account),
            currency=cur,
            opening_balance=money(ledger.opening_minor, cur),
            closing_balance=money(ledger.closing_minor, cur),
            journal_id=strawberry.ID(str(ledger.journal_id)) if ledger.journal_id else None,
            lines=Connection.of(nodes, ledger.page),  # type: ignore[arg-type]
        )


# Where a trial balance's rows and totals find their pending layers (docs/holds.md). They
# are read when first selected, through the request's loader (one query of the current
# balances per currency filter), so a trial balance not selecting them costs what it did.
Figures = Mapping[tuple[int, str], Sequence[int]]


@dataclass
class PendingLayers:
    """The pending layers of one trial balance, as Balance gives them: the current ones
    (``as_of`` False) or, asked as of a date, none (0 pending, available = the posted
    net of the row). ``roll`` sums the current figures over subtrees (the hierarchical
    report); once per report."""

    currency: str | None
    as_of: bool
    roll: Callable[[Figures], Figures] | None = None
    _rolled: Figures | None = None
    # The moment of a report as known at a moment: the layers as they stood then.
    known_at: dt.datetime | None = None

    async def every_account(self, info: Info) -> Figures:
        """(posted debit, posted credit, pending debit, pending credit) per (account id,
        currency), now (or at ``known_at``)."""
        return await info.context.current_balances.load((self.currency, self.known_at))

    async def of(
        self, info: Info, account: AccountRow, currency: str, posted: tuple[int, int]
    ) -> tuple[int, int, int]:
        """(pending debit, pending credit, available) of a row: its account (and subtree,
        with ``roll``) in ``currency``; ``posted`` is the row's (debit, credit), used as
        of a date."""
        if self.as_of:
            return 0, 0, available_of(account.type, *posted, 0, 0)
        figures = await self.every_account(info)
        if self.roll is not None:
            if self._rolled is None:
                self._rolled = self.roll(figures)
            figures = self._rolled
        debit, credit, pending_debit, pending_credit = figures.get(
            (account.id or 0, currency), (0, 0, 0, 0)
        )
        return (
            pending_debit,
            pending_credit,
            available_of(account.type, debit, credit, pending_debit, pending_credit),
        )

    async def totals(self, info: Info, currency: str) -> tuple[int, int]:
        """Pending (debit, credit) of every account in ``currency`` (those with nothing
        posted, and so no row, too); 0 as of a date."""
        if self.as_of:
            return 0, 0
        pending = [0, 0]
        for (_, cur), (_, _, pending_debit, pending_credit) in (
            await self.every_account(info)
        ).items():
            if cur == currency:
                pending[0] += pending_debit
                pending[1] += pending_credit
        return pending[0], pending[1]


PENDING_DEBIT = (
    "Debits of the account's open holds (PENDING entries, docs/holds.md) in the currency, "
    "now, as Balance.pendingDebit; 0 with asOf (as Balance: nothing is pending in the "
    "past). Read only when selected."
)
PENDING_CREDIT = (
    "Credits of the account's open holds (PENDING entries, docs/holds.md) in the currency, "
    "now, as Balance.pendingCredit; 0 with asOf (as Balance: nothing is pending in the "
    "past). Read only when selected."
)
AVAILABLE = (
    "The account's available balance in the currency, as Balance.available: net on its "
    "normal side less the pending amounts that reduce it. Read only when selected, now, "
    "in one read with the pending amounts (an entry posted meanwhile can make it newer "
    "than debit and credit). With asOf, this row's net (nothing is pending in the past)."
)
TOTAL_PENDING_DEBIT = (
    "Debits of every open hold in the currency, now, accounts with nothing posted (no "
    "row) included: equal to pendingCredit. 0 with asOf. Read only when selected."
)
TOTAL_PENDING_CREDIT = (
    "Credits of every open hold in the currency, now, accounts with nothing posted (no "
    "row) included: equal to pendingDebit. 0 with asOf. Read only when selected."
)


@strawberry.type
class TrialBalanceRow:
    account: Account
    currency: str
    debit: Money = strawberry.field(description="Total posted debits of the account.")
    credit: Money = strawberry.field(description="Total posted credits of the account.")
    net: Money
    _posted: strawberry.Private[tuple[int, int]]
    _layers: strawberry.Private[PendingLayers]

    @strawberry.field(description=PENDING_DEBIT)
    async def pending_debit(self, info: Info) -> Money:
        layers = await self._layers.of(info, self.account._row, self.currency, self._posted)
        return money(layers[0], self.currency)

    @strawberry.field(description=PENDING_CREDIT)
    async def pending_credit(self, info: Info) -> Money:
        layers = await self._layers.of(info, self.account._row, self.currency, self._posted)
        return money(layers[1], self.currency)

    @strawberry.field(description=AVAILABLE)
    async def available(self, info: Info) -> Money:
        layers = await self._layers.of(info, self.account._row, self.currency, self._posted)
        return money(layers[2], self.currency)


@strawberry.type
class CurrencyTotal:
    currency: str
    debit: Money
    credit: Money
    _layers: strawberry.Private[PendingLayers]

    @strawberry.field(description=TOTAL_PENDING_DEBIT)
    async def pending_debit(self, info: Info) -> Money:
        return money((await self._layers.totals(info, self.currency))[0], self.currency)

    @strawberry.field(description=TOTAL_PENDING_CREDIT)
    async def pending_credit(self, info: Info) -> Money:
        return money((await self._layers.totals(info, self.currency))[1], self.currency)


@strawberry.type
class TrialBalance:
    as_of: dt.date | None
    rows: list[TrialBalanceRow]
    totals: list[CurrencyTotal] = strawberry.field(description="Grand totals per currency.")
    balanced: bool = strawberry.field(
        description="True when debits equal credits in every currency."
    )

    @classmethod
    def of(
        cls,
        report: balances.TrialBalance,
        currency: str | None = None,
        known_at: dt.datetime | None = None,
    ) -> TrialBalance:
        """``currency``: the report's currency filter, if any; ``known_at``: its moment."""
        layers = PendingLayers(currency, as_of=report.as_of is not None, known_at=known_at)
        return cls(
            as_of=report.as_of,
            rows=[
                TrialBalanceRow(
                    account=Account.of(row.account),
                    currency=row.currency,
                    debit=money(row.debit_minor, row.currency),
                    credit=money(row.credit_minor, row.currency),
                    net=money(
                        net_of(row.account.type, row.debit_minor, row.credit_minor), row.currency
                    ),
                    _posted=(row.debit_minor, row.credit_minor),
                    _layers=layers,
                )
                for row in report.rows
            ],
            totals=[
                CurrencyTotal(
                    currency=total.currency,
                    debit=money(total.debit_minor, total.currency),
                    credit=money(total.credit_minor, total.currency),
                    _layers=layers,
                )
                for total in report.totals
            ],
            balanced=report.balanced,
        )
