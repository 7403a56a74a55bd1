"""What the file management API (I4) answers and accepts: folders, the trash, versions, share
links and the quota."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.files.names import MAX_NAME
from sixty.files.schemas import EXAMPLE, FileName, FileRead

FolderSort = Literal["name", "-name", "created_at", "-created_at"]

# Control characters, bidirectional overrides, and path separators: a folder name is one name.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]")


def _folder_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value).strip()
    if _FORBIDDEN.search(name) or name in ("", ".", ".."):
        raise ValueError(N_("A folder name has no slashes or control characters and is not empty, . or .."))
    return name


FolderName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME), AfterValidator(_folder_name)
]

FOLDER_EXAMPLE: JsonDict = {
    "id": "3c0d6f52-7f1e-4d8b-9d4e-1a7b2c3d4e5f",
    "name": "Invoices",
    "parent_id": None,
    "created_at": "2026-11-27T09:30:00.123456Z",
    "updated_at": "2026-11-27T09:30:00.123456Z",
}


class FolderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Invoices", "parent_id": None}]}
    )

    name: FolderName
    parent_id: uuid.UUID | None = Field(
        default=None, description="The folder to create it in; null: top level."
    )


class FolderUpdate(BaseModel):
    """Rename and/or move; a field left out stays as it is. `parent_id: null` moves to the top."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Invoices 2026", "parent_id": "0b6e2f1a-8c1d-4b7e-a3f2-5d6c7b8a9e0f"}]
        },
    )

    name: FolderName | SkipJsonSchema[None] = None
    parent_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _no_null_name(self) -> FolderUpdate:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError(N_("name may not be null"))
        return self


class FolderRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FOLDER_EXAMPLE]})

    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class FolderPage(Page[FolderRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [FOLDER_EXAMPLE], "next_cursor": None}]}
    )


class FileUpdate(BaseModel):
    """Rename and/or move a file; a field left out stays as it is. `folder_id: null`: top level."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "report-final.pdf", "folder_id": FOLDER_EXAMPLE["id"]}]},
    )

    name: FileName | SkipJsonSchema[None] = None
    folder_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _no_null_name(self) -> FileUpdate:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError(N_("name may not be null"))
        return self


TRASHED_EXAMPLE: JsonDict = {**EXAMPLE, "trashed_at": "2026-11-28T10:00:00Z"}


class TrashedFileRead(FileRead):
    model_config = ConfigDict(json_schema_extra={"examples": [TRASHED_EXAMPLE]})

    trashed_at: datetime = Field(description="When it went to the trash; purged after the retention.")


class TrashPage(Page[TrashedFileRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [TRASHED_EXAMPLE], "next_cursor": None}]}
    )


class TrashEmptied(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"purged": 3}]})

    purged: int = Field(description="Files deleted for good.")


VERSION_EXAMPLE: JsonDict = {
    "number": 2,
    "current": True,
    "name": "report.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": "2026-11-27T09:30:00.123456Z",
}


class VersionRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    number: int = Field(description="1 for the first content; the current one has the highest.")
    current: bool
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class VersionList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [VERSION_EXAMPLE]}]})

    items: list[VersionRead]


class ShareCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"expires_in": 86400, "password": "correct horse"}]}
    )

    expires_in: int | None = Field(
        default=None, ge=60, le=366 * 86400, description="Seconds until the link expires; null: never."
    )
    password: str | None = Field(
        default=None, min_length=4, max_length=200, description="Asked for (header `X-Share-Password`)."
    )


SHARE_EXAMPLE: JsonDict = {
    "id": "5a9d1c3e-2b4f-4e6a-8c7d-9e0f1a2b3c4d",
    "file_id": EXAMPLE["id"],
    "expires_at": "2026-11-28T09:30:00Z",
    "revoked_at": None,
    "has_password": True,
    "created_at": "2026-11-27T09:30:00Z",
}
SHARE_CREATED_EXAMPLE: JsonDict = {
    **SHARE_EXAMPLE,
    "token": "oW3w0cT7m0Zy1u4mZ6s2hQ0k5yq8r9v1b2n3m4l5k6j",
    "url": "https://api.example.com/api/files/shared/oW3w0cT7m0Zy1u4mZ6s2hQ0k5yq8r9v1b2n3m4l5k6j",
}


class ShareRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SHARE_EXAMPLE]})

    id: uuid.UUID
    file_id: uuid.UUID
    expires_at: datetime | None
    revoked_at: datetime | None
    has_password: bool
    created_at: datetime


class ShareCreated(ShareRead):
    """The token is shown this once: only its hash is kept."""

    model_config = ConfigDict(json_schema_extra={"examples": [SHARE_CREATED_EXAMPLE]})

    token: str
    url: str = Field(description="The file's metadata; append `/content` for its bytes.")


class ShareList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SHARE_EXAMPLE]}]})

    items: list[ShareRead]


SHARED_EXAMPLE: JsonDict = {
    "name": "report.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "sha256": EXAMPLE["sha256"],
    "expires_at": "2026-11-28T09:30:00Z",
}


class SharedFileRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SHARED_EXAMPLE]})

    name: str
    content_type: str
    size: int
    sha256: str
    expires_at: datetime | None = Field(description="When the link stops working; null: never.")


USAGE_EXAMPLE: JsonDict = {"used": 48213, "reserved": 0, "limit": 1073741824, "available": 1073693611}


class UsageRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USAGE_EXAMPLE]})

    used: int = Field(description="Bytes of your files, their earlier versions and the trash.")
    reserved: int = Field(description="Bytes held by uploads in progress.")
    limit: int = Field(description="Your quota.")
    available: int = Field(description="What a new upload may still use.")
