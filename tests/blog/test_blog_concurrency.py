"""Concurrency claims, proven with concurrent requests on a database that really commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete

from sixty.auth.models import User
from sixty.blog import service
from sixty.blog.models import Tag
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app
from tests.factories.blog import API, register

PREFIX = f"race{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def committing_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client over an app whose requests commit for real; its users (and with them their
    articles, favorites and follows) and its tags are removed after."""
    db = Database(create_engine(settings))
    app: FastAPI = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            yield http
        async with db.session() as session:
            await session.execute(delete(User).where(User.username.like(f"{PREFIX}%")))
            await session.execute(delete(Tag).where(Tag.name.like(f"{PREFIX}%")))
            await session.commit()


async def test_concurrent_creates_of_one_title_all_get_a_slug(committing_client: AsyncClient) -> None:
    writer = await register(committing_client, f"{PREFIX}a")
    title = f"{PREFIX} Same title"
    payload = {
        "article": {
            "title": title,
            "description": "d",
            "body": "b",
            "tagList": [f"{PREFIX}-x", f"{PREFIX}-y"],
        }
    }

    async def create() -> tuple[int, str]:
        response = await committing_client.post(f"{API}/articles", json=payload, headers=writer)
        return response.status_code, response.json()["article"]["slug"] if response.status_code == 201 else ""

    results = await asyncio.gather(*(create() for _ in range(12)))
    assert [status for status, _ in results] == [201] * 12, results
    slugs = {slug for _, slug in results}
    assert len(slugs) == 12
    assert f"{PREFIX}-same-title".lower() in slugs
    listed = await committing_client.get(f"{API}/articles", params={"author": f"{PREFIX}a", "limit": 50})
    assert listed.json()["articlesCount"] == 12
    assert all(article["tagList"] == [f"{PREFIX}-x", f"{PREFIX}-y"] for article in listed.json()["articles"])


async def test_concurrent_favorites_and_follows_count_once(committing_client: AsyncClient) -> None:
    author = await register(committing_client, f"{PREFIX}b")
    fan = await register(committing_client, f"{PREFIX}c")
    created = await committing_client.post(
        f"{API}/articles",
        json={"article": {"title": f"{PREFIX} fav", "description": "d", "body": "b"}},
        headers=author,
    )
    slug = created.json()["article"]["slug"]
    favorites = [committing_client.post(f"{API}/articles/{slug}/favorite", headers=fan) for _ in range(8)]
    follows = [committing_client.post(f"{API}/profiles/{PREFIX}b/follow", headers=fan) for _ in range(8)]
    responses = await asyncio.gather(*favorites, *follows)
    assert [response.status_code for response in responses] == [200] * 16
    article = (await committing_client.get(f"{API}/articles/{slug}", headers=fan)).json()["article"]
    assert (article["favorited"], article["favoritesCount"]) == (True, 1)
    assert article["author"]["following"] is True


async def test_concurrent_writes_and_compactions_keep_counts_exact(
    committing_client: AsyncClient, settings: Settings
) -> None:
    writer = await register(committing_client, f"{PREFIX}d")
    tag = f"{PREFIX}-counted"

    async def total(**params: str) -> int:
        response = await committing_client.get(f"{API}/articles", params={"limit": 1, **params})
        count: int = response.json()["articlesCount"]
        return count

    before = await total()

    async def create(index: int) -> str:
        payload = {
            "article": {"title": f"{PREFIX} {index}", "description": "d", "body": "b", "tagList": [tag]}
        }
        response = await committing_client.post(f"{API}/articles", json=payload, headers=writer)
        assert response.status_code == 201, response.text
        slug: str = response.json()["article"]["slug"]
        return slug

    db = Database(create_engine(settings))

    async def compact() -> None:
        async with db.session() as session:
            await service.compact_counts(session)
            await session.commit()

    try:
        created = await asyncio.gather(*(create(index) for index in range(12)), compact(), compact())
        slugs = [slug for slug in created if slug]
        deletions = [committing_client.delete(f"{API}/articles/{slug}", headers=writer) for slug in slugs[:5]]
        deleted = await asyncio.gather(*deletions, compact(), compact())
        assert [response.status_code for response in deleted if response is not None] == [204] * 5
        await compact()
    finally:
        await db.dispose()
    assert await total() == before + 7
    assert await total(tag=tag) == 7
