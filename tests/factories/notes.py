"""Notes made through the service, as a user would make them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.notes import service
from sixty.notes.models import Note
from sixty.notes.schemas import NoteCreate


async def create_note(session: AsyncSession, *, title: str = "A note", body: str = "Some text.") -> Note:
    return await service.create_note(session, NoteCreate(title=title, body=body), scope=service.NoteScope())


async def create_notes(session: AsyncSession, count: int, *, prefix: str = "Note") -> list[Note]:
    return [
        await create_note(session, title=f"{prefix} {index}", body=f"Body {index}") for index in range(count)
    ]
