"""Previews under concurrency, on a database that really commits: concurrent first requests for a
file without a preview start it once; a file deleted while its preview job runs leaves neither a
row nor bytes behind, whichever finishes first."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.jobs import backend_for
from sixty.core.storage import storage_for
from sixty.files import preview_service
from sixty.files.models import Blob, FilePreview, StoredFile
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.mail import run_due_jobs
from tests.factories.previews import photo

RACERS = 8


@pytest.fixture
async def committing(files_settings: Settings) -> AsyncIterator[tuple[Database, AsyncClient]]:
    db = Database(create_engine(files_settings))
    app = create_app(files_settings, db=db)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"preview-{tag}@example.com")
            await session.commit()
            user_id = user.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"preview-{tag}@example.com")))
                yield db, http
        finally:
            async with db.session() as session:
                blobs = select(StoredFile.blob_id).where(StoredFile.owner_id == user_id).scalar_subquery()
                blob_ids = list((await session.scalars(select(Blob.id).where(Blob.id.in_(blobs)))).all())
                await session.execute(delete(StoredFile).where(StoredFile.owner_id == user_id))
                await session.execute(delete(Blob).where(Blob.id.in_(blob_ids)))
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()


async def _previews(db: Database, file_id: str) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(FilePreview).where(FilePreview.file_id == uuid.UUID(file_id))
        )
    return int(count or 0)


async def test_concurrent_first_requests_start_one_preview(
    committing: tuple[Database, AsyncClient], files_settings: Settings
) -> None:
    db, http = committing
    tag = uuid.uuid4().int % 1000
    response = await http.post("/api/files", files={"file": ("a.jpg", photo(300 + tag), "image/jpeg")})
    file_id = response.json()["id"]
    backend = backend_for(db)
    assert backend is not None
    while await backend.claim(0.01) is not None:  # as if stored before previews existed
        pass
    async with db.session() as session:
        await session.execute(delete(FilePreview).where(FilePreview.file_id == uuid.UUID(file_id)))
        await session.commit()

    answers = await asyncio.gather(*(http.get(f"/api/files/{file_id}/preview") for _ in range(RACERS)))
    assert [answer.status_code for answer in answers] == [202] * RACERS
    assert await _previews(db, file_id) == 1
    assert await run_due_jobs(db, files_settings) == 1
    ready = await http.get(f"/api/files/{file_id}/preview")
    assert ready.status_code == 200


async def test_a_file_purged_while_its_preview_is_made_leaves_nothing(
    committing: tuple[Database, AsyncClient], files_settings: Settings
) -> None:
    db, http = committing
    storage = storage_for(files_settings)
    for round_ in range(4):
        await storage.settle()
        before = set(await storage.keys("previews/"))
        data = photo(400 + uuid.uuid4().int % 1000 + round_)
        response = await http.post("/api/files", files={"file": ("a.jpg", data, "image/jpeg")})
        file_id = response.json()["id"]
        backend = backend_for(db)
        assert backend is not None
        while await backend.claim(0.01) is not None:  # the test runs the job itself, racing the purge
            pass
        assert (await http.delete(f"/api/files/{file_id}")).status_code == 204  # to the trash
        deleted, _status = await asyncio.gather(
            http.delete(f"/api/files/trash/{file_id}"),
            preview_service.make_preview(db, storage, files_settings, uuid.UUID(file_id)),
        )
        assert deleted.status_code == 204
        await run_due_jobs(db, files_settings)  # the deletion of bytes queued after commit
        await storage.settle()
        assert set(await storage.keys("previews/")) == before
        assert await _previews(db, file_id) == 0
