"""Pennylane's attachment uploads and downloads.

    POST /api/external/v2/ledger_attachments      201 {id, url, filename}  (deprecated by:)
    POST /api/external/v2/file_attachments        201 {id, url, filename, created_at, updated_at}
    GET  /api/external/v2/ledger_attachments/{id}/file   the bytes (also under file_attachments)

An upload is ``multipart/form-data`` with the part ``file`` and an optional text part
``filename`` (replaces the uploaded name), as Pennylane documents. The body is bounded
before it is parsed (app/http/body_limits.py): a declared ``Content-Length`` over the
limit is answered 413 before one byte is read, and the bytes received are counted as
the parser pulls them, so an undeclared or lying length stops at the limit too. The
parsed part goes to the ``uploadAttachment`` mutation in-process, as Strawberry's
multipart view would hand it.

A download streams the bytes the core's reader yields: GraphQL has no way to return
them. Only the owning tenant finds an attachment; any other id is Pennylane's 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.http.body_limits import BodyTooLarge, bounded
from app.ledger import attachments
from app.ledger.errors import NotFound
from app.ledger.tenants import Principal
from app.rest.common import ExactJSONResponse, FieldError, RestError
from app.rest.pennylane.common import BASE, STATUSES, endpoint, execute, not_found, path_id
from app.runtime.settings import AttachmentSettings

# Room for the multipart framing and the `filename` part around the file itself.
MULTIPART_ALLOWANCE = 16 * 1024

UPLOAD_MUTATION = """
mutation PennylaneUploadAttachment($file: Upload!, $filename: String) {
  uploadAttachment(file: $file, filename: $filename) {
    attachment { id filename contentType size sha256 createdAt }
    errors { code field message }
  }
}"""


def _too_large(max_bytes: int) -> RestError:
    return RestError(
        f"the file is larger than {max_bytes} bytes (LEDGERQL_ATTACHMENT_MAX_BYTES)", 413
    )


async def _read_form(request: Request, max_bytes: int) -> tuple[UploadFile, str | None, Any]:
    """The uploaded ``file``, the ``filename`` part (or None) and the form to close."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise RestError("the request body must be multipart/form-data with a part `file`", 415)
    try:
        # A declared length over the limit is refused here, before anything is read.
        form = await bounded(request, max_bytes + MULTIPART_ALLOWANCE).form(
            max_files=1, max_fields=4, max_part_size=4096
        )
    except BodyTooLarge:
        raise _too_large(max_bytes) from None
    except HTTPException as error:  # Starlette's answer to malformed multipart
        raise RestError(f"the multipart body is invalid: {error.detail}", 400) from None
    file = form.get("file")
    if not isinstance(file, UploadFile):
        await form.close()
        raise RestError(
            "file is required", 422, [FieldError("file", "is required")], "BAD_USER_INPUT"
        )
    if file.size is not None and file.size > max_bytes:
        await form.close()
        raise _too_large(max_bytes)
    name = form.get("filename")
    return file, name if isinstance(name, str) and name.strip() else None, form


def _user_error(errors: list[dict[str, Any]]) -> RestError:
    first = errors[0]
    code, field, message = first["code"], first["field"], first["message"]
    return RestError(message, STATUSES.get(code, 422), [FieldError(field, message)], code)


def _timestamp(value: str) -> str:
    """An ISO date-time as Pennylane writes it: UTC, microseconds, ``Z``."""
    moment = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _upload(collection: str) -> Callable[[Request, Principal], Awaitable[Response]]:
    async def handle(request: Request, principal: Principal) -> Response:
        settings = AttachmentSettings.from_env()
        file, filename, form = await _read_form(request, settings.max_bytes)
        try:
            payload = await execute(
                request,
                principal,
                UPLOAD_MUTATION,
                "uploadAttachment",
                {"file": file, "filename": filename},
            )
        finally:
            await form.close()
        if payload["errors"]:
            raise _user_error(payload["errors"])
        stored = payload["attachment"]
        url = str(request.url_for(f"pennylane_{collection}_file", id=stored["id"]))
        body: dict[str, Any] = {"id": int(stored["id"]), "url": url, "filename": stored["filename"]}
        if collection == "file_attachments":
            created = _timestamp(stored["createdAt"])
            body.update(created_at=created, updated_at=created)
        return ExactJSONResponse(body, status_code=201)

    return handle


def _content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, the exact name in ``filename*``."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _download(model: str) -> Callable[[Request, Principal], Awaitable[Response]]:
    async def handle(request: Request, principal: Principal) -> Response:
        request.scope["pennylane_model"] = model
        attachment_id = path_id(request)
        try:
            attachment, chunks = await attachments.open_download(
                request.app.state.db, principal.tenant_id, attachment_id
            )
        except NotFound:
            raise not_found(model, attachment_id) from None
        return StreamingResponse(
            chunks,
            media_type=attachment.content_type,
            headers={
                "Content-Length": str(attachment.size),
                "Content-Disposition": _content_disposition(attachment.filename),
                # The type was checked against the bytes; browsers must not guess another.
                "X-Content-Type-Options": "nosniff",
                "ETag": f'"{attachment.sha256}"',
            },
        )

    return handle


routes = [
    Route(
        f"{BASE}/ledger_attachments",
        endpoint(_upload("ledger_attachments")),
        methods=["POST"],
    ),
    Route(
        f"{BASE}/file_attachments",
        endpoint(_upload("file_attachments")),
        methods=["POST"],
    ),
    Route(
        f"{BASE}/ledger_attachments/{{id}}/file",
        endpoint(_download("LedgerAttachment")),
        methods=["GET"],
        name="pennylane_ledger_attachments_file",
    ),
    Route(
        f"{BASE}/file_attachments/{{id}}/file",
        endpoint(_download("FileAttachment")),
        methods=["GET"],
        name="pennylane_file_attachments_file",
    ),
]
