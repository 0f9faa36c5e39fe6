"""Attachments in GraphQL: ``uploadAttachment`` (a multipart upload) and ``attachment(id)``.

The file travels as the GraphQL multipart request spec's ``Upload`` (Strawberry hands
the resolver Starlette's UploadFile, whose part headers give the declared content type
and the file name). The rules (types by magic number, filename, size, storage) are in
``app.ledger.attachments``; the bytes are downloaded over REST, since GraphQL cannot
return them (docs/design.md, "Attachments").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from app.ledger import attachments
from app.ledger.errors import BadInput
from app.ledger.validation import parse_id
from graphql_schema.context import Info
from graphql_schema.errors import UserError, attempt


@strawberry.type(name="Attachment", description="A document uploaded by the tenant.")
class AttachmentType:
    id: strawberry.ID
    filename: str
    content_type: str = strawberry.field(
        description="image/png, image/jpeg, image/tiff, image/bmp, image/gif or application/pdf, "
        "as the file's bytes show."
    )
    size: int = strawberry.field(description="Bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the bytes, lower-case hex.")
    created_at: dt.datetime

    @classmethod
    def of(cls, row: attachments.Attachment) -> AttachmentType:
        return cls(
            id=strawberry.ID(str(row.id)),
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            sha256=row.sha256,
            created_at=row.created_at,
        )


@strawberry.type
class UploadAttachmentPayload:
    attachment: AttachmentType | None
    errors: list[UserError]


def _parts(file: Any) -> tuple[Any, str | None, str | None]:
    """The binary file of an upload, its file name and its declared content type."""
    if isinstance(file, bytes):
        return file, None, None
    inner = getattr(file, "file", None)
    if inner is None:
        raise BadInput("file must be an uploaded file", field="file")
    return inner, getattr(file, "filename", None), getattr(file, "content_type", None)


@strawberry.type
class AttachmentQuery:
    @strawberry.field(description="The tenant's attachment of this id; null if there is none.")
    async def attachment(self, info: Info, id: strawberry.ID) -> AttachmentType | None:
        ctx = info.context
        found = await attachments.find(
            ctx.db, ctx.tenant_id, parse_id(id, field="id", what="attachment id")
        )
        return AttachmentType.of(found) if found else None


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(
        description="Stores an uploaded document (multipart request): PNG, JPEG, TIFF, BMP, GIF "
        "or PDF, checked against its bytes; at most LEDGERQL_ATTACHMENT_MAX_BYTES (and /graphql's "
        "8 MiB body cap). `filename` replaces the uploaded file's name (at most 255 characters)."
    )
    async def upload_attachment(
        self, info: Info, file: Upload, filename: str | None = None
    ) -> UploadAttachmentPayload:
        ctx = info.context

        async def run() -> attachments.Attachment:
            tenant_id = ctx.writable_tenant()
            source, uploaded_name, content_type = _parts(file)
            return await attachments.store(
                ctx.db, tenant_id, filename or uploaded_name, content_type, source
            )

        try:
            stored, errors = await attempt(run)
        finally:
            # Strawberry leaves the form's spooled files open; close this one now.
            close = getattr(getattr(file, "file", None), "close", None)
            if close is not None:
                close()
        return UploadAttachmentPayload(
            attachment=AttachmentType.of(stored) if stored else None, errors=errors
        )
