"""Fixtures of the contact tests: an app with an inbox configured, staff, a mailbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.contact.models import ContactMessage
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.auth.conftest import Mailbox
from tests.factories.auth import bearer, create_user, sign_in

INBOX = "inbox@example.com"


@pytest.fixture
def contact_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"contact_inbox": INBOX})


@pytest.fixture
async def app(contact_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(contact_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def mailbox(app: FastAPI, db: Database, contact_settings: Settings) -> Mailbox:
    return Mailbox(app, db, contact_settings)


@pytest.fixture
async def app_session(app: FastAPI, db: Database) -> AsyncIterator[AsyncSession]:
    """A session opened once the app exists, so what it commits hands its mail to the app's jobs."""
    async with db.session() as session:
        yield session


@pytest.fixture
def auth(app: FastAPI) -> auth_service.AuthContext:
    context: auth_service.AuthContext = app.state.auth
    return context


@pytest.fixture
async def staff_headers(
    client: AsyncClient, session: AsyncSession, auth: auth_service.AuthContext
) -> dict[str, str]:
    await create_user(
        session, auth, email="desk@example.com", username="desk", roles=("user", "contact_manager")
    )
    return bearer(await sign_in(client, "desk@example.com"))


@pytest.fixture
async def user_headers(
    client: AsyncClient, session: AsyncSession, auth: auth_service.AuthContext
) -> dict[str, str]:
    await create_user(session, auth, email="ann@example.com", username="ann")
    return bearer(await sign_in(client, "ann@example.com"))


async def stored(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ContactMessage)) or 0)
