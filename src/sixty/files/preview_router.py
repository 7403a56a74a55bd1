"""I13 previews: `GET /api/files/{id}/preview`. HTTP only; included by files/router.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.ranges import serve_bytes
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.storage import DOWNLOAD_CSP, StorageDep, content_disposition
from sixty.files import preview_service, service

preview_router = module_router("/api/files", "files")
FileId = Annotated[uuid.UUID, Path(description="The file's id.")]


class PreviewStatus(BaseModel):
    """Where a file's preview stands (the body of a 202 while it is being made)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "file_id": "0192f0c4-8d0a-7c3e-9a51-2f4e6b7d8c90",
                "status": "pending",
                "reason": None,
                "content_type": None,
                "width": None,
                "height": None,
            }
        }
    )

    file_id: uuid.UUID
    status: Literal["pending", "ready", "failed"] = Field(description="`pending` until made.")
    reason: str | None = Field(description="Why it failed (`corrupt`, `encrypted`, `too_many_pixels`...).")
    content_type: str | None = Field(description="The preview's media type, once ready.")
    width: int | None = Field(description="Pixels, for an image preview.")
    height: int | None = Field(description="Pixels, for an image preview.")


PENDING_EXAMPLE = PreviewStatus.model_config["json_schema_extra"]["example"]  # type: ignore[index]


def _pending(preview: dict[str, Any], retry_after: int) -> Response:
    body = PreviewStatus.model_validate(preview).model_dump(mode="json")
    return Response(
        orjson.dumps(body),
        status_code=202,
        media_type="application/json",
        headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"},
    )


@preview_router.get(
    "/{file_id:uuid}/preview",
    summary="A file's preview",
    description="A small preview of one of your files, made in the background after upload: a "
    "thumbnail for images (EXIF orientation applied, longest side `SIXTY_FILES_PREVIEW_SIZE`, WebP "
    "or JPEG by `SIXTY_FILES_PREVIEW_FORMAT`), the first page of a PDF as an image, or the first "
    "lines of a text file (`text/plain; charset=utf-8`).\n\n"
    "Poll it: **202** with the status and `Retry-After` while it is being made, **200** with the "
    "preview once ready (ETag, `If-None-Match`, ranges). **422** `preview_unsupported` for a type "
    "without previews; **422** `preview_failed` with a `reason` (`corrupt`, `encrypted`, "
    "`too_many_pixels`, `too_large`, `empty`, `error`) when it could not be made. Another "
    "account's file is a 404.",
    response_class=Response,
    responses={
        200: {
            "description": "The preview.",
            "content": {
                "image/webp": {"schema": {"type": "string", "format": "binary"}, "example": "..."},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}, "example": "..."},
                "text/plain": {"schema": {"type": "string"}, "example": "The first lines of the file"},
            },
        },
        202: {
            "description": "Being made: ask again after `Retry-After` seconds.",
            "model": PreviewStatus,
            "content": {"application/json": {"example": PENDING_EXAMPLE}},
            "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
        },
        206: {"description": "The range asked for."},
        304: {"description": "`If-None-Match` names the current ETag: not sent again."},
        **problem_responses(401, 404, 416, 422),
    },
)
async def get_preview(
    file_id: FileId,
    request: Request,
    reader: ReaderDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    file = await service.file_for(reader, file_id, owner_id=principal.user_id)
    if not preview_service.previewable(file["content_type"]):
        raise preview_service.unsupported(file["content_type"])
    preview = await preview_service.preview_of(reader, file_id)
    if preview is None:  # stored before previews were made: start it now
        await preview_service.start(session, file_id=file_id, content_type=file["content_type"])
        return _pending(
            {"file_id": file_id, "status": "pending", "reason": None, "content_type": None}
            | {"width": None, "height": None},
            settings.files_preview_retry_after,
        )
    if preview["status"] == preview_service.FAILED:
        raise preview_service.failed(preview["reason"] or "error")
    if preview["status"] != preview_service.READY:
        return _pending(preview_service.public_fields(preview), settings.files_preview_retry_after)
    key = str(preview["key"])
    content_type = str(preview["content_type"])
    modified: datetime = preview["updated_at"]
    extension = {"image/webp": "webp", "image/jpeg": "jpg"}.get(content_type, "txt")
    return serve_bytes(
        request,
        size=int(preview["size"]),
        etag=f'"{preview["sha256"]}"',
        content_type=content_type,
        open_range=lambda offset, length: storage.get(key, offset=offset, length=length),
        last_modified=modified,
        headers={
            "Content-Disposition": content_disposition(f"preview.{extension}", inline=True),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cache-Control": "private, no-cache",
        },
    )
