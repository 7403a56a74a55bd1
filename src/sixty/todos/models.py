from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey


class Todo(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "todo"

    # NULL: the anonymous list the Todo-Backend spec describes, shared by every anonymous caller.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    completed: Mapped[bool] = mapped_column(default=False)
    # The client's own position for the todo, kept exactly as given (NULL when never given).
    order: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # The list query: one owner's todos (or the anonymous ones) by order, then creation.
        Index("ix_todo_owner_id_order_created_at", "owner_id", "order", "created_at", "id"),
    )
