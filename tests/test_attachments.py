"""Attachments: Pennylane's upload and download routes and uploadAttachment, on both
engines and both storages (database blobs, a directory of content-addressed files)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from app.ledger import attachments
from app.ledger.errors import BadInput, NotFound
from app.ledger.tenants import create_key
from app.main import create_app
from db.attachment_tables import Attachment as AttachmentRow
from db.engine import Database
from tests.conftest import TenantFixture, make_tenant

BASE = "/api/external/v2"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
UPLOAD_MUTATION = """
mutation($file: Upload!, $filename: String) {
  uploadAttachment(file: $file, filename: $filename) {
    attachment { id filename contentType size sha256 createdAt }
    errors { code field message }
  }
}"""


@pytest.fixture(params=["database", "directory"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path | None]:
    """The storage the app uses: its directory, or None for the database."""
    if request.param == "database":
        monkeypatch.setenv("LEDGERQL_ATTACHMENT_STORAGE", "database")
        yield None
    else:
        root = tmp_path / "attachments"
        monkeypatch.setenv("LEDGERQL_ATTACHMENT_STORAGE", f"dir:{root}")
        yield root


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def upload(
    client: httpx.AsyncClient,
    key: str,
    data: bytes,
    *,
    name: str = "invoice.pdf",
    content_type: str = "application/pdf",
    path: str = "file_attachments",
    filename: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"{BASE}/{path}",
        files={"file": (name, data, content_type)},
        data={"filename": filename} if filename is not None else None,
        headers=auth(key),
    )


async def stored_count(db: Database, tenant_id: int) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).where(AttachmentRow.tenant_id == tenant_id)  # type: ignore[arg-type]
        )
    return int(count or 0)


def files_under(root: Path | None) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root and root.exists() else []


@pytest.mark.parametrize("path", ["ledger_attachments", "file_attachments"])
async def test_upload_then_download_returns_the_same_bytes(
    db: Database,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    storage: Path | None,
    path: str,
) -> None:
    response = await upload(client, tenant.key, PDF, name="facture été.pdf", path=path)
    assert response.status_code == 201, response.text
    body = response.json()
    expected_keys = {"id", "url", "filename"}
    if path == "file_attachments":
        expected_keys |= {"created_at", "updated_at"}
        assert body["created_at"].endswith("Z")
    assert set(body) == expected_keys
    assert body["filename"] == "facture été.pdf"
    assert urlsplit(body["url"]).path == f"{BASE}/{path}/{body['id']}/file"

    download = await client.get(urlsplit(body["url"]).path, headers=auth(tenant.key))
    assert download.status_code == 200
    assert download.content == PDF
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"facture _t_.pdf\"; filename*=UTF-8''facture%20%C3%A9t%C3%A9.pdf"
    )
    # The other path serves the same attachment.
    other = "file_attachments" if path == "ledger_attachments" else "ledger_attachments"
    again = await client.get(f"{BASE}/{other}/{body['id']}/file", headers=auth(tenant.key))
    assert again.content == PDF

    stored = await attachments.get(db, tenant.id, body["id"])
    assert (stored.size, stored.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    if storage is None:
        assert stored.storage == attachments.DATABASE and files_under(storage) == []
    else:
        sha = stored.sha256
        assert stored.storage == attachments.DIRECTORY
        assert files_under(storage) == [storage / sha[:2] / sha]
        assert (storage / sha[:2] / sha).read_bytes() == PDF


async def test_graphql_upload_and_query(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture, storage: Path | None
) -> None:
    operations = {"query": UPLOAD_MUTATION, "variables": {"file": None}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        # A generic declared type: the bytes say PNG.
        files={"0": ("scan.png", PNG, "application/octet-stream")},
        headers=auth(tenant.key),
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["uploadAttachment"]
    assert payload["errors"] == []
    attachment = payload["attachment"]
    assert attachment["filename"] == "scan.png"
    assert attachment["contentType"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()

    query = "query($id: ID!) { attachment(id: $id) { id filename contentType size sha256 } }"
    found = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": attachment["id"]}},
        headers=auth(tenant.key),
    )
    assert found.json()["data"]["attachment"]["sha256"] == attachment["sha256"]
    other = await make_tenant(db)
    foreign = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": attachment["id"]}},
        headers=auth(other.key),
    )
    assert foreign.json()["data"] == {"attachment": None}

    download = await client.get(
        f"{BASE}/ledger_attachments/{attachment['id']}/file", headers=auth(tenant.key)
    )
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"


async def test_another_tenants_attachment_is_not_found(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture, storage: Path | None
) -> None:
    response = await upload(client, tenant.key, PDF)
    attachment_id = response.json()["id"]
    other = await make_tenant(db)
    for path in ("ledger_attachments", "file_attachments"):
        foreign = await client.get(f"{BASE}/{path}/{attachment_id}/file", headers=auth(other.key))
        missing = await client.get(f"{BASE}/{path}/999999999/file", headers=auth(other.key))
        assert foreign.status_code == missing.status_code == 404
        model = "LedgerAttachment" if path == "ledger_attachments" else "FileAttachment"
        assert foreign.json() == {
            "error": "not_found",
            "message": f"Couldn't find {model} with 'id'={attachment_id}",
        }
    with pytest.raises(NotFound):
        await attachments.get(db, other.id, attachment_id)
    unauthenticated = await client.get(f"{BASE}/ledger_attachments/{attachment_id}/file")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("data", "content_type", "issue"),
    [
        (b"hello, world", "text/plain", "content type text/plain, which is not allowed"),
        (b"<html><body>invoice</body></html>", "application/pdf", "declared application/pdf"),
        (PDF, "image/png", "declared image/png but its bytes are application/pdf"),
        (b"MZ\x90\x00 not a document", "application/octet-stream", "not of an allowed type"),
        (b"", "application/pdf", "file is empty"),
    ],
)
async def test_a_file_of_a_refused_type_is_422_and_stores_nothing(
    db: Database,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    storage: Path | None,
    data: bytes,
    content_type: str,
    issue: str,
) -> None:
    response = await upload(client, tenant.key, data, content_type=content_type)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "unprocessable_entity"
    assert body["details"]["field"] == "file"
    assert issue in body["message"]
    assert await stored_count(db, tenant.id) == 0
    assert files_under(storage) == []


@pytest.mark.parametrize(
    ("name", "override", "expected"),
    [
        ("a" * 251 + ".pdf", None, 201),
        ("a" * 252 + ".pdf", None, 422),
        ("invoice.pdf", "x" * 256, 422),
        ("invoice.pdf", "../../etc/passwd", 422),
        ("invoice.pdf", "C:\\temp\\invoice.pdf", 422),
        ("invoice.pdf", "..", 422),
        ("invoice.pdf", "bad\x00name.pdf", 422),
        ("invoice.pdf", "Invoice42.pdf", 201),
    ],
)
async def test_filename_rules(
    db: Database,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    name: str,
    override: str | None,
    expected: int,
) -> None:
    response = await upload(client, tenant.key, PDF, name=name, filename=override)
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["filename"] == (override or name)
    else:
        assert response.json()["details"]["field"] == "filename"
        assert await stored_count(db, tenant.id) == 0


async def test_a_read_only_key_cannot_upload(
    db: Database, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    issued = await create_key(db, slug=tenant.slug, read_only=True)
    response = await upload(client, issued.key, PDF)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await stored_count(db, tenant.id) == 0


async def test_upload_needs_multipart_with_a_file(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    as_json = await client.post(
        f"{BASE}/file_attachments", json={"file": "x"}, headers=auth(tenant.key)
    )
    assert as_json.status_code == 415
    without_file = await client.post(
        f"{BASE}/file_attachments",
        files={"other": ("a.pdf", PDF, "application/pdf")},
        headers=auth(tenant.key),
    )
    assert without_file.status_code == 422
    assert without_file.json()["details"] == {"field": "file", "issue": "is required"}


# ---------------------------------------------------------------- 413 before the body is read


class CountingBody:
    """An ASGI receive() giving ``total`` bytes in chunks, counting what was taken."""

    def __init__(self, head: bytes, total: int, chunk: int = 64 * 1024) -> None:
        self.head, self.total, self.chunk = head, total, chunk
        self.sent = 0

    async def __call__(self) -> dict[str, Any]:
        if self.sent == 0 and self.head:
            self.sent = len(self.head)
            return {"type": "http.request", "body": self.head, "more_body": True}
        size = min(self.chunk, self.total - self.sent)
        self.sent += size
        return {"type": "http.request", "body": b"\0" * size, "more_body": self.sent < self.total}


async def call_raw(
    db: Database, key: str, receive: CountingBody, content_length: int | None
) -> tuple[int, dict[str, Any]]:
    app = create_app(db=db)
    headers = [
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"multipart/form-data; boundary=XyZ"),
    ]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{BASE}/ledger_attachments",
        "raw_path": f"{BASE}/ledger_attachments".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("ledgerql.test", 80),
        "state": {},
    }
    messages: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body)


MULTIPART_HEAD = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
)


async def test_a_declared_oversized_body_is_413_before_any_byte_is_read(
    db: Database, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERQL_ATTACHMENT_MAX_BYTES", str(1 << 20))
    total = 50 << 20
    receive = CountingBody(MULTIPART_HEAD, total)
    status, body = await call_raw(db, tenant.key, receive, content_length=total)
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert receive.sent == 0
    assert await stored_count(db, tenant.id) == 0


async def test_an_undeclared_oversized_body_stops_being_read_at_the_limit(
    db: Database, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 1 << 20
    monkeypatch.setenv("LEDGERQL_ATTACHMENT_MAX_BYTES", str(limit))
    total = 50 << 20
    receive = CountingBody(MULTIPART_HEAD, total)
    status, body = await call_raw(db, tenant.key, receive, content_length=None)
    assert status == 413, body
    # The limit, the multipart allowance and the one chunk that crossed them: no more.
    assert receive.sent <= limit + 16 * 1024 + receive.chunk
    assert await stored_count(db, tenant.id) == 0


async def test_a_file_just_over_the_limit_is_413(
    db: Database,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    storage: Path | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGERQL_ATTACHMENT_MAX_BYTES", str(len(PDF) - 1))
    too_big = await upload(client, tenant.key, PDF)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "payload_too_large"
    assert await stored_count(db, tenant.id) == 0
    assert files_under(storage) == []
    monkeypatch.setenv("LEDGERQL_ATTACHMENT_MAX_BYTES", str(len(PDF)))
    assert (await upload(client, tenant.key, PDF)).status_code == 201


# ---------------------------------------------------------------- the directory storage


class FailingSource:
    """A file that breaks after ``good`` bytes, as a dying disk or client would."""

    def __init__(self, data: bytes, good: int) -> None:
        self.data, self.good, self.at = data, good, 0

    def read(self, size: int = -1) -> bytes:
        if self.at >= self.good:
            raise OSError("read failed half-way")
        chunk = self.data[self.at : self.at + min(size, self.good - self.at)]
        self.at += len(chunk)
        return chunk


def failing(data: bytes, good: int) -> BinaryIO:
    return cast(BinaryIO, FailingSource(data, good))


def test_a_failed_write_leaves_no_file_under_its_final_name(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n" + os.urandom(2 * attachments.CHUNK_BYTES)
    with pytest.raises(OSError, match="half-way"):
        attachments.write_file(tmp_path, failing(data, len(data) // 2), None, 1 << 30)
    assert list(tmp_path.rglob("*")) == []  # neither a partial final file nor the temporary
    read, key = attachments.write_file(tmp_path, data, "application/pdf", 1 << 30)
    assert (tmp_path / key).read_bytes() == data
    assert key == f"{read.sha256[:2]}/{read.sha256}"


def test_a_crash_before_the_rename_leaves_no_final_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(fd: int) -> None:
        raise OSError("power lost during fsync")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="power lost"):
        attachments.write_file(tmp_path, PDF, None, 1 << 30)
    assert list(tmp_path.rglob("*")) == []


def test_a_refused_file_leaves_nothing_in_the_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        attachments.write_file(tmp_path, b"plain text", None, 1 << 30)
    with pytest.raises(BadInput, match="larger than"):
        attachments.write_file(tmp_path, PDF, None, len(PDF) - 1)
    assert list(tmp_path.rglob("*")) == []


async def test_a_failed_store_writes_no_row(
    db: Database, tenant: TenantFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGERQL_ATTACHMENT_STORAGE", f"dir:{tmp_path}")
    with pytest.raises(OSError, match="half-way"):
        await attachments.store(db, tenant.id, "a.pdf", None, failing(PDF, 100))
    assert await stored_count(db, tenant.id) == 0
    assert files_under(tmp_path) == []
