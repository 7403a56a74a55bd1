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

    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
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
