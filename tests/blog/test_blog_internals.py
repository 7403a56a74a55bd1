"""Pieces of the blog checked on their own: the error route class and the session reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.blog.errors import BlogRoute, install_error_shape
from sixty.blog.models import Article, Tag
from sixty.core.errors import install_error_handlers
from sixty.core.reader import SessionReader
from tests.factories.blog import API, PASSWORD, register


async def test_an_unexpected_error_is_a_logged_500_in_the_blog_shape_on_blog_routes_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    install_error_shape(app)

    async def broken() -> None:
        raise RuntimeError("boom")

    app.router.add_api_route("/blog/broken", broken, route_class_override=BlogRoute)
    app.router.add_api_route("/other/broken", broken)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        blog = await client.get("/blog/broken")
        other = await client.get("/other/broken")
    assert blog.status_code == 500
    assert blog.json() == {"errors": {"body": ["An unexpected error occurred; it has been logged."]}}
    assert "unhandled error" in caplog.text
    assert other.status_code == 500
    assert other.headers["content-type"] == "application/problem+json"


async def test_the_session_reader_reads_what_the_session_wrote(session: AsyncSession) -> None:
    session.add_all([Tag(name="b"), Tag(name="a")])
    await session.flush()
    reader = SessionReader(session)
    rows = await reader.all(select(Tag.name).where(Tag.name.in_(["a", "b"])).order_by(Tag.name))
    assert rows == [{"name": "a"}, {"name": "b"}]
    await reader.close()  # the unit of work owns the session: nothing to do


async def test_timestamps_have_milliseconds_in_utc(client: AsyncClient, session: AsyncSession) -> None:
    headers = await register(client, "jake")
    created = await client.post(
        f"{API}/articles", json={"article": {"title": "T", "description": "", "body": "B"}}, headers=headers
    )
    slug = created.json()["article"]["slug"]
    cest = timezone(timedelta(hours=2))  # another offset is converted to UTC first
    await session.execute(
        update(Article)
        .where(Article.slug == slug)
        .values(
            created_at=datetime(2026, 11, 26, 11, 30, 0, 123999, tzinfo=cest),
            updated_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        )
    )
    await session.flush()
    for path in (f"{API}/articles/{slug}", f"{API}/articles"):
        body = (await client.get(path)).json()
        article = body.get("article") or body["articles"][0]
        # Milliseconds truncated, never rounded up; always three digits.
        assert (article["createdAt"], article["updatedAt"]) == (
            "2026-11-26T09:30:00.123Z",
            "2026-11-26T09:30:00.000Z",
        )


async def test_an_account_with_an_authenticator_app_must_sign_in_on_the_platform(
    client: AsyncClient, session: AsyncSession
) -> None:
    await register(client, "jake")
    user = await session.scalar(select(User).where(User.username == "jake"))
    assert user is not None
    user.totp_enabled_at = datetime.now(UTC)
    await session.flush()
    response = await client.post(
        f"{API}/users/login", json={"user": {"email": "jake@example.com", "password": PASSWORD}}
    )
    assert response.status_code == 403
    assert "/api/auth/login/mfa" in response.json()["errors"]["body"][0]


async def test_updating_to_the_same_email_changes_nothing(client: AsyncClient) -> None:
    headers = await register(client, "jake")
    response = await client.put(f"{API}/user", json={"user": {"email": "jake@example.com"}}, headers=headers)
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "jake@example.com"
