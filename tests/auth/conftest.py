"""Fixtures of the auth tests: the module's context, a user, a signed-in client, the mailbox."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User
from sixty.core import mail
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.jobs import Worker
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
def auth(app: FastAPI) -> service.AuthContext:
    context: service.AuthContext = app.state.auth
    return context


@pytest.fixture
async def user(session: AsyncSession, auth: service.AuthContext) -> User:
    return await create_user(session, auth)


@pytest.fixture
async def admin(session: AsyncSession, auth: service.AuthContext) -> User:
    return await create_user(
        session,
        auth,
        email="root@example.com",
        username="boss",
        roles=(service.DEFAULT_ROLE, service.ADMIN_ROLE),
    )


@pytest.fixture
async def user_headers(client: AsyncClient, user: User) -> dict[str, str]:
    return bearer(await sign_in(client))


@pytest.fixture
async def admin_headers(client: AsyncClient, admin: User) -> dict[str, str]:
    return bearer(await sign_in(client, "root@example.com"))


@dataclass
class Mailbox:
    """Runs the queued jobs (mail goes out after commit, through core.jobs) and reads the outbox."""

    app: FastAPI
    db: Database
    settings: Settings

    async def deliver(self) -> None:
        worker = Worker(self.app.state.jobs, db=self.db, settings=self.settings)
        while (job := await self.app.state.jobs.claim(0.01)) is not None:
            assert await worker.run_one(job), job.name

    async def messages(self, to: str) -> list[mail.OutboxMessageRead]:
        await self.deliver()
        return await mail.latest_outbox_messages(self.db.reader, to=to)

    async def last(self, to: str) -> mail.OutboxMessageRead:
        messages = await self.messages(to)
        assert messages, f"no mail to {to}"
        return messages[0]

    async def token(self, to: str) -> str:
        """The token of the newest link or reset mail to `to`."""
        text = (await self.last(to)).text
        found = re.search(r"token=([A-Za-z0-9_-]{20,})", text) or re.search(
            r"\n\n([A-Za-z0-9_-]{40,})\n\n", text
        )
        assert found, text
        return found.group(1)

    async def code(self, to: str) -> str:
        found = re.search(r"\b(\d{6})\b", (await self.last(to)).text)
        assert found
        return found.group(1)


@pytest.fixture
def mailbox(app: FastAPI, db: Database, settings: Settings) -> Mailbox:
    return Mailbox(app, db, settings)
