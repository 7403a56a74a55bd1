"""B5 sign-up, sign-in, your account, your password."""

from __future__ import annotations

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import Session, User
from sixty.auth.passwords import PasswordHasher
from sixty.core.config import PasswordScheme, Settings
from sixty.core.db import Database
from sixty.core.errors import Forbidden, Unauthorized
from tests.auth.conftest import Mailbox
from tests.factories.auth import PASSWORD, bearer, create_user, sign_in


async def _users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_register_creates_an_unverified_user_and_mails_a_link(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": " Ann.Lee@Example.COM ", "password": PASSWORD, "display_name": " Ann "},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "ann.lee@example.com"
    assert body["username"] == "ann.lee"
    assert body["display_name"] == "Ann"
    assert body["roles"] == ["user"]
    assert body["email_verified"] is False
    assert response.headers["location"] == "/api/auth/me"
    message = await mailbox.last("ann.lee@example.com")
    assert "verify-email?token=" in message.text


async def test_generated_usernames_stay_unique(client: AsyncClient) -> None:
    first = await client.post("/api/auth/register", json={"email": "sam@one.example", "password": PASSWORD})
    second = await client.post("/api/auth/register", json={"email": "sam@two.example", "password": PASSWORD})
    assert first.json()["username"] == "sam"
    assert second.json()["username"].startswith("sam-")


@pytest.mark.parametrize(
    "email",
    ["ANN@example.com", "ann@EXAMPLE.com", "ａｎｎ@example.com"],  # the last one in full-width letters
    ids=["upper-local", "upper-domain", "fullwidth"],
)
async def test_an_email_is_unique_whatever_its_spelling(
    client: AsyncClient, session: AsyncSession, user: User, email: str
) -> None:
    before = await _users(session)
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert await _users(session) == before


async def test_a_taken_username_is_409(client: AsyncClient, user: User) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "other@example.com", "password": PASSWORD, "username": "ANN"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "аnn@example.com", "password": PASSWORD}, "email"),  # Cyrillic а among Latin letters
        ({"email": "ann@exаmple.com", "password": PASSWORD}, "email"),
        ({"email": "ann@example.com", "password": "short"}, "password"),
        ({"email": "ann@example.com", "password": "x" * 129}, "password"),
        ({"email": "ann@example.com", "password": "p\u0000ssword123"}, "password"),
        ({"email": "ann@example.com", "password": PASSWORD, "username": "no spaces"}, "username"),
        ({"email": "ann@example.com", "password": PASSWORD, "role": "admin"}, "role"),
    ],
    ids=["malformed", "lookalike-local", "lookalike-domain", "short", "long", "nul", "username", "extra"],
)
async def test_bad_registrations_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, payload: dict[str, str], field: str
) -> None:
    before = await _users(session)
    response = await client.post("/api/auth/register", json=payload)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await _users(session) == before


@pytest.mark.parametrize("password", ["password1", "qwertyuiop", "Iloveyou1"])
async def test_common_passwords_are_refused(
    client: AsyncClient, session: AsyncSession, password: str
) -> None:
    before = await _users(session)
    response = await client.post(
        "/api/auth/register", json={"email": "ann@example.com", "password": password}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "password_too_common"
    assert await _users(session) == before


async def test_a_password_equal_to_the_email_is_refused(client: AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "zebracrossing@example.com", "password": "zebracrossing"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "password_too_personal"


async def test_a_megabyte_password_is_refused_before_any_hashing(
    client: AsyncClient, session: AsyncSession
) -> None:
    before = await _users(session)
    huge = await client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": "x" * 1_048_576}
    )
    assert huge.status_code == 413
    big = await client.post(
        "/api/auth/register", json={"email": "ann@example.com", "password": "x" * 200_000}
    )
    assert big.status_code == 422
    assert await _users(session) == before


async def test_login_answers_a_token_pair_with_the_required_claims(
    client: AsyncClient, user: User, settings: Settings
) -> None:
    tokens = await sign_in(client, "ANN@example.com")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "HS256"
    assert header["kid"] == "default"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "sid", "jti", "iat", "exp"}
    assert claims["sub"] == str(user.id)
    assert claims["aud"] == settings.jwt_audience
    assert claims["exp"] - claims["iat"] == 900


async def test_wrong_password_and_unknown_email_get_the_same_answer(client: AsyncClient, user: User) -> None:
    wrong = await client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": "wrong password"}
    )
    malformed = await client.post("/api/auth/login", json={"email": "not an email", "password": "x"})
    for response in (wrong, unknown, malformed):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    bodies = [{k: v for k, v in r.json().items() if k != "request_id"} for r in (wrong, unknown, malformed)]
    assert bodies[0] == bodies[1] == bodies[2]


class CountingHasher(PasswordHasher):
    verified = 0

    def verify(self, stored: str, password: str) -> bool:
        CountingHasher.verified += 1
        return super().verify(stored, password)


async def test_an_unknown_email_costs_one_hash_verification_too(
    session: AsyncSession, db: Database, settings: Settings, auth: service.AuthContext, user: User
) -> None:
    counting = service.AuthContext(settings=settings, hasher=CountingHasher(settings), codec=auth.codec)
    CountingHasher.verified = 0
    for email in ("ann@example.com", "nobody@example.com"):
        with pytest.raises(Unauthorized):
            await service.authenticate(session, email, "wrong password", auth=counting, reader=db.reader)
    assert CountingHasher.verified == 2


async def test_a_disabled_account_cannot_sign_in(
    client: AsyncClient, session: AsyncSession, user: User
) -> None:
    user.is_active = False
    await session.flush()
    right = await client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert right.status_code == 403
    assert right.json()["code"] == "account_disabled"
    wrong = await client.post("/api/auth/login", json={"email": "ann@example.com", "password": "nope nope"})
    assert wrong.status_code == 401  # without the password, nothing about the account is said


async def test_an_old_hash_is_upgraded_at_login(
    client: AsyncClient, session: AsyncSession, settings: Settings, user: User, auth: service.AuthContext
) -> None:
    bcrypt_settings = settings.model_copy(update={"password_scheme": PasswordScheme.bcrypt})
    user.password_hash = PasswordHasher(bcrypt_settings).hash(PASSWORD)
    await session.flush()
    assert auth.hasher.needs_rehash(user.password_hash)
    await sign_in(client)
    await session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    assert not auth.hasher.needs_rehash(user.password_hash)


async def test_oauth2_password_form_signs_in(client: AsyncClient, user: User) -> None:
    response = await client.post(
        "/api/auth/token",
        data={"username": "ann@example.com", "password": PASSWORD, "grant_type": "password"},
    )
    assert response.status_code == 200
    me = await client.get("/api/auth/me", headers=bearer(response.json()))
    assert me.json()["email"] == "ann@example.com"


async def test_me_needs_a_token(client: AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_update_me_changes_name_and_username(client: AsyncClient, user_headers: dict[str, str]) -> None:
    response = await client.patch(
        "/api/auth/me", json={"display_name": "Ann L.", "username": "annl"}, headers=user_headers
    )
    assert response.status_code == 200
    assert response.json()["username"] == "annl"
    assert response.json()["display_name"] == "Ann L."


async def test_changing_the_email_needs_the_password_and_verification(
    client: AsyncClient, user_headers: dict[str, str], mailbox: Mailbox
) -> None:
    refused = await client.patch("/api/auth/me", json={"email": "new@example.com"}, headers=user_headers)
    assert refused.status_code == 403
    changed = await client.patch(
        "/api/auth/me", json={"email": "New@Example.com", "current_password": PASSWORD}, headers=user_headers
    )
    assert changed.status_code == 200
    assert changed.json()["email"] == "new@example.com"
    assert changed.json()["email_verified"] is False
    assert "verify-email" in (await mailbox.last("new@example.com")).text


async def test_update_me_refuses_null_and_taken_usernames(
    client: AsyncClient, session: AsyncSession, auth: service.AuthContext, user_headers: dict[str, str]
) -> None:
    await create_user(session, auth, email="bob@example.com", username="bob")
    assert (
        await client.patch("/api/auth/me", json={"username": None}, headers=user_headers)
    ).status_code == 422
    taken = await client.patch("/api/auth/me", json={"username": "Bob"}, headers=user_headers)
    assert taken.status_code == 409


async def test_changing_the_password_signs_out_other_sessions(
    client: AsyncClient, session: AsyncSession, user: User
) -> None:
    laptop, phone = await sign_in(client), await sign_in(client)
    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
        headers=bearer(laptop),
    )
    assert wrong.status_code == 403
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(laptop),
    )
    assert changed.status_code == 204
    assert (await client.get("/api/auth/me", headers=bearer(laptop))).status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(phone))).status_code == 401
    assert (await sign_in(client, password="a brand new passphrase"))["access_token"]
    open_sessions = await session.scalar(
        select(func.count())
        .select_from(Session)
        .where(Session.user_id == user.id, Session.revoked_at.is_(None))
    )
    assert open_sessions == 2  # the laptop and the sign-in just above


async def test_sign_in_can_require_a_verified_email(
    client: AsyncClient, session: AsyncSession, db: Database, auth: service.AuthContext, app: object
) -> None:
    await create_user(session, auth, email="new@example.com", verified=False)
    strict = service.AuthContext(
        settings=auth.settings.model_copy(update={"require_verified_email": True}),
        hasher=auth.hasher,
        codec=auth.codec,
    )
    with pytest.raises(Forbidden) as refused:
        await service.authenticate(session, "new@example.com", PASSWORD, auth=strict, reader=db.reader)
    assert refused.value.code == "email_not_verified"
    assert (await sign_in(client, "new@example.com"))["access_token"]  # off by default
