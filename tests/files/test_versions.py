"""I4 versions: a new upload keeps the old content as a version; versions are listed,
downloaded and restored; refusals change nothing; purging frees every version's bytes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.storage import Storage
from sixty.files.models import Blob, FileVersion
from tests.factories.files import HTML, counts, pdf, png
from tests.factories.mail import run_due_jobs

RAW = {"content-type": "application/octet-stream"}


async def upload(client: AsyncClient, data: bytes, name: str = "report.pdf") -> dict[str, Any]:
    response = await client.post("/api/files", params={"name": name}, content=data, headers=RAW)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_versions_are_kept_listed_downloaded_and_restored(client: AsyncClient) -> None:
    one, two = pdf(1), png(2)
    file = await upload(client, one)
    updated = await client.post(f"/api/files/{file['id']}/versions", content=two, headers=RAW)
    assert updated.status_code == 201, updated.text
    assert updated.json()["id"] == file["id"]
    assert updated.json()["content_type"] == "image/png"  # sniffed again
    assert (await client.get(f"/api/files/{file['id']}/content")).content == two

    versions = (await client.get(f"/api/files/{file['id']}/versions")).json()["items"]
    assert [(item["number"], item["current"], item["size"]) for item in versions] == [
        (2, True, len(two)),
        (1, False, len(one)),
    ]
    old = await client.get(f"/api/files/{file['id']}/versions/1/content")
    assert old.status_code == 200
    assert old.content == one
    assert old.headers["content-type"] == "application/pdf"
    assert (await client.get(f"/api/files/{file['id']}/versions/2/content")).content == two
    ranged = await client.get(f"/api/files/{file['id']}/versions/1/content", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206
    assert ranged.content == one[:4]

    restored = await client.post(f"/api/files/{file['id']}/versions/1/restore")
    assert restored.status_code == 200
    assert restored.json()["sha256"] == file["sha256"]
    assert (await client.get(f"/api/files/{file['id']}/content")).content == one
    versions = (await client.get(f"/api/files/{file['id']}/versions")).json()["items"]
    assert [(item["number"], item["current"]) for item in versions] == [(3, True), (2, False), (1, False)]
    assert (await client.get(f"/api/files/{file['id']}/versions/2/content")).content == two
    for missing in (4, 99):
        response = await client.get(f"/api/files/{file['id']}/versions/{missing}/content")
        assert response.status_code == 404
        assert response.json()["code"] == "version_not_found"
    assert (await client.post(f"/api/files/{file['id']}/versions/3/restore")).status_code == 404  # current


async def test_a_refused_version_changes_nothing(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    file = await upload(client, pdf(3))
    await storage.settle()
    keys = set(await storage.keys())
    refused = await client.post(f"/api/files/{file['id']}/versions", content=HTML, headers=RAW)
    assert refused.status_code == 415
    empty = await client.post(f"/api/files/{file['id']}/versions", content=b"", headers=RAW)
    assert empty.status_code == 422
    await storage.settle()
    assert set(await storage.keys()) == keys
    assert (await client.get(f"/api/files/{file['id']}")).json() == file
    assert int(await session.scalar(select(func.count()).select_from(FileVersion)) or 0) == 0
    assert (await client.get("/api/files/usage")).json()["reserved"] == 0


async def test_another_accounts_versions_are_not_found(
    client: AsyncClient, stranger_client: AsyncClient
) -> None:
    file = await upload(client, pdf(4))
    await client.post(f"/api/files/{file['id']}/versions", content=pdf(5), headers=RAW)
    for response in (
        await stranger_client.get(f"/api/files/{file['id']}/versions"),
        await stranger_client.get(f"/api/files/{file['id']}/versions/1/content"),
        await stranger_client.post(f"/api/files/{file['id']}/versions/1/restore"),
        await stranger_client.post(f"/api/files/{file['id']}/versions", content=pdf(6), headers=RAW),
    ):
        assert response.status_code == 404, response.request.url
    assert len((await client.get(f"/api/files/{file['id']}/versions")).json()["items"]) == 2
    assert (await stranger_client.get("/api/files/usage")).json()["reserved"] == 0


async def test_purging_a_file_frees_every_versions_bytes(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    await storage.settle()
    before = set(await storage.keys())
    file = await upload(client, pdf(7))
    for seed in (8, 9):
        await client.post(f"/api/files/{file['id']}/versions", content=pdf(seed), headers=RAW)
    await client.post(f"/api/files/{file['id']}/versions/1/restore")  # version 1's blob, twice
    await storage.settle()
    assert len(set(await storage.keys()) - before) == 3
    assert list((await session.scalars(select(Blob.refcount).order_by(Blob.refcount))).all()) == [1, 1, 2]
    await client.delete(f"/api/files/{file['id']}")
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    await storage.settle()
    assert set(await storage.keys()) == before
    assert await counts(session) == (0, 0, 0)
    assert int(await session.scalar(select(func.count()).select_from(FileVersion)) or 0) == 0
