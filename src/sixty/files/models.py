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

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, Uuid
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

    # `Uuid` spelled out on columns that point at another module's table: a foreign key alone takes
    # its type from that table once it is imported, so a bindparam built from `.type` before then
    # would have none.
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"))
    namespace: Mapped[str] = mapped_column(String(40), default="files")
    # The client's name for it, sanitised (files/names.py): metadata only, never part of a path.
    name: Mapped[str] = mapped_column(String(255))
    # Sniffed from the content when it was stored, never taken from the client.
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_blob.id", ondelete="RESTRICT"), index=True)
    # I4: the folder it is in (None: the top level), and when it went to the trash.
    folder_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("files_folder.id", ondelete="SET NULL"), index=True, default=None
    )
    trashed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    __table_args__ = (
        Index("ix_files_file_owner_id_namespace_created_at_id", "owner_id", "namespace", "created_at", "id"),
    )


class Upload(UUIDPrimaryKey, Base):
    __tablename__ = "files_upload"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"), index=True
    )
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


# --- I4: folders, versions, share links, quota -----------------------------------------------------


class Folder(UUIDPrimaryKey, Timestamps, Base):
    """A folder of the owner's files; `parent_id` None is the top level. Names are unique among
    a parent's folders (`parent_key` is the parent's id, or "" at the top level, so the
    constraint holds there too)."""

    __tablename__ = "files_folder"

    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("files_folder.id", ondelete="RESTRICT"), index=True
    )
    parent_key: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("owner_id", "parent_key", "name"),)


class FileVersion(UUIDPrimaryKey, Base):
    """An earlier content of a file. The file row holds the current one; each version holds
    its own reference to its blob."""

    __tablename__ = "files_version"

    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_file.id", ondelete="CASCADE"))
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_blob.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("file_id", "number"),)


class Share(UUIDPrimaryKey, Base):
    """A read-only link to a file. Only the SHA-256 of its token is kept."""

    __tablename__ = "files_share"

    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_file.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaAccount(Base):
    """One row per user who stored files: locked while a reservation is checked, so two
    uploads of the same user take their turns (and folder moves, which must not cross)."""

    __tablename__ = "files_account"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"), primary_key=True
    )


class QuotaHold(UUIDPrimaryKey, Base):
    """Bytes reserved for an upload in progress. A tus or presigned upload's hold goes with its
    upload row (cascade); a single-request upload's hold is removed when the request ends, or
    by the `files.release_holds` job once `expires_at` passes (a crashed worker)."""

    __tablename__ = "files_quota_hold"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger)
    upload_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("files_upload.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(index=True)


# --- resumes (B12) ---------------------------------------------------------------------------------
# A candidate's resume for a position: one `Resume` per (candidate, position), with every upload
# kept as a numbered `ResumeVersion` (its bytes a `StoredFile` in the `resumes` namespace). The
# current version is the one whose `number` is the resume's `version`. `ResumeSkill` indexes each
# version's skills for filtering.


class ResumePosition(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "files_resume_position"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String())
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_files_resume_position_created_at_id", "created_at", "id"),)


class Resume(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "files_resume"

    candidate_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("auth_user.id", ondelete="CASCADE"))
    position_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files_resume_position.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)  # the current version's number

    __table_args__ = (
        Index("ix_files_resume_candidate_id_position_id", "candidate_id", "position_id", unique=True),
        Index("ix_files_resume_candidate_id_updated_at_id", "candidate_id", "updated_at", "id"),
        Index("ix_files_resume_updated_at_id", "updated_at", "id"),
    )


class ResumeVersion(UUIDPrimaryKey, Base):
    __tablename__ = "files_resume_version"

    resume_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_resume.id", ondelete="CASCADE"))
    number: Mapped[int]
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files_file.id", ondelete="RESTRICT"), index=True)
    # Parsed from the text where found.
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    pages: Mapped[int | None]
    characters: Mapped[int]
    # The extracted text, lower-cased with words separated by single spaces (what `q` searches).
    search_text: Mapped[str] = mapped_column(String())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_files_resume_version_resume_id_number", "resume_id", "number", unique=True),)


class ResumeSkill(Base):
    __tablename__ = "files_resume_skill"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files_resume_version.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(60), primary_key=True)

    __table_args__ = (Index("ix_files_resume_skill_skill_version_id", "skill", "version_id"),)
