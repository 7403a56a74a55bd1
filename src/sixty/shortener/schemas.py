"""Request and response shapes of the shortener."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.core.i18n import N_
from sixty.core.pagination import Page

MAX_URL_LENGTH = 2048
# Letters, digits, `-` and `_`; starts and ends with a letter or digit.
ALIAS_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$"

TargetUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    Field(
        description="Where the link leads: an http(s) URL of a public host.",
        examples=["https://example.com/a/long/path"],
    ),
]
Alias = Annotated[
    str,
    StringConstraints(min_length=3, max_length=64, pattern=ALIAS_PATTERN),
    Field(description="A custom code instead of a random one (case-sensitive; reserved words refused)."),
]
RedirectStatus = Literal[301, 302, 307]
Password = Annotated[str, StringConstraints(min_length=4, max_length=128)]
MaxVisits = Annotated[int, Field(ge=1, le=1_000_000_000)]

EXAMPLE: JsonDict = {
    "code": "x7Kp2mQ",
    "short_url": "http://127.0.0.1:8000/s/x7Kp2mQ",
    "url": "https://example.com/a/long/path",
    "redirect_status": 302,
    "expires_at": None,
    "max_visits": None,
    "visits": 0,
    "password_protected": False,
    "created_at": "2026-11-27T09:30:00.123456Z",
    "updated_at": "2026-11-27T09:30:00.123456Z",
}


class LinkCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://example.com/a/long/path", "alias": "spring-sale"}]},
    )

    url: TargetUrl
    alias: Alias | None = None
    redirect_status: RedirectStatus = Field(
        default=302, description="301 (permanent), 302 (found) or 307 (temporary, keeps the method)."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="After this moment the link answers 410."
    )
    max_visits: MaxVisits | None = Field(
        default=None, description="After this many redirects the link answers 410 (counted exactly)."
    )
    password: Password | None = Field(
        default=None, description="Visitors must type it before they are redirected (4..128 characters)."
    )


class LinkUpdate(BaseModel):
    """Only the fields to change (PATCH); `expires_at`, `max_visits` and `password` take null to clear."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://example.com/new", "max_visits": 100}]},
    )

    url: TargetUrl | SkipJsonSchema[None] = Field(default=None, description="Omit to keep the target.")
    redirect_status: RedirectStatus | SkipJsonSchema[None] = Field(
        default=None, description="Omit to keep it."
    )
    expires_at: AwareDatetime | None = Field(default=None, description="null: never expires.")
    max_visits: MaxVisits | None = Field(default=None, description="null: no cap (visits so far are kept).")
    password: Password | None = Field(default=None, description="null: no password.")

    @field_validator("url", "redirect_status", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class LinkBulkCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "links": [
                        {"url": "https://example.com/a"},
                        {"url": "https://example.com/b", "alias": "bee"},
                    ]
                }
            ]
        },
    )

    links: list[LinkCreate] = Field(
        min_length=1, max_length=100, description="1..100 links, created all or none."
    )


class LinkRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    code: str
    short_url: str
    url: str
    redirect_status: int
    expires_at: datetime | None
    max_visits: int | None
    visits: int = Field(description="Redirects counted against `max_visits` (counted only on capped links).")
    password_protected: bool
    created_at: datetime
    updated_at: datetime


class LinkPage(Page[LinkRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "next_cursor": None}]})


class LinkList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE]}]})

    items: list[LinkRead]


LinkSort = Literal["created_at", "-created_at"]


class DayCount(BaseModel):
    day: date
    clicks: int


class KeyCount(BaseModel):
    key: str = Field(description="The referrer's host, the country code or the browser family.")
    clicks: int


STATS_EXAMPLE: JsonDict = {
    "code": "x7Kp2mQ",
    "clicks": 42,
    "bot_clicks": 3,
    "by_day": [{"day": "2026-11-26", "clicks": 30}, {"day": "2026-11-27", "clicks": 12}],
    "referrers": [{"key": "news.example.org", "clicks": 20}],
    "countries": [{"key": "FR", "clicks": 25}],
    "browsers": [{"key": "Firefox", "clicks": 22}, {"key": "Chrome", "clicks": 20}],
}


class LinkStats(BaseModel):
    """Clicks by people (bots apart); breakdowns count people's clicks only, largest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [STATS_EXAMPLE]})

    code: str
    clicks: int
    bot_clicks: int
    by_day: list[DayCount]
    referrers: list[KeyCount] = Field(description="Top 50; clicks without a referrer are not listed.")
    countries: list[KeyCount] | None = Field(description="null when no GeoIP database is configured.")
    browsers: list[KeyCount] = Field(description="Top 50 browser families.")
