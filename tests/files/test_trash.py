"""I4 trash: deleting moves a file to the trash, from where it is restored or purged; purging
frees the stored bytes once nothing references them; the periodic job purges old trash."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.jobs import JobContext
from sixty.core.models import utcnow
from sixty.core.storage import Storage
from sixty.files import tasks
from sixty.files.models import Blob, StoredFile
from tests.factories.files import counts, png, sha256
from tests.factories.mail import run_due_jobs


async def upload(client: AsyncClient, data: bytes, name: str = "cat.png") -> dict[str, Any]:
    response = await client.post(
        "/api/files",
        params={"name": name},
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_trash_restore_and_purge(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    data = png(20)
    file = await upload(client, data)
    await storage.settle()
    key = (await session.scalars(select(Blob.key).where(Blob.sha256 == sha256(data)))).one()

    assert (await client.delete(f"/api/files/{file['id']}")).status_code == 204
    assert (await client.get(f"/api/files/{file['id']}")).status_code == 404
    assert (await client.get(f"/api/files/{file['id']}/content")).status_code == 404
    assert (await client.get("/api/files")).json()["items"] == []
    trash = (await client.get("/api/files/trash")).json()
    assert [item["id"] for item in trash["items"]] == [file["id"]]
    assert trash["items"][0]["trashed_at"] is not None
    again = await client.delete(f"/api/files/{file['id']}")
    assert again.status_code == 404  # already in the trash

    restored = await client.post(f"/api/files/{file['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["id"] == file["id"]
    assert (await client.get(f"/api/files/{file['id']}/content")).content == data
    assert (await client.get("/api/files/trash")).json()["items"] == []
    assert (await client.post(f"/api/files/{file['id']}/restore")).status_code == 404  # not in the trash
    not_trashed = await client.delete(f"/api/files/trash/{file['id']}")
    assert not_trashed.status_code == 404  # purging takes a file in the trash only
    await run_due_jobs(app.state.db, app.state.settings)
    assert await storage.exists(key)

    await client.delete(f"/api/files/{file['id']}")
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    assert not await storage.exists(key)
    assert await counts(session) == (0, 0, 0)
    assert (await client.post(f"/api/files/{file['id']}/restore")).status_code == 404


async def test_purging_keeps_bytes_another_file_still_uses(
    app: FastAPI, client: AsyncClient, stranger_client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    data = png(21)
    mine = await upload(client, data)
    theirs = await upload(stranger_client, data)
    await storage.settle()
    key = (await session.scalars(select(Blob.key).where(Blob.sha256 == sha256(data)))).one()
    await client.delete(f"/api/files/{mine['id']}")
    emptied = await client.delete("/api/files/trash")
    assert emptied.json() == {"purged": 1}
    await run_due_jobs(app.state.db, app.state.settings)
    assert await storage.exists(key)
    assert (await stranger_client.get(f"/api/files/{theirs['id']}/content")).content == data


async def test_another_accounts_trash_is_not_found(client: AsyncClient, stranger_client: AsyncClient) -> None:
    file = await upload(client, png(22))
    assert (await stranger_client.delete(f"/api/files/{file['id']}")).status_code == 404
    await client.delete(f"/api/files/{file['id']}")
    assert (await stranger_client.get("/api/files/trash")).json()["items"] == []
    assert (await stranger_client.post(f"/api/files/{file['id']}/restore")).status_code == 404
    assert (await stranger_client.delete(f"/api/files/trash/{file['id']}")).status_code == 404
    assert (await stranger_client.delete("/api/files/trash")).json() == {"purged": 0}
    assert len((await client.get("/api/files/trash")).json()["items"]) == 1


async def test_the_job_purges_files_trashed_longer_than_the_retention(
    app: FastAPI, client: AsyncClient, session: AsyncSession
) -> None:
    old = await upload(client, png(23), "old.png")
    recent = await upload(client, png(24), "recent.png")
    for file in (old, recent):
        await client.delete(f"/api/files/{file['id']}")
    retention = app.state.settings.files_trash_retention
    await session.execute(
        update(StoredFile)
        .where(StoredFile.id == uuid.UUID(old["id"]))
        .values(trashed_at=utcnow() - retention - timedelta(minutes=1))
    )
    await session.flush()
    context = JobContext(db=app.state.db, settings=app.state.settings, attempt=1)
    await tasks.purge_trash(context)
    remaining = (await client.get("/api/files/trash")).json()["items"]
    assert [item["name"] for item in remaining] == ["recent.png"]
