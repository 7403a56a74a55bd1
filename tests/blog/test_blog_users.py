"""Users and profiles: registration and login on the platform's accounts, the current user,
updates, profiles and follows."""

from __future__ import annotations

import jwt
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.blog.models import BlogProfile, Follow
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.blog.spec import check
from tests.factories.blog import API, PASSWORD, register, token_header


async def test_register_answers_the_user_with_a_token(client: AsyncClient) -> None:
    payload = {"user": {"username": "Jake", "email": "Jake@Example.com", "password": PASSWORD}}
    response = await client.post(f"{API}/users", json=payload)
    assert response.status_code == 201
    check("CreateUser", 201, response.json())
    user = response.json()["user"]
    assert user["username"] == "Jake"
    assert user["email"] == "jake@example.com"
    assert user["bio"] is None
    assert user["image"] is None
    assert set(user) == {"email", "token", "username", "bio", "image"}


async def test_the_token_lives_as_long_as_the_blog_setting_says(client: AsyncClient, app: FastAPI) -> None:
    headers = await register(client, "jake")
    token = headers["Authorization"].removeprefix("Token ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == int(app.state.settings.blog_token_ttl.total_seconds())
    assert claims["exp"] - claims["iat"] == 24 * 3600


async def test_the_same_account_signs_in_to_the_blog_and_the_platform(client: AsyncClient) -> None:
    await register(client, "jake")
    platform = await client.post("/api/auth/login", json={"email": "jake@example.com", "password": PASSWORD})
    assert platform.status_code == 200
    # A platform token works on the blog, with either scheme.
    for scheme in ("Bearer", "Token"):
        me = await client.get(f"{API}/user", headers=token_header(platform.json()["access_token"], scheme))
        assert me.status_code == 200
        assert me.json()["user"]["username"] == "jake"


async def test_login_with_the_email_in_any_case(client: AsyncClient) -> None:
    await register(client, "jake")
    response = await client.post(
        f"{API}/users/login", json={"user": {"email": "JAKE@example.com", "password": PASSWORD}}
    )
    assert response.status_code == 200
    check("Login", 200, response.json())
    token = response.json()["user"]["token"]
    me = await client.get(f"{API}/user", headers=token_header(token))
    assert me.json()["user"]["token"] == token


async def test_login_with_a_wrong_password_or_unknown_email_is_401(client: AsyncClient) -> None:
    await register(client, "jake")
    for email, password in (("jake@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)):
        response = await client.post(
            f"{API}/users/login", json={"user": {"email": email, "password": password}}
        )
        assert response.status_code == 401
        check("Login", 401, response.json())
        assert response.headers["www-authenticate"] == "Token"
        assert response.json() == {"errors": {"body": ["The email or password is wrong."]}}


async def test_login_of_a_disabled_account_is_403(client: AsyncClient, session: AsyncSession) -> None:
    await register(client, "jake")
    user = await session.scalar(select(User).where(User.username == "jake"))
    assert user is not None
    user.is_active = False
    await session.flush()
    response = await client.post(
        f"{API}/users/login", json={"user": {"email": "jake@example.com", "password": PASSWORD}}
    )
    assert response.status_code == 403
    assert response.json() == {"errors": {"body": ["This account is disabled."]}}


async def test_current_user_needs_a_valid_token(client: AsyncClient) -> None:
    for headers in ({}, token_header("not-a-jwt"), {"Authorization": "Basic abc"}):
        response = await client.get(f"{API}/user", headers=headers)
        assert response.status_code == 401, headers
        check("GetCurrentUser", 401, response.json())
        assert response.headers["www-authenticate"] == "Token"


async def test_update_user_changes_profile_and_account(client: AsyncClient, jake: dict[str, str]) -> None:
    changes = {"bio": "I like to skateboard", "image": "https://example.com/jake.png", "username": "jacob"}
    response = await client.put(f"{API}/user", json={"user": changes}, headers=jake)
    assert response.status_code == 200
    check("UpdateCurrentUser", 200, response.json())
    user = response.json()["user"]
    assert {key: user[key] for key in changes} == changes
    assert user["token"] == jake["Authorization"].removeprefix("Token ")

    profile = (await client.get(f"{API}/profiles/jacob")).json()["profile"]
    assert profile == {
        **{key: changes[key] for key in ("bio", "image")},
        "username": "jacob",
        "following": False,
    }
    assert (await client.get(f"{API}/profiles/jake")).status_code == 404

    cleared = await client.put(f"{API}/user", json={"user": {"bio": "", "image": None}}, headers=jake)
    assert cleared.json()["user"]["bio"] is None
    assert cleared.json()["user"]["image"] is None


async def test_update_email_and_password_then_sign_in_with_them(
    client: AsyncClient, jake: dict[str, str]
) -> None:
    response = await client.put(
        f"{API}/user",
        json={"user": {"email": "JACOB@example.com", "password": "a new long passphrase"}},
        headers=jake,
    )
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "jacob@example.com"
    # The session that changed the password stays signed in.
    assert (await client.get(f"{API}/user", headers=jake)).status_code == 200
    old = await client.post(
        f"{API}/users/login", json={"user": {"email": "jake@example.com", "password": PASSWORD}}
    )
    assert old.status_code == 401
    new = await client.post(
        f"{API}/users/login",
        json={"user": {"email": "jacob@example.com", "password": "a new long passphrase"}},
    )
    assert new.status_code == 200


async def test_a_password_change_ends_the_other_sessions(client: AsyncClient, jake: dict[str, str]) -> None:
    other = await client.post(
        f"{API}/users/login", json={"user": {"email": "jake@example.com", "password": PASSWORD}}
    )
    other_headers = token_header(other.json()["user"]["token"])
    await client.put(f"{API}/user", json={"user": {"password": "a new long passphrase"}}, headers=jake)
    assert (await client.get(f"{API}/user", headers=other_headers)).status_code == 401
    assert (await client.get(f"{API}/user", headers=jake)).status_code == 200


async def test_taking_someone_elses_username_or_email_is_422(
    client: AsyncClient, jake: dict[str, str], ann: dict[str, str], session: AsyncSession
) -> None:
    for changes in ({"username": "ANN"}, {"email": "ann@example.com"}):
        response = await client.put(f"{API}/user", json={"user": changes}, headers=jake)
        assert response.status_code == 422, changes
        check("UpdateCurrentUser", 422, response.json())
    assert await session.scalar(select(User.email).where(User.username == "jake")) == "jake@example.com"


async def test_a_refused_update_keeps_nothing_it_changed_before(
    client: AsyncClient, jake: dict[str, str], ann: dict[str, str], session: AsyncSession
) -> None:
    """The new username is written first; the taken email then refuses the update, and the
    whole request is rolled back."""
    changes = {"username": "jacob", "email": "ann@example.com", "bio": "new"}
    response = await client.put(f"{API}/user", json={"user": changes}, headers=jake)
    assert response.status_code == 422
    assert await session.scalar(select(User.username).where(User.email == "jake@example.com")) == "jake"
    assert (await client.get(f"{API}/profiles/jake")).json()["profile"]["bio"] is None


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"email": None},
        {"username": "a b"},
        {"password": "short"},
        {"image": "javascript:alert(1)"},
        {"bio": "x" * 2001},
        {"token": "abc"},
    ],
)
async def test_bad_updates_are_422_and_change_nothing(
    client: AsyncClient, jake: dict[str, str], session: AsyncSession, changes: dict[str, object]
) -> None:
    response = await client.put(f"{API}/user", json={"user": changes}, headers=jake)
    assert response.status_code == 422
    check("UpdateCurrentUser", 422, response.json())
    assert await session.scalar(select(func.count()).select_from(BlogProfile)) == 0


async def test_profiles_and_follows(client: AsyncClient, jake: dict[str, str], ann: dict[str, str]) -> None:
    anonymous = await client.get(f"{API}/profiles/JAKE")
    assert anonymous.status_code == 200
    check("GetProfileByUsername", 200, anonymous.json())
    assert anonymous.json() == {
        "profile": {"username": "jake", "bio": None, "image": None, "following": False}
    }

    followed = await client.post(f"{API}/profiles/jake/follow", headers=ann)
    assert followed.status_code == 200
    check("FollowUserByUsername", 200, followed.json())
    assert followed.json()["profile"]["following"] is True
    again = await client.post(f"{API}/profiles/jake/follow", headers=ann)  # idempotent
    assert again.json()["profile"]["following"] is True
    seen_by_ann = await client.get(f"{API}/profiles/jake", headers=ann)
    assert seen_by_ann.json()["profile"]["following"] is True
    seen_by_jake = await client.get(f"{API}/profiles/ann", headers=jake)
    assert seen_by_jake.json()["profile"]["following"] is False

    unfollowed = await client.delete(f"{API}/profiles/jake/follow", headers=ann)
    assert unfollowed.status_code == 200
    check("UnfollowUserByUsername", 200, unfollowed.json())
    assert unfollowed.json()["profile"]["following"] is False
    assert (await client.delete(f"{API}/profiles/jake/follow", headers=ann)).status_code == 200


async def test_follow_errors(client: AsyncClient, jake: dict[str, str], session: AsyncSession) -> None:
    unknown = await client.post(f"{API}/profiles/nobody/follow", headers=jake)
    assert unknown.status_code == 404
    assert unknown.json() == {"errors": {"body": ["There is no user nobody."]}}
    assert (await client.get(f"{API}/profiles/nobody")).status_code == 404
    assert (await client.delete(f"{API}/profiles/nobody/follow", headers=jake)).status_code == 404
    myself = await client.post(f"{API}/profiles/jake/follow", headers=jake)
    assert myself.status_code == 422
    assert (await client.post(f"{API}/profiles/jake/follow")).status_code == 401
    assert await session.scalar(select(func.count()).select_from(Follow)) == 0


async def test_registration_is_refused_when_emails_must_be_verified_first(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    app = create_app(settings.model_copy(update={"require_verified_email": True}), db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        payload = {"user": {"username": "jake", "email": "jake@example.com", "password": PASSWORD}}
        response = await client.post(f"{API}/users", json=payload)
    assert response.status_code == 403
    assert response.json()["errors"]["body"][0].startswith("Verify your email address first")
    assert await session.scalar(select(func.count()).select_from(User)) == 0
