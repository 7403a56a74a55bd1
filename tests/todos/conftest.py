"""Fixtures of the todos tests: two signed-in users beside anonymous callers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
def auth(app: FastAPI) -> service.AuthContext:
    context: service.AuthContext = app.state.auth
    return context


@pytest.fixture
async def ann(session: AsyncSession, auth: service.AuthContext) -> User:
    return await create_user(session, auth, email="ann@example.com")


@pytest.fixture
async def bob(session: AsyncSession, auth: service.AuthContext) -> User:
    return await create_user(session, auth, email="bob@example.com")


@pytest.fixture
async def ann_headers(client: AsyncClient, ann: User) -> dict[str, str]:
    return bearer(await sign_in(client, "ann@example.com"))


@pytest.fixture
async def bob_headers(client: AsyncClient, bob: User) -> dict[str, str]:
    return bearer(await sign_in(client, "bob@example.com"))
