"""What clients send to and receive from the auth module (and what other modules reuse)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.auth.identifiers import USERNAME_PATTERN, InvalidEmailError, normalize_email
from sixty.auth.passwords import MAX_LENGTH, MIN_LENGTH, normalize
from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NO_NUL, NOT_BLANK, strip_blank


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidEmailError as error:
        if error.reason == "mixes letters of different scripts":
            raise ValueError(
                N_("Mixes letters of different scripts; type the address in one script.")
            ) from None
        raise ValueError(N_("Is not a valid email address.")) from None


# Checked and normalised at the edge: services only ever see canonical addresses.
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=320, pattern=NO_NUL),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
# Length limits apply before any hashing work: a 1 MB "password" is a 422, not a CPU burn.
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=NO_NUL),
    AfterValidator(normalize),
]
# Passwords being checked (not set) may predate the policy; only the upper bound applies.
GivenPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_LENGTH, pattern=NO_NUL), AfterValidator(normalize)
]
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN, min_length=3, max_length=40)]
DisplayName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
Code = Annotated[str, StringConstraints(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9 -]+$")]
OpaqueToken = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]

USER_EXAMPLE: JsonDict = {
    "id": "5d3a9a55-1f0c-4f6e-9b59-2a0a4c1e7b11",
    "email": "ann@example.com",
    "username": "ann",
    "display_name": "Ann Example",
    "email_verified": False,
    "roles": ["user"],
    "is_active": True,
    "totp_enabled": False,
    "created_at": "2026-11-26T09:30:00.123456Z",
    "last_login_at": None,
}
TOKENS_EXAMPLE: JsonDict = {
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJzaXh0eSJ9.c2ln",
    "refresh_token": "Hq2u0bW5gq9Yc4m1m1Jk0Zb3sYQmC2l2C9cPz8lWc4E",
    "token_type": "bearer",
    "expires_in": 900,
}


class Registration(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ann@example.com", "password": "correct horse battery"}]},
    )

    email: Email = Field(description="Unique whatever its case; stored normalised.")
    password: Password = Field(description=f"{MIN_LENGTH}..{MAX_LENGTH} characters, not a common password.")
    username: Username | None = Field(
        default=None,
        description="3..40 letters, digits, `_`, `.`, `-`; generated from the email when omitted.",
    )
    display_name: DisplayName | None = None


class Credentials(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ann@example.com", "password": "correct horse battery"}]},
    )

    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=NO_NUL)]
    password: GivenPassword


class TokenPair(BaseModel):
    """An access token (JWT, short-lived) and the refresh token that renews it (opaque, single use)."""

    model_config = ConfigDict(json_schema_extra={"examples": [TOKENS_EXAMPLE]})

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refresh_token": TOKENS_EXAMPLE["refresh_token"]}]}
    )

    refresh_token: OpaqueToken


class UserRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USER_EXAMPLE]})

    id: uuid.UUID
    email: str
    username: str
    display_name: str | None
    email_verified: bool
    roles: list[str]
    is_active: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


class UserPage(Page[UserRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [USER_EXAMPLE], "next_cursor": None}]}
    )


class _NoNull(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class ProfileUpdate(_NoNull):
    """Fields of your own account to change. A new email needs `current_password` and is unverified
    until its link is followed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"display_name": "Ann E."}]})

    username: Username | SkipJsonSchema[None] = None
    display_name: DisplayName | SkipJsonSchema[None] = None
    email: Email | SkipJsonSchema[None] = None
    current_password: GivenPassword | SkipJsonSchema[None] = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"current_password": "correct horse battery", "new_password": "staple gun mountain"}]
        },
    )

    current_password: GivenPassword
    new_password: Password


SESSION_EXAMPLE: JsonDict = {
    "id": "9b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "created_at": "2026-11-26T09:30:00.123456Z",
    "last_used_at": "2026-11-26T10:02:11.000001Z",
    "expires_at": "2026-12-26T09:30:00.123456Z",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    "ip": "203.0.113.7",
    "method": "password",
    "current": True,
}


class SessionRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SESSION_EXAMPLE]})

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    method: str = Field(description="How the session was opened: password, email_code, totp.")
    current: bool = Field(description="True for the session of the token making this request.")


class SessionList(BaseModel):
    items: list[SessionRead]


class AdminUserUpdate(_NoNull):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"roles": ["user", "librarian"], "is_active": True}]}
    )

    roles: (
        list[Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")]]
        | SkipJsonSchema[None]
    ) = Field(default=None, max_length=20, description="Replaces the user's roles; each must exist.")
    is_active: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="false disables the account: its tokens stop working at once."
    )


class RoleRead(BaseModel):
    name: str
    description: str
    permissions: list[str]


class RoleList(BaseModel):
    items: list[RoleRead]


class EmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "ann@example.com"}]})

    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=NO_NUL)]


class TokenSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"token": "q9V0c2J3...Xy"}]})

    token: OpaqueToken


class PasswordReset(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"token": "q9V0c2J3bWx6Yk1hc2Rm", "new_password": "staple gun mountain"}]
        },
    )

    token: OpaqueToken
    new_password: Password


class CodeLogin(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ann@example.com", "code": "042137"}]}
    )

    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=NO_NUL)]
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class SecondFactor(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"mfa_token": "eyJhbGciOi...", "code": "287082"}]}
    )

    mfa_token: Annotated[str, StringConstraints(min_length=16, max_length=2000)]
    code: Code = Field(description="The 6-digit code of the authenticator app, or a recovery code.")


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "287082"}]})

    code: Code


class TotpEnrolment(BaseModel):
    secret: str = Field(description="Base32 secret, for apps that cannot scan the QR code.")
    otpauth_uri: str
    qr_code_url: str = Field(description="A PNG of the `otpauth://` URI.")


class RecoveryCodes(BaseModel):
    codes: list[str] = Field(description="Single-use codes for when the authenticator is lost. Shown once.")


class MessageSent(BaseModel):
    """The same answer whether or not an account matched, so nobody can probe for accounts."""

    detail: str
