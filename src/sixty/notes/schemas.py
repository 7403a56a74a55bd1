from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NO_NUL, NOT_BLANK, strip_blank

# 1..200 characters as sent, at least one of them not blank; stored without surrounding blanks.
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
Body = Annotated[str, StringConstraints(max_length=100_000, pattern=NO_NUL)]

NoteSort = Literal["created_at", "-created_at", "updated_at", "-updated_at"]
TagMatch = Literal["any", "all"]
MAX_TAGS = 20
_TAG_SEPARATORS = re.compile(r"[\s_]+")
_TAG_PATTERN = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


def normalize_tag(raw: str) -> str:
    """One spelling per tag: NFKC, lower case, inner blanks and underscores as one `-`.
    `Work Items`, `work_items` and `ＷＯＲＫ items` are all `work-items`."""
    tag = _TAG_SEPARATORS.sub("-", unicodedata.normalize("NFKC", raw).strip().casefold()).strip("-")
    if not _TAG_PATTERN.match(tag) or len(tag) > 50:
        raise ValueError(N_("A tag is 1..50 letters, digits and dashes."))
    return tag


# The pattern tells clients (and the OpenAPI document) what normalize_tag accepts.
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[\w\s-]*[^\W_][\w\s-]*$"),
    AfterValidator(normalize_tag),
]


def _unique_sorted(tags: list[str]) -> list[str]:
    return sorted(set(tags))


Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_sorted)]

EXAMPLE: JsonDict = {
    "id": "0b6f1f5e-4a53-4b8a-9a4b-0f3e6a1d2c7e",
    "title": "Groceries",
    "body": "Milk, eggs, coffee.",
    "tags": ["errands", "home"],
    "created_at": "2026-11-26T09:30:00.123456Z",
    "updated_at": "2026-11-26T09:30:00.123456Z",
}


class NoteCreate(BaseModel):
    """A new note; `body` may be empty."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"title": "Groceries", "body": "Milk, eggs, coffee.", "tags": ["errands", "home"]}]
        },
    )

    title: Title = Field(description="1..200 characters, not all blank; surrounding blanks are removed.")
    body: Body = Field(default="", description="Up to 100,000 characters.")
    tags: Tags = Field(
        default_factory=list, description=f"Up to {MAX_TAGS} tags, normalised (`Work Items` -> `work-items`)."
    )


class NoteReplace(BaseModel):
    """Every field of the note (PUT)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Groceries", "body": "Milk, eggs."}]}
    )

    title: Title
    body: Body
    tags: Tags = Field(default_factory=list)


class NoteUpdate(BaseModel):
    """Only the fields to change (PATCH)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Weekend groceries"}]}
    )

    # Omitted means "keep"; an explicit null is refused (SkipJsonSchema keeps null out of the schema).
    title: Title | SkipJsonSchema[None] = Field(default=None, description="Omit to keep the title.")
    body: Body | SkipJsonSchema[None] = Field(default=None, description="Omit to keep the body.")
    tags: Tags | SkipJsonSchema[None] = Field(
        default=None, description="Replaces the tags; omit to keep them."
    )

    @field_validator("title", "body", "tags", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    title: str
    body: str
    tags: list[str] = Field(description="Sorted.")
    created_at: datetime
    updated_at: datetime

    @field_validator("tags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        # The read path aggregates a note's tags into one comma-separated string.
        if value is None:
            return []
        if isinstance(value, str):
            return sorted(value.split(","))
        return value


class NotePage(Page[NoteRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor": None}]})


class TagCount(BaseModel):
    tag: str
    count: int = Field(description="How many of your notes carry it.")


class TagList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{"tag": "home", "count": 12}, {"tag": "errands", "count": 3}]}]
        }
    )

    items: list[TagCount]


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"expires_in_days": 7}]})

    expires_in_days: int | None = Field(
        default=None, ge=1, le=365, description="Omit for a link that lasts until revoked."
    )


SHARE_EXAMPLE: JsonDict = {
    "url": "http://127.0.0.1:8000/api/notes/shared/q9V0c2J3bWx6Yk1hc2RmYXNkZmFzZGZhc2Rm",
    "expires_at": "2026-12-03T09:30:00.123456Z",
}


class ShareLink(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SHARE_EXAMPLE]})

    url: str = Field(description="Anyone with this link can read the note (not change it). Shown once.")
    expires_at: datetime | None
