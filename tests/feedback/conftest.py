"""Fixtures of the feedback tests: staff, a signed-in respondent, counts of what is stored."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.auth.models import User
from sixty.core.models import Base
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
def auth(app: FastAPI) -> auth_service.AuthContext:
    context: auth_service.AuthContext = app.state.auth
    return context


@pytest.fixture
async def staff(session: AsyncSession, auth: auth_service.AuthContext) -> User:
    return await create_user(
        session, auth, email="surveys@example.com", username="surveys", roles=("user", "feedback_manager")
    )


@pytest.fixture
async def staff_headers(client: AsyncClient, staff: User) -> dict[str, str]:
    return bearer(await sign_in(client, "surveys@example.com"))


@pytest.fixture
async def ann(session: AsyncSession, auth: auth_service.AuthContext) -> User:
    return await create_user(session, auth, email="ann@example.com", username="ann")


@pytest.fixture
async def ann_headers(client: AsyncClient, ann: User) -> dict[str, str]:
    return bearer(await sign_in(client, "ann@example.com"))


async def count(session: AsyncSession, table: type[Base]) -> int:
    return int((await session.scalar(select(func.count()).select_from(table))) or 0)
