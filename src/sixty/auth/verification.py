"""Proof by email and by authenticator app: verification links, password reset, emailed
sign-in codes, TOTP and recovery codes. No HTTP here; the caller's unit of work commits.

Every secret handed out (link token, code, recovery code) is stored only as a keyed hash,
is single use, and (but recovery codes) expires. Mail leaves through `core.mail` after the
transaction commits, so a rolled-back request never mails anyone.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
import uuid
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import OneTimeToken, User
from sixty.auth.service import (
    AuthContext,
    check_can_sign_in,
    find_user_by_email,
    get_user,
    new_token,
    now,
    revoke_sessions,
    set_password,
)
from sixty.core import mail
from sixty.core.errors import Conflict, Gone, NotFound, Unauthorized, Unprocessable
from sixty.core.i18n import N_, _
from sixty.core.security import InvalidTokenError

VERIFY, RESET, LOGIN_CODE, RECOVERY = "verify", "reset", "login_code", "recovery"
RECOVERY_CODE_COUNT = 10


async def _issue(
    session: AsyncSession, user: User, purpose: str, *, auth: AuthContext, ttl: timedelta | None, secret: str
) -> None:
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=auth.digest(f"{purpose}:{secret}"),
            email=user.email,
            expires_at=now() + ttl if ttl is not None else None,
        )
    )
    await session.flush()


async def _retire(session: AsyncSession, user_id: uuid.UUID, purpose: str) -> None:
    """Earlier tokens of this purpose stop working when a new one is sent."""
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None)
        )
        .values(used_at=now())
    )


async def _redeem_link(session: AsyncSession, purpose: str, token: str, *, auth: AuthContext) -> OneTimeToken:
    """Spends a link token: one conditional UPDATE, so a link works once even when clicked twice at once."""
    digest = auth.digest(f"{purpose}:{token}")
    moment = now()
    spent = await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.purpose == purpose,
            OneTimeToken.token_hash == digest,
            OneTimeToken.used_at.is_(None),
            or_(OneTimeToken.expires_at.is_(None), OneTimeToken.expires_at > moment),
        )
        .values(used_at=moment)
        .returning(OneTimeToken.id)
        .execution_options(synchronize_session=False)
    )
    token_id = spent.scalar_one_or_none()
    record = await session.scalar(
        select(OneTimeToken).where(OneTimeToken.purpose == purpose, OneTimeToken.token_hash == digest)
    )
    if record is None:
        raise NotFound(N_("This link is not valid; request a new one."), code="invalid_link")
    if token_id is None:
        if record.expires_at is not None and record.expires_at <= moment and record.used_at is None:
            raise Gone(N_("This link has expired; request a new one."), code="link_expired")
        raise Gone(N_("This link has already been used."), code="link_used")
    return record


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?token={token}"


# --- email verification ---------------------------------------------------------------------


async def send_verification(session: AsyncSession, user: User, *, auth: AuthContext, base_url: str) -> None:
    if user.email_verified_at is not None:
        raise Conflict(N_("Your email address is already verified."), code="already_verified")
    await _retire(session, user.id, VERIFY)
    token = new_token()
    await _issue(session, user, VERIFY, auth=auth, ttl=auth.settings.email_verification_ttl, secret=token)
    link = _link(base_url, "/api/auth/verify-email", token)
    mail.queue_mail(
        session,
        to=user.email,
        subject=_("Confirm your email address"),
        text=_(
            "Hello {name},\n\nConfirm your email address by opening this link:\n\n{link}\n\n"
            "The link works once and expires in {hours} hours. If you did not sign up, ignore this mail."
        ).format(
            name=user.display_name or user.username,
            link=link,
            hours=int(auth.settings.email_verification_ttl.total_seconds() // 3600),
        ),
    )


async def verify_email(session: AsyncSession, token: str, *, auth: AuthContext) -> User:
    record = await _redeem_link(session, VERIFY, token, auth=auth)
    user = await get_user(session, record.user_id)
    if record.email != user.email:  # the address changed since the link was sent
        raise Gone(N_("This link was sent to an address the account no longer uses."), code="link_stale")
    user.email_verified_at = now()
    await session.flush()
    return user


# --- password reset -------------------------------------------------------------------------


async def request_password_reset(
    session: AsyncSession, email: str, *, auth: AuthContext, base_url: str
) -> None:
    """Mails a reset link when the account exists; silently does nothing otherwise."""
    user = await find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    await _retire(session, user.id, RESET)
    token = new_token()
    await _issue(session, user, RESET, auth=auth, ttl=auth.settings.password_reset_ttl, secret=token)
    mail.queue_mail(
        session,
        to=user.email,
        subject=_("Reset your password"),
        text=_(
            "Hello {name},\n\nSomeone (hopefully you) asked to reset the password of your account.\n"
            "Your reset token:\n\n{token}\n\nSend it with your new password to POST {url} "
            '({{"token": "...", "new_password": "..."}}). It works once and expires in {minutes} minutes.\n'
            "If you did not ask for this, ignore this mail: your password stays as it is."
        ).format(
            name=user.display_name or user.username,
            token=token,
            url=f"{base_url.rstrip('/')}/api/auth/password-reset/confirm",
            minutes=int(auth.settings.password_reset_ttl.total_seconds() // 60),
        ),
    )


async def reset_password(session: AsyncSession, token: str, new_password: str, *, auth: AuthContext) -> User:
    record = await _redeem_link(session, RESET, token, auth=auth)
    user = await get_user(session, record.user_id)
    await set_password(session, user, new_password, auth=auth)
    await revoke_sessions(session, user.id, reason="password_reset")
    if user.email_verified_at is None and record.email == user.email:
        user.email_verified_at = now()  # the mail was read: the address is proven
    return user


# --- emailed sign-in codes ------------------------------------------------------------------


def _code_secret(user_id: uuid.UUID, code: str) -> str:
    # Bound to the user: the same six digits hash differently for everyone.
    return f"{user_id}:{code}"


async def send_login_code(session: AsyncSession, email: str, *, auth: AuthContext) -> None:
    """Mails a 6-digit code when the account exists; silently does nothing otherwise."""
    user = await find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    await _retire(session, user.id, LOGIN_CODE)
    code = f"{secrets.randbelow(1_000_000):06d}"
    await _issue(
        session,
        user,
        LOGIN_CODE,
        auth=auth,
        ttl=auth.settings.login_code_ttl,
        secret=_code_secret(user.id, code),
    )
    mail.queue_mail(
        session,
        to=user.email,
        subject=_("Your sign-in code: {code}").format(code=code),
        text=_(
            "Your sign-in code is {code}.\n\nIt works once and expires in {minutes} minutes. "
            "Nobody from us will ever ask you for it."
        ).format(code=code, minutes=max(1, int(auth.settings.login_code_ttl.total_seconds() // 60))),
    )


def _wrong_code(*, keep_changes: bool) -> Unauthorized:
    return Unauthorized(
        N_("The code is wrong, expired or used up; request a new one."),
        code="invalid_code",
        keep_changes=keep_changes,
    )


async def redeem_login_code(session: AsyncSession, email: str, code: str, *, auth: AuthContext) -> User:
    """The account the code was mailed to. Each wrong try counts; after the last allowed one the
    code is dead, so six digits cannot be guessed."""
    user = await find_user_by_email(session, email)
    moment = now()
    record = None
    if user is not None:
        record = await session.scalar(
            select(OneTimeToken)
            .where(
                OneTimeToken.user_id == user.id,
                OneTimeToken.purpose == LOGIN_CODE,
                OneTimeToken.used_at.is_(None),
                OneTimeToken.expires_at > moment,
            )
            .order_by(OneTimeToken.created_at.desc())
            .limit(1)
        )
    if user is None or record is None:
        raise _wrong_code(keep_changes=False)
    limit = auth.settings.login_code_max_attempts
    # Count the try first, atomically: concurrent guesses cannot exceed the limit.
    counted = await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == record.id, OneTimeToken.used_at.is_(None), OneTimeToken.attempts < limit)
        .values(attempts=OneTimeToken.attempts + 1)
        .returning(OneTimeToken.attempts)
        .execution_options(synchronize_session=False)
    )
    attempts = counted.scalar_one_or_none()
    if attempts is None:
        raise _wrong_code(keep_changes=False)
    if not hmac.compare_digest(record.token_hash, auth.digest(f"{LOGIN_CODE}:{_code_secret(user.id, code)}")):
        if attempts >= limit:
            await session.execute(
                update(OneTimeToken).where(OneTimeToken.id == record.id).values(used_at=moment)
            )
        raise _wrong_code(keep_changes=True)
    await session.execute(update(OneTimeToken).where(OneTimeToken.id == record.id).values(used_at=moment))
    check_can_sign_in(user, auth=auth)
    if user.email_verified_at is None:
        user.email_verified_at = moment  # reading the mail proved the address
    await session.flush()
    return user


# --- TOTP (RFC 6238) and recovery codes -----------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=6, interval=30)


def otpauth_uri(user: User, *, auth: AuthContext) -> str:
    if user.totp_secret is None:
        raise Conflict(N_("Start the authenticator set-up first."), code="totp_not_started")
    return _totp(user.totp_secret).provisioning_uri(name=user.email, issuer_name=auth.settings.totp_issuer)


async def start_totp(session: AsyncSession, user: User, *, auth: AuthContext) -> str:
    """A fresh secret, pending until a first code confirms it; the otpauth:// URI to scan."""
    if user.totp_enabled_at is not None:
        raise Conflict(N_("An authenticator app is already set up; disable it first."), code="totp_enabled")
    user.totp_secret = pyotp.random_base32(length=32)
    user.totp_last_step = None
    await session.flush()
    return otpauth_uri(user, auth=auth)


def qr_png(uri: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


async def _accept_totp(session: AsyncSession, user: User, code: str, *, at: datetime | None = None) -> bool:
    """True when `code` is the app's code for the current 30-second step or one either side,
    and that step was not used before (a code cannot be replayed within its window)."""
    if user.totp_secret is None or not code.isdigit() or len(code) != 6:
        return False
    totp = _totp(user.totp_secret)
    moment = at or now()
    current = totp.timecode(moment)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Conditional on the last accepted step, so two requests cannot both use one code.
            accepted = await session.execute(
                update(User)
                .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step)
                .returning(User.id)
                .execution_options(synchronize_session=False)
            )
            if accepted.scalar_one_or_none() is None:
                return False
            user.totp_last_step = step
            return True
    return False


def _recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    return f"{raw[:4]}-{raw[4:]}"


def _recovery_secret(user_id: uuid.UUID, code: str) -> str:
    return f"{user_id}:{code.replace('-', '').replace(' ', '').lower()}"


async def confirm_totp(session: AsyncSession, user: User, code: str, *, auth: AuthContext) -> list[str]:
    """Turns the authenticator on once it produced a right code; answers the recovery codes (shown once)."""
    if user.totp_secret is None:
        raise Conflict(N_("Start the authenticator set-up first."), code="totp_not_started")
    if user.totp_enabled_at is not None:
        raise Conflict(N_("An authenticator app is already set up; disable it first."), code="totp_enabled")
    if not await _accept_totp(session, user, code):
        raise Unprocessable(
            N_("The code is wrong; check the time on your device and try again."), code="invalid_code"
        )
    user.totp_enabled_at = now()
    await _retire(session, user.id, RECOVERY)
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for one in codes:
        await _issue(session, user, RECOVERY, auth=auth, ttl=None, secret=_recovery_secret(user.id, one))
    return codes


async def disable_totp(session: AsyncSession, user: User, code: str, *, auth: AuthContext) -> None:
    if user.totp_enabled_at is None:
        raise Conflict(N_("No authenticator app is set up."), code="totp_not_enabled")
    if not await check_second_factor(session, user, code, auth=auth):
        raise _wrong_code(keep_changes=True)
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    await _retire(session, user.id, RECOVERY)
    await session.flush()


async def check_second_factor(session: AsyncSession, user: User, code: str, *, auth: AuthContext) -> bool:
    """An authenticator code, or one of the recovery codes (spent on use)."""
    if await _accept_totp(session, user, code):
        return True
    digest = auth.digest(f"{RECOVERY}:{_recovery_secret(user.id, code)}")
    spent = await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == RECOVERY,
            OneTimeToken.token_hash == digest,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now())
        .returning(OneTimeToken.id)
        .execution_options(synchronize_session=False)
    )
    return spent.scalar_one_or_none() is not None


def _mfa_expired() -> Unauthorized:
    return Unauthorized(N_("The sign-in step has expired; start again."), code="invalid_mfa_token")


def mfa_subject(mfa_token: str, *, auth: AuthContext) -> uuid.UUID:
    """The account a challenge from `service.mfa_challenge` was issued to (401 when it is not one)."""
    try:
        return auth.codec.verify(mfa_token, audience=auth.mfa_audience).subject
    except InvalidTokenError:
        raise _mfa_expired() from None


async def complete_mfa(session: AsyncSession, user_id: uuid.UUID, code: str, *, auth: AuthContext) -> User:
    """The account of `mfa_subject`, once its second factor is right."""
    user = await session.get(User, user_id)
    if user is None or user.totp_enabled_at is None:
        raise _mfa_expired()
    check_can_sign_in(user, auth=auth)
    if not await check_second_factor(session, user, code, auth=auth):
        raise _wrong_code(keep_changes=True)
    await session.flush()
    return user
