"""I10 in use: sign-in, codes, resends and resets are rate limited by default (memory or Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.factories.auth import PASSWORD, bearer, sign_in


@pytest.fixture
async def limited(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    """The app with its default limits on (Redis when the run has one), with tight overrides."""
    configured = settings.model_copy(
        update={
            "ratelimit_enabled": True,
            "ratelimit_prefix": f"sixty-test:{uuid.uuid4().hex}:",
            "ratelimit_policies": {"auth.login": "3/hour", "auth.code": "2/hour", "auth.resend": "1/hour"},
        }
    )
    app = create_app(configured, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_login_is_limited_per_account_with_standard_headers(limited: AsyncClient, user: User) -> None:
    statuses = []
    for _ in range(3):
        response = await limited.post(
            "/api/auth/login", json={"email": "ann@example.com", "password": "nope nope"}
        )
        statuses.append(response.status_code)
        assert response.headers["ratelimit-policy"].count('"auth.login";q=3;w=3600') == 1
    assert statuses == [401, 401, 401]
    # Any spelling of the address is the same account, and even the right password waits now.
    blocked = await limited.post("/api/auth/login", json={"email": "ANN@Example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == "application/problem+json"
    assert blocked.json()["code"] == "rate_limited"
    assert int(blocked.headers["retry-after"]) > 60
    assert '"auth.login";r=0;' in blocked.headers["ratelimit"]
    other = await limited.post("/api/auth/login", json={"email": "bob@example.com", "password": "nope nope"})
    assert other.status_code == 401  # another account has its own budget


async def test_code_requests_are_limited_and_send_nothing_more(
    limited: AsyncClient, session: AsyncSession, user: User
) -> None:
    answers = [
        (await limited.post("/api/auth/login/code", json={"email": "ann@example.com"})).status_code
        for _ in range(3)
    ]
    assert answers == [202, 202, 429]


async def test_resending_the_verification_link_is_throttled(
    limited: AsyncClient, session: AsyncSession, auth: service.AuthContext, user: User
) -> None:
    user.email_verified_at = None
    await session.flush()
    headers = bearer(await sign_in(limited))
    assert (await limited.post("/api/auth/verify-email/resend", headers=headers)).status_code == 202
    assert (await limited.post("/api/auth/verify-email/resend", headers=headers)).status_code == 429
