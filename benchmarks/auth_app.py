"""What authentication costs: sixty's whole app plus two benchmark routes that do the same work.

Both routes read one note by id through the Reader (a compiled Core statement on the driver, the
read path of every GET) and answer it as JSON. The second one also depends on `CurrentPrincipal`:
it verifies the bearer JWT, then does one indexed read (session open, account active). That is
the only difference between the two. The read is defined here, not taken from the notes module,
so what notes do on top (scoping, tags) never changes what this pair compares.

Served by benchmarks/run.py as `uvicorn benchmarks.auth_app:app`, with the settings of
`sixty.asgi:app`.
"""

from __future__ import annotations

import gc
import uuid
from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlalchemy import bindparam, select

from sixty.core.config import Settings
from sixty.core.deps import ReaderDep
from sixty.core.logging import configure_logging
from sixty.core.reader import Reader
from sixty.core.security import CurrentPrincipal
from sixty.main import create_app
from sixty.notes.models import Note

NOTE = select(Note.id, Note.title, Note.body, Note.created_at, Note.updated_at, Note.version).where(
    Note.id == bindparam("note_id", type_=Note.id.type)
)


class NoteOut(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    version: int


async def read_note(reader: Reader, note_id: uuid.UUID) -> NoteOut:
    row = await reader.one(NOTE, note_id=note_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return NoteOut.model_validate(row)


router = APIRouter(prefix="/bench", include_in_schema=False)


@router.get("/open/notes/{note_id}")
async def read_note_open(note_id: uuid.UUID, reader: ReaderDep) -> NoteOut:
    return await read_note(reader, note_id)


@router.get("/auth/notes/{note_id}")
async def read_note_auth(note_id: uuid.UUID, reader: ReaderDep, _principal: CurrentPrincipal) -> NoteOut:
    return await read_note(reader, note_id)


settings = Settings()
configure_logging(settings.log_level, json=settings.log_json)
app = create_app(settings)
app.include_router(router)
# As sixty.asgi does for the servers of every other run: without it, the garbage collector's full
# passes over the app's start-up objects stalled requests for ~150 ms (this pair's p99).
gc.freeze()
