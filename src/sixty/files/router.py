"""B11 + A11 files: `/api/files`. HTTP only: parse, call the service, shape the response.

Upload bodies are read as they arrive (`request.stream()`), never through FastAPI's body
parsing or `UploadFile` (which would spool them first), so their OpenAPI request bodies are
declared by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.requests import ClientDisconnect

from sixty.core.config import StorageBackend
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import (
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    Problem,
    problem_responses,
    problem_text,
    problem_type,
)
from sixty.core.i18n import N_, _
from sixty.core.middleware import raise_body_limit
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ranges import serve_bytes
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.storage import (
    DOWNLOAD_CSP,
    InvalidSignature,
    ObjectTooLarge,
    SignatureExpired,
    StorageDep,
    content_disposition,
    discard_unless_committed,
)
from sixty.files import management, quota, service, uploads
from sixty.files.management_router import UploadHoldDep, place_upload
from sixty.files.management_router import router as management_router
from sixty.files.multipart import MalformedMultipart, MultipartStream, boundary_of
from sixty.files.names import InvalidName, clean_name
from sixty.files.preview_router import preview_router
from sixty.files.resumes.router import router as resumes_router
from sixty.files.schemas import (
    CONTENT_RESPONSES,
    EXAMPLE,
    LINK_EXAMPLE,
    PRESIGNED_EXAMPLE,
    DownloadLink,
    FileName,
    FilePage,
    FileRead,
    FileSort,
    PresignedUpload,
    PresignedUploadCreate,
    UploadResult,
)
from sixty.files.tus import tus_router

router = module_router("/api/files", "files")
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
FileId = Annotated[uuid.UUID, Path(description="The file's id.")]
MULTIPART_SLACK = 1024 * 1024  # part headers and boundaries on top of the files themselves
FIELD = "file"


async def policy(settings: SettingsDep) -> service.UploadPolicy:
    return service.UploadPolicy.from_settings(settings)


PolicyDep = Annotated[service.UploadPolicy, Depends(policy)]


def _json(content: Any, status_code: int) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _read(file: Row) -> FileRead:
    return FileRead.model_validate(service.public_fields(file))


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away mid-body is a 400 (nobody reads
    it, but the unit of work rolls back and the storage drops what it had)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BadRequest(N_("The upload was cut off."), code="upload_interrupted") from None


def _problem_body(request: Request, error: Problem) -> dict[str, Any]:
    return {
        "type": problem_type(error.code),
        "title": _(error.title),
        "status": error.status,
        "detail": problem_text(error),
        "instance": request.url.path,
        "code": error.code,
        "request_id": request.scope.get("state", {}).get("request_id"),
    }


def _invalid_name() -> Problem:
    return service.EmptyFile(
        N_("A file name has no control characters and is not empty, . or .."), code="invalid_name"
    )


MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        FIELD: {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "The file; repeat the field for several.",
        }
    },
    "required": [FIELD],
}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": MULTIPART_SCHEMA},
        "application/octet-stream": {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "The raw bytes of one file (any type but multipart); `name` in the query.",
            }
        },
    },
}
MULTI_EXAMPLE = [
    {"name": "cat.png", "status": 201, "file": EXAMPLE, "problem": None},
    {
        "name": "page.png",
        "status": 415,
        "file": None,
        "problem": {
            "type": "urn:sixty:problem:unsupported_file_type",
            "title": "Unsupported media type",
            "status": 415,
            "detail": "Files of type text/html are not accepted (the type is read from the content).",
            "instance": "/api/files",
            "code": "unsupported_file_type",
            "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
        },
    },
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload files",
    description="Streams the bytes to storage as they arrive (never buffered whole). Either "
    "`multipart/form-data` with the file in field `file` (repeat it for several files), or the raw "
    "bytes of one file with any other Content-Type and its `name` in the query.\n\n"
    "The media type is sniffed from the content (the client's Content-Type and file extension are "
    "ignored) and must be in `SIXTY_FILES_ALLOWED_TYPES`: HTML, SVG, XML and scripts are refused "
    "whatever they are named (415). Past `SIXTY_FILES_MAX_BYTES` the upload stops with 413, and an "
    "empty file is a 422; nothing is kept of a refused upload. Identical content is stored once.\n\n"
    "One file answers the file (201). Several answer a list with one entry per file, each with its "
    "own `status` and the file or a problem document: 201 when all were stored, 207 otherwise.",
    response_model=FileRead,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        201: {
            "description": "Stored: the file, or (several files) one entry each.",
            "content": {"application/json": {"example": EXAMPLE}},
        },
        207: {
            "description": "Several files, some refused: one entry per file, with its status.",
            "model": list[UploadResult],
            "content": {"application/json": {"example": MULTI_EXAMPLE}},
        },
        **problem_responses(400, 401, 404, 413, 415, 422),
    },
)
async def upload_files(
    request: Request,
    hold: UploadHoldDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    upload_policy: PolicyDep,
    principal: CurrentPrincipal,
    name: Annotated[
        FileName | None, Query(description="The file's name, for a raw-body upload (ignored with multipart).")
    ] = None,
) -> Response:
    boundary = boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        if name is None:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("query", "name"), "msg": "missing", "input": None}]
            )
        raise_body_limit(request.scope, upload_policy.max_bytes)
        try:
            file = await service.store_stream(
                session, storage, _body(request), owner_id=principal.user_id, name=name, policy=upload_policy
            )
        except ObjectTooLarge:
            raise service.too_large(upload_policy.max_bytes) from None
        await place_upload(session, hold, [file], owner_id=principal.user_id)
        return _json(_read(file).model_dump(mode="json"), 201)

    raise_body_limit(
        request.scope, upload_policy.max_bytes * settings.files_max_per_request + MULTIPART_SLACK
    )
    # The bytes first, every file of the request; the rows after, in one short transaction.
    outcomes: list[tuple[str | None, service.StoredBytes | Problem]] = []
    try:
        async for part in MultipartStream(_body(request), boundary).parts():
            if part.field != FIELD or part.filename is None:
                continue  # another form field: skipped
            if len(outcomes) == settings.files_max_per_request:
                raise service.FileTooLarge(
                    N_("At most {count} files per request."),
                    count=settings.files_max_per_request,
                    code="too_many_files",
                )
            outcomes.append(
                (part.filename, await _store_part(session, storage, part.filename, part.data, upload_policy))
            )
    except MalformedMultipart:
        raise BadRequest(
            N_("The multipart body is malformed or incomplete."), code="malformed_multipart"
        ) from None
    if not outcomes:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body", FIELD), "msg": "missing", "input": None}]
        )
    results: list[tuple[str | None, Row | Problem]] = []
    for filename, outcome in outcomes:
        if isinstance(outcome, Problem):
            results.append((filename, outcome))
        else:
            file = await service.add_file(
                session, storage, outcome, owner_id=principal.user_id, name=clean_name(filename or "")
            )
            results.append((filename, file))
    await place_upload(
        session,
        hold,
        [file for _name, file in results if not isinstance(file, Problem)],
        owner_id=principal.user_id,
    )
    if len(results) == 1:
        only = results[0][1]
        if isinstance(only, Problem):
            raise only
        return _json(_read(only).model_dump(mode="json"), 201)
    entries = [
        UploadResult(name=filename, status=outcome.status, problem=None, file=None).model_dump(mode="json")
        | {"problem": _problem_body(request, outcome)}
        if isinstance(outcome, Problem)
        else UploadResult(name=filename, status=201, file=_read(outcome), problem=None).model_dump(
            mode="json"
        )
        for filename, outcome in results
    ]
    failed = any(isinstance(outcome, Problem) for _name, outcome in results)
    return _json(entries, 207 if failed else 201)


async def _store_part(
    session: SessionDep,
    storage: StorageDep,
    filename: str,
    data: AsyncIterator[bytes],
    upload_policy: service.UploadPolicy,
) -> service.StoredBytes | Problem:
    """One file of a multipart upload, to storage; a refusal is its outcome, not the request's."""
    try:
        clean_name(filename)
    except InvalidName:
        return _invalid_name()
    try:
        stored = await service.write_stream(storage, data, policy=upload_policy)
    except (service.FileTooLarge, service.UnsupportedFileType, service.EmptyFile) as error:
        return error
    # Written but not yet a file: gone again if the request does not commit.
    discard_unless_committed(session, storage, stored.key)
    return stored


@router.get(
    "",
    summary="List your files",
    description="Your files, newest first by default; `sort` by `created_at`, `name` or `size` "
    "(`-` for descending). Cursor-paginated.",
    response_model=FilePage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [EXAMPLE], "next_cursor": None}}}},
        **problem_responses(401, 422),
    },
)
async def list_files(
    reader: ReaderDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    codec: CodecDep,
    sort: Annotated[FileSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> FilePage:
    rows, next_cursor = await service.list_files(
        reader, owner_id=principal.user_id, params=page, codec=codec, sort=sort
    )
    return FilePage.model_validate(
        {"items": [service.public_fields(row) for row in rows], "next_cursor": next_cursor}
    )


@router.get(
    "/{file_id:uuid}",
    summary="A file's metadata",
    description="Name, sniffed media type, size and SHA-256 of one of your files.",
    response_model=FileRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def get_file(file_id: FileId, reader: ReaderDep, principal: CurrentPrincipal) -> FileRead:
    return _read(await service.file_for(reader, file_id, owner_id=principal.user_id))


def download_headers(*, filename: str, content_type: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(filename, inline=service.shows_inline(content_type)),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }


@router.get(
    "/{file_id:uuid}/content",
    summary="Download a file",
    description="The bytes, streamed. `Range` (one range or several: `multipart/byteranges`), "
    "`If-Range`, and `If-None-Match` against the ETag (the SHA-256) are honoured. Raster images, "
    "plain text, audio and video may show inline; anything else is an attachment. With the S3 "
    "backend and `SIXTY_FILES_REDIRECT_DOWNLOADS`, a 307 to a presigned URL instead.",
    response_class=Response,
    responses={
        **CONTENT_RESPONSES,
        307: {"description": "Download it from this presigned URL (S3, when configured)."},
        **problem_responses(401, 404, 416, 422),
    },
)
async def download_file(
    file_id: FileId,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    file = await service.file_for(reader, file_id, owner_id=principal.user_id)
    if settings.files_redirect_downloads and storage.backend == StorageBackend.s3:
        link = await storage.presign_get(
            str(file["key"]),
            expires_in=settings.files_signed_url_ttl,
            base_url="",
            filename=file["name"],
            content_type=file["content_type"],
            inline=service.shows_inline(file["content_type"]),
        )
        return RedirectResponse(link.url, status_code=307, headers={"Cache-Control": "no-store"})
    return serve_bytes(
        request,
        size=file["size"],
        etag=service.etag(file),
        content_type=file["content_type"],
        open_range=lambda offset, length: service.open_content(storage, file, offset=offset, length=length),
        last_modified=file["created_at"],
        headers=download_headers(filename=file["name"], content_type=file["content_type"]),
    )


def _signed_base(request: Request, settings: SettingsDep) -> str:
    path = request.url_for("list_files").path + "/signed"
    return (settings.public_base_url or str(request.base_url)).rstrip("/") + path


@router.post(
    "/{file_id:uuid}/link",
    summary="A download link",
    description="A URL anyone holding it can download the file with until it expires "
    "(`SIXTY_FILES_SIGNED_URL_TTL`): presigned by S3, or signed by the app on the local backend.",
    response_model=DownloadLink,
    responses={
        200: {"content": {"application/json": {"example": LINK_EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def file_link(
    file_id: FileId,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> DownloadLink:
    file = await service.file_for(reader, file_id, owner_id=principal.user_id)
    link = await storage.presign_get(
        str(file["key"]),
        expires_in=settings.files_signed_url_ttl,
        base_url=_signed_base(request, settings),
        filename=file["name"],
        content_type=file["content_type"],
        inline=service.shows_inline(file["content_type"]),
    )
    return DownloadLink(url=link.url, expires_at=link.expires_at)


@router.delete(
    "/{file_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Move a file to the trash",
    description="The file leaves your lists and reads and goes to the trash (`GET /api/files/trash`), "
    "from where it can be restored or purged; it is purged for good after `SIXTY_FILES_TRASH_RETENTION`.",
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def delete_file(file_id: FileId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    await management.trash_file(session, file_id, owner_id=principal.user_id)
    return Response(status_code=204)


# --- presigned uploads (A11) -----------------------------------------------------------------------


@router.post(
    "/presigned",
    status_code=status.HTTP_201_CREATED,
    summary="Ask for a presigned upload",
    description="An upload slot: the client PUTs exactly `size` bytes to `url` (with `headers`) "
    "before `expires_at`, straight to the store (S3, or the app's own signed URL on the local "
    "backend), then POSTs to `complete_url`.",
    response_model=PresignedUpload,
    responses={
        201: {"content": {"application/json": {"example": PRESIGNED_EXAMPLE}}},
        **problem_responses(401, 413, 415, 422),
    },
)
async def create_presigned(
    data: PresignedUploadCreate,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    upload_policy: PolicyDep,
    principal: CurrentPrincipal,
) -> PresignedUpload:
    await quota.ensure_room(session, principal.user_id, data.size, limit=settings.files_quota_bytes)
    upload, presigned = await uploads.create_presigned(
        session,
        storage,
        owner_id=principal.user_id,
        name=data.name,
        size=data.size,
        policy=upload_policy,
        url_ttl=settings.files_signed_url_ttl,
        upload_ttl=settings.files_upload_ttl,
        base_url=_signed_base(request, settings),
    )
    await quota.hold(
        session, principal.user_id, data.size, ttl=settings.files_upload_ttl, upload_id=upload.id
    )
    return PresignedUpload(
        id=upload.id,
        method=presigned.method,
        url=presigned.url,
        headers=presigned.headers,
        expires_at=presigned.expires_at,
        complete_url=request.url_for("complete_presigned", upload_id=upload.id).path,
    )


@router.post(
    "/presigned/{upload_id:uuid}/complete",
    status_code=status.HTTP_201_CREATED,
    summary="Complete a presigned upload",
    description="Checks what was put in the slot, as stored: the exact size announced, the "
    "sniffed media type against the allowlist, and its SHA-256; then it becomes a file. Refused "
    "bytes are deleted (413, 415, 422), and the slot with them.",
    response_model=FileRead,
    responses={
        201: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 409, 410, 413, 415, 422),
    },
)
async def complete_presigned(
    upload_id: Annotated[uuid.UUID, Path(description="The upload's id.")],
    session: SessionDep,
    reader: ReaderDep,
    storage: StorageDep,
    upload_policy: PolicyDep,
    principal: CurrentPrincipal,
) -> FileRead:
    file = await uploads.complete_presigned(
        session, reader, storage, upload_id, owner_id=principal.user_id, policy=upload_policy
    )
    return _read(file)


# --- the local backend's signed URLs ---------------------------------------------------------------

Token = Annotated[str, Path(min_length=20, max_length=2000, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]


def _verified(token: str, method: str, storage: StorageDep) -> Any:
    try:
        return storage.signed_urls.verify(token, method)
    except SignatureExpired:
        raise Gone(N_("This link has expired."), code="link_expired") from None
    except InvalidSignature:
        raise Forbidden(N_("This link is not valid."), code="invalid_signature") from None


@router.get(
    "/signed/{token}",
    summary="Download with a signed link",
    description="The file behind a link from `POST /api/files/{id}/link` (local backend); no "
    "sign-in. Ranges and ETags as for `/content`. 403 when the link was tampered with, 410 once it "
    "has expired.",
    response_class=Response,
    responses={**CONTENT_RESPONSES, **problem_responses(403, 404, 410, 416, 422)},
)
async def download_signed(token: Token, request: Request, storage: StorageDep) -> Response:
    signed = _verified(token, "GET", storage)
    stat = await storage.stat(signed.key)
    if stat is None:
        raise NotFound(N_("This file no longer exists."))
    content_type = signed.content_type or "application/octet-stream"
    filename = signed.filename or "download"
    sha = signed.key.rsplit("/", 1)[-1]
    return serve_bytes(
        request,
        size=stat.size,
        etag=f'"{sha}"',
        content_type=content_type,
        open_range=lambda offset, length: storage.get(signed.key, offset=offset, length=length),
        last_modified=stat.modified,
        headers=download_headers(filename=filename, content_type=content_type),
    )


@router.put(
    "/signed/{token}",
    summary="Upload with a signed link",
    description="The local backend's presigned PUT: exactly the size the link was made for, "
    "before it expires, while its upload is open. Answers 200 like S3 does; then complete the "
    "upload with `POST /api/files/presigned/{id}/complete`.",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={200: {"description": "Stored."}, **problem_responses(400, 403, 404, 410, 413, 415, 422)},
)
async def upload_signed(
    token: Token,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
) -> Response:
    signed = _verified(token, "PUT", storage)
    if not await uploads.accepts_signed_put(reader, signed.key):
        raise NotFound(N_("This upload is closed."), code="upload_closed")
    size = signed.size or 0
    # Content-Length is transport framing (the server refuses a malformed one before we run), so
    # it is read here rather than declared as a parameter: a declared size that is not the
    # signed one is refused before any byte is stored.
    if request.headers.get("content-length", str(size)) != str(size):
        raise BadRequest(N_("Send exactly {size} bytes."), size=size, code="size_mismatch")
    raise_body_limit(request.scope, size)
    try:
        written = await storage.put(signed.key, _body(request), max_size=size)
    except ObjectTooLarge:
        raise service.too_large(size) from None
    if written.size != size:
        await storage.delete(signed.key)
        raise BadRequest(N_("Send exactly {size} bytes."), size=size, code="size_mismatch")
    return Response(status_code=200, headers={"ETag": f'"{written.sha256}"'})


@router.delete(
    "/presigned/{upload_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel a presigned upload",
    description="Drops the slot and whatever was put in it.",
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def cancel_presigned(
    upload_id: Annotated[uuid.UUID, Path(description="The upload's id.")],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    await uploads.terminate(session, upload_id, owner_id=principal.user_id, kind=uploads.PRESIGNED)
    return Response(status_code=204)


files_router = router
# The module's router: one router per path prefix side by side, B12's /api/resumes included
# (core/routing.py: a router included under a prefix would be tried against every request).
router = APIRouter()
for part in (files_router, tus_router, preview_router, management_router, resumes_router):
    router.include_router(part)
