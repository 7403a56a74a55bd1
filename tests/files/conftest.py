"""Files tests run once per storage backend (tests/fixtures/storage.py), as a signed-in owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
async def app(files_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(files_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def owner(app: FastAPI, session: AsyncSession) -> User:
    context: auth_service.AuthContext = app.state.auth
    return await create_user(session, context, email="owner@example.com", username="owner")


@pytest.fixture
async def stranger(app: FastAPI, session: AsyncSession) -> User:
    context: auth_service.AuthContext = app.state.auth
    return await create_user(session, context, email="stranger@example.com", username="stranger")


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI, owner: User) -> AsyncIterator[AsyncClient]:
    """The owner's client."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "owner@example.com")))
        yield http


@pytest.fixture
async def stranger_client(app: FastAPI, stranger: User) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "stranger@example.com")))
        yield http


def storage_root(files_settings: Settings) -> Path:
    return files_settings.effective_storage_dir
