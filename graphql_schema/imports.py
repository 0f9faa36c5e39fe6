"""importLedger: a ledger file uploaded with the GraphQL multipart request spec.

The upload travels in a multipart/form-data body (``operations``, ``map``, then
the file), which a browser may send cross-site without a preflight: the
endpoint stays safe from CSRF because every operation needs the API key in the
``Authorization`` or ``X-API-Key`` header, which a cross-site page cannot set
without a CORS preflight that this server never grants, and no cookie
authenticates anything. Bodies are capped at 8 MiB like every /graphql request:
larger files go through ``ledgerql import``.
"""

from __future__ import annotations

import io
from enum import Enum
from typing import Any, BinaryIO

import strawberry
from strawberry.file_uploads import Upload

from app.ledger import importing
from app.ledger.errors import BadInput
from app.ledger.ledgerfile import format_named
from graphql_schema.context import Info
from graphql_schema.errors import ErrorCode, UserError, attempt

MAX_FAILURES_RETURNED = 20


@strawberry.enum
class ImportFormat(Enum):
    JSONL = "jsonl"
    CSV = "csv"
    JOURNAL = "journal"


@strawberry.type
class ImportFailure:
    line: int = strawberry.field(description="Line of the file where the problem is.")
    field: str | None = strawberry.field(
        description="The offending field: lines.1.debit in JSON Lines, the column in CSV, "
        "account/amount/date in a journal; null when no one field."
    )
    code: ErrorCode
    message: str

    @classmethod
    def of(cls, error: importing.EntryError) -> ImportFailure:
        return cls(
            line=error.line, field=error.field, code=ErrorCode(error.code), message=error.message
        )


@strawberry.type
class ImportLedgerPayload:
    posted: int = strawberry.field(description="Entries posted by this call.")
    already_imported: int = strawberry.field(
        description="Entries found posted by an earlier import of the same entries."
    )
    failed: int = strawberry.field(description="Entries refused; the others were posted.")
    accounts_created: int
    failures: list[ImportFailure] = strawberry.field(
        description=f"The first {MAX_FAILURES_RETURNED} refused entries, in line order."
    )
    errors: list[UserError] = strawberry.field(
        description="Set when the file as a whole was refused and nothing was posted."
    )


def _binary(file: Any) -> BinaryIO:
    """The seekable binary file of an upload (Starlette's UploadFile, or raw bytes)."""
    if isinstance(file, bytes):
        return io.BytesIO(file)
    inner = getattr(file, "file", None)
    if inner is None:
        raise BadInput("file must be an uploaded file", field="file")
    return inner  # type: ignore[no-any-return]


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Posts every entry of an uploaded ledger file (multipart request, at most "
        "8 MiB; use `ledgerql import` for larger files). Entries are keyed by their external "
        "id, or the file's hash and their line, so uploading the same file again posts "
        "nothing twice. A refused entry is reported and does not stop the others."
    )
    async def import_ledger(
        self,
        info: Info,
        file: Upload,
        format: ImportFormat,
        create_accounts: bool = False,
    ) -> ImportLedgerPayload:
        ctx = info.context

        async def run() -> importing.ImportSummary:
            tenant_id = ctx.writable_tenant()
            # Bounded by the body cap, not by the request's posting budget: it takes it all.
            ctx.posting.take_all("importLedger")
            return await importing.import_file(
                ctx.db,
                tenant_id,
                _binary(file),
                format_named(format.value),
                create_accounts=create_accounts,
                create_hint="createAccounts: true to create it",
            )

        try:
            summary, errors = await attempt(run)
        finally:
            # Strawberry leaves the form's spooled files open; close this one now.
            close = getattr(getattr(file, "file", None), "close", None)
            if close is not None:
                close()
        if summary is None:
            return ImportLedgerPayload(
                posted=0,
                already_imported=0,
                failed=0,
                accounts_created=0,
                failures=[],
                errors=errors,
            )
        return ImportLedgerPayload(
            posted=summary.posted,
            already_imported=summary.already_imported,
            failed=summary.failed,
            accounts_created=summary.accounts_created,
            failures=[ImportFailure.of(e) for e in summary.errors[:MAX_FAILURES_RETURNED]],
            errors=[],
        )
