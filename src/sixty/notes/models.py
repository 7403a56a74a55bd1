from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow


class Note(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "note"

    # The account that owns the note (auth module); only it sees the note, others get 404.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every UPDATE, which also checks it: the ETag, and optimistic locking.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_note_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_note_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
    )


class NoteTag(Base):
    """A tag on a note; tags are normalised (see schemas.Tag), so equal tags are equal strings."""

    __tablename__ = "note_tag"
    __table_args__ = (Index("ix_note_tag_tag_note_id", "tag", "note_id"),)

    note_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class NoteShare(Base):
    """A read-only link to one note: its token is stored as a keyed hash, shown once."""

    __tablename__ = "note_share"

    note_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
