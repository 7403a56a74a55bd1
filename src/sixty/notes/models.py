from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey


class Note(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "note"

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every UPDATE, which also checks it: the ETag, and optimistic locking.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_note_created_at_id", "created_at", "id"),
        Index("ix_note_updated_at_id", "updated_at", "id"),
    )
