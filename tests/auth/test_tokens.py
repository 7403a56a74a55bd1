"""I1 access tokens and I6 refresh-token rotation, sessions, and the attacks on them."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import Session, User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.security import InvalidTokenError, SigningKey, TokenCodec
from sixty.main import create_app
from tests.factories.auth import PASSWORD, bearer, create_user, sign_in


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user: User, **changes: object) -> dict[str, object]:
    moment = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "iss": "sixty",
        "aud": "sixty-api",
        "sub": str(user.id),
        "sid": str(uuid.uuid4()),
        "jti": "x",
        "iat": moment,
        "exp": moment + 600,
    }
    claims.update(changes)
    return claims


async def _me(client: AsyncClient, token: str) -> int:
    return (await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code


async def test_access_token_works_with_bearer_and_token_schemes(client: AsyncClient, user: User) -> None:
    token = (await sign_in(client))["access_token"]
    for scheme in ("Bearer", "bearer", "Token"):
        response = await client.get("/api/auth/me", headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200
    assert (await client.get("/api/auth/me", headers={"Authorization": f"Basic {token}"})).status_code == 401


@pytest.mark.parametrize(
    "attack", ["expired", "tampered", "alg-none", "wrong-aud", "wrong-iss", "unknown-kid", "garbage"]
)
async def test_bad_access_tokens_are_401(
    client: AsyncClient, user: User, auth: service.AuthContext, attack: str
) -> None:
    good = (await sign_in(client))["access_token"]
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    secret = auth.codec.current.secret
    forgeries: dict[str, Callable[[], str]] = {
        "expired": lambda: jwt.encode(
            {**claims, "exp": claims["iat"] - 1}, secret, "HS256", headers={"kid": "default"}
        ),
        "tampered": lambda: f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}",
        "alg-none": lambda: f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'default'})}.{payload}.",
        "wrong-aud": lambda: jwt.encode(
            {**claims, "aud": "other"}, secret, "HS256", headers={"kid": "default"}
        ),
        "wrong-iss": lambda: jwt.encode(
            {**claims, "iss": "evil"}, secret, "HS256", headers={"kid": "default"}
        ),
        "unknown-kid": lambda: jwt.encode(claims, secret, "HS256", headers={"kid": "other"}),
        "garbage": lambda: "not.a.jwt",
    }
    token = forgeries[attack]()
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_token_signed_with_another_algorithm_is_refused(user: User) -> None:
    secret = b"k" * 64
    codec = TokenCodec([SigningKey("k1", secret)], algorithm="HS256", issuer="sixty", audience="sixty-api")
    token = jwt.encode(_claims(user), secret, "HS512", headers={"kid": "k1"})
    with pytest.raises(InvalidTokenError):
        codec.verify(token)
    with pytest.raises(InvalidTokenError):  # every claim is required
        codec.verify(jwt.encode({"sub": str(user.id)}, secret, "HS256", headers={"kid": "k1"}))


async def test_rotated_keys_keep_old_tokens_valid_until_dropped(user: User) -> None:
    old, new = SigningKey("2026-10", b"o" * 40), SigningKey("2026-11", b"n" * 40)
    before = TokenCodec([old], algorithm="HS256", issuer="sixty", audience="sixty-api")
    after = TokenCodec([new, old], algorithm="HS256", issuer="sixty", audience="sixty-api")
    dropped = TokenCodec([new], algorithm="HS256", issuer="sixty", audience="sixty-api")
    token, _ = before.issue(subject=user.id, session_id=uuid.uuid4(), lifetime=timedelta(minutes=5))
    assert after.verify(token).subject == user.id
    fresh, _ = after.issue(subject=user.id, session_id=uuid.uuid4(), lifetime=timedelta(minutes=5))
    assert jwt.get_unverified_header(fresh)["kid"] == "2026-11"
    with pytest.raises(InvalidTokenError):
        dropped.verify(token)


def test_the_codec_refuses_unknown_algorithms_and_no_keys() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        TokenCodec([SigningKey("a", b"x" * 40)], algorithm="none", issuer="i", audience="a")
    with pytest.raises(ValueError, match="signing key"):
        TokenCodec([], algorithm="HS256", issuer="i", audience="a")


async def test_refresh_rotates_the_token(client: AsyncClient, user: User) -> None:
    first = await sign_in(client)
    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert await _me(client, pair["access_token"]) == 200
    third = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert third.status_code == 200


async def test_reusing_a_refresh_token_revokes_the_whole_family(
    client: AsyncClient, session: AsyncSession, user: User
) -> None:
    first = await sign_in(client)
    rotated = (await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_refresh_token"
    # The thief's replay ended the session: the legitimate new tokens are dead too.
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    ).status_code == 401
    assert await _me(client, rotated["access_token"]) == 401
    revoked = await session.scalar(select(Session.revoked_reason).where(Session.user_id == user.id))
    assert revoked == "refresh_token_reuse"


async def test_a_reuse_within_the_grace_window_is_refused_without_revoking(
    client: AsyncClient, session: AsyncSession, app: FastAPI, user: User, auth: service.AuthContext
) -> None:
    app.state.auth = service.AuthContext(
        settings=auth.settings.model_copy(update={"refresh_reuse_grace": timedelta(seconds=30)}),
        hasher=auth.hasher,
        codec=auth.codec,
    )
    first = await sign_in(client)
    rotated = (await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    duplicate = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert duplicate.status_code == 401
    assert await _me(client, rotated["access_token"]) == 200
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    ).status_code == 200


@pytest.mark.parametrize("token", ["x" * 43, "short", "bad token with spaces!!"])
async def test_unknown_or_malformed_refresh_tokens(client: AsyncClient, token: str) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": token})
    assert response.status_code in (401, 422)
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_expired_session_cannot_refresh(
    client: AsyncClient, session: AsyncSession, user: User
) -> None:
    tokens = await sign_in(client)
    device = await session.scalar(select(Session).where(Session.user_id == user.id))
    assert device is not None
    device.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    assert await _me(client, tokens["access_token"]) == 401


async def test_logout_ends_the_session_at_once(client: AsyncClient, user: User) -> None:
    tokens = await sign_in(client)
    assert (await client.post("/api/auth/logout", headers=bearer(tokens))).status_code == 204
    assert await _me(client, tokens["access_token"]) == 401
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401


async def test_sessions_are_listed_and_revoked(client: AsyncClient, user: User) -> None:
    client.headers["User-Agent"] = "Laptop/1.0"
    laptop = await sign_in(client)
    client.headers["User-Agent"] = "Phone/2.0"
    phone = await sign_in(client)
    listed = (await client.get("/api/auth/sessions", headers=bearer(laptop))).json()["items"]
    assert {item["user_agent"] for item in listed} == {"Laptop/1.0", "Phone/2.0"}
    assert [item["current"] for item in listed if item["user_agent"] == "Laptop/1.0"] == [True]
    assert all(item["ip"] == "127.0.0.1" for item in listed)
    phone_id = next(item["id"] for item in listed if item["user_agent"] == "Phone/2.0")
    assert (await client.delete(f"/api/auth/sessions/{phone_id}", headers=bearer(laptop))).status_code == 204
    assert await _me(client, phone["access_token"]) == 401
    assert (await client.delete(f"/api/auth/sessions/{phone_id}", headers=bearer(laptop))).status_code == 404


async def test_another_users_session_is_404(
    client: AsyncClient, session: AsyncSession, auth: service.AuthContext, user: User
) -> None:
    await create_user(session, auth, email="bob@example.com")
    bob = await sign_in(client, "bob@example.com")
    ann = await sign_in(client)
    bob_session = (await client.get("/api/auth/sessions", headers=bearer(bob))).json()["items"][0]["id"]
    assert (await client.delete(f"/api/auth/sessions/{bob_session}", headers=bearer(ann))).status_code == 404
    assert await _me(client, bob["access_token"]) == 200


async def test_sign_out_everywhere_else(client: AsyncClient, user: User) -> None:
    keep, other, third = await sign_in(client), await sign_in(client), await sign_in(client)
    assert (await client.delete("/api/auth/sessions", headers=bearer(keep))).status_code == 204
    assert await _me(client, keep["access_token"]) == 200
    assert await _me(client, other["access_token"]) == 401
    assert await _me(client, third["access_token"]) == 401


@pytest.fixture
async def committing_client(settings: Settings) -> AsyncIterator[tuple[AsyncClient, Database]]:
    """A client over an app whose requests really commit; the accounts it made are removed after."""
    db = Database(create_engine(settings))
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            yield http, db
        async with db.session() as session:
            await session.execute(delete(User).where(User.email.like("race-%")))
            await session.commit()


async def test_fifty_concurrent_uses_of_one_refresh_token_yield_one_success(
    committing_client: tuple[AsyncClient, Database],
) -> None:
    client, db = committing_client
    async with db.session() as session:
        await create_user(session, client_auth(client), email="race-refresh@example.com")
        await session.commit()
    tokens = await sign_in(client, "race-refresh@example.com")

    async def use() -> int:
        response = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        return response.status_code

    statuses = await asyncio.gather(*(use() for _ in range(50)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == 49, statuses


def client_auth(client: AsyncClient) -> service.AuthContext:
    transport = client._transport
    assert isinstance(transport, ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    context: service.AuthContext = app.state.auth
    return context


async def test_the_password_must_be_right_for_the_refresh_family_to_start(
    client: AsyncClient, user: User
) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD + "!"}
    )
    assert response.status_code == 401


async def test_a_remembered_token_still_expires(user: User) -> None:
    codec = TokenCodec([SigningKey("k1", b"k" * 40)], algorithm="HS256", issuer="sixty", audience="sixty-api")
    token, claims = codec.issue(subject=user.id, session_id=uuid.uuid4(), lifetime=timedelta(seconds=1))
    assert codec.verify(token) == claims
    assert codec.verify(token) == claims  # answered from memory
    await asyncio.sleep(max(0.0, claims.expires_at.timestamp() - datetime.now(UTC).timestamp()) + 0.1)
    with pytest.raises(InvalidTokenError):
        codec.verify(token)
    with pytest.raises(InvalidTokenError):  # remembered for one audience, not for another
        codec.verify(token, audience="sixty-api:mfa")
