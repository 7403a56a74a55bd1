"""The blog's sign-in routes are rate limited like the platform's, answering in the blog's shape."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.factories.blog import API, PASSWORD, register


@pytest.fixture
async def limited(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    configured = settings.model_copy(
        update={
            "ratelimit_enabled": True,
            "ratelimit_prefix": f"sixty-test:{uuid.uuid4().hex}:",
            "ratelimit_policies": {"blog.login": "3/hour", "blog.register": "2/hour"},
        }
    )
    app = create_app(configured, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_login_is_limited_per_account(limited: AsyncClient) -> None:
    await register(limited, "jake")
    wrong = {"user": {"email": "jake@example.com", "password": "not the password"}}
    statuses = [(await limited.post(f"{API}/users/login", json=wrong)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    right = {"user": {"email": "JAKE@example.com", "password": PASSWORD}}
    blocked = await limited.post(f"{API}/users/login", json=right)
    assert blocked.status_code == 429
    assert blocked.json()["errors"]["body"][0].startswith("Too many requests; try again in ")
    assert int(blocked.headers["retry-after"]) > 60
    assert '"blog.login";r=0;' in blocked.headers["ratelimit"]


async def test_registration_is_limited_per_address(limited: AsyncClient) -> None:
    await register(limited, "jake")
    await register(limited, "ann")
    payload = {"user": {"username": "bob", "email": "bob@example.com", "password": PASSWORD}}
    blocked = await limited.post(f"{API}/users", json=payload)
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
