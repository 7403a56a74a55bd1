"""Accounts, sign-in, sessions and roles. No HTTP here; the caller's unit of work commits.

Other modules use this file (and `schemas.py`) as the auth module's public surface:
`register`, `authenticate`, `open_session`, `get_user`, `user_read`, `ensure_role`, and for
modules with their own sign-in API `sign_in_with_password`, `change_email`, `replace_password`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import String, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.identifiers import InvalidEmailError, normalize_email, username_candidates, username_key
from sixty.auth.models import OneTimeToken, RefreshToken, Role, RolePermission, Session, User, UserRole
from sixty.auth.passwords import PasswordHasher, policy_violation
from sixty.auth.schemas import AdminUserUpdate, ProfileUpdate, Registration, SessionRead, TokenPair, UserRead
from sixty.core.config import Settings
from sixty.core.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from sixty.core.i18n import N_
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader
from sixty.core.security import Principal, TokenCodec

DEFAULT_ROLE = "user"
ADMIN_ROLE = "admin"
MFA_AUDIENCE_SUFFIX = ":mfa"
MFA_TOKEN_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class AuthContext:
    """What the auth logic needs besides a session: settings, the password hasher, the token codec."""

    settings: Settings
    hasher: PasswordHasher
    codec: TokenCodec

    def digest(self, token: str) -> str:
        """A keyed hash of an opaque token: what is stored, so a database leak reveals no token."""
        return hmac.new(self.settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()

    @property
    def mfa_audience(self) -> str:
        return self.settings.jwt_audience + MFA_AUDIENCE_SUFFIX


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, shown in the session list."""

    user_agent: str | None = None
    ip: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    return secrets.token_urlsafe(32)


# --- accounts -------------------------------------------------------------------------------


def _weak_password(password: str, *, email: str | None, username: str | None) -> None:
    reason = policy_violation(password, email=email, username=username)
    if reason == "common":
        raise Unprocessable(
            N_("This password is among the most common ones; choose another."), code="password_too_common"
        )
    if reason == "personal":
        raise Unprocessable(
            N_("The password must not be your email address or username."), code="password_too_personal"
        )


async def _username_taken(session: AsyncSession, username: str, *, exclude: uuid.UUID | None = None) -> bool:
    statement = select(User.id).where(User.username_key == username_key(username))
    if exclude is not None:
        statement = statement.where(User.id != exclude)
    return (await session.scalar(statement)) is not None


async def _email_taken(session: AsyncSession, email: str, *, exclude: uuid.UUID | None = None) -> bool:
    statement = select(User.id).where(User.email == email)
    if exclude is not None:
        statement = statement.where(User.id != exclude)
    return (await session.scalar(statement)) is not None


async def _free_username(session: AsyncSession, email: str) -> str:
    for candidate in username_candidates(email):
        if not await _username_taken(session, candidate):
            return candidate
    return f"user-{uuid.uuid4().hex[:12]}"


async def _flush_unique(session: AsyncSession) -> None:
    """Flush; a unique violation (a concurrent signup won the race) is a 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            N_("An account with this email or username already exists."), code="account_exists"
        ) from None


async def register(
    session: AsyncSession,
    data: Registration,
    *,
    auth: AuthContext,
    roles: Iterable[str] = (DEFAULT_ROLE,),
    verified: bool = False,
) -> User:
    """A new account (email already normalised by the schema). 409 when the email or username is taken."""
    if await _email_taken(session, data.email):
        raise Conflict(N_("An account with this email already exists."), code="email_taken")
    if data.username is not None and await _username_taken(session, data.username):
        raise Conflict(N_("The username {username} is taken."), code="username_taken", username=data.username)
    username = data.username or await _free_username(session, data.email)
    _weak_password(data.password, email=data.email, username=username)
    user = User(
        email=data.email,
        username=username,
        username_key=username_key(username),
        display_name=data.display_name,
        password_hash=await _hash(auth, data.password),
        email_verified_at=now() if verified else None,
        password_changed_at=now(),
    )
    session.add(user)
    await _flush_unique(session)
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User {id} was not found."), id=str(user_id))
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this address (any spelling of it), or None."""
    try:
        canonical = normalize_email(email)
    except InvalidEmailError:
        return None
    user: User | None = await session.scalar(select(User).where(User.email == canonical))
    return user


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    return sorted((await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))).all())


def _user_read(user: User, roles: list[str]) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        username=user.username,
        display_name=user.display_name,
        email_verified=user.email_verified_at is not None,
        roles=roles,
        is_active=user.is_active,
        totp_enabled=user.totp_enabled_at is not None,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


async def user_read(session: AsyncSession, user: User) -> UserRead:
    return _user_read(user, await roles_of(session, user.id))


async def update_profile(
    session: AsyncSession, user: User, data: ProfileUpdate, *, auth: AuthContext
) -> bool:
    """Applies the changes; True when the email changed (and needs verifying again)."""
    if data.username is not None and data.username != user.username:
        if await _username_taken(session, data.username, exclude=user.id):
            raise Conflict(
                N_("The username {username} is taken."), code="username_taken", username=data.username
            )
        user.username, user.username_key = data.username, username_key(data.username)
    if data.display_name is not None:
        user.display_name = data.display_name
    email_changed = data.email is not None and data.email != user.email
    if email_changed:
        given = data.current_password
        if given is None or not await _password_matches(user, given, auth=auth):
            raise Forbidden(
                N_("Changing the email needs your current password in `current_password`."),
                code="password_required",
            )
        if await _email_taken(session, data.email or "", exclude=user.id):
            raise Conflict(N_("An account with this email already exists."), code="email_taken")
        user.email, user.email_verified_at = data.email or "", None
    await _flush_unique(session)
    return email_changed


# Hashing takes tens of milliseconds of CPU: in a thread (argon2 and bcrypt release the GIL),
# so the event loop keeps serving other requests meanwhile.
async def _hash(auth: AuthContext, password: str) -> str:
    return await asyncio.to_thread(auth.hasher.hash, password)


async def _verify(auth: AuthContext, stored: str, password: str) -> bool:
    return await asyncio.to_thread(auth.hasher.verify, stored, password)


async def _password_matches(user: User, password: str, *, auth: AuthContext) -> bool:
    return user.password_hash is not None and await _verify(auth, user.password_hash, password)


async def set_password(session: AsyncSession, user: User, password: str, *, auth: AuthContext) -> None:
    """A new password: every session ends and outstanding reset links die with the old one."""
    _weak_password(password, email=user.email, username=user.username)
    user.password_hash = await _hash(auth, password)
    user.password_changed_at = now()
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id, OneTimeToken.purpose == "reset", OneTimeToken.used_at.is_(None)
        )
        .values(used_at=now())
    )
    await session.flush()


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, keep_session: uuid.UUID, auth: AuthContext
) -> None:
    if not await _password_matches(user, current, auth=auth):
        raise Forbidden(N_("The current password is wrong."), code="wrong_password")
    await set_password(session, user, new, auth=auth)
    await revoke_sessions(session, user.id, reason="password_changed", keep=keep_session)


# --- sign-in --------------------------------------------------------------------------------


def invalid_credentials() -> Unauthorized:
    return Unauthorized(N_("The email or password is wrong."), code="invalid_credentials")


# What a sign-in checks the password against, read outside the request's transaction.
_CREDENTIALS = select(User.id, User.password_hash).where(User.email == bindparam("email"))


async def authenticate(
    session: AsyncSession, email: str, password: str, *, auth: AuthContext, reader: Reader
) -> User:
    """The account whose credentials these are. An unknown email costs the same hashing work as a
    wrong password and gets the same answer; the parameters of an old hash are upgraded here.

    The password is checked on a read before `session` begins its transaction: on SQLite a write
    transaction holds the database's single write lock, and concurrent sign-ins would queue on it
    (and time out) behind tens of milliseconds of hashing each."""
    try:
        row = await reader.one(_CREDENTIALS, email=normalize_email(email))
    except InvalidEmailError:
        row = None
    if row is None or row["password_hash"] is None:
        await asyncio.to_thread(auth.hasher.verify_dummy, password)
        raise invalid_credentials()
    if not await _verify(auth, row["password_hash"], password):
        raise invalid_credentials()
    user = await session.get(User, row["id"])
    if user is None or user.password_hash != row["password_hash"]:  # changed while we hashed
        raise invalid_credentials()
    check_can_sign_in(user, auth=auth)
    if auth.hasher.needs_rehash(row["password_hash"]):
        user.password_hash = await _hash(auth, password)
    return user


def check_can_sign_in(user: User, *, auth: AuthContext) -> None:
    """Only reached with proof of identity (a right password or code), so saying why leaks nothing."""
    if not user.is_active:
        raise Forbidden(N_("This account is disabled."), code="account_disabled")
    if auth.settings.require_verified_email and user.email_verified_at is None:
        raise Forbidden(
            N_("Verify your email address first: follow the link we mailed you."), code="email_not_verified"
        )


def mfa_challenge(user: User, *, auth: AuthContext) -> Forbidden:
    """The answer to a right first factor when the account also has an authenticator app."""
    token, _ = auth.codec.issue(
        subject=user.id, session_id=uuid.uuid4(), lifetime=MFA_TOKEN_TTL, audience=auth.mfa_audience
    )
    return Forbidden(
        N_("Enter the code from your authenticator app (or a recovery code) at /api/auth/login/mfa."),
        code="mfa_required",
        extensions={"mfa_token": token, "expires_in": int(MFA_TOKEN_TTL.total_seconds())},
    )


async def open_session(
    session: AsyncSession,
    user: User,
    *,
    auth: AuthContext,
    client: Client,
    method: str = "password",
    access_ttl: timedelta | None = None,
) -> TokenPair:
    """A new signed-in session: its first refresh token and an access token."""
    moment = now()
    device = Session(
        user_id=user.id,
        expires_at=moment + auth.settings.refresh_token_ttl,
        user_agent=(client.user_agent or "")[:300] or None,
        ip=client.ip,
        method=method,
        created_at=moment,
        last_used_at=moment,
    )
    session.add(device)
    user.last_login_at = moment
    await session.flush()
    return await _token_pair(session, device, user_id=user.id, auth=auth, access_ttl=access_ttl)


async def _token_pair(
    session: AsyncSession,
    device: Session,
    *,
    user_id: uuid.UUID,
    auth: AuthContext,
    access_ttl: timedelta | None = None,
) -> TokenPair:
    refresh = new_token()
    session.add(RefreshToken(session_id=device.id, token_hash=auth.digest(refresh)))
    await session.flush()
    lifetime = access_ttl or auth.settings.access_token_ttl
    access, _ = auth.codec.issue(subject=user_id, session_id=device.id, lifetime=lifetime)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=int(lifetime.total_seconds()))


def _refresh_refused(*, keep_changes: bool = False) -> Unauthorized:
    return Unauthorized(
        N_("The refresh token is invalid, expired or already used; sign in again."),
        code="invalid_refresh_token",
        keep_changes=keep_changes,
    )


async def refresh(session: AsyncSession, token: str, *, auth: AuthContext, client: Client) -> TokenPair:
    """Rotates a refresh token: the one given is spent, a new pair is answered.

    Spending is one conditional UPDATE, so of any number of concurrent uses exactly one wins.
    A token that was already spent is a replay: the whole session (the token family) is
    revoked, unless the reuse falls within the configured grace window (a client's own
    duplicate request), which is refused without revoking.
    """
    moment = now()
    digest = auth.digest(token)
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == digest, RefreshToken.used_at.is_(None))
        .values(used_at=moment)
        .returning(RefreshToken.session_id)
        .execution_options(synchronize_session=False)
    )
    session_id = spent.scalar_one_or_none()
    if session_id is None:
        await _refused_refresh(session, digest, moment=moment, auth=auth)
    device = await session.get(Session, session_id, with_for_update=True)
    user = await session.get(User, device.user_id) if device is not None else None
    if device is None or user is None or device.revoked_at is not None or device.expires_at <= moment:
        raise _refresh_refused()
    if not user.is_active:
        raise _refresh_refused()
    device.last_used_at = moment
    device.ip = client.ip or device.ip
    device.user_agent = (client.user_agent or "")[:300] or device.user_agent
    return await _token_pair(session, device, user_id=user.id, auth=auth)


async def _refused_refresh(
    session: AsyncSession, digest: str, *, moment: datetime, auth: AuthContext
) -> None:
    replayed = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest))
    if replayed is None or replayed.used_at is None:
        raise _refresh_refused()
    if moment - replayed.used_at <= auth.settings.refresh_reuse_grace:
        raise _refresh_refused()
    await session.execute(
        update(Session)
        .where(Session.id == replayed.session_id, Session.revoked_at.is_(None))
        .values(revoked_at=moment, revoked_reason="refresh_token_reuse")
    )
    raise _refresh_refused(keep_changes=True)


# --- sessions -------------------------------------------------------------------------------


async def revoke_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, reason: str, keep: uuid.UUID | None = None
) -> None:
    statement = (
        update(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason)
    )
    if keep is not None:
        statement = statement.where(Session.id != keep)
    await session.execute(statement)


async def revoke_session(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID, *, reason: str
) -> None:
    result = await session.execute(
        update(Session)
        .where(Session.id == session_id, Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason)
        .returning(Session.id)
    )
    if result.scalar_one_or_none() is None:
        raise NotFound(N_("Session {id} was not found."), id=str(session_id))


_SESSIONS = (
    select(
        Session.id,
        Session.created_at,
        Session.last_used_at,
        Session.expires_at,
        Session.user_agent,
        Session.ip,
        Session.method,
    )
    .where(
        Session.user_id == bindparam("user_id"),
        Session.revoked_at.is_(None),
        Session.expires_at > bindparam("now", type_=Session.expires_at.type),
    )
    .order_by(Session.last_used_at.desc())
    .limit(100)
)


async def list_sessions(reader: Reader, principal: Principal) -> list[SessionRead]:
    rows = await reader.all(_SESSIONS, user_id=principal.user_id, now=now())
    return [SessionRead(**row, current=row["id"] == principal.session_id) for row in rows]


# --- roles and administration ---------------------------------------------------------------


async def ensure_role(
    session: AsyncSession, name: str, *, description: str = "", permissions: Iterable[str] = ()
) -> None:
    """Creates a role (or adds permissions to it). Modules call this from their data migrations."""
    if await session.get(Role, name) is None:
        session.add(Role(name=name, description=description))
        await session.flush()
    existing = set(
        (await session.scalars(select(RolePermission.permission).where(RolePermission.role == name))).all()
    )
    for permission in set(permissions) - existing:
        session.add(RolePermission(role=name, permission=permission))
    await session.flush()


async def list_roles(session: AsyncSession) -> list[tuple[Role, list[str]]]:
    roles = (await session.scalars(select(Role).order_by(Role.name))).all()
    grants = (await session.execute(select(RolePermission.role, RolePermission.permission))).all()
    by_role: dict[str, list[str]] = {}
    for role, permission in grants:
        by_role.setdefault(role, []).append(permission)
    return [(role, sorted(by_role.get(role.name, []))) for role in roles]


USER_SORTS = sort_keys(User.id, created_at=User.created_at, email=User.email)


@cache
def _users_statement(search: bool, role: bool, active: bool, after: bool) -> AnySelect:
    statement = select(User.id)
    if search:
        pattern = bindparam("pattern", type_=String())
        statement = statement.where(or_(User.email.like(pattern), User.username_key.like(pattern)))
    if role:
        statement = statement.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == bindparam("role")))
        )
    if active:
        statement = statement.where(User.is_active == bindparam("is_active"))
    return keyset_page(statement.add_columns(User.created_at), USER_SORTS["-created_at"], after=after)


async def list_users(
    session: AsyncSession,
    reader: Reader,
    *,
    params: PageParams,
    codec: CursorCodec,
    q: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
) -> tuple[list[UserRead], str | None]:
    filters: dict[str, object] = {}
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        filters["pattern"] = f"%{escaped}%"
    if role:
        filters["role"] = role
    if is_active is not None:
        filters["is_active"] = is_active
    rows, next_cursor = await paginate(
        reader,
        lambda after: _users_statement(bool(q), bool(role), is_active is not None, after),
        sort=USER_SORTS["-created_at"],
        params=params,
        codec=codec,
        **filters,
    )
    ids = [row["id"] for row in rows]
    users = {user.id: user for user in (await session.scalars(select(User).where(User.id.in_(ids)))).all()}
    roles: dict[uuid.UUID, list[str]] = {user_id: [] for user_id in ids}
    grants = await session.execute(
        select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids)).order_by(UserRole.role)
    )
    for user_id, role in grants:
        roles[user_id].append(role)
    return [_user_read(users[user_id], roles[user_id]) for user_id in ids], next_cursor


async def admin_update_user(
    session: AsyncSession, user_id: uuid.UUID, data: AdminUserUpdate, *, actor: Principal
) -> User:
    user = await get_user(session, user_id)
    if data.roles is not None:
        wanted = set(data.roles)
        known = set((await session.scalars(select(Role.name).where(Role.name.in_(wanted)))).all())
        if unknown := sorted(wanted - known):
            raise Unprocessable(
                N_("Unknown role(s): {roles}."), code="unknown_role", roles=", ".join(unknown)
            )
        if user.id == actor.user_id and ADMIN_ROLE not in wanted:
            raise Conflict(N_("You cannot take the admin role from yourself."), code="self_demotion")
        await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
        for role in sorted(wanted):
            session.add(UserRole(user_id=user.id, role=role))
    if data.is_active is not None and data.is_active != user.is_active:
        if user.id == actor.user_id:
            raise Conflict(N_("You cannot disable your own account."), code="self_disable")
        user.is_active = data.is_active
        if not data.is_active:
            await revoke_sessions(session, user.id, reason="account_disabled")
    await session.flush()
    return user


async def admin_exists(session: AsyncSession) -> bool:
    statement = select(func.count()).select_from(UserRole).where(UserRole.role == ADMIN_ROLE)
    return bool(await session.scalar(statement))


async def create_admin(session: AsyncSession, *, email: str, password: str, auth: AuthContext) -> User:
    """Makes the account an admin, creating it (verified) when it does not exist yet."""
    canonical = normalize_email(email)
    user = await session.scalar(select(User).where(User.email == canonical))
    if user is None:
        data = Registration(email=canonical, password=password)
        return await register(session, data, auth=auth, roles=(DEFAULT_ROLE, ADMIN_ROLE), verified=True)
    if ADMIN_ROLE not in await roles_of(session, user.id):
        session.add(UserRole(user_id=user.id, role=ADMIN_ROLE))
    user.is_active = True
    await session.flush()
    return user


# --- for modules with their own sign-in API (the blog's RealWorld endpoints) ----------------


async def sign_in_with_password(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    auth: AuthContext,
    client: Client,
    reader: Reader,
    access_ttl: timedelta | None = None,
) -> tuple[User, TokenPair]:
    """`authenticate`, then `open_session`, as `POST /api/auth/login` does: an account with an
    authenticator app gets the `mfa_required` challenge instead of tokens."""
    user = await authenticate(session, email, password, auth=auth, reader=reader)
    if user.totp_enabled_at is not None:
        raise mfa_challenge(user, auth=auth)
    return user, await open_session(session, user, auth=auth, client=client, access_ttl=access_ttl)


async def change_email(session: AsyncSession, user: User, email: str) -> None:
    """A new address (already normalised) for a signed-in owner whose API asks no password:
    unique whatever its case, and unverified until a new link is followed."""
    if email == user.email:
        return
    if await _email_taken(session, email, exclude=user.id):
        raise Conflict(N_("An account with this email already exists."), code="email_taken")
    user.email, user.email_verified_at = email, None
    await _flush_unique(session)


async def replace_password(
    session: AsyncSession, user: User, password: str, *, keep_session: uuid.UUID, auth: AuthContext
) -> None:
    """A new password for a signed-in owner whose API asks no current one: every other session ends."""
    await set_password(session, user, password, auth=auth)
    await revoke_sessions(session, user.id, reason="password_changed", keep=keep_session)
