"""Fixtures of the portfolio tests: two accounts, images uploaded through the files API, counts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.portfolio.models import (
    Portfolio,
    PortfolioEntry,
    PortfolioProject,
    PortfolioProjectImage,
    PortfolioSkill,
    PortfolioTestimonial,
)
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.files import png

TABLES = (
    Portfolio,
    PortfolioProject,
    PortfolioProjectImage,
    PortfolioSkill,
    PortfolioEntry,
    PortfolioTestimonial,
)


@pytest.fixture
async def ann(app: FastAPI, session: AsyncSession, client: AsyncClient) -> dict[str, str]:
    await create_user(session, app.state.auth, email="ann@example.com", username="Ann")
    return bearer(await sign_in(client, "ann@example.com"))


@pytest.fixture
async def bob(app: FastAPI, session: AsyncSession, client: AsyncClient) -> dict[str, str]:
    await create_user(session, app.state.auth, email="bob@example.com", username="bob")
    return bearer(await sign_in(client, "bob@example.com"))


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many rows each portfolio table holds: what a refused request must leave unchanged."""
    return {
        table.__tablename__: int(await session.scalar(select(func.count()).select_from(table)) or 0)
        for table in TABLES
    }


async def upload(client: AsyncClient, headers: dict[str, str], data: bytes, name: str = "shot.png") -> str:
    """A file stored through the files API, as the owner would; its id."""
    response = await client.post(
        "/api/files",
        params={"name": name},
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


async def upload_png(client: AsyncClient, headers: dict[str, str], seed: int = 0) -> str:
    return await upload(client, headers, png(seed), name=f"shot-{seed}.png")


PROFILE: dict[str, Any] = {
    "headline": "Engineer of analytical engines",
    "bio": "I write **programs**.",
    "links": [{"label": "GitHub", "url": "https://github.com/ann"}],
    "published": True,
}


async def publish(client: AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await client.put("/api/portfolio/me", json={**PROFILE, **fields}, headers=headers)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def project(slug: str = "engine", **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": f"Project {slug}",
        "description": "It *computes*.",
        "tags": ["Math"],
        **fields,
    }


async def add_project(
    client: AsyncClient, headers: dict[str, str], slug: str = "engine", **fields: Any
) -> dict[str, Any]:
    response = await client.post("/api/portfolio/me/projects", json=project(slug, **fields), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
