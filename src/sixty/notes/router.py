"""B2 + I18 Notes: `/api/notes`, your own notes with tags and read-only links.
HTTP only: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request, Response, status

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.text import NO_NUL
from sixty.notes import service
from sixty.notes.schemas import (
    EXAMPLE,
    SHARE_EXAMPLE,
    NoteCreate,
    NotePage,
    NoteRead,
    NoteReplace,
    NoteSort,
    NoteUpdate,
    ShareLink,
    ShareRequest,
    Tag,
    TagList,
    TagMatch,
)

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


async def note_scope(principal: CurrentPrincipal) -> service.NoteScope:
    return service.NoteScope(owner_id=principal.user_id)


ScopeDep = Annotated[service.NoteScope, Depends(note_scope)]
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


def _answer(note: Row, response: Response) -> NoteRead:
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
        **problem_responses(401, 413, 415, 422),
    },
)
async def create_note(
    data: NoteCreate, request: Request, response: Response, session: SessionDep, scope: ScopeDep
) -> NoteRead:
    note = await service.create_note(session, data, scope=scope)
    response.headers["Location"] = str(request.url_for("get_note", note_id=note["id"]).path)
    return _answer(note, response)


@router.get(
    "",
    summary="List notes",
    description="Your notes, newest first by default; `q` searches titles and bodies "
    "(case-insensitive); `tag` (repeatable) keeps notes with any (`match=any`) or all (`match=all`) "
    "of the tags; `sort` orders by `created_at` or `updated_at`, `-` for descending. Cursor-paginated.",
    response_model=NotePage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [EXAMPLE], "next_cursor": None}}}},
        **problem_responses(401, 422),
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
    tag: Annotated[
        list[Tag] | None,
        Query(max_length=service.MAX_TAG_FILTERS, description="Tags to filter by (repeat the parameter)."),
    ] = None,
    match: Annotated[TagMatch, Query(description="`any` or `all` of the tags.")] = "any",
) -> NotePage:
    notes, next_cursor = await service.list_notes(
        reader, scope=scope, params=page, codec=codec, q=q, tags=tag, match=match, sort=sort
    )
    # One validation call for the whole page (pydantic-core), not one per note.
    return NotePage.model_validate({"items": notes, "next_cursor": next_cursor})


@router.get(
    "/tags",
    summary="Your tags",
    description="Every tag on your notes with how many notes carry it, most used first.",
    response_model=TagList,
    responses={
        200: {"content": {"application/json": {"example": {"items": [{"tag": "home", "count": 12}]}}}},
        **problem_responses(401),
    },
)
async def list_tags(reader: ReaderDep, scope: ScopeDep) -> TagList:
    return TagList.model_validate({"items": await service.tag_counts(reader, scope=scope)})


@router.get(
    "/shared/{token}",
    summary="Read a shared note",
    description="The note behind a read-only link; no sign-in needed. 404 once the link is revoked "
    "(or the note deleted), 410 once it has expired.",
    response_model=NoteRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(404, 410, 422),
    },
)
async def read_shared_note(
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    reader: ReaderDep,
    settings: SettingsDep,
) -> NoteRead:
    return NoteRead.model_validate(await service.read_shared(reader, token, secret_key=settings.secret_key))


@router.put(
    "/{note_id:uuid}/share",
    status_code=status.HTTP_201_CREATED,
    summary="Share a note read-only",
    description="Creates a link anyone can read the note with (not change it); a new link replaces "
    "the old one. The link is shown only in this answer.",
    response_model=ShareLink,
    responses={
        201: {"content": {"application/json": {"example": SHARE_EXAMPLE}}},
        **problem_responses(401, 404, 413, 415, 422),
    },
)
async def share_note(
    note_id: uuid.UUID,
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    request: Request,
    data: ShareRequest | None = None,
) -> ShareLink:
    days = data.expires_in_days if data is not None else None
    token, expires_at = await service.share_note(
        session,
        note_id,
        scope=scope,
        secret_key=settings.secret_key,
        expires_in=timedelta(days=days) if days is not None else None,
    )
    path = request.url_for("read_shared_note", token=token).path
    base = settings.public_base_url or str(request.base_url)
    return ShareLink(url=base.rstrip("/") + path, expires_at=expires_at)


@router.delete(
    "/{note_id:uuid}/share",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sharing a note",
    description="Revokes the note's read-only link.",
    response_class=Response,
    responses={204: {"description": "Revoked."}, **problem_responses(401, 404, 422)},
)
async def unshare_note(note_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> None:
    await service.unshare_note(session, note_id, scope=scope)


@router.get(
    "/{note_id:uuid}",
    name="get_note",
    summary="Read a note",
    description="Answers the note with its `ETag`; with a matching `If-None-Match`, 304 and no body.",
    response_model=NoteRead,
    responses={
        200: {"headers": ETAG_HEADER, "content": {"application/json": {"example": EXAMPLE}}},
        304: {"description": "Not modified: the `If-None-Match` ETag is current."},
        **problem_responses(401, 404, 422),
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
    **problem_responses(401, 404, 412, 413, 415, 422),
}


@router.put(
    "/{note_id:uuid}",
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
    "/{note_id:uuid}",
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
    "/{note_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a note",
    description="Deletes the note; `If-Match` as for PUT.",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(401, 404, 412, 422)},
)
async def delete_note(
    note_id: uuid.UUID, session: SessionDep, scope: ScopeDep, if_match: IfMatch = None
) -> None:
    await service.delete_note(session, note_id, scope=scope, if_match=_etags(if_match))
