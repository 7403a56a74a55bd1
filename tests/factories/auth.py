"""Accounts for tests, made through the auth service; tokens through the API."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User
from sixty.auth.schemas import Registration

PASSWORD = "correct horse battery staple"


async def create_user(
    session: AsyncSession,
    auth: service.AuthContext,
    *,
    email: str = "ann@example.com",
    password: str = PASSWORD,
    username: str | None = None,
    roles: tuple[str, ...] = (service.DEFAULT_ROLE,),
    verified: bool = True,
) -> User:
    data = Registration(email=email, password=password, username=username)
    user = await service.register(session, data, auth=auth, roles=roles, verified=verified)
    await session.flush()
    return user


async def sign_in(
    client: AsyncClient, email: str = "ann@example.com", password: str = PASSWORD
) -> dict[str, Any]:
    """The token pair of a fresh session, plus `headers` ready for authenticated requests."""
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
