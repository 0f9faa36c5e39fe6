"""Financial statements in GraphQL: hierarchical trial balance, balance sheet, income statement.

Resolvers only translate; the sums and the roll-ups are in ``app.ledger.statements``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from app.ledger import statements as core
from app.ledger import valuation as fxv
from app.ledger.statements import Compare as StatementCompare
from app.ledger.valuation import Method as ValuationMethod
from graphql_schema.context import Info
from graphql_schema.known_at import KnownAt, moment
from graphql_schema.scalars import Money
from graphql_schema.types import Account, PendingLayers, money

# The core's enums are the GraphQL enums (strawberry.enum marks the class in place).
strawberry.enum(
    StatementCompare,
    name="StatementCompare",
    description="Comparative columns of an income statement.",
)
strawberry.enum(
    ValuationMethod,
    name="ValuationMethod",
    description="How a report is valued in another currency (like hledger --value).",
)


@strawberry.input(description="Also give the report in `currency`, converted by `method`.")
class ValuationInput:
    currency: str
    method: ValuationMethod = strawberry.field(
        description="END: every balance at the rate of the report date (asOf; an income "
        "statement column's `to`). THEN: each day's movement at that day's rate, summed."
    )

    def core(self) -> fxv.Valuation:
        return fxv.Valuation(self.currency, fxv.Method(self.method.value))


@strawberry.type(description="A rate a valued report used: units of quote for one of base.")
class ValuationRate:
    base: str
    quote: str
    date: dt.date = strawberry.field(description="The rate's effective date.")
    rate: str = strawberry.field(description="Exact decimal, at most 11 decimals.")
    source: str = strawberry.field(description="tenant | tenant-inverse | ecb")


@strawberry.type(description="How a valued report was converted into its currency.")
class Valuation:
    currency: str
    method: ValuationMethod
    rule: str
    rates: list[ValuationRate] = strawberry.field(
        description="Every rate used, by base, quote, date; the same currency (1) is not listed."
    )
    unrealised_difference: Money | None = strawberry.field(
        description="Balance sheet only: the END value minus the THEN value of assets minus "
        "liabilities (every asset and liability balance counts as monetary); null for an "
        "income statement."
    )

    @classmethod
    def of(cls, result: core.ValuationResult | None) -> Valuation | None:
        if result is None:
            return None
        unrealised = result.unrealised_minor
        return cls(
            currency=result.currency,
            method=ValuationMethod(result.method.value),
            rule=result.rule,
            rates=[
                ValuationRate(
                    base=rate.base,
                    quote=rate.quote,
                    date=rate.effective,
                    rate=format(rate.value, "f"),
                    source=rate.source,
                )
                for rate in result.rates
            ],
            unrealised_difference=None
            if unrealised is None
            else money(unrealised, result.currency),
        )


REPORT_PENDING = (
    "{side} of the open holds (PENDING entries, docs/holds.md) of the account and its "
    "subtree in the currency, now; 0 with `to` (as Balance with asOf: nothing is pending "
    "in the past); null with a journal filter (pending amounts are not kept per journal). "
    "Read only when selected."
)
REPORT_AVAILABLE = (
    "The available balance of the account and its subtree in the currency, as "
    "Balance.available, on the account's normal side (not debit - credit): net less the "
    "pending amounts that reduce it. Read only when selected, now, in one read with the "
    "pending amounts (an entry posted meanwhile can make it newer than closingBalance). "
    "With `to`, closingBalance on the normal side (nothing is pending in the past); null "
    "with a journal filter."
)
REPORT_TOTAL_PENDING = (
    "{side} of every open hold in the currency, now, accounts with nothing posted (no "
    "row) included: pendingDebit equals pendingCredit. 0 with `to`; null with a journal "
    "filter. Read only when selected."
)


@strawberry.type(
    description="An account (with its subtree) in one currency; balances are debit - credit."
)
class TrialBalanceReportRow:
    account: Account
    level: int = strawberry.field(description="0 for a top account, 1 for its children...")
    currency: str
    opening_balance: Money = strawberry.field(description="Debit - credit before `from`.")
    debit: Money = strawberry.field(description="Debits from `from` through `to`.")
    credit: Money = strawberry.field(description="Credits from `from` through `to`.")
    closing_balance: Money = strawberry.field(description="Debit - credit through `to`.")
    _line: strawberry.Private[core.TrialBalanceLine]
    # None with a journal filter: no pending layers.
    _layers: strawberry.Private[PendingLayers | None]

    async def _pending(self, info: Info) -> tuple[int, int, int] | None:
        if self._layers is None:
            return None
        line = self._line
        # Debit and credit through `to`: the opening balance is debit - credit before `from`.
        posted = (line.opening_minor + line.debit_minor, line.credit_minor)
        return await self._layers.of(info, line.account, line.currency, posted)

    @strawberry.field(description=REPORT_PENDING.format(side="Debits"))
    async def pending_debit(self, info: Info) -> Money | None:
        layers = await self._pending(info)
        return None if layers is None else money(layers[0], self.currency)

    @strawberry.field(description=REPORT_PENDING.format(side="Credits"))
    async def pending_credit(self, info: Info) -> Money | None:
        layers = await self._pending(info)
        return None if layers is None else money(layers[1], self.currency)

    @strawberry.field(description=REPORT_AVAILABLE)
    async def available(self, info: Info) -> Money | None:
        layers = await self._pending(info)
        return None if layers is None else money(layers[2], self.currency)

    @classmethod
    def of(
        cls, row: core.TrialBalanceLine, layers: PendingLayers | None = None
    ) -> TrialBalanceReportRow:
        cur = row.currency
        return cls(
            account=Account.of(row.account),
            level=row.level,
            currency=cur,
            opening_balance=money(row.opening_minor, cur),
            debit=money(row.debit_minor, cur),
            credit=money(row.credit_minor, cur),
            closing_balance=money(row.closing_minor, cur),
            _line=row,
            _layers=layers,
        )


@strawberry.type
class TrialBalanceReportTotal:
    currency: str
    opening_balance: Money
    debit: Money
    credit: Money
    closing_balance: Money
    balanced: bool
    _layers: strawberry.Private[PendingLayers | None]

    @strawberry.field(description=REPORT_TOTAL_PENDING.format(side="Debits"))
    async def pending_debit(self, info: Info) -> Money | None:
        if self._layers is None:
            return None
        return money((await self._layers.totals(info, self.currency))[0], self.currency)

    @strawberry.field(description=REPORT_TOTAL_PENDING.format(side="Credits"))
    async def pending_credit(self, info: Info) -> Money | None:
        if self._layers is None:
            return None
        return money((await self._layers.totals(info, self.currency))[1], self.currency)

    @classmethod
    def of(
        cls, total: core.TrialBalanceTotals, layers: PendingLayers | None = None
    ) -> TrialBalanceReportTotal:
        cur = total.currency
        return cls(
            currency=cur,
            opening_balance=money(total.opening_minor, cur),
            debit=money(total.debit_minor, cur),
            credit=money(total.credit_minor, cur),
            closing_balance=money(total.closing_minor, cur),
            balanced=total.balanced,
            _layers=layers,
        )


@strawberry.type
class TrialBalanceReport:
    from_: dt.date | None = strawberry.field(name="from")
    to: dt.date | None
    depth: int | None
    rows: list[TrialBalanceReportRow] = strawberry.field(
        description="By currency, then account code; parents sum their subtree."
    )
    totals: list[TrialBalanceReportTotal] = strawberry.field(
        description="Per currency, over every account once."
    )
    balanced: bool = strawberry.field(
        description="True when, in every currency, debits equal credits and the opening "
        "balances sum to zero."
    )


@strawberry.type(description="An account and its subtree of the same type, per column.")
class StatementRow:
    account: Account
    level: int
    amounts: list[Money] = strawberry.field(
        description="On the normal side of the account's type, one per column."
    )


@strawberry.type
class StatementGroup:
    category: str | None = strawberry.field(
        description="The category of the group's top accounts; null: none set."
    )
    rows: list[StatementRow]
    totals: list[Money]


@strawberry.type
class StatementSection:
    type: str
    groups: list[StatementGroup]
    totals: list[Money]

    @classmethod
    def of(cls, section: core.StatementSection, cur: str) -> StatementSection:
        return cls(
            type=section.type,
            groups=[
                StatementGroup(
                    category=group.category,
                    rows=[
                        StatementRow(
                            account=Account.of(row.account),
                            level=row.level,
                            amounts=[money(amount, cur) for amount in row.amounts],
                        )
                        for row in group.rows
                    ],
                    totals=[money(amount, cur) for amount in group.totals],
                )
                for group in section.groups
            ],
            totals=[money(amount, cur) for amount in section.totals],
        )


@strawberry.type(description="An account and its subtree of the same type, as of the date.")
class BalanceSheetRow:
    account: Account
    level: int
    amount: Money = strawberry.field(description="On the normal side of the account's type.")


@strawberry.type
class BalanceSheetGroup:
    category: str | None = strawberry.field(
        description="The category of the group's top accounts; null: none set."
    )
    rows: list[BalanceSheetRow]
    total: Money


@strawberry.type
class BalanceSheetSection:
    type: str
    groups: list[BalanceSheetGroup]
    total: Money

    @classmethod
    def of(cls, section: core.StatementSection, cur: str) -> BalanceSheetSection:
        return cls(
            type=section.type,
            groups=[
                BalanceSheetGroup(
                    category=group.category,
                    rows=[
                        BalanceSheetRow(
                            account=Account.of(row.account),
                            level=row.level,
                            amount=money(row.amounts[0], cur),
                        )
                        for row in group.rows
                    ],
                    total=money(group.totals[0], cur),
                )
                for group in section.groups
            ],
            total=money(section.totals[0], cur),
        )


@strawberry.type(description="Assets = liabilities + equity + current earnings, in a currency.")
class BalanceSheet:
    as_of: dt.date | None
    currency: str
    assets: BalanceSheetSection
    liabilities: BalanceSheetSection
    equity: BalanceSheetSection
    current_earnings: Money = strawberry.field(
        description="Income - expenses through asOf not yet closed to equity."
    )
    total_assets: Money
    total_liabilities_and_equity: Money = strawberry.field(
        description="Liabilities + equity + current earnings."
    )
    difference: Money = strawberry.field(
        description="Assets - (liabilities + equity + current earnings): zero when balanced."
    )
    balanced: bool
    valuation: Valuation | None = strawberry.field(
        description="Set on the valued sheet (the last one, when `valuation` is asked): "
        "every currency's balances converted into this one; null on the others."
    )

    @classmethod
    def of(cls, sheet: core.BalanceSheet) -> BalanceSheet:
        cur = sheet.currency
        total = sheet.assets.totals[0]
        return cls(
            as_of=sheet.as_of,
            currency=cur,
            assets=BalanceSheetSection.of(sheet.assets, cur),
            liabilities=BalanceSheetSection.of(sheet.liabilities, cur),
            equity=BalanceSheetSection.of(sheet.equity, cur),
            current_earnings=money(sheet.current_earnings_minor, cur),
            total_assets=money(total, cur),
            total_liabilities_and_equity=money(total - sheet.difference_minor, cur),
            difference=money(sheet.difference_minor, cur),
            balanced=sheet.balanced,
            valuation=Valuation.of(sheet.valuation),
        )


@strawberry.type(description="One period of an income statement, with its totals.")
class StatementColumn:
    from_: dt.date = strawberry.field(name="from")
    to: dt.date
    income: Money
    expenses: Money
    net_income: Money


@strawberry.type
class IncomeStatement:
    currency: str
    columns: list[StatementColumn] = strawberry.field(
        description="Oldest first; every row's `amounts` has one entry per column."
    )
    income: StatementSection
    expenses: StatementSection
    net_income: list[Money] = strawberry.field(description="Income - expenses, per column.")
    valuation: Valuation | None = strawberry.field(
        description="Set on the valued statement (the last one, when `valuation` is asked): "
        "every currency's figures converted into this one; null on the others."
    )

    @classmethod
    def of(cls, statement: core.IncomeStatement) -> IncomeStatement:
        cur = statement.currency
        net = statement.net_income
        return cls(
            currency=cur,
            columns=[
                StatementColumn(
                    from_=column.date_from,
                    to=column.date_to,
                    income=money(statement.income.totals[i], cur),
                    expenses=money(statement.expenses.totals[i], cur),
                    net_income=money(net[i], cur),
                )
                for i, column in enumerate(statement.columns)
            ],
            income=StatementSection.of(statement.income, cur),
            expenses=StatementSection.of(statement.expenses, cur),
            net_income=[money(amount, cur) for amount in net],
            valuation=Valuation.of(statement.valuation),
        )


From = Annotated[dt.date | None, strawberry.argument(name="from")]


@strawberry.type
class StatementsQuery:
    @strawberry.field(
        description="Opening balance, period debits and credits and closing balance per "
        "account and currency, parents summing their subtree; `depth` folds deeper accounts "
        "into their ancestor at that depth (1: top accounts only). With `journalId` or "
        "`journalCode`, only that journal's lines count (read from its lines: slower on a "
        "big journal than the unfiltered report)."
    )
    async def trial_balance_report(
        self,
        info: Info,
        from_: From = None,
        to: dt.date | None = None,
        currency: str | None = None,
        depth: int | None = None,
        journal_id: strawberry.ID | None = None,
        journal_code: str | None = None,
        known_at: KnownAt = None,
    ) -> TrialBalanceReport:
        then = moment(known_at)
        report = await core.trial_balance_report(
            info.context.db,
            info.context.tenant_id,
            date_from=from_,
            date_to=to,
            currency=currency,
            depth=depth,
            journal_id=journal_id,
            journal_code=journal_code,
            known_at=then,
        )
        # The pending layers, read when selected: none of a journal's lines alone.
        layers = (
            None
            if journal_id is not None or journal_code is not None
            else PendingLayers(
                currency,
                as_of=to is not None,
                roll=lambda figures: core.subtree_balances(report, figures),
                known_at=then,
            )
        )
        return TrialBalanceReport(
            from_=report.date_from,
            to=report.date_to,
            depth=report.depth,
            rows=[TrialBalanceReportRow.of(row, layers) for row in report.rows],
            totals=[TrialBalanceReportTotal.of(total, layers) for total in report.totals],
            balanced=report.balanced,
        )

    @strawberry.field(
        description="Assets, liabilities and equity through asOf (default: everything "
        "posted), with current earnings and the check; one sheet per currency, then with "
        "`valuation` one more in its currency (no asOf: at today's rate)."
    )
    async def balance_sheet(
        self,
        info: Info,
        as_of: dt.date | None = None,
        currency: str | None = None,
        depth: int | None = None,
        valuation: ValuationInput | None = None,
        known_at: KnownAt = None,
    ) -> list[BalanceSheet]:
        then = moment(known_at)
        sheets = await core.balance_sheet(
            info.context.db,
            info.context.tenant_id,
            as_of=as_of,
            currency=currency,
            depth=depth,
            valuation=None if valuation is None else valuation.core(),
            known_at=then,
        )
        return [BalanceSheet.of(sheet) for sheet in sheets]

    @strawberry.field(
        description="Income and expenses from `from` through `to`, with comparative columns "
        "(PREVIOUS_PERIOD; MONTHLY: calendar months, at most 24); one per currency, then with "
        "`valuation` one more in its currency."
    )
    async def income_statement(
        self,
        info: Info,
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
        currency: str | None = None,
        compare: StatementCompare = StatementCompare.NONE,
        depth: int | None = None,
        valuation: ValuationInput | None = None,
        known_at: KnownAt = None,
    ) -> list[IncomeStatement]:
        then = moment(known_at)
        statements = await core.income_statement(
            info.context.db,
            info.context.tenant_id,
            date_from=from_,
            date_to=to,
            currency=currency,
            compare=core.Compare(compare.value),
            depth=depth,
            valuation=None if valuation is None else valuation.core(),
            known_at=then,
        )
        return [IncomeStatement.of(statement) for statement in statements]
