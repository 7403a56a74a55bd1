"""Who is calling: access tokens (JWT) and the principal every protected route depends on.

Access tokens are short-lived JWTs signed with a pinned HMAC algorithm. Each carries a
`kid` header naming the key that signed it: the first key in `SIXTY_JWT_KEYS` signs,
every listed key verifies, so a key is rotated by putting a new one first and dropping
the old one once the longest-lived token signed with it has expired.

A valid signature is not enough: the token's session must still be open and its account
active, so logout, "sign out everywhere" and disabling an account take effect at once.
That check belongs to the module that owns accounts (`auth`), which installs a
`PrincipalResolver` on the app; `core` only knows the interface.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from sixty.core.config import Settings
from sixty.core.errors import Forbidden, Unauthorized
from sixty.core.i18n import N_
from sixty.core.reader import Reader

ALGORITHMS = ("HS256", "HS384", "HS512")
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "sub", "sid")


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes


def signing_keys(settings: Settings) -> list[SigningKey]:
    """`SIXTY_JWT_KEYS` (`kid:secret,...`, first one signs), or one key derived from the
    secret key when none are configured."""
    if not settings.jwt_keys:
        derived = hmac.new(settings.secret_key.encode(), b"sixty.jwt", hashlib.sha256).digest()
        return [SigningKey("default", derived)]
    return [SigningKey(kid, secret.encode()) for kid, secret in settings.jwt_keys]


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    expires_at: datetime


class TokenCodec:
    """Issues and verifies access JWTs: one algorithm, known keys, required claims."""

    def __init__(
        self, keys: list[SigningKey], *, algorithm: str, issuer: str, audience: str, leeway: int = 0
    ) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
        self.keys = {key.kid: key.secret for key in keys}
        self.current = keys[0]
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec:
        return cls(
            signing_keys(settings),
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    def issue(
        self,
        *,
        subject: uuid.UUID,
        session_id: uuid.UUID,
        lifetime: timedelta,
        audience: str | None = None,
        now: datetime | None = None,
    ) -> tuple[str, AccessClaims]:
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        claims = AccessClaims(subject, session_id, uuid.uuid4().hex, issued + lifetime)
        payload = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": str(subject),
            "sid": str(session_id),
            "jti": claims.token_id,
            "iat": int(issued.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        token = jwt.encode(
            payload, self.current.secret, algorithm=self.algorithm, headers={"kid": self.current.kid}
        )
        return token, claims

    def verify(self, token: str, *, audience: str | None = None) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            secret = self.keys.get(header.get("kid", ""))
            if secret is None:
                raise InvalidTokenError("unknown key id")
            # The algorithm list is pinned: `alg: none` or a different algorithm never verifies.
            payload: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[self.algorithm],
                audience=audience or self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            return AccessClaims(
                subject=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                token_id=str(payload["jti"]),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
            raise InvalidTokenError(str(error)) from error


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as routes of every module see it."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    username: str
    email: str
    email_verified: bool
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


class PrincipalResolver(Protocol):
    """Turns verified claims into a principal, or None when the session or account is no
    longer valid. Installed by the module that owns accounts."""

    async def __call__(
        self, reader: Reader, claims: AccessClaims, *, with_permissions: bool
    ) -> Principal | None: ...


# Declares the scheme in OpenAPI (a password flow, so the docs' Authorize button signs in
# through the auth module's OAuth2 form endpoint). `auto_error=False`: a missing header is
# our own 401 problem document, and the header itself is parsed below.
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <access token>` from `POST /api/auth/login` (or `/api/auth/token`).",
)
BearerDep = Annotated[str | None, Depends(bearer_scheme)]

TOKEN_SCHEMES = frozenset({"bearer", "token"})  # `Token` is the RealWorld spec's spelling


def token_from_header(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() in TOKEN_SCHEMES and token else None


async def authenticate(request: Request, *, with_permissions: bool = False) -> Principal | None:
    """The caller's principal, None when no token was sent; 401 for a token that is bad."""
    token = token_from_header(request.headers.get("authorization"))
    if token is None:
        return None
    state = request.app.state
    try:
        claims = state.token_codec.verify(token)
    except InvalidTokenError:
        raise Unauthorized(
            N_("The access token is invalid or has expired."),
            code="invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    resolver: PrincipalResolver | None = getattr(state, "principal_resolver", None)
    principal = (
        None
        if resolver is None
        else await resolver(state.db.reader, claims, with_permissions=with_permissions)
    )
    if principal is None:
        raise Unauthorized(
            N_("This session has ended or the account is disabled; sign in again."),
            code="invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return principal


async def current_principal(request: Request, _credentials: BearerDep) -> Principal:
    principal = await authenticate(request)
    if principal is None:
        raise Unauthorized(N_("Sign in first: send `Authorization: Bearer <access token>`."))
    return principal


async def optional_principal(request: Request, _credentials: BearerDep) -> Principal | None:
    return await authenticate(request)


def require(*permissions: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency answering the principal when it holds every listed permission
    (403 otherwise). Compose by listing several, or by stacking dependencies."""

    async def dependency(request: Request, _credentials: BearerDep) -> Principal:
        principal = await authenticate(request, with_permissions=True)
        if principal is None:
            raise Unauthorized(N_("Sign in first: send `Authorization: Bearer <access token>`."))
        missing = [permission for permission in permissions if not principal.can(permission)]
        if missing:
            raise Forbidden(
                N_("You need the permission {permission} for this."),
                code="permission_denied",
                permission=", ".join(missing),
            )
        return principal

    dependency.__name__ = f"require_{'_'.join(p.replace(':', '_') for p in permissions)}"
    return dependency


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
