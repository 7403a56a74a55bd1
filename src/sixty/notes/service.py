"""B2 notes: the logic. No HTTP here; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import BindParameter, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from sixty.core.errors import NotFound, PreconditionFailed
from sixty.core.i18n import N_
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row
from sixty.notes.models import Note
from sixty.notes.schemas import NoteCreate, NoteReplace, NoteSort, NoteUpdate

SORTS = sort_keys(Note.id, created_at=Note.created_at, updated_at=Note.updated_at)
NOTE_COLUMNS = (Note.id, Note.title, Note.body, Note.created_at, Note.updated_at, Note.version)


@dataclass(frozen=True)
class NoteScope:
    """Whose notes a caller may see. Every query goes through `_visible`, the one place
    that owner scoping and sharing extend."""

    owner_id: uuid.UUID | None = None


def etag(note: Note | Row) -> str:
    note_id, version = (note["id"], note["version"]) if isinstance(note, dict) else (note.id, note.version)
    return f'"{note_id.hex}.{version}"'


def _visible(statement: AnySelect, scope: NoteScope) -> AnySelect:
    return statement


@cache
def _read_statement(scope: NoteScope) -> AnySelect:
    return _visible(select(*NOTE_COLUMNS).where(Note.id == bindparam("note_id")), scope)


def search_pattern(q: str) -> str:
    """A LIKE pattern matching `q` literally anywhere (its % and _ escaped)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@cache
def _list_statement(scope: NoteScope, sort: NoteSort, search: bool, after: bool) -> AnySelect:
    statement = _visible(select(*NOTE_COLUMNS), scope)
    if search:
        pattern: BindParameter[str] = bindparam("pattern", type_=String())
        statement = statement.where(
            Note.title.ilike(pattern, escape="\\") | Note.body.ilike(pattern, escape="\\")
        )
    return keyset_page(statement, SORTS[sort], after=after)


def _check_precondition(note: Note, if_match: list[str] | None) -> None:
    """`If-Match` (RFC 9110 13.1.1): strong comparison; `*` matches any current note."""
    if if_match is None:
        return
    if "*" in if_match or etag(note) in if_match:
        return
    raise PreconditionFailed(
        N_("The note has changed since you read it (ETag {etag}); read it again and retry."),
        etag=etag(note),
    )


async def read_note(reader: Reader, note_id: uuid.UUID, *, scope: NoteScope) -> Row:
    """The note as a row, for GET (the read path: no session, no ORM)."""
    row = await reader.one(_read_statement(scope), note_id=note_id)
    if row is None:
        raise NotFound(N_("Note {id} was not found."), id=str(note_id))
    return row


async def get_note(session: AsyncSession, note_id: uuid.UUID, *, scope: NoteScope) -> Note:
    """The note as an ORM object, to change it in the unit of work."""
    note: Note | None = (
        await session.scalars(_visible(select(Note).where(Note.id == note_id), scope))
    ).first()
    if note is None:
        raise NotFound(N_("Note {id} was not found."), id=str(note_id))
    return note


async def list_notes(
    reader: Reader,
    *,
    scope: NoteScope,
    params: PageParams,
    codec: CursorCodec,
    q: str | None = None,
    sort: NoteSort = "-created_at",
) -> tuple[list[Row], str | None]:
    filters = {"pattern": search_pattern(q)} if q else {}
    return await paginate(
        reader,
        lambda after: _list_statement(scope, sort, bool(q), after),
        sort=SORTS[sort],
        params=params,
        codec=codec,
        **filters,
    )


async def create_note(session: AsyncSession, data: NoteCreate, *, scope: NoteScope) -> Note:
    note = Note(title=data.title, body=data.body)
    session.add(note)
    await session.flush()
    return note


async def update_note(
    session: AsyncSession,
    note_id: uuid.UUID,
    data: NoteReplace | NoteUpdate,
    *,
    scope: NoteScope,
    if_match: list[str] | None = None,
) -> Note:
    note = await get_note(session, note_id, scope=scope)
    _check_precondition(note, if_match)
    changes = data.model_dump(exclude_unset=isinstance(data, NoteUpdate))
    for field, value in changes.items():
        setattr(note, field, value)
    await _flush_guarded(session, note)
    return note


async def delete_note(
    session: AsyncSession, note_id: uuid.UUID, *, scope: NoteScope, if_match: list[str] | None = None
) -> None:
    note = await get_note(session, note_id, scope=scope)
    _check_precondition(note, if_match)
    await session.delete(note)
    await _flush_guarded(session, note)


async def _flush_guarded(session: AsyncSession, note: Note) -> None:
    try:
        await session.flush()
    except StaleDataError:  # another request changed it between our read and our write
        raise PreconditionFailed(
            N_("The note was changed by another request; read it again and retry.")
        ) from None
