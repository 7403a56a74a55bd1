"""What the resumes API answers and accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from sixty.core.pagination import Page
from sixty.core.reader import Row
from sixty.core.text import NO_NUL, NOT_BLANK

POSITION_EXAMPLE: JsonDict = {
    "id": "0b7a4f7e-5a8e-4d38-9a39-1f4cbb0b2d11",
    "title": "Backend engineer",
    "description": "Python, PostgreSQL, a taste for reliable systems.",
    "created_at": "2026-11-27T09:00:00Z",
    "updated_at": "2026-11-27T09:00:00Z",
}
VERSION_EXAMPLE: JsonDict = {
    "number": 2,
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "skills": ["postgresql", "python"],
    "pages": 1,
    "characters": 1834,
    "file": {
        "name": "ada-lovelace.pdf",
        "content_type": "application/pdf",
        "size": 48213,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    },
    "created_at": "2026-11-27T09:30:00Z",
}
EXAMPLE: JsonDict = {
    "id": "6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41",
    "candidate_id": "2d1f7a4c-8b6e-4f0a-9c3d-5e7b1a2c4d6f",
    "position": {"id": POSITION_EXAMPLE["id"], "title": POSITION_EXAMPLE["title"]},
    "version": 2,
    "current": VERSION_EXAMPLE,
    "created_at": "2026-11-26T18:00:00Z",
    "updated_at": "2026-11-27T09:30:00Z",
}


class PositionCreate(BaseModel):
    """A position candidates send resumes for."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Backend engineer"}]})

    title: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK, strip_whitespace=True)
    ]
    description: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] | None = None


class PositionRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [POSITION_EXAMPLE]})

    id: uuid.UUID
    title: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class PositionPage(Page[PositionRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [POSITION_EXAMPLE], "next_cursor": None}]}
    )


class PositionRef(BaseModel):
    id: uuid.UUID
    title: str


class ResumeFileRead(BaseModel):
    name: str = Field(description="The name it was uploaded with, sanitised; metadata only.")
    content_type: str = Field(description="Sniffed from the content: PDF or DOCX.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the content, hex; the download's ETag.")


class ResumeVersionRead(BaseModel):
    """One upload of a resume, with what was found in its text."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    number: int = Field(description="1 for the first upload, counting up.")
    name: str | None = Field(description="The candidate's name, when found.")
    email: str | None = Field(description="The first e-mail address in the text.")
    phone: str | None = Field(description="The first phone number in the text.")
    skills: list[str] = Field(description="Skills of the vocabulary (`SIXTY_RESUMES_SKILLS`) found.")
    pages: int | None = Field(description="Pages of a PDF; null for DOCX.")
    characters: int = Field(description="Characters of text read (at most `SIXTY_RESUMES_MAX_CHARS`).")
    file: ResumeFileRead
    created_at: datetime


class ResumeRead(BaseModel):
    """A candidate's resume for a position; `current` is its latest version."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    candidate_id: uuid.UUID
    position: PositionRef
    version: int = Field(description="The current version's number.")
    current: ResumeVersionRead
    created_at: datetime
    updated_at: datetime


class ResumePage(Page[ResumeRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor": None}]})


class ResumeVersionPage(Page[ResumeVersionRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [VERSION_EXAMPLE], "next_cursor": None}]}
    )


def version_read(row: Row) -> ResumeVersionRead:
    return ResumeVersionRead(
        number=row["number"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        skills=list(row["skills"] or []),
        pages=row["pages"],
        characters=row["characters"],
        file=ResumeFileRead(
            name=row["file_name"], content_type=row["content_type"], size=row["size"], sha256=row["sha256"]
        ),
        created_at=row["version_created_at"],
    )


def resume_read(row: Row) -> ResumeRead:
    return ResumeRead(
        id=row["id"],
        candidate_id=row["candidate_id"],
        position=PositionRef(id=row["position_id"], title=row["position_title"]),
        version=row["version"],
        current=version_read(row),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def position_read(row: Row) -> PositionRead:
    return PositionRead.model_validate(row)
