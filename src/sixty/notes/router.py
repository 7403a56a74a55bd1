"""B2 Notes CRUD: `/api/notes`. HTTP only: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response, status

from sixty.core.deps import ReaderDep, SessionDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.text import NO_NUL
from sixty.notes import service
from sixty.notes.models import Note
from sixty.notes.schemas import EXAMPLE, NoteCreate, NotePage, NoteRead, NoteReplace, NoteSort, NoteUpdate

router = module_router("/api/notes", "notes")

IfMatch = Annotated[
    str | None,
    Header(
        max_length=1024,
        description="Only change the note if its current ETag is listed here (or `*`); 412 otherwise.",
        examples=['"0b6f1f5e4a534b8a9a4b0f3e6a1d2c7e.1"'],
    ),
]
ETAG_HEADER = {
    "ETag": {"description": "The note's version; send it back in `If-Match`.", "schema": {"type": "string"}}
}


async def note_scope() -> service.NoteScope:
    return service.NoteScope()


ScopeDep = Annotated[service.NoteScope, Depends(note_scope)]
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


def _answer(note: Note | Row, response: Response) -> NoteRead:
    """The note as the client sees it, with its ETag on the response."""
    response.headers["ETag"] = service.etag(note)
    return NoteRead.model_validate(note)


def _etags(header: str | None) -> list[str] | None:
    return None if header is None else [tag.strip() for tag in header.split(",") if tag.strip()]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a note",
    description="Creates a note and answers it with its `Location` and `ETag`.",
    response_model=NoteRead,
    responses={
        201: {
            "headers": {
                "Location": {"description": "The new note's URL.", "schema": {"type": "string"}},
                **ETAG_HEADER,
            },
            "content": {"application/json": {"example": EXAMPLE}},
        },
        **problem_responses(413, 415, 422),
    },
)
async def create_note(
    data: NoteCreate, request: Request, response: Response, session: SessionDep, scope: ScopeDep
) -> NoteRead:
    note = await service.create_note(session, data, scope=scope)
    response.headers["Location"] = str(request.url_for("get_note", note_id=note.id).path)
    return _answer(note, response)


@router.get(
    "",
    summary="List notes",
    description="Newest first by default; `q` searches titles and bodies (case-insensitive); "
    "`sort` orders by `created_at` or `updated_at`, `-` for descending. Cursor-paginated.",
    response_model=NotePage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [EXAMPLE], "next_cursor": None}}}},
        **problem_responses(422),
    },
)
async def list_notes(
    reader: ReaderDep,
    scope: ScopeDep,
    page: PageParamsDep,
    codec: CodecDep,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=NO_NUL, description="Text to find in title or body."),
    ] = None,
    sort: Annotated[NoteSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> NotePage:
    notes, next_cursor = await service.list_notes(
        reader, scope=scope, params=page, codec=codec, q=q, sort=sort
    )
    # One validation call for the whole page (pydantic-core), not one per note.
    return NotePage.model_validate({"items": notes, "next_cursor": next_cursor})


@router.get(
    "/{note_id}",
    name="get_note",
    summary="Read a note",
    description="Answers the note with its `ETag`; with a matching `If-None-Match`, 304 and no body.",
    response_model=NoteRead,
    responses={
        200: {"headers": ETAG_HEADER, "content": {"application/json": {"example": EXAMPLE}}},
        304: {"description": "Not modified: the `If-None-Match` ETag is current."},
        **problem_responses(404, 422),
    },
)
async def get_note(
    note_id: uuid.UUID,
    reader: ReaderDep,
    scope: ScopeDep,
    response: Response,
    if_none_match: Annotated[
        str | None, Header(max_length=1024, description="ETags the client already has.")
    ] = None,
) -> NoteRead | Response:
    note = await service.read_note(reader, note_id, scope=scope)
    tag = service.etag(note)
    if if_none_match is not None and (tag in (_etags(if_none_match) or []) or if_none_match.strip() == "*"):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    return _answer(note, response)


WRITE_RESPONSES = {
    200: {"headers": ETAG_HEADER, "content": {"application/json": {"example": EXAMPLE}}},
    **problem_responses(404, 412, 413, 415, 422),
}


@router.put(
    "/{note_id}",
    summary="Replace a note",
    description="Replaces every field. Send `If-Match` with the ETag you read to avoid overwriting "
    "someone else's change (412 when stale).",
    response_model=NoteRead,
    responses=WRITE_RESPONSES,
)
async def replace_note(
    note_id: uuid.UUID,
    data: NoteReplace,
    session: SessionDep,
    scope: ScopeDep,
    response: Response,
    if_match: IfMatch = None,
) -> NoteRead:
    note = await service.update_note(session, note_id, data, scope=scope, if_match=_etags(if_match))
    return _answer(note, response)


@router.patch(
    "/{note_id}",
    summary="Update part of a note",
    description="Changes only the fields sent. `If-Match` as for PUT.",
    response_model=NoteRead,
    responses=WRITE_RESPONSES,
)
async def update_note(
    note_id: uuid.UUID,
    data: NoteUpdate,
    session: SessionDep,
    scope: ScopeDep,
    response: Response,
    if_match: IfMatch = None,
) -> NoteRead:
    note = await service.update_note(session, note_id, data, scope=scope, if_match=_etags(if_match))
    return _answer(note, response)


@router.delete(
    "/{note_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a note",
    description="Deletes the note; `If-Match` as for PUT.",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(404, 412, 422)},
)
async def delete_note(
    note_id: uuid.UUID, session: SessionDep, scope: ScopeDep, if_match: IfMatch = None
) -> None:
    await service.delete_note(session, note_id, scope=scope, if_match=_etags(if_match))
