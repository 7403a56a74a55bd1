"""Notes belong to an account: these tests run as a signed-in owner."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
async def owner(app: FastAPI, session: AsyncSession) -> User:
    context: service.AuthContext = app.state.auth
    return await create_user(session, context, email="owner@example.com", username="owner")


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI, owner: User) -> AsyncIterator[AsyncClient]:
    """The owner's client: every request carries the owner's access token."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "owner@example.com")))
        yield http
