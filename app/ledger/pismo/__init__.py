"""The Pismo dialect's accounting rules: one module per job.

- ``fields``: the limits of Pismo's input fields and the checks the writes share;
- ``ids``: the tenant's counters that number programs and types a client leaves unnumbered;
- ``reference``: programs, entry types and event types;
- ``accounting_accounts``: the ledger accounts of a program, and the account lookups;
- ``accounting_scripts``: which accounts an entry name debits and credits;
- ``accounting_entries``: one amount between two accounting accounts;
- ``accounting_events``: amounts per entry name, posted through the scripts;
- ``posting``: how both reach ``app.ledger.posting`` (source, tracking id, retries).

Pismo ids (program 12, entry type 2100) are positive 64-bit integers, unique per
tenant. Errors name the GraphQL input field (``programId``); the REST shim renames them.

This package re-exports the public names of its modules, so the GraphQL resolvers, the
REST shim, the event document, the CLI's demo and the tests keep reading
``pismo.create_program`` and ``pismo.ENTRY_CREATED``: a re-export, not a rule. New
code may import from the module that holds the name.
"""

from __future__ import annotations

from app.ledger.pismo.accounting_accounts import (
    AccountingAccountInput,
    create_accounting_account,
    list_accounting_accounts,
)
from app.ledger.pismo.accounting_entries import (
    AccountingEntryInput,
    AccountingEntryResult,
    create_accounting_entry,
)
from app.ledger.pismo.accounting_events import (
    AccountingEventInput,
    AccountingEventResult,
    EventAmount,
    post_accounting_event,
)
from app.ledger.pismo.accounting_scripts import (
    CostCenterInput,
    ScriptInput,
    ScriptView,
    create_script,
    list_scripts,
)
from app.ledger.pismo.fields import (
    DEFAULT_ENTRY_NAME,
    ENTRY_NAMES,
    MAX_ACCOUNT_DESCRIPTION,
    MAX_ACCOUNT_NUMBER,
    MAX_AMOUNT_ADJUSTED,
    MAX_COST_CENTER_FIELD,
    MAX_EVENT_AMOUNTS,
    MAX_NAME,
    MAX_PROCESSING_CODE,
    MAX_TRACKING_ID,
    NO_ACCOUNT,
    check_entry_name,
    check_processing_code,
    parse_event_date,
    parse_id,
)
from app.ledger.pismo.ids import MAX_ID
from app.ledger.pismo.posting import (
    ENTRY_CREATED,
    EVENT_POSTED,
    EVENT_TRACKING_SCOPE,
    SOURCE,
    TRACKING_SCOPE,
)
from app.ledger.pismo.reference import (
    ProgramInput,
    TypeInput,
    create_entry_type,
    create_event_type,
    create_program,
    get_program,
    list_entry_types,
    list_event_types,
    list_programs,
)

__all__ = [
    "DEFAULT_ENTRY_NAME",
    "ENTRY_CREATED",
    "ENTRY_NAMES",
    "EVENT_POSTED",
    "EVENT_TRACKING_SCOPE",
    "MAX_ACCOUNT_DESCRIPTION",
    "MAX_ACCOUNT_NUMBER",
    "MAX_AMOUNT_ADJUSTED",
    "MAX_COST_CENTER_FIELD",
    "MAX_EVENT_AMOUNTS",
    "MAX_ID",
    "MAX_NAME",
    "MAX_PROCESSING_CODE",
    "MAX_TRACKING_ID",
    "NO_ACCOUNT",
    "SOURCE",
    "TRACKING_SCOPE",
    "AccountingAccountInput",
    "AccountingEntryInput",
    "AccountingEntryResult",
    "AccountingEventInput",
    "AccountingEventResult",
    "CostCenterInput",
    "EventAmount",
    "ProgramInput",
    "ScriptInput",
    "ScriptView",
    "TypeInput",
    "check_entry_name",
    "check_processing_code",
    "create_accounting_account",
    "create_accounting_entry",
    "create_entry_type",
    "create_event_type",
    "create_program",
    "create_script",
    "get_program",
    "list_accounting_accounts",
    "list_entry_types",
    "list_event_types",
    "list_programs",
    "list_scripts",
    "parse_event_date",
    "parse_id",
    "post_accounting_event",
]
