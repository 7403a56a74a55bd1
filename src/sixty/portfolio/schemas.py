"""What clients send to and receive from the portfolio module."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict

from sixty.auth.schemas import Username
from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import CONTROL, NO_NUL, NOT_BLANK, ONE_LINE_NOT_BLANK, strip_blank

MAX_LINKS = 10
MAX_TAGS = 20
MAX_IMAGES = 10
MARKDOWN_MAX = 10_000
URL_MAX = 2000
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)


def _iso_text(value: object) -> object:
    if not isinstance(value, str | date):
        raise ValueError(N_("A date is written YYYY-MM-DD."))
    return value


# A date as JSON writes one: an ISO 8601 string, not a number of seconds.
StrictDate = Annotated[date, BeforeValidator(_iso_text)]
SkillLevel = Literal["beginner", "intermediate", "advanced", "expert"]
EntryKind = Literal["experience", "education"]
TestimonialStatus = Literal["pending", "approved"]
TestimonialSort = Literal["created_at", "-created_at"]


def _lower(value: str) -> str:
    return value.lower()


# The account's username rules; stored in lower case so an address has one spelling.
PortfolioName = Annotated[Username, AfterValidator(_lower)]


Line60 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=60, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Line100 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Line200 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Headline = Annotated[
    str, StringConstraints(max_length=160, pattern=rf"^[^{CONTROL}]*$"), AfterValidator(strip_blank)
]

# Markup that can run script: refused outright, even though rendering escapes raw HTML and the
# sanitiser drops it, so the author learns at once that it will not show.
_HOSTILE_TAG = re.compile(r"<\s*/?\s*(script|iframe|object|embed|style|svg|math|form|base|meta|link)\b", re.I)
_HOSTILE_LINK = re.compile(r"\]\(\s*<?\s*(javascript|vbscript|data|file)\s*:", re.I)
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


def _safe_markdown(value: str) -> str:
    if _HOSTILE_TAG.search(value) or _HANDLER.search(value):
        raise ValueError(N_("HTML that can run script (script, iframe, event handlers...) is not allowed."))
    if _HOSTILE_LINK.search(value):
        raise ValueError(N_("A link goes to an http, https or mailto address."))
    return value.strip()


Markdown = Annotated[
    str,
    StringConstraints(max_length=MARKDOWN_MAX, pattern=NO_NUL),
    AfterValidator(_safe_markdown),
    Field(description=f"Markdown (CommonMark), up to {MARKDOWN_MAX} characters; raw HTML is shown as text."),
]


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(N_("A link is an absolute http or https address."))
    return value


# No blank or control character anywhere: the address goes out as it came, in an href.
WebUrl = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=URL_MAX, pattern=r"^[^\u0000-\u0020\u007f-\u00a0\u2028\u2029]+$"
    ),
    AfterValidator(_web_address),
    Field(json_schema_extra={"format": "uri"}),
]

_TAG_SEPARATORS = re.compile(r"[\s_]+")
_TAG_PATTERN = re.compile(r"^[^\W_](?:[\w+#.-]*[\w+#])?$")


def _tag(raw: str) -> str:
    """One spelling per tag: NFKC, lower case, blanks and underscores as `-`."""
    tag = _TAG_SEPARATORS.sub("-", unicodedata.normalize("NFKC", raw).strip().casefold()).strip("-")
    if not _TAG_PATTERN.match(tag) or len(tag) > 30:
        raise ValueError(N_("A tag is 1..30 letters, digits, dashes, dots, + and #."))
    return tag


Tag = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=NO_NUL), AfterValidator(_tag)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]

NOW = "2026-11-27T09:30:00.123456Z"
PORTFOLIO_ID = "0d5b7a52-8f0e-4b1c-9d3e-6f2a1b4c5d6e"
PROJECT_ID = "3e1f2a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
FILE_ID = "6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41"
LINK_EXAMPLE: JsonDict = {"label": "GitHub", "url": "https://github.com/ada"}
PROFILE_WRITE_EXAMPLE: JsonDict = {
    "username": "ada",
    "headline": "Engineer of analytical engines",
    "bio": "I write **programs** for machines that do not exist yet.",
    "links": [LINK_EXAMPLE],
    "published": True,
}
PROJECT_WRITE_EXAMPLE: JsonDict = {
    "slug": "bernoulli",
    "title": "Bernoulli numbers",
    "description": "The first program, for the *Analytical Engine*.",
    "tags": ["math", "engines"],
    "links": [{"label": "Notes", "url": "https://example.com/notes"}],
    "image_ids": [FILE_ID],
}
IMAGE_EXAMPLE: JsonDict = {
    "id": FILE_ID,
    "content_type": "image/png",
    "size": 48213,
    "url": "/api/portfolio/ada/images/" + FILE_ID,
}
PROJECT_EXAMPLE: JsonDict = {
    "id": PROJECT_ID,
    "slug": "bernoulli",
    "title": "Bernoulli numbers",
    "description": "The first program, for the *Analytical Engine*.",
    "description_html": "<p>The first program, for the <em>Analytical Engine</em>.</p>",
    "tags": ["math", "engines"],
    "links": [{"label": "Notes", "url": "https://example.com/notes"}],
    "position": 1,
    "images": [IMAGE_EXAMPLE],
}
SKILL_WRITE_EXAMPLE: JsonDict = {"name": "Mathematics", "level": "expert"}
SKILL_EXAMPLE: JsonDict = {"id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "position": 1, **SKILL_WRITE_EXAMPLE}
ENTRY_WRITE_EXAMPLE: JsonDict = {
    "kind": "experience",
    "title": "Backend engineer",
    "organization": "Analytical Engines Ltd",
    "location": "London",
    "start_date": "2019-10-01",
    "end_date": "2023-09-30",
    "description": "Built the *scheduler*.",
}
ENTRY_EXAMPLE: JsonDict = {
    "id": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    **ENTRY_WRITE_EXAMPLE,
    "description_html": "<p>Built the <em>scheduler</em>.</p>",
}
TESTIMONIAL_WRITE_EXAMPLE: JsonDict = {
    "author_name": "Charles Babbage",
    "author_title": "Inventor",
    "text": "She understood the engine better than I did.",
}
TESTIMONIAL_EXAMPLE: JsonDict = {
    "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    **TESTIMONIAL_WRITE_EXAMPLE,
    "created_at": NOW,
    "approved_at": NOW,
}
PROFILE_EXAMPLE: JsonDict = {
    "id": PORTFOLIO_ID,
    "username": "ada",
    "headline": "Engineer of analytical engines",
    "bio": "I write **programs** for machines that do not exist yet.",
    "bio_html": "<p>I write <strong>programs</strong> for machines that do not exist yet.</p>",
    "links": [LINK_EXAMPLE],
    "published": True,
    "created_at": NOW,
    "updated_at": NOW,
}
PORTFOLIO_EXAMPLE: JsonDict = {
    **PROFILE_EXAMPLE,
    "projects": [PROJECT_EXAMPLE],
    "skills": [SKILL_EXAMPLE],
    "experience": [ENTRY_EXAMPLE],
    "education": [],
    "testimonials": [TESTIMONIAL_EXAMPLE],
}


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [LINK_EXAMPLE]})

    label: Line60
    url: WebUrl


Links = Annotated[list[Link], Field(max_length=MAX_LINKS, description=f"Up to {MAX_LINKS} links.")]


class ProfileWrite(BaseModel):
    """The portfolio's profile, replaced whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PROFILE_WRITE_EXAMPLE]})

    username: PortfolioName | None = Field(
        default=None,
        description="The portfolio's address, `/api/portfolio/{username}` (stored in lower case); "
        "left out: your account's username. Taken by another portfolio: 409.",
    )
    headline: Headline = Field(default="", description="One line, up to 160 characters.")
    bio: Markdown = ""
    links: Links = Field(default_factory=list)
    published: StrictBool = Field(
        default=False, description="False: a draft only you can see (404 to others)."
    )


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [PROFILE_EXAMPLE]})

    id: uuid.UUID
    username: str
    headline: str
    bio: str
    bio_html: str = Field(description="The bio rendered from Markdown and sanitised, safe to show as is.")
    links: list[Link]
    published: bool
    created_at: datetime
    updated_at: datetime


class ProjectWrite(BaseModel):
    """A project, created or replaced whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PROJECT_WRITE_EXAMPLE]})

    slug: Slug = Field(description="Lower-case words joined by `-`, unique in your portfolio (409).")
    title: Line200
    description: Markdown = ""
    tags: list[Tag] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Normalised, duplicates dropped."
    )
    links: Links = Field(default_factory=list)
    image_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_IMAGES,
        description="Ids of images you uploaded at `/api/files` (PNG, JPEG, GIF or WebP), in order.",
    )

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))

    @field_validator("image_ids")
    @classmethod
    def _unique_images(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(ids)) != len(ids):
            raise ValueError(N_("An image is listed once."))
        return ids


class ImageRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [IMAGE_EXAMPLE]})

    id: uuid.UUID = Field(description="The stored file's id.")
    content_type: str
    size: int
    url: str = Field(description="Where anyone who may see the portfolio downloads it.")


class ProjectRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PROJECT_EXAMPLE]})

    id: uuid.UUID
    slug: str
    title: str
    description: str
    description_html: str
    tags: list[str]
    links: list[Link]
    position: int = Field(description="1 for the first project shown.")
    images: list[ImageRead]


class ProjectOrder(BaseModel):
    """Every project of the portfolio, each once, in the order to show them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"project_ids": [PROJECT_ID]}]})

    project_ids: list[uuid.UUID] = Field(max_length=1000)


class ProjectList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [PROJECT_EXAMPLE]}]})

    items: list[ProjectRead]


class SkillWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SKILL_WRITE_EXAMPLE]})

    name: Line60 = Field(description="Unique in your portfolio, whatever the case (409).")
    level: SkillLevel


class SkillRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [SKILL_EXAMPLE]})

    id: uuid.UUID
    name: str
    level: SkillLevel
    position: int


class EntryWrite(BaseModel):
    """A dated entry of the experience or education timeline."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ENTRY_WRITE_EXAMPLE]})

    kind: EntryKind
    title: Line200 = Field(description="The role, or the degree.")
    organization: Line200
    location: Line200 | None = None
    start_date: StrictDate = Field(ge=EARLIEST, le=LATEST)
    end_date: StrictDate | None = Field(default=None, ge=EARLIEST, le=LATEST, description="None: ongoing.")
    description: Markdown = ""

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if end is not None and isinstance(start, date) and end < start:
            raise ValueError(N_("The end date is not before the start date."))
        return end


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [ENTRY_EXAMPLE]})

    id: uuid.UUID
    kind: EntryKind
    title: str
    organization: str
    location: str | None
    start_date: date
    end_date: date | None
    description: str
    description_html: str


class TestimonialWrite(BaseModel):
    """A testimonial a visitor writes; shown once the portfolio's owner approves it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TESTIMONIAL_WRITE_EXAMPLE]})

    author_name: Line100
    author_title: Line100 | None = None
    text: Annotated[
        str,
        StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK),
        AfterValidator(strip_blank),
    ] = Field(description="Plain text, 1..2000 characters.")


class TestimonialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [TESTIMONIAL_EXAMPLE]})

    id: uuid.UUID
    author_name: str
    author_title: str | None
    text: str
    created_at: datetime
    approved_at: datetime | None = Field(description="None: waiting for the owner's approval.")


class TestimonialPage(Page[TestimonialRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [TESTIMONIAL_EXAMPLE], "next_cursor": None}]}
    )


class TestimonialModeration(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approved": True}]})

    approved: StrictBool = Field(description="True: shown on the portfolio; false: hidden again.")


class TestimonialReceipt(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": TESTIMONIAL_EXAMPLE["id"], "status": "pending"}]}
    )

    id: uuid.UUID
    status: TestimonialStatus


class PortfolioRead(ProfileRead):
    """The whole portfolio, as its page shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [PORTFOLIO_EXAMPLE]})

    projects: list[ProjectRead]
    skills: list[SkillRead]
    experience: list[EntryRead] = Field(description="Newest first.")
    education: list[EntryRead] = Field(description="Newest first.")
    testimonials: list[TestimonialRead] = Field(description="Approved ones only, newest first.")
