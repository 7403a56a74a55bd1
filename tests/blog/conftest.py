"""Fixtures of the blog tests: two signed-in users and an article."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories.blog import create_article, register


@pytest.fixture
async def jake(client: AsyncClient) -> dict[str, str]:
    return await register(client, "jake")


@pytest.fixture
async def ann(client: AsyncClient) -> dict[str, str]:
    return await register(client, "ann")


@pytest.fixture
async def article(client: AsyncClient, jake: dict[str, str]) -> dict[str, Any]:
    return await create_article(client, jake, tags=["training", "dragons"])
