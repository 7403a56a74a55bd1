"""Deduplication under concurrency, on a database that really commits: identical uploads at the
same moment end as one blob counted once per file and one stored object; deleting the files
one by one, concurrently too, removes the blob and its bytes exactly when the last one goes."""

from __future__ import annotations

import asyncio
import uuid

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.storage import storage_for
from sixty.files.models import Blob, StoredFile
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.files import png, sha256
from tests.factories.mail import run_due_jobs

RACERS = 8


async def test_concurrent_identical_uploads_are_stored_once(files_settings: Settings) -> None:
    db = Database(create_engine(files_settings))
    app = create_app(files_settings, db=db)
    storage = storage_for(files_settings)
    tag = uuid.uuid4().hex[:8]
    data = png(int(tag, 16), size=50_000)
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"race-{tag}@example.com")
            await session.commit()
            user_id = user.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"race-{tag}@example.com")))
                before = set(await storage.keys())

                async def upload(index: int) -> str:
                    response = await http.post(
                        "/api/files", files={"file": (f"{index}.png", data, "image/png")}
                    )
                    assert response.status_code == 201, response.text
                    file_id: str = response.json()["id"]
                    return file_id

                ids = await asyncio.gather(*(upload(index) for index in range(RACERS)))
                await storage.settle()
                async with db.session() as session:
                    blob = (await session.scalars(select(Blob).where(Blob.sha256 == sha256(data)))).one()
                    assert blob.refcount == RACERS
                assert set(await storage.keys()) - before == {blob.key}

                for file_id in ids:  # to the trash first; purging is what frees the bytes
                    assert (await http.delete(f"/api/files/{file_id}")).status_code == 204
                statuses = await asyncio.gather(
                    *(http.delete(f"/api/files/trash/{file_id}") for file_id in ids[:-1])
                )
                assert [response.status_code for response in statuses] == [204] * (RACERS - 1)
                await run_due_jobs(db, files_settings)
                async with db.session() as session:
                    assert (await session.get(Blob, blob.id)) is not None
                    assert (await session.get(Blob, blob.id)).refcount == 1  # type: ignore[union-attr]
                assert await storage.exists(blob.key)
                assert (await http.delete(f"/api/files/trash/{ids[-1]}")).status_code == 204
                await run_due_jobs(db, files_settings)
                async with db.session() as session:
                    assert (await session.get(Blob, blob.id)) is None
                assert not await storage.exists(blob.key)
        finally:
            async with db.session() as session:
                await session.execute(delete(StoredFile).where(StoredFile.owner_id == user_id))
                await session.execute(delete(Blob).where(Blob.sha256 == sha256(data)))
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()
