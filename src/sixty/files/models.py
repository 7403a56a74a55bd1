"""The file store's tables.

- `Blob`: stored bytes, once per content. Content-addressed by SHA-256; `key` is where the bytes
  live in storage (a key of ours, see core/storage.py). `refcount` counts the `StoredFile` rows
  that use it and changes in the same transaction as they do; the row goes, and its bytes are
  deleted after commit, when it reaches 0.
- `StoredFile`: a file as its owner sees it: a name, a sniffed media type, and the blob. The
  `namespace` says which module it belongs to: `files` for the files a user manages at
  `/api/files`; another module that stores bytes (resumes, image variants) keeps its files under
  its own name and serves them itself, so they never show up in the user's file list.
- `Upload`: an upload in progress: resumable (tus) or presigned (the client PUTs to the store).
  Removed once it becomes a file, or by the `files.expire_uploads` job when it expires.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow


class Blob(UUIDPrimaryKey, Base):
    __tablename__ = "files_blob"

    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refcount: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFile(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "files_file"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    namespace: Mapped[str] = mapped_column(String(40), default="files")
    # The client's name for it, sanitised (files/names.py): metadata only, never part of a path.
    name: Mapped[str] = mapped_column(String(255))
    # Sniffed from the content when it was stored, never taken from the client.
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_blob.id", ondelete="RESTRICT"), index=True)

    __table_args__ = (
        Index("ix_files_file_owner_id_namespace_created_at_id", "owner_id", "namespace", "created_at", "id"),
    )


class Upload(UUIDPrimaryKey, Base):
    __tablename__ = "files_upload"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "tus" or "presigned"
    namespace: Mapped[str] = mapped_column(String(40), default="files")
    name: Mapped[str] = mapped_column(String(255))
    length: Mapped[int] = mapped_column(BigInteger)  # the size declared up front
    received: Mapped[int] = mapped_column(BigInteger, default=0)  # tus: the Upload-Offset
    # presigned: where the client puts the bytes; tus: unused (see `chunks`).
    key: Mapped[str | None] = mapped_column(String(200))
    # tus: the stored pieces, in order: [[offset, size, key], ...]
    chunks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("files_file.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FilePreview(Timestamps, Base):
    """I13: a file's preview (a thumbnail, a PDF's first page, a text's first lines), one per
    file, made by the `files.preview` job. `status` goes `pending` -> `ready` (the bytes are at
    `key` in storage) or `failed` (`reason` says why). The row goes with its file, and its bytes
    after commit (files/preview_service.py)."""

    __tablename__ = "files_preview"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files_file.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(40))
    key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
