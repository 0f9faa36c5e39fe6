"""Attachments: documents (invoices, receipts) a tenant uploads and entries reference.

- **Types**: PNG, JPEG, TIFF, BMP, GIF and PDF, as Pennylane allows. The type is read
  from the bytes' magic number; a declared type must agree with it (a client's header
  is a claim, not a fact: a ``.pdf`` that is an HTML page is refused). A missing or
  generic declared type (``application/octet-stream``, what curl sends for ``.tiff``)
  takes the type the bytes show.
- **Filename**: the text rule (app/ledger/text.py), 1 to 255 characters, no ``/`` or
  ``\\`` and not ``.`` or ``..``: it is shown and offered back on download, never used
  as a path.
- **Storage** (``LEDGERQL_ATTACHMENT_STORAGE``): ``database`` keeps the bytes in
  ``attachment_blobs``, written in the same transaction as the metadata row;
  ``dir:PATH`` writes ``PATH/ab/<sha256>`` (content-addressed) through a temporary file
  that is fsynced then renamed, so a crash leaves either the whole file or none under
  its name; the row is inserted after the rename, so no row names a missing file (a
  file whose row failed is an orphan: harmless, and reused by the same bytes).
- **Size**: at most ``LEDGERQL_ATTACHMENT_MAX_BYTES``; the bytes are counted while read,
  so a source larger than the limit is never read further than the limit.

A foreign tenant's attachment is NotFound, exactly like a missing one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import Connection, insert, select

from app.ledger.errors import BadInput, NotFound
from app.ledger.text import check_text, column_length
from app.runtime.settings import AttachmentSettings
from db.attachment_tables import Attachment as AttachmentRow
from db.attachment_tables import AttachmentBlob

if TYPE_CHECKING:
    from db.engine import Database

DATABASE = "database"
DIRECTORY = "directory"
CHUNK_BYTES = 256 * 1024
MAX_FILENAME = column_length(AttachmentRow, "filename")
# Acrobat finds the %PDF- header anywhere in the first 1,024 bytes (PDF 1.7, annex H);
# the image formats put their signature at offset 0.
HEAD_BYTES = 1024

ALLOWED_TYPES = (
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/bmp",
    "image/gif",
    "application/pdf",
)
# Names clients use for the same types.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "image/tif": "image/tiff",
    "application/x-pdf": "application/pdf",
}
# Declared types that say nothing: the bytes decide.
_UNSPECIFIED = ("", "application/octet-stream", "binary/octet-stream")
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),  # BigTIFF
    (b"MM\x00+", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_STORAGE_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}")

_rows = AttachmentRow.__table__  # type: ignore[attr-defined]
_blobs = AttachmentBlob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Attachment:
    id: int
    tenant_id: int
    filename: str
    content_type: str
    size: int
    sha256: str  # hex
    created_at: dt.datetime
    storage: str  # DATABASE | DIRECTORY
    storage_key: str  # DIRECTORY: "ab/<sha256>" under the directory; DATABASE: the id


@dataclass(frozen=True)
class _Read:
    content_type: str
    size: int
    sha256: str


# ---------------------------------------------------------------- rules


def sniff(head: bytes) -> str | None:
    """The allowed type the first bytes of a file show, or None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return "application/pdf" if b"%PDF-" in head[:HEAD_BYTES] else None


def check_content_type(declared: str | None, head: bytes) -> str:
    """The attachment's type: the declared one if allowed and the bytes agree, else BadInput."""
    given = (declared or "").split(";")[0].strip().lower()
    given = _ALIASES.get(given, given)
    shown = sniff(head)
    allowed = ", ".join(ALLOWED_TYPES)
    if given in _UNSPECIFIED:
        if shown is None:
            raise BadInput(f"file is not of an allowed type ({allowed})", field="file")
        return shown
    if given not in ALLOWED_TYPES:
        raise BadInput(
            f"file has the content type {given}, which is not allowed ({allowed})", field="file"
        )
    if shown != given:
        raise BadInput(
            f"file is declared {given} but its bytes are "
            + (f"{shown}" if shown else "not of an allowed type"),
            field="file",
        )
    return given


def check_filename(value: object) -> str:
    name = check_text(value, field="filename", max_length=MAX_FILENAME)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise BadInput("filename must be a file name, without / or \\", field="filename")
    return name


def _too_large(max_bytes: int) -> BadInput:
    return BadInput(
        f"file is larger than {max_bytes} bytes (LEDGERQL_ATTACHMENT_MAX_BYTES)", field="file"
    )


def _chunks(source: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK_BYTES):
            yield data[start : start + CHUNK_BYTES]
        return
    while chunk := source.read(CHUNK_BYTES):
        yield chunk


def _read(
    source: bytes | BinaryIO, declared: str | None, max_bytes: int, sink: Callable[[bytes], object]
) -> _Read:
    """Hands every chunk of ``source`` to ``sink``, checking its type and size on the way.

    Reads at most ``max_bytes`` + one chunk: a larger source fails without being read whole.
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    content_type: str | None = None
    for chunk in _chunks(source):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        if content_type is None:
            head += chunk[: HEAD_BYTES - len(head)]
            if len(head) >= HEAD_BYTES:
                content_type = check_content_type(declared, head)
        digest.update(chunk)
        sink(chunk)
    if size == 0:
        raise BadInput("file is empty", field="file")
    if content_type is None:
        content_type = check_content_type(declared, head)
    return _Read(content_type, size, digest.hexdigest())


# ---------------------------------------------------------------- directory storage


def _fsync_directory(path: Path) -> None:
    """Makes a rename in ``path`` durable (the directory entry, not only the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(
    root: Path, source: bytes | BinaryIO, declared: str | None, max_bytes: int
) -> tuple[_Read, str]:
    """Writes ``source`` under ``root`` as ``ab/<sha256>``; returns what was read and the key.

    The bytes go to a temporary file in ``root`` (same file system), fsynced, then renamed
    to their final name: the name only ever holds a complete file. Any failure, the
    type or size check included, removes the temporary file.
    """
    root.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            read = _read(source, declared, max_bytes, out.write)
            out.flush()
            os.fsync(out.fileno())
        key = f"{read.sha256[:2]}/{read.sha256}"
        final = root / key
        final.parent.mkdir(exist_ok=True)
        # Atomic: an existing file of the same name has the same bytes (content-addressed).
        os.replace(temporary, final)
        _fsync_directory(final.parent)
        return read, key
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _directory(settings: AttachmentSettings) -> Path:
    directory = settings.directory
    if directory is None:
        raise RuntimeError(
            "an attachment is stored in a directory but LEDGERQL_ATTACHMENT_STORAGE names none"
        )
    return Path(directory)


def _file_path(root: Path, key: str) -> Path:
    if not _STORAGE_KEY.fullmatch(key):  # the database's text, yet never trusted as a path
        raise RuntimeError(f"malformed attachment storage key {key!r}")
    return root / key


# ---------------------------------------------------------------- store, get, read


def _insert(conn: Connection, values: dict[str, object], data: bytes | None) -> int:
    new_id = int(conn.execute(insert(_rows).values(**values).returning(_rows.c.id)).scalar_one())
    if data is not None:
        conn.execute(insert(_blobs).values(attachment_id=new_id, data=data))
    return new_id


async def store(
    db: Database,
    tenant_id: int,
    filename: object,
    content_type: str | None,
    source: bytes | BinaryIO,
    *,
    settings: AttachmentSettings | None = None,
) -> Attachment:
    """Stores ``source`` for the tenant on the configured storage; BadInput if refused.

    ``content_type`` is what the client declared (None if nothing): see ``check_content_type``.
    """
    settings = settings or AttachmentSettings.from_env()
    name = check_filename(filename)
    created_at = dt.datetime.now(dt.UTC)
    data: bytes | None = None
    if settings.directory is None:
        parts: list[bytes] = []
        # File reads and hashing off the event loop: megabytes are milliseconds of CPU.
        read = await asyncio.to_thread(
            _read, source, content_type, settings.max_bytes, parts.append
        )
        data = b"".join(parts)
        storage, key = DATABASE, ""
    else:
        read, key = await asyncio.to_thread(
            write_file, Path(settings.directory), source, content_type, settings.max_bytes
        )
        storage = DIRECTORY
    values: dict[str, object] = {
        "tenant_id": tenant_id,
        "filename": name,
        "content_type": read.content_type,
        "size": read.size,
        "sha256": read.sha256,
        "storage": storage,
        "storage_key": key,
        "created_at": created_at,
    }
    new_id = await db.run_write(lambda conn: _insert(conn, values, data))
    return Attachment(
        id=new_id,
        tenant_id=tenant_id,
        filename=name,
        content_type=read.content_type,
        size=read.size,
        sha256=read.sha256,
        created_at=created_at,
        storage=storage,
        storage_key=key or str(new_id),
    )


def _of(row: AttachmentRow) -> Attachment:
    assert row.id is not None
    created_at = row.created_at
    if created_at.tzinfo is None:  # SQLite keeps no offset; every stored time is UTC
        created_at = created_at.replace(tzinfo=dt.UTC)
    return Attachment(
        id=row.id,
        tenant_id=row.tenant_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        created_at=created_at,
        storage=row.storage,
        storage_key=row.storage_key or str(row.id),
    )


async def find(db: Database, tenant_id: int, attachment_id: int) -> Attachment | None:
    """The tenant's attachment, or None (also for another tenant's id)."""
    async with db.read() as session:
        row = await session.get(AttachmentRow, attachment_id)
    if row is None or row.tenant_id != tenant_id:
        return None
    return _of(row)


async def get(db: Database, tenant_id: int, attachment_id: int) -> Attachment:
    """The tenant's attachment; NotFound for a missing id and for another tenant's alike."""
    found = await find(db, tenant_id, attachment_id)
    if found is None:
        raise NotFound(f"attachment {attachment_id} does not exist", field="id")
    return found


async def _blob(db: Database, attachment_id: int) -> bytes:
    async with db.read() as session:
        data = await session.scalar(
            select(_blobs.c.data).where(_blobs.c.attachment_id == attachment_id)
        )
    if data is None:
        raise RuntimeError(f"attachment {attachment_id} has no stored bytes")
    return bytes(data)


async def _file_chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


async def _memory_chunks(data: bytes) -> AsyncIterator[bytes]:
    for chunk in _chunks(data):
        yield chunk


async def open_download(
    db: Database,
    tenant_id: int,
    attachment_id: int,
    *,
    settings: AttachmentSettings | None = None,
) -> tuple[Attachment, AsyncIterator[bytes]]:
    """The attachment and its bytes as chunks, for a download: NotFound as ``get``.

    Everything that can fail (the row, the blob, opening the file) fails here, before a
    response has started; the chunks only read.
    """
    attachment = await get(db, tenant_id, attachment_id)
    if attachment.storage == DATABASE:
        return attachment, _memory_chunks(await _blob(db, attachment.id))
    path = _file_path(_directory(settings or AttachmentSettings.from_env()), attachment.storage_key)
    handle = await asyncio.to_thread(path.open, "rb")
    size = os.fstat(handle.fileno()).st_size
    if size != attachment.size:
        handle.close()
        raise RuntimeError(
            f"attachment {attachment.id}: {path} has {size} bytes, not {attachment.size}"
        )
    return attachment, _file_chunks(handle)


async def read_bytes(
    db: Database,
    tenant_id: int,
    attachment_id: int,
    *,
    settings: AttachmentSettings | None = None,
) -> bytes:
    """All the bytes of the tenant's attachment (NotFound as ``get``)."""
    _, chunks = await open_download(db, tenant_id, attachment_id, settings=settings)
    return b"".join([chunk async for chunk in chunks])
