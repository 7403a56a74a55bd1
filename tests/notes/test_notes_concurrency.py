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
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app
from sixty.notes.models import Note
from tests.factories.auth import bearer, create_user, sign_in


@pytest.fixture
async def committing_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A signed-in client over an app whose requests commit for real; its account (and with it
    its notes) is removed after."""
    db = Database(create_engine(settings))
    app: FastAPI = create_app(settings, db=db)
    email = f"concurrency-{uuid.uuid4().hex[:8]}@example.com"
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            await create_user(session, app.state.auth, email=email)
            await session.commit()
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            http.headers.update(bearer(await sign_in(http, email)))
            yield http
        async with db.session() as session:
            await session.execute(delete(Note).where(Note.title.like("concurrency-%")))
            await session.execute(delete(User).where(User.email == email))
            await session.commit()


async def test_only_one_of_many_conditional_updates_wins(committing_client: AsyncClient) -> None:
    created = await committing_client.post("/api/notes", json={"title": "concurrency-target"})
    note_id, etag = created.json()["id"], created.headers["etag"]

    async def update(index: int) -> int:
        response = await committing_client.patch(
            f"/api/notes/{note_id}", json={"body": f"writer {index}"}, headers={"If-Match": etag}
        )
        return response.status_code

    statuses = await asyncio.gather(*(update(index) for index in range(12)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(412) == 11, statuses
    final = (await committing_client.get(f"/api/notes/{note_id}")).json()
    assert final["body"].startswith("writer ")


async def test_concurrent_writers_all_succeed(committing_client: AsyncClient) -> None:
    async def create(index: int) -> int:
        response = await committing_client.post("/api/notes", json={"title": f"concurrency-{index}"})
        return response.status_code

    statuses = await asyncio.gather(*(create(index) for index in range(25)))
    assert statuses == [201] * 25
    listed = await committing_client.get("/api/notes", params={"q": "concurrency-", "limit": 100})
    assert len(listed.json()["items"]) == 25


async def test_reads_are_served_while_a_writer_holds_the_lock(
    committing_client: AsyncClient, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite's single-writer lock is what this is about")
    note = (await committing_client.post("/api/notes", json={"title": "concurrency-read"})).json()
    blocker = Database(create_engine(settings))
    try:
        async with blocker.session(write=True) as session:
            await session.connection()  # BEGIN IMMEDIATE: this session now holds the write lock
            read = await asyncio.wait_for(committing_client.get(f"/api/notes/{note['id']}"), 2)
            assert read.status_code == 200
            # A writer waits for the lock off the event loop, so reads keep flowing meanwhile.
            write = asyncio.create_task(
                committing_client.patch(f"/api/notes/{note['id']}", json={"body": "after the lock"})
            )
            await asyncio.sleep(0.2)
            assert not write.done()
            again = await asyncio.wait_for(committing_client.get(f"/api/notes/{note['id']}"), 2)
            assert again.status_code == 200
            await session.rollback()
        assert (await asyncio.wait_for(write, 5)).status_code == 200
    finally:
        await blocker.dispose()
