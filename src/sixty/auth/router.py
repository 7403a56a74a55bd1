"""B5, I1, I2, I5, I6, I16: `/api/auth` (accounts, tokens, sessions, codes) and `/api/admin`.
HTTP only: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response, status
from fastapi.responses import Response as RawResponse
from pydantic.config import JsonDict

from sixty.auth import service, verification
from sixty.auth.identifiers import InvalidEmailError, normalize_email
from sixty.auth.models import User
from sixty.auth.schemas import (
    SESSION_EXAMPLE,
    TOKENS_EXAMPLE,
    USER_EXAMPLE,
    AdminUserUpdate,
    CodeLogin,
    Credentials,
    EmailRequest,
    GivenPassword,
    MessageSent,
    PasswordChange,
    PasswordReset,
    ProfileUpdate,
    RecoveryCodes,
    RefreshRequest,
    Registration,
    RoleList,
    RoleRead,
    SecondFactor,
    SessionList,
    TokenPair,
    TokenSubmission,
    TotpCode,
    TotpEnrolment,
    UserPage,
    UserRead,
)
from sixty.core import mail
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.i18n import N_, _
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ratelimit import check_rate_limit, client_ip, rate_limit, rate_policy
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal, Principal, require
from sixty.core.text import NO_NUL

# Default limits; `SIXTY_RATE_LIMITS` overrides them by name. Guessing is limited per account
# (email) and per client address, so neither one address nor one target can be hammered.
REGISTER = rate_policy("auth.register", "20/hour")
LOGIN = rate_policy("auth.login", "10/minute")
LOGIN_PER_IP = rate_policy("auth.login.ip", "60/minute")
CODE = rate_policy("auth.code", "5/15minutes")
CODE_VERIFY = rate_policy("auth.code.verify", "10/15minutes")
MFA = rate_policy("auth.mfa", "5/5minutes")  # per account: 6 digits must not be guessable
RESEND = rate_policy("auth.resend", "3/hour")
RESET = rate_policy("auth.reset", "5/hour")
PASSWORD = rate_policy("auth.password", "10/hour")

auth_router = module_router("/api/auth", "auth")
admin_router = module_router("/api/admin", "auth")


async def auth_context(request: Request) -> service.AuthContext:
    context: service.AuthContext = request.app.state.auth
    return context


AuthDep = Annotated[service.AuthContext, Depends(auth_context)]
CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
AdminDep = Annotated[Principal, Depends(require("users:manage"))]
OutboxReaderDep = Annotated[Principal, Depends(require("outbox:read"))]


def _email_key(email: str) -> str:
    """One limit per account, however the address is spelled."""
    try:
        return normalize_email(email)
    except InvalidEmailError:
        return email.strip().lower()


async def _limit_login(request: Request, email: str) -> None:
    await check_rate_limit(request, LOGIN_PER_IP, client_ip(request))
    await check_rate_limit(request, LOGIN, _email_key(email))


def _client(request: Request) -> service.Client:
    return service.Client(
        user_agent=request.headers.get("user-agent"), ip=request.client.host if request.client else None
    )


async def _base_url(request: Request, settings: SettingsDep) -> str:  # async: a def would run in a thread
    return settings.public_base_url or str(request.base_url)


BaseUrlDep = Annotated[str, Depends(_base_url)]


async def _me(session: SessionDep, principal: CurrentPrincipal) -> User:
    return await service.get_user(session, principal.user_id)


MeDep = Annotated[User, Depends(_me)]

SENT = N_("If an account uses this address, a mail is on its way.")
SENT_EXAMPLE: JsonDict = {"detail": SENT}
SESSIONS_EXAMPLE: JsonDict = {"items": [SESSION_EXAMPLE]}
TOTP_EXAMPLE: JsonDict = {
    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/Sixty:ann%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Sixty",
    "qr_code_url": "/api/auth/totp/qr.png",
}
RECOVERY_EXAMPLE: JsonDict = {"codes": ["k3j9-2mfa", "p0q8-zz4d"]}
ROLES_EXAMPLE: JsonDict = {
    "items": [
        {"name": "admin", "description": "Administers the platform: every permission.", "permissions": ["*"]},
        {"name": "user", "description": "A signed-up account.", "permissions": []},
    ]
}
OUTBOX_EXAMPLE: JsonDict = {
    "items": [
        {
            "id": "0b6f1f5e-4a53-4b8a-9a4b-0f3e6a1d2c7e",
            "to": "ann@example.com",
            "subject": "Confirm your email address",
            "text": "Hello ann, ...",
            "created_at": "2026-11-26T09:30:00.123456Z",
        }
    ],
    "next_cursor": None,
}


def _docs(
    *statuses: int, example: JsonDict | None = None, status: int = 200
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of an operation: its success example and its problem documents."""
    docs = problem_responses(*statuses)
    if example is not None:
        docs[status] = {"content": {"application/json": {"example": example}}}
    return docs


def _sent() -> MessageSent:
    return MessageSent(detail=_(SENT))


# --- accounts -------------------------------------------------------------------------------


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description="Creates an account with the `user` role and mails a link to verify the address. "
    "The email is unique whatever its case; the password must not be a common one.",
    response_model=UserRead,
    responses=_docs(409, 413, 415, 422, 429, example=USER_EXAMPLE, status=201),
    dependencies=[rate_limit(REGISTER)],
)
async def register(
    data: Registration, session: SessionDep, auth: AuthDep, base_url: BaseUrlDep, response: Response
) -> UserRead:
    user = await service.register(session, data, auth=auth)
    await verification.send_verification(session, user, auth=auth, base_url=base_url)
    response.headers["Location"] = "/api/auth/me"
    return await service.user_read(session, user)


async def _sign_in(
    session: SessionDep, user: User, *, auth: service.AuthContext, request: Request, method: str
) -> TokenPair:
    if user.totp_enabled_at is not None:
        raise service.mfa_challenge(user, auth=auth)
    return await service.open_session(session, user, auth=auth, client=_client(request), method=method)


@auth_router.post(
    "/login",
    summary="Sign in with email and password",
    description="Answers an access token (a JWT for `Authorization: Bearer`, valid 15 minutes by default) "
    "and a refresh token. A wrong password and an unknown email get the same 401. With an authenticator "
    "app set up, the answer is 403 `mfa_required` with an `mfa_token` for `POST /api/auth/login/mfa`.",
    response_model=TokenPair,
    responses=_docs(401, 403, 413, 415, 422, 429, example=TOKENS_EXAMPLE),
)
async def login(
    data: Credentials, request: Request, session: SessionDep, reader: ReaderDep, auth: AuthDep
) -> TokenPair:
    await _limit_login(request, data.email)
    user = await service.authenticate(session, data.email, data.password, auth=auth, reader=reader)
    return await _sign_in(session, user, auth=auth, request=request, method="password")


@auth_router.post(
    "/token",
    summary="Sign in (OAuth2 password form)",
    description="The same as `/login`, taking `username` (the email) and `password` as an OAuth2 "
    "password-grant form, so the Authorize button of the interactive docs works.",
    response_model=TokenPair,
    responses=_docs(401, 403, 413, 415, 422, 429, example=TOKENS_EXAMPLE),
)
async def token(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    auth: AuthDep,
    username: Annotated[str, Form(min_length=1, max_length=320, pattern=NO_NUL, description="Your email.")],
    password: Annotated[GivenPassword, Form()],
    grant_type: Annotated[Literal["password"], Form(description="OAuth2 grant type.")] = "password",
) -> TokenPair:
    await _limit_login(request, username)
    user = await service.authenticate(session, username, password, auth=auth, reader=reader)
    return await _sign_in(session, user, auth=auth, request=request, method="password")


@auth_router.post(
    "/login/mfa",
    summary="Finish signing in with an authenticator code",
    description="Takes the `mfa_token` of a 403 `mfa_required` answer and a code from the authenticator "
    "app (or an unused recovery code).",
    response_model=TokenPair,
    responses=_docs(401, 403, 413, 415, 422, 429, example=TOKENS_EXAMPLE),
)
async def login_mfa(data: SecondFactor, request: Request, session: SessionDep, auth: AuthDep) -> TokenPair:
    user_id = verification.mfa_subject(data.mfa_token, auth=auth)
    await check_rate_limit(request, MFA, str(user_id))
    user = await verification.complete_mfa(session, user_id, data.code, auth=auth)
    return await service.open_session(session, user, auth=auth, client=_client(request), method="totp")


@auth_router.post(
    "/refresh",
    summary="Renew the tokens",
    description="Spends the refresh token and answers a new pair. A refresh token works once: using "
    "one again revokes its whole session (every device token issued from that sign-in).",
    response_model=TokenPair,
    responses=_docs(401, 413, 415, 422, example=TOKENS_EXAMPLE),
)
async def refresh(data: RefreshRequest, request: Request, session: SessionDep, auth: AuthDep) -> TokenPair:
    return await service.refresh(session, data.refresh_token, auth=auth, client=_client(request))


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Ends the current session: its access and refresh tokens stop working at once.",
    responses=_docs(401),
)
async def logout(session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.revoke_session(session, principal.user_id, principal.session_id, reason="logout")


@auth_router.get(
    "/me",
    summary="Your account",
    description="The signed-in account.",
    response_model=UserRead,
    responses=_docs(401, example=USER_EXAMPLE),
)
async def read_me(session: SessionDep, me: MeDep) -> UserRead:
    return await service.user_read(session, me)


@auth_router.patch(
    "/me",
    summary="Change your account",
    description="Changes the username, display name or email. A new email needs `current_password`, "
    "is unverified until the link mailed to it is followed.",
    response_model=UserRead,
    responses=_docs(401, 403, 409, 413, 415, 422, example=USER_EXAMPLE),
)
async def update_me(
    data: ProfileUpdate, session: SessionDep, me: MeDep, auth: AuthDep, base_url: BaseUrlDep
) -> UserRead:
    if await service.update_profile(session, me, data, auth=auth):
        await verification.send_verification(session, me, auth=auth, base_url=base_url)
    return await service.user_read(session, me)


@auth_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password",
    description="Needs the current password. Every other session is signed out.",
    responses=_docs(401, 403, 413, 415, 422, 429),
)
async def change_password(
    data: PasswordChange,
    request: Request,
    session: SessionDep,
    me: MeDep,
    auth: AuthDep,
    principal: CurrentPrincipal,
) -> None:
    await check_rate_limit(request, PASSWORD, str(principal.user_id))
    await service.change_password(
        session,
        me,
        current=data.current_password,
        new=data.new_password,
        keep_session=principal.session_id,
        auth=auth,
    )


# --- sessions -------------------------------------------------------------------------------


@auth_router.get(
    "/sessions",
    summary="Your signed-in sessions",
    description="Open sessions (devices), most recently used first; `current` marks this one.",
    response_model=SessionList,
    responses=_docs(401, example=SESSIONS_EXAMPLE),
)
async def list_sessions(reader: ReaderDep, principal: CurrentPrincipal) -> SessionList:
    return SessionList(items=await service.list_sessions(reader, principal))


@auth_router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign a session out",
    description="Revokes one of your sessions; its tokens stop working at once.",
    responses=_docs(401, 404, 422),
)
async def revoke_session(session_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.revoke_session(session, principal.user_id, session_id, reason="revoked")


@auth_router.delete(
    "/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out everywhere else",
    description="Revokes every session but the current one.",
    responses=_docs(401),
)
async def revoke_other_sessions(session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.revoke_sessions(session, principal.user_id, reason="revoked", keep=principal.session_id)


# --- email verification and password reset --------------------------------------------------


@auth_router.post(
    "/verify-email",
    summary="Verify your email address",
    description="Spends the token of the link mailed at sign-up (or after an email change). "
    "A link works once (410 after) and expires (410).",
    response_model=UserRead,
    responses=_docs(404, 410, 413, 415, 422, example=USER_EXAMPLE),
)
async def verify_email(data: TokenSubmission, session: SessionDep, auth: AuthDep) -> UserRead:
    user = await verification.verify_email(session, data.token, auth=auth)
    return await service.user_read(session, user)


@auth_router.get(
    "/verify-email",
    summary="Verify your email address (the mailed link)",
    description="What the mailed link opens: the same as the POST, with the token in the query.",
    response_model=UserRead,
    responses=_docs(404, 410, 422, example=USER_EXAMPLE),
)
async def verify_email_link(
    token: Annotated[str, Query(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")],
    session: SessionDep,
    auth: AuthDep,
) -> UserRead:
    user = await verification.verify_email(session, token, auth=auth)
    return await service.user_read(session, user)


@auth_router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail the verification link again",
    description="Sends a new link (earlier ones stop working). Throttled.",
    response_model=MessageSent,
    responses=_docs(401, 409, 429, example=SENT_EXAMPLE, status=202),
)
async def resend_verification(
    request: Request, session: SessionDep, me: MeDep, auth: AuthDep, base_url: BaseUrlDep
) -> MessageSent:
    await check_rate_limit(request, RESEND, str(me.id))
    await verification.send_verification(session, me, auth=auth, base_url=base_url)
    return _sent()


@auth_router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a password reset",
    description="Mails a single-use reset token when an account uses this address. The answer is the "
    "same either way.",
    response_model=MessageSent,
    responses=_docs(413, 415, 422, 429, example=SENT_EXAMPLE, status=202),
)
async def request_password_reset(
    data: EmailRequest, request: Request, session: SessionDep, auth: AuthDep, base_url: BaseUrlDep
) -> MessageSent:
    await check_rate_limit(request, RESET, _email_key(data.email))
    await verification.request_password_reset(session, data.email, auth=auth, base_url=base_url)
    return _sent()


@auth_router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset token",
    description="Spends the token and sets the password; every session of the account is signed out. "
    "A token dies when used, when it expires, and when the password changes by any other way.",
    responses=_docs(404, 410, 413, 415, 422),
)
async def reset_password(data: PasswordReset, session: SessionDep, auth: AuthDep) -> None:
    await verification.reset_password(session, data.token, data.new_password, auth=auth)


# --- emailed sign-in codes ------------------------------------------------------------------


@auth_router.post(
    "/login/code",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail me a sign-in code",
    description="Mails a 6-digit code (valid 5 minutes, single use) when an account uses this address. "
    "The answer is the same either way.",
    response_model=MessageSent,
    responses=_docs(413, 415, 422, 429, example=SENT_EXAMPLE, status=202),
)
async def request_login_code(
    data: EmailRequest, request: Request, session: SessionDep, auth: AuthDep
) -> MessageSent:
    await check_rate_limit(request, CODE, _email_key(data.email))
    await verification.send_login_code(session, data.email, auth=auth)
    return _sent()


@auth_router.post(
    "/login/code/verify",
    summary="Sign in with a mailed code",
    description="Five wrong tries kill the code. With an authenticator app set up, answers 403 "
    "`mfa_required` like `/login`.",
    response_model=TokenPair,
    responses=_docs(401, 403, 413, 415, 422, 429, example=TOKENS_EXAMPLE),
)
async def login_with_code(data: CodeLogin, request: Request, session: SessionDep, auth: AuthDep) -> TokenPair:
    await check_rate_limit(request, CODE_VERIFY, _email_key(data.email))
    user = await verification.redeem_login_code(session, data.email, data.code, auth=auth)
    return await _sign_in(session, user, auth=auth, request=request, method="email_code")


# --- authenticator app (TOTP) ---------------------------------------------------------------


@auth_router.post(
    "/totp",
    summary="Start setting up an authenticator app",
    description="Creates a secret and answers its `otpauth://` URI and a QR code to scan. "
    "Nothing changes at sign-in until `POST /api/auth/totp/confirm` gets a right code.",
    response_model=TotpEnrolment,
    responses=_docs(401, 409, example=TOTP_EXAMPLE),
)
async def start_totp(session: SessionDep, me: MeDep, auth: AuthDep, request: Request) -> TotpEnrolment:
    uri = await verification.start_totp(session, me, auth=auth)
    return TotpEnrolment(
        secret=me.totp_secret or "", otpauth_uri=uri, qr_code_url=str(request.url_for("totp_qr_code").path)
    )


@auth_router.get(
    "/totp/qr.png",
    name="totp_qr_code",
    summary="QR code of the authenticator secret",
    description="A PNG of the pending (or active) `otpauth://` URI.",
    response_class=RawResponse,
    responses={200: {"content": {"image/png": {"example": "(PNG bytes)"}}}, **_docs(401, 409)},
)
async def totp_qr_code(me: MeDep, auth: AuthDep) -> RawResponse:
    png = verification.qr_png(verification.otpauth_uri(me, auth=auth))
    return RawResponse(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@auth_router.post(
    "/totp/confirm",
    summary="Turn the authenticator app on",
    description="Checks a first code (RFC 6238, 30-second steps, one step of clock drift either way) "
    "and answers ten single-use recovery codes, shown only this once.",
    response_model=RecoveryCodes,
    responses=_docs(401, 409, 413, 415, 422, example=RECOVERY_EXAMPLE),
)
async def confirm_totp(data: TotpCode, session: SessionDep, me: MeDep, auth: AuthDep) -> RecoveryCodes:
    return RecoveryCodes(codes=await verification.confirm_totp(session, me, data.code, auth=auth))


@auth_router.post(
    "/totp/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn the authenticator app off",
    description="Needs a current code or a recovery code.",
    responses=_docs(401, 409, 413, 415, 422, 429),
)
async def disable_totp(
    data: TotpCode, request: Request, session: SessionDep, me: MeDep, auth: AuthDep
) -> None:
    await check_rate_limit(request, MFA, str(me.id))
    await verification.disable_totp(session, me, data.code, auth=auth)


# --- administration -------------------------------------------------------------------------


@admin_router.get(
    "/users",
    summary="List accounts",
    description="Newest first; `q` matches email or username; filter by `role` and `is_active`. "
    "Needs the `users:manage` permission.",
    response_model=UserPage,
    responses=_docs(401, 403, 422, example={"items": [USER_EXAMPLE], "next_cursor": None}),
)
async def list_users(
    session: SessionDep,
    reader: ReaderDep,
    _admin: AdminDep,
    page: PageParamsDep,
    codec: CodecDep,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)] = None,
    role: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")] = None,
    is_active: bool | None = None,
) -> UserPage:
    users, next_cursor = await service.list_users(
        session, reader, params=page, codec=codec, q=q, role=role, is_active=is_active
    )
    return UserPage(items=users, next_cursor=next_cursor)


@admin_router.patch(
    "/users/{user_id}",
    summary="Change an account's roles or status",
    description="`roles` replaces the account's roles; `is_active: false` disables it and its tokens "
    "stop working at once. Needs `users:manage`.",
    response_model=UserRead,
    responses=_docs(401, 403, 404, 409, 413, 415, 422, example=USER_EXAMPLE),
)
async def update_user(
    user_id: uuid.UUID, data: AdminUserUpdate, session: SessionDep, admin: AdminDep
) -> UserRead:
    user = await service.admin_update_user(session, user_id, data, actor=admin)
    return await service.user_read(session, user)


@admin_router.get(
    "/roles",
    summary="List roles",
    description="Every role with its permissions. Needs `users:manage`.",
    response_model=RoleList,
    responses=_docs(401, 403, example=ROLES_EXAMPLE),
)
async def list_roles(session: SessionDep, _admin: AdminDep) -> RoleList:
    roles = await service.list_roles(session)
    return RoleList(
        items=[
            RoleRead(name=role.name, description=role.description, permissions=perms) for role, perms in roles
        ]
    )


@admin_router.get(
    "/outbox",
    summary="Mail outbox",
    description="Mails the platform sent (kept when mail goes to the outbox, the embedded default), "
    "newest first. Needs `outbox:read`.",
    response_model=mail.OutboxPage,
    responses=_docs(401, 403, 422, example=OUTBOX_EXAMPLE),
)
async def outbox(
    reader: ReaderDep, _reader: OutboxReaderDep, page: PageParamsDep, codec: CodecDep
) -> mail.OutboxPage:
    return await mail.list_outbox(reader, params=page, codec=codec)


router = APIRouter()
router.include_router(auth_router)
router.include_router(admin_router)
