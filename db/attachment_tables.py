"""Attachments: files a tenant uploaded (invoices, receipts) that entries may reference.

The metadata is one ``attachments`` row; the bytes are either in ``attachment_blobs``
(storage "database") or in a file named by their SHA-256 (storage "directory", the
row's ``storage_key`` being the path under the configured directory).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary
from sqlmodel import Field, SQLModel

# The same id type as db/tables.py (SQLite only autoincrements INTEGER PRIMARY KEY);
# not imported from there, because db/tables.py imports this module for its foreign key.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(
        default=None, sa_column=Column(_BigId, primary_key=True, autoincrement=True)
    )
    tenant_id: int = Field(foreign_key="tenants.id", sa_type=BigInteger, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=40)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    storage: str = Field(max_length=20)  # "database" | "directory"
    storage_key: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_utcnow)


class AttachmentBlob(SQLModel, table=True):
    """The bytes of an attachment of the database storage (bytea / BLOB)."""

    __tablename__ = "attachment_blobs"

    attachment_id: int = Field(
        sa_column=Column(
            _BigId, ForeignKey("attachments.id"), primary_key=True, autoincrement=False
        )
    )
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
