"""Fixtures of the chatbot tests: a client per kind of caller, and counting helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.models import Base
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
def auth(app: FastAPI) -> auth_service.AuthContext:
    context: auth_service.AuthContext = app.state.auth
    return context


@dataclass
class Accounts:
    """Makes accounts and signs them in: `await accounts.headers("ann")`."""

    client: AsyncClient
    session: AsyncSession
    auth: auth_service.AuthContext

    async def headers(self, username: str, *roles: str) -> dict[str, str]:
        email = f"{username}@example.com"
        await create_user(self.session, self.auth, email=email, username=username, roles=("user", *roles))
        return bearer(await sign_in(self.client, email))


@pytest.fixture
def accounts(client: AsyncClient, session: AsyncSession, auth: auth_service.AuthContext) -> Accounts:
    return Accounts(client, session, auth)


@pytest.fixture
async def editor_headers(accounts: Accounts) -> dict[str, str]:
    """Staff with the `chatbot_editor` role (permission `chatbot:manage`)."""
    return await accounts.headers("editor", "chatbot_editor")


@pytest.fixture
async def ann_headers(accounts: Accounts) -> dict[str, str]:
    return await accounts.headers("ann")


@pytest.fixture
async def bob_headers(accounts: Accounts) -> dict[str, str]:
    return await accounts.headers("bob")


@pytest.fixture
async def second_app_client(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    """Another app (another process, as far as its caches know) on the same database."""
    other = create_app(settings, db=db)
    transport = ASGITransport(app=other)
    async with (
        other.router.lifespan_context(other),
        AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        yield http


async def say(
    client: AsyncClient, message: str, conversation_id: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """POST a message (continuing `conversation_id` when given); the bot's reply (checked to be a 200)."""
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await client.post("/api/chatbot/messages", json=body, **kwargs)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def count(session: AsyncSession, table: type[Base]) -> int:
    return int((await session.scalar(select(func.count()).select_from(table))) or 0)


def problem(response: Response, status: int) -> dict[str, Any]:
    """The response's problem document, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
