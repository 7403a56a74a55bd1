"""B12 resumes: `/api/resumes`. HTTP only: parse, call the service, shape the response.

The upload body is read as it arrives (raw bytes, or the `file` field of a multipart form),
never spooled by the framework, so its OpenAPI request body is declared by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import BadRequest, problem_responses
from sixty.core.i18n import N_
from sixty.core.middleware import raise_body_limit
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ranges import serve_bytes
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal, Principal, require
from sixty.core.storage import DOWNLOAD_CSP, StorageDep, content_disposition
from sixty.files.multipart import MalformedMultipart, MultipartStream, boundary_of
from sixty.files.names import InvalidName, clean_name
from sixty.files.resumes import service
from sixty.files.resumes.schemas import (
    EXAMPLE,
    POSITION_EXAMPLE,
    VERSION_EXAMPLE,
    PositionCreate,
    PositionPage,
    PositionRead,
    ResumePage,
    ResumeRead,
    ResumeVersionPage,
    position_read,
    resume_read,
    version_read,
)
from sixty.files.schemas import FileName
from sixty.files.service import EmptyFile

router = module_router("/api/resumes", "files")
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
ResumeId = Annotated[uuid.UUID, Path(description="The resume's id.")]
# With its permissions loaded, for the checks of the service (`resumes:read` sees every resume).
ViewerDep = Annotated[Principal, Depends(require())]
EmployerDep = Annotated[Principal, Depends(require(service.READ_PERMISSION))]
ManagerDep = Annotated[Principal, Depends(require(service.MANAGE_PERMISSION))]
MULTIPART_SLACK = 64 * 1024
FIELD = "file"


async def rules(settings: SettingsDep) -> service.ResumeRules:
    return service.ResumeRules.from_settings(settings)


RulesDep = Annotated[service.ResumeRules, Depends(rules)]


def _viewer(principal: Principal) -> service.Viewer:
    return service.Viewer(principal.user_id, see_all=principal.can(service.READ_PERMISSION))


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BadRequest(N_("The upload was cut off."), code="upload_interrupted") from None


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {FIELD: {"type": "string", "format": "binary", "description": "The resume."}},
                "required": [FIELD],
            }
        },
        "application/octet-stream": {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "The raw bytes of the resume; its `name` in the query.",
            }
        },
    },
}


# --- positions -------------------------------------------------------------------------------------


@router.post(
    "/positions",
    status_code=status.HTTP_201_CREATED,
    summary="Open a position",
    description="A position candidates send resumes for. Needs `resumes:manage` (the `employer` role).",
    response_model=PositionRead,
    responses={
        201: {"content": {"application/json": {"example": POSITION_EXAMPLE}}},
        **problem_responses(401, 403, 413, 415, 422),
    },
)
async def create_position(data: PositionCreate, session: SessionDep, principal: ManagerDep) -> PositionRead:
    row = await service.create_position(
        session, title=data.title, description=data.description, created_by=principal.user_id
    )
    return position_read(row)


@router.get(
    "/positions",
    summary="List positions",
    description="Every position, newest first; no sign-in needed. Cursor-paginated.",
    response_model=PositionPage,
    responses={
        200: {
            "content": {"application/json": {"example": {"items": [POSITION_EXAMPLE], "next_cursor": None}}}
        },
        **problem_responses(422),
    },
)
async def list_positions(reader: ReaderDep, page: PageParamsDep, codec: CodecDep) -> PositionPage:
    rows, next_cursor = await service.list_positions(reader, params=page, codec=codec)
    return PositionPage(items=[position_read(row) for row in rows], next_cursor=next_cursor)


# --- resumes ---------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload your resume",
    description="Your resume for a position: a PDF or a DOCX, told by its content (never its name or "
    "Content-Type): anything else is a 415. Either `multipart/form-data` with the file in field `file`, "
    "or the raw bytes with its `name` in the query. The text is read (at most "
    "`SIXTY_RESUMES_MAX_PAGES` pages and `SIXTY_RESUMES_MAX_CHARS` characters) and the name, e-mail, "
    "phone and skills found in it are kept. Uploading again for the same position makes a new "
    "version; older versions are kept.\n\n"
    "Refused, with nothing kept: past `SIXTY_RESUMES_MAX_BYTES` (413); an empty file, an unknown "
    "position, an encrypted or damaged document, a DOCX that unpacks to too much, a document with no "
    "text (422).",
    response_model=ResumeRead,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        201: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(400, 401, 413, 415, 422),
    },
)
async def upload_resume(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    storage: StorageDep,
    resume_rules: RulesDep,
    principal: CurrentPrincipal,
    position_id: Annotated[uuid.UUID, Query(description="The position the resume is for.")],
    name: Annotated[
        FileName | None, Query(description="The file's name, for a raw-body upload (ignored with multipart).")
    ] = None,
) -> ResumeRead:
    max_bytes = resume_rules.policy.max_bytes
    boundary = boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        if name is None:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("query", "name"), "msg": "missing", "input": None}]
            )
        raise_body_limit(request.scope, max_bytes)
        row = await service.upload(
            session,
            reader,
            storage,
            _body(request),
            candidate_id=principal.user_id,
            position_id=position_id,
            name=name,
            rules=resume_rules,
        )
        return resume_read(row)
    raise_body_limit(request.scope, max_bytes + MULTIPART_SLACK)
    try:
        async for part in MultipartStream(_body(request), boundary).parts():
            if part.field != FIELD or part.filename is None:
                continue  # another form field: skipped
            try:
                filename = clean_name(part.filename)
            except InvalidName:
                raise EmptyFile(
                    N_("A file name has no control characters and is not empty, . or .."), code="invalid_name"
                ) from None
            row = await service.upload(
                session,
                reader,
                storage,
                part.data,
                candidate_id=principal.user_id,
                position_id=position_id,
                name=filename,
                rules=resume_rules,
            )
            return resume_read(row)
    except MalformedMultipart:
        raise BadRequest(
            N_("The multipart body is malformed or incomplete."), code="malformed_multipart"
        ) from None
    raise RequestValidationError(
        [{"type": "missing", "loc": ("body", FIELD), "msg": "missing", "input": None}]
    )


@router.get(
    "",
    summary="Search resumes",
    description="Every candidate's resume (its current version), for employers (`resumes:read`). "
    "Filters: `position_id`; `skill` (a skill of the vocabulary); `q`, words that must all appear "
    "in the text. Most recently updated first by default. Cursor-paginated.",
    response_model=ResumePage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [EXAMPLE], "next_cursor": None}}}},
        **problem_responses(401, 403, 422),
    },
)
async def search_resumes(
    reader: ReaderDep,
    _employer: EmployerDep,
    page: PageParamsDep,
    codec: CodecDep,
    position_id: Annotated[uuid.UUID | None, Query(description="Only resumes for this position.")] = None,
    skill: Annotated[
        str | None, Query(min_length=1, max_length=60, description="Only resumes listing this skill.")
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Words that must all appear in the text.")
    ] = None,
    sort: Annotated[
        service.ResumeSort, Query(description="Sort key; `-` prefix for descending.")
    ] = "-updated_at",
) -> ResumePage:
    rows, next_cursor = await service.list_resumes(
        reader, params=page, codec=codec, position_id=position_id, skill=skill, q=q, sort=sort
    )
    return ResumePage(items=[resume_read(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/mine",
    summary="List your resumes",
    description="Your resumes, one per position, with their current version. Cursor-paginated.",
    response_model=ResumePage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [EXAMPLE], "next_cursor": None}}}},
        **problem_responses(401, 422),
    },
)
async def my_resumes(
    reader: ReaderDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    codec: CodecDep,
    sort: Annotated[
        service.ResumeSort, Query(description="Sort key; `-` prefix for descending.")
    ] = "-updated_at",
) -> ResumePage:
    rows, next_cursor = await service.list_resumes(
        reader, params=page, codec=codec, candidate_id=principal.user_id, sort=sort
    )
    return ResumePage(items=[resume_read(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{resume_id:uuid}",
    summary="Get a resume",
    description="The resume with its current version: yours, or any for employers (`resumes:read`). "
    "Another candidate's resume is not found (404).",
    response_model=ResumeRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def get_resume(resume_id: ResumeId, reader: ReaderDep, principal: ViewerDep) -> ResumeRead:
    return resume_read(await service.resume_for(reader, resume_id, viewer=_viewer(principal)))


@router.get(
    "/{resume_id:uuid}/versions",
    summary="List a resume's versions",
    description="Every upload of the resume, newest first. Cursor-paginated.",
    response_model=ResumeVersionPage,
    responses={
        200: {
            "content": {"application/json": {"example": {"items": [VERSION_EXAMPLE], "next_cursor": None}}}
        },
        **problem_responses(401, 404, 422),
    },
)
async def list_versions(
    resume_id: ResumeId, reader: ReaderDep, principal: ViewerDep, page: PageParamsDep, codec: CodecDep
) -> ResumeVersionPage:
    rows, next_cursor = await service.list_versions(
        reader, resume_id, viewer=_viewer(principal), params=page, codec=codec
    )
    return ResumeVersionPage(items=[version_read(row) for row in rows], next_cursor=next_cursor)


CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document.",
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}, "example": "%PDF-1.7 ..."},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    },
    206: {"description": "The range asked for."},
    304: {"description": "`If-None-Match` names the current ETag: not sent again."},
    **problem_responses(401, 404, 416, 422),
}


def _download(request: Request, storage: StorageDep, row: Row) -> Response:
    key = str(row["key"])
    return serve_bytes(
        request,
        size=row["size"],
        etag=f'"{row["sha256"]}"',
        content_type=row["content_type"],
        open_range=lambda offset, length: storage.get(key, offset=offset, length=length),
        last_modified=row["version_created_at"],
        headers={
            "Content-Disposition": content_disposition(row["file_name"]),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cache-Control": "private, no-cache",
        },
    )


@router.get(
    "/{resume_id:uuid}/content",
    summary="Download a resume",
    description="The current version's document, as an attachment; ranges and ETags honoured.",
    response_class=Response,
    responses=CONTENT_RESPONSES,
)
async def download_resume(
    resume_id: ResumeId, request: Request, reader: ReaderDep, storage: StorageDep, principal: ViewerDep
) -> Response:
    row = await service.resume_for(reader, resume_id, viewer=_viewer(principal))
    return _download(request, storage, row)


@router.get(
    "/{resume_id:uuid}/versions/{number}/content",
    summary="Download a version",
    description="One version's document, as an attachment; ranges and ETags honoured.",
    response_class=Response,
    responses=CONTENT_RESPONSES,
)
async def download_version(
    resume_id: ResumeId,
    number: Annotated[int, Path(ge=1, le=2**31 - 1, description="The version's number.")],
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    principal: ViewerDep,
) -> Response:
    row = await service.version_for(reader, resume_id, number, viewer=_viewer(principal))
    return _download(request, storage, row)


@router.delete(
    "/{resume_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete your resume",
    description="Deletes the resume and every version of it; the stored documents go once no other "
    "file has the same content. Only the candidate may (403 for an employer; 404 for anyone else).",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_resume(resume_id: ResumeId, session: SessionDep, principal: ViewerDep) -> Response:
    await service.delete_resume(session, resume_id, viewer=_viewer(principal))
    return Response(status_code=204)
