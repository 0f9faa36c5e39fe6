"""Bookeeping.ai in GraphQL: transactions, categories, counterparties, bank accounts.

Stable names (the REST dialect app/rest/bookeeping.py executes these in-process):

  mutation createTransaction(input: CreateTransactionInput!, force: Boolean = false)
      -> {transaction: BookeepingTransaction, action: "CREATED"|"ALREADY_EXISTS",
          warnings: [String!]!, errors: [UserError!]!}
      CreateTransactionInput {refNo, totalAmount: Money!, transactionDate: DateTime!,
          paymentMethod: PaymentMethod!, isReconciled: Boolean!, currency,
          entries: [TransactionEntryInput!]!, counterParty, account, description}
      TransactionEntryInput {id: String!, amount: Money!, type: EntryType!,
          category: String!, parentCategory: ParentCategory, isMain, note}
  query transactions(first: Int = 50, after: String) -> {nodes, hasNextPage, endCursor}
  query transaction(id: String!) -> BookeepingTransaction | null
  mutation createCounterparty(input: CreateCounterpartyInput!) -> {counterparty, errors}
  mutation createBankAccount(input: CreateBankAccountInput!) -> {bankAccount, errors}
  mutation updateAccountCategory(code: String!, emoji, group, parentCategory) -> {category, errors}
  query counterparties(page: Int = 1, limit: Int = 10, sortKey, sortOrder, query) -> {items, count}
  query counterparty(id: String!) -> Counterparty | null
  query bankAccounts(page: Int = 1, limit: Int = 10, sortKey, sortOrder, query) -> {items, count}
  query categories(page: Int = 1, limit: Int = 10, accounts: String) -> {items, count}

Every Bookeeping id is `id` here (24 lower-case hex; `_id` in REST); amounts are Money.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import strawberry

from app.ledger import bookeeping as records
from app.ledger import bookeeping_transactions as transactions
from app.ledger.bookeeping_transactions import LineType as EntryType
from app.ledger.bookeeping_transactions import PaymentMethod
from app.ledger.money import from_minor
from db.bookeeping_tables import BookeepingBankAccount, BookeepingCounterparty
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt
from graphql_schema.scalars import Money

# The core's enums are the GraphQL enums (strawberry.enum marks the class in place).
strawberry.enum(PaymentMethod)
strawberry.enum(EntryType, name="EntryType")


@strawberry.enum
class TransactionAction(Enum):
    CREATED = "CREATED"
    ALREADY_EXISTS = "ALREADY_EXISTS"


ParentCategory = strawberry.enum(records.ParentCategory, name="ParentCategory")


@strawberry.type(
    name="BookeepingCategory", description="A ledger account as Bookeeping's category."
)
class Category:
    id: str = strawberry.field(description="The account's 24-hex public id.")
    name: str
    number: str | None = strawberry.field(description="The account code.")
    emoji: str | None
    parent_category: records.ParentCategory | None
    group: str | None
    account_type: str = strawberry.field(description="ASSET, LIABILITY, EQUITY, INCOME or EXPENSE.")
    is_archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, c: records.Category) -> Category:
        return cls(
            id=c.id,
            name=c.name,
            number=c.number,
            emoji=c.emoji,
            parent_category=c.parent_category,
            group=c.group,
            account_type=c.type,
            is_archived=c.is_archived,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


@strawberry.type
class Counterparty:
    id: str
    project_id: str
    account_name: str | None
    account_number: str | None
    email: str | None
    phone: str | None
    other_emails: list[str]
    type: str | None = strawberry.field(description="customer, vendor or both.")
    tax_id: str | None
    address: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: BookeepingCounterparty, project_id: str) -> Counterparty:
        return cls(
            id=row.public_id,
            project_id=project_id,
            account_name=row.account_name,
            account_number=row.account_number,
            email=row.email,
            phone=row.phone,
            other_emails=records.other_emails(row),
            type=row.type,
            tax_id=row.tax_id,
            address=row.address,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class BankAccount:
    id: str
    project_id: str
    account_type: str = strawberry.field(description="Depository, Credit, Loan, Investment, Other.")
    nick_name: str | None
    account_name: str | None
    account_number: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: BookeepingBankAccount, project_id: str) -> BankAccount:
        return cls(
            id=row.public_id,
            project_id=project_id,
            account_type=row.account_type,
            nick_name=row.nick_name,
            account_name=row.account_name,
            account_number=row.account_number,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class TransactionLine:
    id: str
    amount: Money
    type: EntryType
    parent_category: records.ParentCategory | None = strawberry.field(
        description="As sent, else the category's."
    )
    category: Category | None
    is_main: bool | None
    note: str | None


@strawberry.type
class TransactionClass:
    id: str
    name: str


@strawberry.type
class NonProfitAllocation:
    percentage: Money
    note: str | None


@strawberry.type(name="BookeepingTransaction")
class Transaction:
    id: str = strawberry.field(description="24-hex: the journal entry id in hexadecimal.")
    entry_id: strawberry.ID = strawberry.field(description="The journal entry's id.")
    entry_number: str
    project_id: str = strawberry.field(description="The tenant's slug.")
    ref_no: str | None
    currency: str
    total_amount: Money
    transaction_date: dt.datetime
    payment_method: PaymentMethod
    source: str = strawberry.field(description="API_HOOK: created through the API.")
    original_amount: Money | None
    original_currency: str | None
    is_reconciled: bool
    non_profit_allocations: list[NonProfitAllocation]
    counter_party: Counterparty | None
    account: BankAccount | None
    entries: list[TransactionLine]
    classes: list[TransactionClass]
    attachments_ids: list[str]
    non_profit_grant_id: str | None
    attached_transaction_id: str | None
    description: str = strawberry.field(description="The journal entry's memo.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, t: transactions.Transaction) -> Transaction:
        def money(minor: int) -> Any:
            return from_minor(minor, t.currency)

        return cls(
            id=t.id,
            entry_id=strawberry.ID(str(t.entry_id)),
            entry_number=t.entry_number,
            project_id=t.project_id,
            ref_no=t.ref_no,
            currency=t.currency,
            total_amount=money(t.total_minor),
            transaction_date=t.transaction_date,
            payment_method=PaymentMethod(t.payment_method),
            source=t.source,
            original_amount=None,
            original_currency=None,
            is_reconciled=t.is_reconciled,
            non_profit_allocations=[],
            counter_party=Counterparty.of(t.counterparty, t.project_id) if t.counterparty else None,
            account=BankAccount.of(t.bank_account, t.project_id) if t.bank_account else None,
            entries=[
                TransactionLine(
                    id=line.id,
                    amount=money(line.amount_minor),
                    type=EntryType(line.type),
                    parent_category=(
                        records.ParentCategory(line.parent_category)
                        if line.parent_category
                        else (line.category.parent_category if line.category else None)
                    ),
                    category=Category.of(line.category) if line.category else None,
                    is_main=line.is_main,
                    note=line.note,
                )
                for line in t.lines
            ],
            classes=[],
            attachments_ids=[],
            non_profit_grant_id=None,
            attached_transaction_id=None,
            description=t.memo,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


@strawberry.input
class TransactionEntryInput:
    id: str
    amount: Money = strawberry.field(description="At least 0, in the transaction's currency.")
    type: EntryType
    category: str = strawberry.field(description="The 24-hex id of a category (an account).")
    parent_category: records.ParentCategory | None = None
    is_main: bool | None = None
    note: str | None = None


@strawberry.input
class CreateTransactionInput:
    total_amount: Money = strawberry.field(description="Equals the debit and the credit total.")
    transaction_date: dt.datetime = strawberry.field(
        description="The entry is dated on its calendar date as written (UTC without offset)."
    )
    payment_method: PaymentMethod
    is_reconciled: bool
    entries: list[TransactionEntryInput]
    ref_no: str | None = None
    currency: str | None = strawberry.field(default=None, description="Default: the tenant's.")
    counter_party: str | None = strawberry.field(default=None, description="A counterparty id.")
    account: str | None = strawberry.field(default=None, description="A bank account id.")
    description: str | None = strawberry.field(default=None, description="The entry's memo.")


@strawberry.type
class CreateTransactionPayload:
    transaction: Transaction | None
    action: TransactionAction | None = strawberry.field(
        description="CREATED, or ALREADY_EXISTS with the similar transaction (nothing posted)."
    )
    warnings: list[str]
    errors: list[UserError]


@strawberry.type
class TransactionConnection:
    nodes: list[Transaction]
    has_next_page: bool
    end_cursor: str | None


@strawberry.input
class CreateCounterpartyInput:
    account_name: str | None = None
    account_number: str | None = None
    email: str | None = None
    phone: str | None = None
    other_emails: list[str] | None = None
    type: str | None = strawberry.field(default=None, description="customer, vendor or both.")
    tax_id: str | None = None
    address: str | None = None


@strawberry.input
class CreateBankAccountInput:
    account_type: str = strawberry.field(description="Depository, Credit, Loan, Investment, Other.")
    nick_name: str | None = None
    account_name: str | None = None
    account_number: str | None = None


@strawberry.type
class CounterpartyPayload:
    counterparty: Counterparty | None
    errors: list[UserError]


@strawberry.type
class BankAccountPayload:
    bank_account: BankAccount | None
    errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None
    errors: list[UserError]


@strawberry.type
class CounterpartyList:
    items: list[Counterparty]
    count: int


@strawberry.type
class BankAccountList:
    items: list[BankAccount]
    count: int


@strawberry.type
class CategoryList:
    items: list[Category]
    count: int


def _transaction_input(data: CreateTransactionInput) -> transactions.TransactionInput:
    return transactions.TransactionInput(
        total_amount=data.total_amount,
        transaction_date=data.transaction_date,
        payment_method=data.payment_method.value,
        is_reconciled=data.is_reconciled,
        entries=[
            transactions.TransactionLineInput(
                id=line.id,
                amount=line.amount,
                type=line.type.value,
                category=line.category,
                parent_category=line.parent_category.value if line.parent_category else None,
                is_main=line.is_main,
                note=line.note,
            )
            for line in data.entries
        ],
        ref_no=data.ref_no,
        currency=data.currency,
        counter_party=data.counter_party,
        account=data.account,
        description=data.description,
    )


@strawberry.type
class BookeepingMutation:
    @strawberry.mutation(
        description="Posts a Bookeeping transaction as a journal entry. A similar one (same "
        "day, currency, total, refNo and lines) is not posted: action ALREADY_EXISTS returns "
        "it, unless force is true."
    )
    async def create_transaction(
        self, info: Info, input: CreateTransactionInput, force: bool = False
    ) -> CreateTransactionPayload:
        ctx = info.context

        async def run() -> transactions.Outcome:
            tenant_id = ctx.writable_tenant()
            ctx.posting.charge(1, len(input.entries), field="entries")
            return await transactions.create_transaction(
                ctx.db, tenant_id, _transaction_input(input), force=force
            )

        outcome, errors = await attempt(run)
        if outcome is None:
            return CreateTransactionPayload(
                transaction=None, action=None, warnings=[], errors=errors
            )
        return CreateTransactionPayload(
            transaction=Transaction.of(outcome.transaction),
            action=TransactionAction(outcome.action),
            warnings=outcome.warnings,
            errors=[],
        )

    @strawberry.mutation
    async def create_counterparty(
        self, info: Info, input: CreateCounterpartyInput
    ) -> CounterpartyPayload:
        ctx = info.context

        async def run() -> BookeepingCounterparty:
            tenant_id = ctx.writable_tenant()
            data = records.CounterpartyInput(
                account_name=input.account_name,
                account_number=input.account_number,
                email=input.email,
                phone=input.phone,
                other_emails=input.other_emails or (),
                type=input.type,
                tax_id=input.tax_id,
                address=input.address,
            )
            return await records.create_counterparty(ctx.db, tenant_id, data)

        row, errors = await attempt(run)
        slug = ctx.principal.tenant_slug
        return CounterpartyPayload(
            counterparty=Counterparty.of(row, slug) if row else None, errors=errors
        )

    @strawberry.mutation
    async def create_bank_account(
        self, info: Info, input: CreateBankAccountInput
    ) -> BankAccountPayload:
        ctx = info.context

        async def run() -> BookeepingBankAccount:
            tenant_id = ctx.writable_tenant()
            data = records.BankAccountInput(
                account_type=input.account_type,
                nick_name=input.nick_name,
                account_name=input.account_name,
                account_number=input.account_number,
            )
            return await records.create_bank_account(ctx.db, tenant_id, data)

        row, errors = await attempt(run)
        slug = ctx.principal.tenant_slug
        return BankAccountPayload(
            bank_account=BankAccount.of(row, slug) if row else None, errors=errors
        )

    @strawberry.mutation(
        description="Sets the Bookeeping fields of the account of this code; an omitted "
        "argument is left as it is, an empty emoji or group clears it. parentCategory must "
        "belong to the account's type (OTHER fits any)."
    )
    async def update_account_category(
        self,
        info: Info,
        code: str,
        emoji: str | None = None,
        group: str | None = None,
        parent_category: records.ParentCategory | None = None,
    ) -> CategoryPayload:
        ctx = info.context

        async def run() -> records.Category:
            return await records.update_account_category(
                ctx.db,
                ctx.writable_tenant(),
                code,
                emoji=emoji,
                group=group,
                parent_category=parent_category.value if parent_category else None,
            )

        category, errors = await attempt(run)
        return CategoryPayload(category=Category.of(category) if category else None, errors=errors)


@strawberry.type
class BookeepingQuery:
    @strawberry.field(description="Bookeeping transactions, newest first.")
    async def transactions(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> TransactionConnection:
        ctx = info.context
        found, more = await transactions.list_transactions(
            ctx.db, ctx.tenant_id, first=first, after=after
        )
        return TransactionConnection(
            nodes=[Transaction.of(t) for t in found],
            has_next_page=more,
            end_cursor=found[-1].id if found else None,
        )

    @strawberry.field(description="The tenant's transaction of this 24-hex id; null if none.")
    async def transaction(self, info: Info, id: str) -> Transaction | None:
        ctx = info.context
        found = await transactions.find_transaction(ctx.db, ctx.tenant_id, id)
        return Transaction.of(found) if found else None

    @strawberry.field
    async def counterparties(
        self,
        info: Info,
        page: int = 1,
        limit: int = records.DEFAULT_LIMIT,
        sort_key: str | None = None,
        sort_order: int | None = None,
        query: str | None = None,
    ) -> CounterpartyList:
        ctx = info.context
        rows, count = await records.list_counterparties(
            ctx.db, ctx.tenant_id, page=page, limit=limit, sort_key=sort_key,
            sort_order=sort_order, query=query,
        )  # fmt: skip
        slug = ctx.principal.tenant_slug
        return CounterpartyList(items=[Counterparty.of(r, slug) for r in rows], count=count)

    @strawberry.field(description="The tenant's counterparty of this 24-hex id; null if none.")
    async def counterparty(self, info: Info, id: str) -> Counterparty | None:
        ctx = info.context
        row = await records.find_counterparty(ctx.db, ctx.tenant_id, id)
        return Counterparty.of(row, ctx.principal.tenant_slug) if row else None

    @strawberry.field
    async def bank_accounts(
        self,
        info: Info,
        page: int = 1,
        limit: int = records.DEFAULT_LIMIT,
        sort_key: str | None = None,
        sort_order: int | None = None,
        query: str | None = None,
    ) -> BankAccountList:
        ctx = info.context
        rows, count = await records.list_bank_accounts(
            ctx.db, ctx.tenant_id, page=page, limit=limit, sort_key=sort_key,
            sort_order=sort_order, query=query,
        )  # fmt: skip
        slug = ctx.principal.tenant_slug
        return BankAccountList(items=[BankAccount.of(r, slug) for r in rows], count=count)

    @strawberry.field(
        description="The tenant's accounts as Bookeeping categories, by code; `accounts` "
        "filters on comma-separated parentCategory values."
    )
    async def categories(
        self,
        info: Info,
        page: int = 1,
        limit: int = records.DEFAULT_LIMIT,
        accounts: str | None = None,
    ) -> CategoryList:
        ctx = info.context
        found, count = await records.list_categories(
            ctx.db, ctx.tenant_id, page=page, limit=limit, accounts=accounts
        )
        return CategoryList(items=[Category.of(c) for c in found], count=count)
