"""I4 quota: reserved before an upload's first byte (raw, multipart, tus, presigned, new
versions), released when it fails, never exceeded by concurrent uploads; a refusal is a 413
`quota_exceeded` with nothing stored and the usage unchanged."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.storage import Storage
from sixty.files.models import Blob, FileVersion, QuotaHold, StoredFile
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.files import HTML, counts, png, sha256

QUOTA = 3000
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
async def app(files_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(files_settings.model_copy(update={"files_quota_bytes": QUOTA}), db=db)
    async with application.router.lifespan_context(application):
        yield application


def sized(seed: int, size: int) -> bytes:
    """A PNG of exactly `size` bytes."""
    return png(seed, size=size - 29)


async def raw(client: AsyncClient, data: bytes, name: str = "cat.png") -> Any:
    return await client.post(
        "/api/files",
        params={"name": name},
        content=data,
        headers={"content-type": "application/octet-stream"},
    )


async def usage(client: AsyncClient) -> dict[str, int]:
    response = await client.get("/api/files/usage")
    assert response.status_code == 200
    body: dict[str, int] = response.json()
    return body


def assert_quota_exceeded(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "quota_exceeded"


async def test_uploads_past_the_quota_are_refused_whatever_the_way(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    assert await usage(client) == {"used": 0, "reserved": 0, "limit": QUOTA, "available": QUOTA}
    first = await raw(client, sized(1, 1000))
    assert first.status_code == 201
    assert await usage(client) == {"used": 1000, "reserved": 0, "limit": QUOTA, "available": 2000}
    await storage.settle()
    keys = set(await storage.keys())
    before = await counts(session)

    big = sized(2, 2500)
    assert_quota_exceeded(await raw(client, big))
    assert_quota_exceeded(await client.post("/api/files", files={"file": ("big.png", big, "image/png")}))
    assert_quota_exceeded(await client.post("/api/files/uploads", headers={**TUS, "Upload-Length": "2500"}))
    assert_quota_exceeded(await client.post("/api/files/presigned", json={"name": "big.png", "size": 2500}))
    assert_quota_exceeded(
        await client.post(
            f"/api/files/{first.json()['id']}/versions",
            content=big,
            headers={"content-type": "application/octet-stream"},
        )
    )

    await storage.settle()
    assert set(await storage.keys()) == keys
    assert await counts(session) == before
    assert await usage(client) == {"used": 1000, "reserved": 0, "limit": QUOTA, "available": 2000}
    assert int(await session.scalar(select(func.count()).select_from(FileVersion)) or 0) == 0
    # what fits still goes in, to the byte
    assert (await raw(client, sized(3, 2000))).status_code == 201
    assert (await usage(client))["available"] == 0


async def test_a_refused_upload_releases_its_hold(client: AsyncClient, session: AsyncSession) -> None:
    refused = await raw(client, HTML, "page.png")
    assert refused.status_code == 415
    too_big = await raw(client, sized(4, 300 * 1024))  # past the file size limit, within nothing
    assert too_big.status_code == 413
    assert await usage(client) == {"used": 0, "reserved": 0, "limit": QUOTA, "available": QUOTA}
    assert int(await session.scalar(select(func.count()).select_from(QuotaHold)) or 0) == 0


async def test_resumable_and_presigned_uploads_hold_their_length_until_they_end(
    client: AsyncClient, storage: Storage
) -> None:
    data = sized(5, 1500)
    created = await client.post(
        "/api/files/uploads",
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename " + base64.b64encode(b"a.png").decode(),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert await usage(client) == {"used": 0, "reserved": 1500, "limit": QUOTA, "available": 1500}
    assert_quota_exceeded(await client.post("/api/files/presigned", json={"name": "b.png", "size": 1501}))

    slot = await client.post("/api/files/presigned", json={"name": "b.png", "size": 1400})
    assert slot.status_code == 201
    assert (await usage(client))["reserved"] == 2900
    assert (await client.delete(f"/api/files/presigned/{slot.json()['id']}")).status_code == 204
    assert (await usage(client))["reserved"] == 1500

    patched = await client.patch(
        location,
        content=data,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert patched.status_code == 204, patched.text
    assert await usage(client) == {"used": 1500, "reserved": 0, "limit": QUOTA, "available": 1500}

    cancelled = await client.post("/api/files/uploads", headers={**TUS, "Upload-Length": "1000"})
    assert (await usage(client))["reserved"] == 1000
    assert (await client.delete(cancelled.headers["location"], headers=TUS)).status_code == 204
    assert (await usage(client))["reserved"] == 0


async def test_restoring_a_version_needs_room_and_purging_frees_it(client: AsyncClient) -> None:
    file = (await raw(client, sized(6, 1200))).json()
    second = await client.post(
        f"/api/files/{file['id']}/versions",
        content=sized(7, 1000),
        headers={"content-type": "application/octet-stream"},
    )
    assert second.status_code == 201
    assert (await usage(client))["used"] == 2200
    # restoring version 1 keeps version 2 too: 1200 more bytes than the 800 left
    assert_quota_exceeded(await client.post(f"/api/files/{file['id']}/versions/1/restore"))
    assert len((await client.get(f"/api/files/{file['id']}/versions")).json()["items"]) == 2
    assert (await client.delete(f"/api/files/{file['id']}")).status_code == 204
    assert (await usage(client))["used"] == 2200  # the trash counts
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    assert (await usage(client))["used"] == 0


RACERS = 10
SIZE = 1000
ROOM = 4


async def test_concurrent_uploads_never_pass_the_quota(files_settings: Settings) -> None:
    settings = files_settings.model_copy(update={"files_quota_bytes": ROOM * SIZE + SIZE // 2})
    db = Database(create_engine(settings))
    app = create_app(settings, db=db)
    tag = uuid.uuid4().hex[:8]
    payloads = [sized(int(tag, 16) + index, SIZE) for index in range(RACERS)]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"quota-{tag}@example.com")
            await session.commit()
            user_id = user.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"quota-{tag}@example.com")))
                responses = await asyncio.gather(
                    *(raw(http, data, f"{index}.png") for index, data in enumerate(payloads))
                )
                statuses = sorted(response.status_code for response in responses)
                assert statuses == [201] * ROOM + [413] * (RACERS - ROOM)
                for response in responses:
                    if response.status_code == 413:
                        assert response.json()["code"] == "quota_exceeded"
                assert await usage(http) == {
                    "used": ROOM * SIZE,
                    "reserved": 0,
                    "limit": settings.files_quota_bytes,
                    "available": SIZE // 2,
                }
        finally:
            async with db.session() as session:
                await session.execute(delete(StoredFile).where(StoredFile.owner_id == user_id))
                await session.execute(
                    delete(Blob).where(Blob.sha256.in_([sha256(data) for data in payloads]))
                )
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()
