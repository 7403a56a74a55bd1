"""Fixtures of the shortener tests: an app whose clicks are flushed only when a test says so,
two signed-in owners, and counts of what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from sixty.shortener.context import Shortener
from sixty.shortener.models import LinkClick, ShortLink
from tests.factories.auth import bearer, create_user, sign_in

# Public addresses written as IP literals: the tests need no DNS.
PUBLIC = "http://93.184.215.14"


@pytest.fixture
def shortener_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"shortener_click_flush_interval": timedelta(hours=1)})


@pytest.fixture
async def app(shortener_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(shortener_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def shortener(app: FastAPI) -> Shortener:
    state: Shortener = app.state.shortener
    return state


@pytest.fixture
async def owner(app: FastAPI, session: AsyncSession, client: AsyncClient) -> dict[str, str]:
    await create_user(session, app.state.auth, email="owner@example.com", username="owner")
    return bearer(await sign_in(client, "owner@example.com"))


@pytest.fixture
async def stranger(app: FastAPI, session: AsyncSession, client: AsyncClient) -> dict[str, str]:
    await create_user(session, app.state.auth, email="stranger@example.com", username="stranger")
    return bearer(await sign_in(client, "stranger@example.com"))


async def link_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ShortLink)) or 0)


async def click_count(session: AsyncSession) -> int:
    """Clicks stored (rows hold a batch's clicks aggregated)."""
    return int(await session.scalar(select(func.coalesce(func.sum(LinkClick.clicks), 0))) or 0)


async def shorten(client: AsyncClient, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    body.setdefault("url", f"{PUBLIC}/page")
    response = await client.post("/api/links", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
