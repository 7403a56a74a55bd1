"""Fixtures of the library tests: a librarian, a member with an account, and who is signed in."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.auth.models import User
from sixty.core.models import Base
from sixty.library.models import Member
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.library import create_member


@pytest.fixture
def auth(app: FastAPI) -> auth_service.AuthContext:
    context: auth_service.AuthContext = app.state.auth
    return context


@pytest.fixture
async def librarian_headers(
    client: AsyncClient, session: AsyncSession, auth: auth_service.AuthContext
) -> dict[str, str]:
    await create_user(
        session, auth, email="lib@example.com", username="librarian", roles=("user", "librarian")
    )
    return bearer(await sign_in(client, "lib@example.com"))


@pytest.fixture
async def ann(session: AsyncSession, auth: auth_service.AuthContext) -> User:
    return await create_user(session, auth, email="ann@example.com", username="ann")


@pytest.fixture
async def ann_member(session: AsyncSession, ann: User) -> Member:
    return await create_member(session, name="Ann Example", user_id=ann.id)


@pytest.fixture
async def ann_headers(client: AsyncClient, ann_member: Member) -> dict[str, str]:
    return bearer(await sign_in(client, "ann@example.com"))


@pytest.fixture
async def bob_member(session: AsyncSession, auth: auth_service.AuthContext) -> Member:
    bob = await create_user(session, auth, email="bob@example.com", username="bob")
    return await create_member(session, name="Bob Example", user_id=bob.id)


@pytest.fixture
async def bob_headers(client: AsyncClient, bob_member: Member) -> dict[str, str]:
    return bearer(await sign_in(client, "bob@example.com"))


async def count(session: AsyncSession, table: type[Base]) -> int:
    return int((await session.scalar(select(func.count()).select_from(table))) or 0)
