"""Notes made through the service, as their owner would make them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.reader import Row
from sixty.notes import service
from sixty.notes.schemas import NoteCreate


async def create_note(
    session: AsyncSession,
    owner_id: uuid.UUID,
    *,
    title: str = "A note",
    body: str = "Some text.",
    tags: list[str] | None = None,
) -> Row:
    data = NoteCreate(title=title, body=body, tags=tags or [])
    return await service.create_note(session, data, scope=service.NoteScope(owner_id=owner_id))


async def create_notes(
    session: AsyncSession, owner_id: uuid.UUID, count: int, *, prefix: str = "Note"
) -> list[Row]:
    return [
        await create_note(session, owner_id, title=f"{prefix} {index}", body=f"Body {index}")
        for index in range(count)
    ]
