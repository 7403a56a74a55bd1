"""What RealWorld clients send and receive: the spec's envelopes (`{"user": ...}`), camelCase
names, timestamps with milliseconds (`2026-11-26T09:30:00.000Z`), and its error shape."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.auth.schemas import Email, GivenPassword, Password, Username
from sixty.core.i18n import N_
from sixty.core.text import NO_NUL, NOT_BLANK, strip_blank

# UTC with milliseconds, as the spec's examples: `2026-11-26T09:30:00.000Z`. The database writes
# it (`core.reader.iso_millis` in the blog's statements): parsing each row's datetimes only to
# format them again was a fifth of a list page's work.
Timestamp = Annotated[
    str,
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-26T09:30:00.000Z"]}),
]


_BLANKS = re.compile(r"\s+")


def normalize_tag(value: str) -> str:
    """One spelling per tag: NFKC, lower case, inner blanks collapsed to one space, trimmed."""
    return _BLANKS.sub(" ", unicodedata.normalize("NFKC", value)).strip().lower()


def _empty_is_none(value: str) -> str | None:
    return value or None


Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
Description = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL), AfterValidator(strip_blank)]
ArticleBody = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NOT_BLANK)]
TagName = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=NOT_BLANK), AfterValidator(normalize_tag)
]
TagList = Annotated[list[TagName], Field(max_length=20)]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=NOT_BLANK)]
# Stored as given; an empty string clears the field (answered as null).
Bio = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL), AfterValidator(_empty_is_none)]
ImageUrl = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=r"^(https?://[^\s\u0000]+)?$"),
    AfterValidator(_empty_is_none),
]

TOKEN_EXAMPLE = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJzaXh0eSJ9.c2ln"  # noqa: S105
PROFILE_EXAMPLE: JsonDict = {
    "username": "jake",
    "bio": "I work at statefarm",
    "image": "https://api.realworld.io/images/smiley-cyrus.jpg",
    "following": False,
}
USER_EXAMPLE: JsonDict = {
    "email": "jake@jake.jake",
    "token": TOKEN_EXAMPLE,
    "username": "jake",
    "bio": None,
    "image": None,
}
ARTICLE_SUMMARY_EXAMPLE: JsonDict = {
    "slug": "how-to-train-your-dragon",
    "title": "How to train your dragon",
    "description": "Ever wonder how?",
    "tagList": ["dragons", "training"],
    "createdAt": "2026-11-26T09:30:00.000Z",
    "updatedAt": "2026-11-26T09:30:00.000Z",
    "favorited": False,
    "favoritesCount": 0,
    "author": PROFILE_EXAMPLE,
}
ARTICLE_EXAMPLE: JsonDict = {**ARTICLE_SUMMARY_EXAMPLE, "body": "You have to believe"}
COMMENT_EXAMPLE: JsonDict = {
    "id": 1,
    "createdAt": "2026-11-26T09:30:00.000Z",
    "updatedAt": "2026-11-26T09:30:00.000Z",
    "body": "It takes a Jacobian",
    "author": PROFILE_EXAMPLE,
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Changes(_Input):
    """Fields to change: omitted ones are kept; null is refused where the field cannot be null."""

    @model_validator(mode="after")
    def _something(self) -> _Changes:
        if not self.model_fields_set:
            raise ValueError(N_("Send at least one field to change."))
        return self


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError(N_("Cannot be null; omit the field to keep its value."))
    return value


# --- users ----------------------------------------------------------------------------------


class NewUser(_Input):
    username: Username = Field(description="3..40 letters, digits, `_`, `.`, `-`; unique whatever its case.")
    email: Email = Field(description="Unique whatever its case.")
    password: Password = Field(description="8..128 characters, not a common password.")


class NewUserRequest(_Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake-42"}}]
        }
    )

    user: NewUser


class LoginUser(_Input):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=NO_NUL)]
    password: GivenPassword


class LoginUserRequest(_Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user": {"email": "jake@jake.jake", "password": "jakejake-42"}}]}
    )

    user: LoginUser


class UpdateUser(_Changes):
    email: Email | SkipJsonSchema[None] = None
    password: Password | SkipJsonSchema[None] = Field(
        default=None, description="A new password; your other sessions end."
    )
    username: Username | SkipJsonSchema[None] = None
    bio: Bio | None = Field(default=None, description="Empty or null clears it.")
    image: ImageUrl | None = Field(default=None, description="An http(s) URL; empty or null clears it.")

    @field_validator("email", "password", "username", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _refuse_null(value)


class UpdateUserRequest(_Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user": {"bio": "I like to skateboard", "image": None}}]}
    )

    user: UpdateUser


class BlogUserRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USER_EXAMPLE]})

    email: str
    token: str = Field(description="Send it back as `Authorization: Token <token>`.")
    username: str
    bio: str | None
    image: str | None


class UserEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"user": USER_EXAMPLE}]})

    user: BlogUserRead


# --- profiles -------------------------------------------------------------------------------


class ProfileRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PROFILE_EXAMPLE]})

    username: str
    bio: str | None
    image: str | None
    following: bool = Field(description="Whether the caller follows this user (false when anonymous).")


class ProfileEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"profile": PROFILE_EXAMPLE}]})

    profile: ProfileRead


# --- articles -------------------------------------------------------------------------------


class NewArticle(_Input):
    title: Title = Field(description="1..200 characters; the slug is made from it.")
    description: Description = Field(description="Up to 1,000 characters.")
    body: ArticleBody = Field(description="Markdown, up to 100,000 characters; stored and answered as sent.")
    tag_list: TagList = Field(
        default_factory=list,
        alias="tagList",
        description="Up to 20 tags of 1..50 characters, stored in lower case; answered sorted.",
    )


class NewArticleRequest(_Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "article": {
                        "title": "How to train your dragon",
                        "description": "Ever wonder how?",
                        "body": "You have to believe",
                        "tagList": ["training", "dragons"],
                    }
                }
            ]
        }
    )

    article: NewArticle


class UpdateArticle(_Changes):
    title: Title | SkipJsonSchema[None] = Field(default=None, description="A new title gives a new slug.")
    description: Description | SkipJsonSchema[None] = None
    body: ArticleBody | SkipJsonSchema[None] = None
    tag_list: TagList | SkipJsonSchema[None] = Field(
        default=None,
        alias="tagList",
        description="Replaces the tags (an extension: the spec has no tags here).",
    )

    @field_validator("title", "description", "body", "tag_list", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _refuse_null(value)


class UpdateArticleRequest(_Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"article": {"body": "With two hands"}}]})

    article: UpdateArticle


class _Output(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ArticleSummary(_Output):
    """An article in a list: everything but its body."""

    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_SUMMARY_EXAMPLE]})

    slug: str
    title: str
    description: str
    tag_list: list[str] = Field(alias="tagList")
    created_at: Timestamp = Field(alias="createdAt")
    updated_at: Timestamp = Field(alias="updatedAt")
    favorited: bool
    favorites_count: int = Field(alias="favoritesCount")
    author: ProfileRead


class ArticleRead(ArticleSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_EXAMPLE]})

    body: str


class ArticleEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"article": ARTICLE_EXAMPLE}]})

    article: ArticleRead


class ArticlePage(_Output):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"articles": [ARTICLE_SUMMARY_EXAMPLE], "articlesCount": 1}]}
    )

    articles: list[ArticleSummary]
    articles_count: int = Field(alias="articlesCount", description="All matching articles, before paging.")


# --- comments -------------------------------------------------------------------------------


class NewComment(_Input):
    body: CommentBody = Field(description="1..10,000 characters.")


class NewCommentRequest(_Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": {"body": "His name was my name too."}}]}
    )

    comment: NewComment


class CommentRead(_Output):
    model_config = ConfigDict(json_schema_extra={"examples": [COMMENT_EXAMPLE]})

    id: int
    created_at: Timestamp = Field(alias="createdAt")
    updated_at: Timestamp = Field(alias="updatedAt")
    body: str
    author: ProfileRead


class CommentEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"comment": COMMENT_EXAMPLE}]})

    comment: CommentRead


class CommentList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"comments": [COMMENT_EXAMPLE]}]})

    comments: list[CommentRead]


class TagsRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tags": ["dragons", "training"]}]})

    tags: list[str] = Field(description="Every tag that at least one article carries, by name.")


# --- errors ---------------------------------------------------------------------------------


class ErrorMessages(BaseModel):
    body: list[str] = Field(description="What went wrong; for invalid fields, `field: message`.")


class GenericErrorModel(BaseModel):
    """The RealWorld error shape, used by every error the blog answers."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"errors": {"body": ["email: Is not a valid email address."]}}]}
    )

    errors: ErrorMessages


def error_body(messages: list[str]) -> dict[str, Any]:
    return {"errors": {"body": messages}}
