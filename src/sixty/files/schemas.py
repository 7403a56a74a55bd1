"""What the files API answers and accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from sixty.core.errors import ProblemDetails
from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.files.names import MAX_NAME, InvalidName, clean_name

FileSort = Literal["created_at", "-created_at", "name", "-name", "size", "-size"]


def _clean(value: str) -> str:
    try:
        return clean_name(value)
    except InvalidName:
        raise ValueError(N_("A file name has no control characters and is not empty, . or ..")) from None


# Up to 1,024 characters as sent (directories are dropped, then it is cut to 255 characters).
FileName = Annotated[str, StringConstraints(min_length=1, max_length=4 * MAX_NAME), AfterValidator(_clean)]

EXAMPLE: JsonDict = {
    "id": "6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41",
    "name": "report.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "folder_id": None,
    "created_at": "2026-11-27T09:30:00.123456Z",
    "updated_at": "2026-11-27T09:30:00.123456Z",
}


class FileRead(BaseModel):
    """A stored file."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    name: str = Field(description="The name it was uploaded with, sanitised; metadata only.")
    content_type: str = Field(description="Sniffed from the content when it was stored.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the content, hex; the download's ETag.")
    folder_id: uuid.UUID | None = Field(default=None, description="Its folder; null at the top level.")
    created_at: datetime
    updated_at: datetime


class FilePage(Page[FileRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor": None}]})


class UploadResult(BaseModel):
    """One file of a multi-file upload: its own status, and the file or a problem document."""

    name: str | None = Field(description="The name the part was sent with, as sent (sanitised when stored).")
    status: int = Field(description="201 when it was stored, else the status of its problem.")
    file: FileRead | None = None
    problem: ProblemDetails | None = None


class PresignedUploadCreate(BaseModel):
    """A request for an upload slot: the client then PUTs the bytes straight to the store."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "holiday.mp4", "size": 734003200}]}
    )

    name: FileName = Field(description="The file's name (kept as metadata).")
    size: int = Field(ge=1, description="Exact size in bytes; the store refuses any other.")


PRESIGNED_EXAMPLE: JsonDict = {
    "id": "0c8b8d4e-5a8e-4c59-8f4c-8d6b0b7f1c2a",
    "method": "PUT",
    "url": "https://bucket.s3.eu-west-1.amazonaws.com/objects/3f/3f9c...?X-Amz-Signature=...",
    "headers": {"Content-Length": "734003200"},
    "expires_at": "2026-11-27T09:45:00Z",
    "complete_url": "/api/files/presigned/0c8b8d4e-5a8e-4c59-8f4c-8d6b0b7f1c2a/complete",
}
LINK_EXAMPLE: JsonDict = {
    "url": "https://api.example.com/api/files/signed/eyJtIjoiR0VUIi...",
    "expires_at": "2026-11-27T09:45:00Z",
}
TUS_EXAMPLE: JsonDict = {
    "id": "0c8b8d4e-5a8e-4c59-8f4c-8d6b0b7f1c2a",
    "name": "holiday.mp4",
    "length": 734003200,
    "offset": 52428800,
    "expires_at": "2026-11-28T09:30:00Z",
    "file": None,
}


class PresignedUpload(BaseModel):
    """Where and how to send the bytes, then `POST` to `complete_url`."""

    model_config = ConfigDict(json_schema_extra={"examples": [PRESIGNED_EXAMPLE]})

    id: uuid.UUID
    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime
    complete_url: str


class DownloadLink(BaseModel):
    """A URL anyone holding it can download the file with, until it expires."""

    model_config = ConfigDict(json_schema_extra={"examples": [LINK_EXAMPLE]})

    url: str
    expires_at: datetime


class TusUploadRead(BaseModel):
    """A resumable upload's state (the tus `HEAD` answers the same in headers)."""

    model_config = ConfigDict(json_schema_extra={"examples": [TUS_EXAMPLE]})

    id: uuid.UUID
    name: str
    length: int
    offset: int
    expires_at: datetime
    file: FileRead | None = Field(default=None, description="The stored file, once the upload is complete.")


# The responses of every route that sends a file's bytes (its current content or a version).
CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The bytes, as the file's sniffed type.",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}, "example": "..."}},
    },
    206: {
        "description": "The range asked for (`multipart/byteranges` for several).",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}, "example": "..."}},
    },
    304: {"description": "`If-None-Match` names the current ETag: not sent again."},
}
