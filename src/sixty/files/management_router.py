"""I4 file management under `/api/files`: folders, moving and renaming files, the trash,
versions, share links and the quota. HTTP only; the logic is in management.py and quota.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated

import argon2
from fastapi import Depends, Header, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import BadRequest, problem_responses
from sixty.core.i18n import N_
from sixty.core.middleware import raise_body_limit
from sixty.core.models import utcnow
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ranges import serve_bytes
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.storage import DOWNLOAD_CSP, StorageDep, content_disposition
from sixty.files import management, quota, service
from sixty.files.management_schemas import (
    FOLDER_EXAMPLE,
    SHARE_CREATED_EXAMPLE,
    SHARE_EXAMPLE,
    SHARED_EXAMPLE,
    TRASHED_EXAMPLE,
    USAGE_EXAMPLE,
    VERSION_EXAMPLE,
    FileUpdate,
    FolderCreate,
    FolderPage,
    FolderRead,
    FolderSort,
    FolderUpdate,
    ShareCreate,
    ShareCreated,
    SharedFileRead,
    ShareList,
    ShareRead,
    TrashEmptied,
    TrashPage,
    UsageRead,
    VersionList,
    VersionRead,
)
from sixty.files.schemas import CONTENT_RESPONSES, EXAMPLE, FilePage, FileRead, FileSort

router = module_router("/api/files", "files")
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
FileId = Annotated[uuid.UUID, Path(description="The file's id.")]
FolderId = Annotated[uuid.UUID, Path(description="The folder's id.")]
Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version's number.")]
ShareToken = Annotated[str, Path(min_length=20, max_length=100, description="The share link's token.")]
SharePassword = Annotated[
    str | None,
    Header(alias="X-Share-Password", max_length=200, description="The link's password, if it has one."),
]
SHARE_PER_IP = rate_policy("files.share.ip", "60/minute")
FILE_PAGE_EXAMPLE = {"items": [EXAMPLE], "next_cursor": None}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _file(row: Row) -> FileRead:
    return FileRead.model_validate(service.public_fields(row))


def _hasher(settings: Settings) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=argon2.Type.ID,
    )


def _download_headers(file: Row) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(
            file["name"], inline=service.shows_inline(file["content_type"])
        ),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }


def _serve(request: Request, storage: StorageDep, file: Row) -> Response:
    return serve_bytes(
        request,
        size=file["size"],
        etag=f'"{file["sha256"]}"',
        content_type=file["content_type"],
        open_range=lambda offset, length: storage.get(str(file["key"]), offset=offset, length=length),
        last_modified=file["created_at"],
        headers=_download_headers(file),
    )


# --- quota holds for uploads that stream in one request --------------------------------------------


class UploadHold:
    """The bytes held for this request's upload (see quota.py), and the folder it goes to."""

    def __init__(self, hold_id: uuid.UUID, folder_id: uuid.UUID | None) -> None:
        self.hold_id = hold_id
        self.folder_id = folder_id


def _request_cap(request: Request, settings: Settings) -> int:
    """The most this request may store: one file's limit for a raw body, several for multipart."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        return settings.files_max_bytes * settings.files_max_per_request + 1024 * 1024
    return settings.files_max_bytes


@asynccontextmanager
async def _held(
    request: Request, settings: Settings, owner_id: uuid.UUID, folder_id: uuid.UUID | None
) -> AsyncIterator[UploadHold]:
    """Reserve the request's length (or, without one, the most it may store) against the quota
    before a byte is read (413 `quota_exceeded`); the hold goes again if the request fails."""
    cap = _request_cap(request, settings)
    try:
        declared = int(request.headers.get("content-length", ""))
    except ValueError:
        declared = cap
    db: Database = request.app.state.db
    hold_id = await quota.reserve_now(
        db,
        owner_id,
        max(min(declared, cap), 0),
        limit=settings.files_quota_bytes,
        ttl=settings.files_upload_ttl,
    )
    try:
        yield UploadHold(hold_id, folder_id)
    except BaseException:
        await quota.release_now(db, hold_id)
        raise


async def upload_hold(
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    folder_id: Annotated[
        uuid.UUID | None, Query(description="The folder to put the file(s) in; the top level when absent.")
    ] = None,
) -> AsyncIterator[UploadHold]:
    """The hold of an upload to `/api/files`. Declared before the unit of work, so a failed
    request's hold is released after that has rolled back."""
    if folder_id is not None:
        await management.folder_for(reader, folder_id, owner_id=principal.user_id)
    async with _held(request, settings, principal.user_id, folder_id) as hold:
        yield hold


async def version_hold(
    request: Request, settings: SettingsDep, principal: CurrentPrincipal
) -> AsyncIterator[UploadHold]:
    """The hold of a new version's upload."""
    async with _held(request, settings, principal.user_id, None) as hold:
        yield hold


UploadHoldDep = Annotated[UploadHold, Depends(upload_hold, scope="function")]
VersionHoldDep = Annotated[UploadHold, Depends(version_hold, scope="function")]


async def place_upload(
    session: AsyncSession, hold: UploadHold, files: list[Row], *, owner_id: uuid.UUID
) -> None:
    """The upload's files are stored in this transaction: into their folder, and the hold goes."""
    if hold.folder_id is not None:
        for file in files:
            placed = await management.update_file(
                session, file["id"], owner_id=owner_id, changes={"folder_id": hold.folder_id}
            )
            file["folder_id"] = placed["folder_id"]
    await quota.settle(session, hold_id=hold.hold_id)


# --- usage -----------------------------------------------------------------------------------------


@router.get(
    "/usage",
    summary="Your storage quota",
    description="Bytes used by your files (their earlier versions and the trash included), bytes "
    "held by uploads in progress, your quota (`SIXTY_FILES_QUOTA_BYTES`) and what is left.",
    response_model=UsageRead,
    responses={200: {"content": {"application/json": {"example": USAGE_EXAMPLE}}}, **problem_responses(401)},
)
async def usage(reader: ReaderDep, settings: SettingsDep, principal: CurrentPrincipal) -> UsageRead:
    used, reserved = await quota.usage(reader, principal.user_id)
    limit = settings.files_quota_bytes
    return UsageRead(used=used, reserved=reserved, limit=limit, available=max(limit - used - reserved, 0))


# --- folders ---------------------------------------------------------------------------------------


@router.post(
    "/folders",
    status_code=status.HTTP_201_CREATED,
    summary="Create a folder",
    description="A folder at the top level or inside `parent_id`. Names are unique among a parent's "
    "folders (409 `folder_name_taken`) and have no `/`, `\\`, control characters, and are not `.` or "
    "`..` (422). Folders nest at most 32 deep.",
    response_model=FolderRead,
    responses={
        201: {"content": {"application/json": {"example": FOLDER_EXAMPLE}}},
        **problem_responses(401, 404, 409, 413, 415, 422),
    },
)
async def create_folder(data: FolderCreate, session: SessionDep, principal: CurrentPrincipal) -> FolderRead:
    row = await management.create_folder(
        session, owner_id=principal.user_id, name=data.name, parent_id=data.parent_id
    )
    return FolderRead.model_validate(row)


@router.get(
    "/folders",
    summary="List folders",
    description="The folders inside `parent_id`, or at the top level without it. Cursor-paginated.",
    response_model=FolderPage,
    responses={
        200: {"content": {"application/json": {"example": {"items": [FOLDER_EXAMPLE], "next_cursor": None}}}},
        **problem_responses(401, 404, 422),
    },
)
async def list_folders(
    reader: ReaderDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    codec: CodecDep,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="The parent folder; top level when absent.")
    ] = None,
    sort: Annotated[FolderSort, Query(description="Sort key; `-` prefix for descending.")] = "name",
) -> FolderPage:
    rows, next_cursor = await management.list_folders(
        reader, owner_id=principal.user_id, parent_id=parent_id, params=page, codec=codec, sort=sort
    )
    return FolderPage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.get(
    "/folders/{folder_id:uuid}",
    summary="A folder",
    description="One of your folders.",
    response_model=FolderRead,
    responses={
        200: {"content": {"application/json": {"example": FOLDER_EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def get_folder(folder_id: FolderId, reader: ReaderDep, principal: CurrentPrincipal) -> FolderRead:
    return FolderRead.model_validate(
        await management.folder_for(reader, folder_id, owner_id=principal.user_id)
    )


@router.get(
    "/folders/{folder_id:uuid}/files",
    summary="The files in a folder",
    description="The folder's files (not those in the trash). Cursor-paginated.",
    response_model=FilePage,
    responses={
        200: {"content": {"application/json": {"example": FILE_PAGE_EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def list_folder_files(
    folder_id: FolderId,
    reader: ReaderDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    codec: CodecDep,
    sort: Annotated[FileSort, Query(description="Sort key; `-` prefix for descending.")] = "name",
) -> FilePage:
    rows, next_cursor = await management.list_folder_files(
        reader, folder_id, owner_id=principal.user_id, params=page, codec=codec, sort=sort
    )
    return FilePage.model_validate(
        {"items": [service.public_fields(row) for row in rows], "next_cursor": next_cursor}
    )


@router.patch(
    "/folders/{folder_id:uuid}",
    summary="Rename or move a folder",
    description="`name` renames; `parent_id` moves (null: to the top level). Moving a folder into "
    "itself or one of its own folders is a 409 `folder_cycle`; a name already taken there is a 409 "
    "`folder_name_taken`.",
    response_model=FolderRead,
    responses={
        200: {"content": {"application/json": {"example": FOLDER_EXAMPLE}}},
        **problem_responses(401, 404, 409, 413, 415, 422),
    },
)
async def update_folder(
    folder_id: FolderId, data: FolderUpdate, session: SessionDep, principal: CurrentPrincipal
) -> FolderRead:
    changes = data.model_dump(include=data.model_fields_set)
    row = await management.update_folder(session, folder_id, owner_id=principal.user_id, changes=changes)
    return FolderRead.model_validate(row)


@router.delete(
    "/folders/{folder_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a folder",
    description="Deletes an empty folder (409 `folder_not_empty` otherwise; files in the trash do "
    "not count, and return to the top level when restored).",
    response_class=Response,
    responses=problem_responses(401, 404, 409, 422),
)
async def delete_folder(folder_id: FolderId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    await management.delete_folder(session, folder_id, owner_id=principal.user_id)
    return Response(status_code=204)


# --- files: move and rename ------------------------------------------------------------------------


@router.patch(
    "/{file_id:uuid}",
    summary="Rename or move a file",
    description="`name` renames (sanitised like an upload's name); `folder_id` moves (null: to the "
    "top level).",
    response_model=FileRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 413, 415, 422),
    },
)
async def update_file(
    file_id: FileId, data: FileUpdate, session: SessionDep, principal: CurrentPrincipal
) -> FileRead:
    changes = data.model_dump(include=data.model_fields_set)
    return _file(await management.update_file(session, file_id, owner_id=principal.user_id, changes=changes))


# --- trash -----------------------------------------------------------------------------------------


@router.get(
    "/trash",
    summary="Your trash",
    description="Files you deleted, most recently deleted first. They are purged for good after "
    "`SIXTY_FILES_TRASH_RETENTION`, and count against your quota until then.",
    response_model=TrashPage,
    responses={
        200: {
            "content": {"application/json": {"example": {"items": [TRASHED_EXAMPLE], "next_cursor": None}}}
        },
        **problem_responses(401, 422),
    },
)
async def list_trash(
    reader: ReaderDep, principal: CurrentPrincipal, page: PageParamsDep, codec: CodecDep
) -> TrashPage:
    rows, next_cursor = await management.list_trash(
        reader, owner_id=principal.user_id, params=page, codec=codec
    )
    return TrashPage.model_validate(
        {"items": [service.public_fields(row) for row in rows], "next_cursor": next_cursor}
    )


@router.post(
    "/{file_id:uuid}/restore",
    summary="Restore a file from the trash",
    description="Back where it was (at the top level if its folder has since been deleted).",
    response_model=FileRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def restore_file(file_id: FileId, session: SessionDep, principal: CurrentPrincipal) -> FileRead:
    return _file(await management.restore_file(session, file_id, owner_id=principal.user_id))


@router.delete(
    "/trash/{file_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Purge a file from the trash",
    description="Deletes a file in the trash for good, with its versions and share links; stored "
    "bytes go once no other file or version references them.",
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def purge_file(file_id: FileId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    await management.purge_file(session, file_id, owner_id=principal.user_id)
    return Response(status_code=204)


@router.delete(
    "/trash",
    summary="Empty the trash",
    description="Purges every file in your trash.",
    response_model=TrashEmptied,
    responses={200: {"content": {"application/json": {"example": {"purged": 3}}}}, **problem_responses(401)},
)
async def empty_trash(session: SessionDep, principal: CurrentPrincipal) -> TrashEmptied:
    return TrashEmptied(purged=await management.empty_trash(session, owner_id=principal.user_id))


# --- versions --------------------------------------------------------------------------------------


async def _version_body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BadRequest(N_("The upload was cut off."), code="upload_interrupted") from None


@router.post(
    "/{file_id:uuid}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a new version",
    description="The raw bytes of the file's new content (sniffed and checked like any upload; "
    "the quota is reserved first: 413 `quota_exceeded`). The current content is kept as the "
    "previous version. Answers the file.",
    response_model=FileRead,
    openapi_extra=RAW_BODY,
    responses={
        201: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(400, 401, 404, 413, 415, 422),
    },
)
async def upload_version(
    file_id: FileId,
    request: Request,
    hold: VersionHoldDep,
    session: SessionDep,
    reader: ReaderDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    await service.file_for(reader, file_id, owner_id=principal.user_id)
    upload_policy = service.UploadPolicy.from_settings(settings)
    raise_body_limit(request.scope, upload_policy.max_bytes)
    stored = await service.write_stream(storage, _version_body(request), policy=upload_policy)
    row = await management.add_version(
        session, storage, stored, file_id, owner_id=principal.user_id, hold_id=hold.hold_id
    )
    return Response(_file(row).model_dump_json(), status_code=201, media_type="application/json")


@router.get(
    "/{file_id:uuid}/versions",
    summary="A file's versions",
    description="Every content the file has had, the current one first.",
    response_model=VersionList,
    responses={
        200: {"content": {"application/json": {"example": {"items": [VERSION_EXAMPLE]}}}},
        **problem_responses(401, 404, 422),
    },
)
async def list_versions(file_id: FileId, reader: ReaderDep, principal: CurrentPrincipal) -> VersionList:
    rows = await management.list_versions(reader, file_id, owner_id=principal.user_id)
    return VersionList(items=[VersionRead.model_validate(row) for row in rows])


@router.get(
    "/{file_id:uuid}/versions/{number}/content",
    summary="Download a version",
    description="The bytes of one version, with ranges and ETags as for `/content`.",
    response_class=Response,
    responses={**CONTENT_RESPONSES, **problem_responses(401, 404, 416, 422)},
)
async def download_version(
    file_id: FileId,
    number: Number,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    principal: CurrentPrincipal,
) -> Response:
    version = await management.version_for(reader, file_id, number, owner_id=principal.user_id)
    return _serve(request, storage, version)


@router.post(
    "/{file_id:uuid}/versions/{number}/restore",
    summary="Restore a version",
    description="Makes that version's content current again; the current content is kept as a "
    "version, so this needs room for the restored bytes (413 `quota_exceeded`).",
    response_model=FileRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 413, 422),
    },
)
async def restore_version(
    file_id: FileId, number: Number, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
) -> FileRead:
    row = await management.restore_version(
        session, file_id, number, owner_id=principal.user_id, limit=settings.files_quota_bytes
    )
    return _file(row)


# --- share links -----------------------------------------------------------------------------------


def _share_url(request: Request, settings: Settings, token: str) -> str:
    path = request.url_for("shared_file", token=token).path
    return (settings.public_base_url or str(request.base_url)).rstrip("/") + path


@router.post(
    "/{file_id:uuid}/shares",
    status_code=status.HTTP_201_CREATED,
    summary="Share a file",
    description="A read-only link anyone holding it can use without signing in: optionally "
    "expiring (`expires_in` seconds) and with a password (sent as `X-Share-Password`). The token "
    "is shown once.",
    response_model=ShareCreated,
    responses={
        201: {"content": {"application/json": {"example": SHARE_CREATED_EXAMPLE}}},
        **problem_responses(401, 404, 413, 415, 422),
    },
)
async def create_share(
    file_id: FileId,
    data: ShareCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> ShareCreated:
    expires_at = utcnow() + timedelta(seconds=data.expires_in) if data.expires_in is not None else None
    row, token = await management.create_share(
        session,
        file_id,
        owner_id=principal.user_id,
        expires_at=expires_at,
        password=data.password,
        hasher=_hasher(settings),
    )
    return ShareCreated.model_validate({**row, "token": token, "url": _share_url(request, settings, token)})


@router.get(
    "/{file_id:uuid}/shares",
    summary="A file's share links",
    description="Every link made for the file, revoked and expired ones included (tokens are not kept).",
    response_model=ShareList,
    responses={
        200: {"content": {"application/json": {"example": {"items": [SHARE_EXAMPLE]}}}},
        **problem_responses(401, 404, 422),
    },
)
async def list_shares(file_id: FileId, reader: ReaderDep, principal: CurrentPrincipal) -> ShareList:
    rows = await management.list_shares(reader, file_id, owner_id=principal.user_id)
    return ShareList(items=[ShareRead.model_validate(row) for row in rows])


@router.delete(
    "/{file_id:uuid}/shares/{share_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a share link",
    description="The link stops working at once (410 `share_revoked`).",
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def revoke_share(
    file_id: FileId,
    share_id: Annotated[uuid.UUID, Path(description="The share link's id.")],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    await management.revoke_share(session, file_id, share_id, owner_id=principal.user_id)
    return Response(status_code=204)


SHARED_ERRORS = problem_responses(403, 404, 410, 422)


@router.get(
    "/shared/{token}",
    summary="A shared file",
    description="What a share link points to; no sign-in. 404 for an unknown (or altered) token, "
    "410 when revoked or expired, 403 when the password (`X-Share-Password`) is missing or wrong.",
    response_model=SharedFileRead,
    dependencies=[rate_limit(SHARE_PER_IP)],
    responses={
        200: {"content": {"application/json": {"example": SHARED_EXAMPLE}}},
        **SHARED_ERRORS,
        **rate_limit_responses(),
    },
)
async def shared_file(
    token: ShareToken, reader: ReaderDep, settings: SettingsDep, password: SharePassword = None
) -> SharedFileRead:
    row = await management.shared_file(reader, token, password=password, hasher=_hasher(settings))
    return SharedFileRead.model_validate({**row, "expires_at": row["share_expires_at"]})


@router.get(
    "/shared/{token}/content",
    summary="Download a shared file",
    description="The bytes behind a share link; no sign-in. Ranges and ETags as for `/content`; "
    "the same refusals as the link's metadata.",
    response_class=Response,
    dependencies=[rate_limit(SHARE_PER_IP)],
    responses={**CONTENT_RESPONSES, **problem_responses(403, 404, 410, 416, 422), **rate_limit_responses()},
)
async def shared_content(
    token: ShareToken,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    settings: SettingsDep,
    password: SharePassword = None,
) -> Response:
    row = await management.shared_file(reader, token, password=password, hasher=_hasher(settings))
    return _serve(request, storage, row)
