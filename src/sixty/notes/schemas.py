from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NO_NUL, NOT_BLANK

# 1..200 characters as sent, at least one of them not blank; stored without surrounding blanks.
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(str.strip)
]
Body = Annotated[str, StringConstraints(max_length=100_000, pattern=NO_NUL)]

NoteSort = Literal["created_at", "-created_at", "updated_at", "-updated_at"]

EXAMPLE: JsonDict = {
    "id": "0b6f1f5e-4a53-4b8a-9a4b-0f3e6a1d2c7e",
    "title": "Groceries",
    "body": "Milk, eggs, coffee.",
    "created_at": "2026-11-26T09:30:00.123456Z",
    "updated_at": "2026-11-26T09:30:00.123456Z",
}


class NoteCreate(BaseModel):
    """A new note; `body` may be empty."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Groceries", "body": "Milk, eggs, coffee."}]},
    )

    title: Title = Field(description="1..200 characters, not all blank; surrounding blanks are removed.")
    body: Body = Field(default="", description="Up to 100,000 characters.")


class NoteReplace(BaseModel):
    """Every field of the note (PUT)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Groceries", "body": "Milk, eggs."}]}
    )

    title: Title
    body: Body


class NoteUpdate(BaseModel):
    """Only the fields to change (PATCH)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Weekend groceries"}]}
    )

    # Omitted means "keep"; an explicit null is refused (SkipJsonSchema keeps null out of the schema).
    title: Title | SkipJsonSchema[None] = Field(default=None, description="Omit to keep the title.")
    body: Body | SkipJsonSchema[None] = Field(default=None, description="Omit to keep the body.")

    @field_validator("title", "body", mode="before")
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
    created_at: datetime
    updated_at: datetime


class NotePage(Page[NoteRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor": None}]})
