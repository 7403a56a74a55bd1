"""Todos made through the service, as a caller would make them."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.todos import service
from sixty.todos.models import Todo
from sixty.todos.schemas import TodoCreate


async def create_todo(
    session: AsyncSession,
    *,
    title: str = "walk the dog",
    completed: bool = False,
    order: int | None = None,
    owner_id: uuid.UUID | None = None,
) -> Todo:
    data = TodoCreate(title=title, completed=completed, order=order)
    return await service.create_todo(session, data, scope=service.TodoScope(owner_id=owner_id))


async def todo_count(
    session: AsyncSession, *, owner_id: uuid.UUID | None = None, everyone: bool = False
) -> int:
    """How many todos a list holds (the anonymous one by default), or all of them with `everyone`."""
    statement = select(func.count()).select_from(Todo)
    if not everyone:
        statement = statement.where(
            Todo.owner_id.is_(None) if owner_id is None else Todo.owner_id == owner_id
        )
    return int(await session.scalar(statement) or 0)
