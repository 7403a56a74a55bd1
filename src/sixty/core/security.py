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

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

import jwt
import orjson
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from sixty.core.config import Settings
from sixty.core.errors import Forbidden, Unauthorized
from sixty.core.i18n import N_
from sixty.core.reader import Reader

ALGORITHMS = ("HS256", "HS384", "HS512")
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "sub", "sid")
VERIFIED_CACHE_SIZE = 10_000


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


def _key_id(token: str) -> str:
    """The `kid` of a JWT's header, only to pick the key: PyJWT then checks the whole token.
    (Decoding the header here costs a fraction of `jwt.get_unverified_header`.)"""
    segment = token.split(".", 1)[0]
    header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else ""


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
        # Built once: this runs on every protected request.
        self._verified: dict[tuple[str, str | None], AccessClaims] = {}
        self._algorithms = [algorithm]
        self._jwt = jwt.PyJWT(options={"require": list(REQUIRED_CLAIMS)})

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
        """The claims of a valid token (InvalidTokenError otherwise).

        A client sends the same token with every request for its whole life, so verified tokens
        are remembered until they expire: a repeat costs a dictionary lookup, not a signature
        check. Only tokens that passed every check are kept, each with its own expiry."""
        key = (token, audience)
        known = self._verified.get(key)
        if known is not None:
            if known.expires_at.timestamp() > time.time() - self.leeway:
                return known
            del self._verified[key]
        claims = self._verify(token, audience=audience)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[key] = claims
        return claims

    def _verify(self, token: str, *, audience: str | None) -> AccessClaims:
        try:
            secret = self.keys.get(_key_id(token))
            if secret is None:
                raise InvalidTokenError("unknown key id")
            # The algorithm list is pinned: `alg: none` or a different algorithm never verifies.
            payload: dict[str, Any] = self._jwt.decode(
                token,
                secret,
                algorithms=self._algorithms,
                audience=audience or self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
            return AccessClaims(
                subject=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                token_id=str(payload["jti"]),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        # (base64 and orjson errors are ValueErrors)
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


SCHEME_DESCRIPTION = (
    "`Authorization: Bearer <access token>` from `POST /api/auth/login` (or `/api/auth/token`)."
)


class PrincipalScheme(OAuth2PasswordBearer):
    """The dependency that answers the caller's principal, and declares the bearer scheme in
    OpenAPI (a password flow, so the docs' Authorize button signs in through the auth module's
    OAuth2 form endpoint). One dependency, not a scheme plus a resolver: this runs on every
    protected request. `auto_error=False`: a missing token is our own 401 problem document."""

    def __init__(
        self, *, required: bool, permissions: tuple[str, ...] = (), load_permissions: bool = False
    ) -> None:
        super().__init__(
            tokenUrl="/api/auth/token", auto_error=False, scheme_name="bearer", description=SCHEME_DESCRIPTION
        )
        self.required = required or load_permissions
        self.permissions = permissions
        self.load_permissions = load_permissions

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        principal = await authenticate(request, with_permissions=self.load_permissions)
        if principal is None:
            if self.required:
                raise Unauthorized(N_("Sign in first: send `Authorization: Bearer <access token>`."))
            return None
        missing = [permission for permission in self.permissions if not principal.can(permission)]
        if missing:
            raise Forbidden(
                N_("You need the permission {permission} for this."),
                code="permission_denied",
                permission=", ".join(missing),
            )
        return principal


current_principal = PrincipalScheme(required=True)
optional_principal = PrincipalScheme(required=False)


def require(*permissions: str) -> PrincipalScheme:
    """A dependency answering the principal, with its permissions loaded, when it holds every
    listed permission (403 otherwise): `Depends(require("library:manage"))`. List several to need
    them all; none to get the principal's permissions for checks of its own (`principal.can`)."""
    return PrincipalScheme(required=True, permissions=permissions, load_permissions=True)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
