"""Preset variants of stored files through signed links, made once and kept in storage; run once
per storage backend (tests/fixtures/storage.py)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from PIL import Image
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.storage import Storage, storage_for
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.images import jpeg, jpeg_with_exif, png
from tests.factories.mail import run_due_jobs


@pytest.fixture
async def app(files_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(files_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


async def _client(app: FastAPI, session: AsyncSession, name: str) -> AsyncClient:
    await create_user(session, app.state.auth, email=f"{name}@example.com", username=name)
    http = AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver")
    http.headers.update(bearer(await sign_in(http, f"{name}@example.com")))
    return http


@pytest.fixture
async def owner(app: FastAPI, session: AsyncSession) -> AsyncIterator[AsyncClient]:
    http = await _client(app, session, "owner")
    yield http
    await http.aclose()


@pytest.fixture
async def stranger(app: FastAPI, session: AsyncSession) -> AsyncIterator[AsyncClient]:
    http = await _client(app, session, "stranger")
    yield http
    await http.aclose()


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def upload(client: AsyncClient, content: bytes, name: str = "holiday.jpg") -> str:
    response = await client.post("/api/files", files={"file": (name, content, "application/octet-stream")})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def link(client: AsyncClient, file_id: str, preset: str = "thumb", **body: Any) -> Response:
    return await client.post(f"/api/images/files/{file_id}/links", json={"preset": preset, **body})


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def variant_keys(storage: Storage) -> list[str]:
    return [key for key in await storage.keys("variants/") if not key.rsplit("/", 1)[-1].startswith(".")]


async def test_a_signed_link_serves_the_preset_and_caches_it(
    owner: AsyncClient, anonymous: AsyncClient, storage: Storage
) -> None:
    file_id = await upload(owner, jpeg_with_exif(600, 400, orientation=6))
    response = await link(owner, file_id, "thumb", expires_in=600)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["preset"] == "thumb"
    assert body["file_id"] == file_id
    assert body["url"].startswith(f"http://testserver/api/images/variants/{file_id}/thumb?")
    before = await variant_keys(storage)

    first = await anonymous.get(relative(body["url"]))  # no sign-in: the signature is the permission
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["content-disposition"].startswith('inline; filename="holiday-thumb.webp"')
    image = Image.open(io.BytesIO(first.content))
    assert (image.format, image.size) == ("WEBP", (256, 256))
    assert "exif" not in image.info
    stored = await variant_keys(storage)
    assert len(stored) == len(before) + 1

    again = await anonymous.get(relative(body["url"]))
    assert again.content == first.content
    assert await variant_keys(storage) == stored  # served from storage, not made again
    cached = await anonymous.get(relative(body["url"]), headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304


async def test_fit_presets_keep_the_aspect(owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, jpeg(900, 300, quality=80), "wide.jpg")
    body = (await link(owner, file_id, "small")).json()
    response = await anonymous.get(relative(body["url"]))
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (640, 213)


async def test_concurrent_first_requests_make_one_variant(files_settings: Settings) -> None:
    # On a database that really commits: the requests run at once on connections of their own.
    db = Database(create_engine(files_settings))
    app = create_app(files_settings, db=db)
    storage = storage_for(files_settings)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"variants-{tag}@example.com")
            await session.commit()
            user_id = user.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"variants-{tag}@example.com")))
                file_id = await upload(http, jpeg(500, 400 + int(tag[:2], 16), quality=80), "a.jpg")
                url = relative((await link(http, file_id, "medium")).json()["url"])
                before = await variant_keys(storage)
                responses = await asyncio.gather(*(http.get(url) for _ in range(8)))
                assert {response.status_code for response in responses} == {200}
                assert len({response.content for response in responses}) == 1
                made = set(await variant_keys(storage)) - set(before)
                assert len(made) == 1
                assert (await http.delete(f"/api/files/{file_id}")).status_code == 204
                # Purged too: this database is shared, and a blob outlives a deleted account.
                assert (await http.delete(f"/api/files/trash/{file_id}")).status_code == 204
                await run_due_jobs(db, files_settings)
                for key in made:
                    await storage.delete(key)
        finally:
            async with db.session() as session:
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()


async def test_someone_elses_file_is_404(owner: AsyncClient, stranger: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    problem(await link(stranger, file_id), 404, "not_found")
    problem(await link(owner, str(uuid.uuid4())), 404, "not_found")


async def test_unknown_presets_are_404(owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    problem(await link(owner, file_id, "huge"), 404, "unknown_preset")
    url = (await link(owner, file_id, "thumb")).json()["url"]
    problem(await anonymous.get(relative(url).replace("/thumb?", "/huge?")), 404, "unknown_preset")


async def test_tampered_links_are_403(owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    other_id = await upload(owner, png(60, 60), "b.png")
    url = relative((await link(owner, file_id, "thumb")).json()["url"])
    query = parse_qs(urlsplit(url).query)
    signature = query["signature"][0]
    tampered = [
        url.replace("/thumb?", "/large?"),  # another preset
        url.replace(file_id, other_id),  # another file, even one of the same owner
        url.replace(f"expires={query['expires'][0]}", f"expires={int(query['expires'][0]) + 3600}"),
        url.replace(signature, ("A" if signature[0] != "A" else "B") + signature[1:]),
        url.replace(signature, ""),
    ]
    for bent in tampered:
        problem(await anonymous.get(bent), 403, "invalid_signature")


async def test_expired_links_are_410(app: FastAPI, owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    url = relative((await link(owner, file_id, "thumb")).json()["url"])
    owner_id = parse_qs(urlsplit(url).query)["owner"][0]
    signer = app.state.image_links  # the app's own signer (keyed from its secret)
    expires = int(time.time()) - 1
    signature = signer.sign(
        owner_id=uuid.UUID(owner_id), file_id=uuid.UUID(file_id), preset="thumb", expires=expires
    )
    expired = f"/api/images/variants/{file_id}/thumb?owner={owner_id}&expires={expires}&signature={signature}"
    problem(await anonymous.get(expired), 410, "link_expired")


async def test_a_deleted_file_is_404(owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    url = relative((await link(owner, file_id, "thumb")).json()["url"])
    assert (await owner.delete(f"/api/files/{file_id}")).status_code == 204
    problem(await anonymous.get(url), 404, "not_found")


async def test_a_file_that_is_not_an_image_is_422(owner: AsyncClient) -> None:
    file_id = await upload(owner, b"plain words, no pixels", "notes.txt")
    problem(await link(owner, file_id), 422, "not_an_image")


async def test_bad_link_requests(owner: AsyncClient, anonymous: AsyncClient) -> None:
    file_id = await upload(owner, png(50, 50), "a.png")
    assert (await link(owner, file_id, expires_in=0)).status_code == 422
    assert (await link(owner, file_id, expires_in=8 * 86400)).status_code == 422
    assert (await link(owner, file_id, size="9000x9000")).status_code == 422
    assert (
        await anonymous.post(f"/api/images/files/{file_id}/links", json={"preset": "thumb"})
    ).status_code == 401
    missing = await anonymous.get(f"/api/images/variants/{file_id}/thumb")
    assert missing.status_code == 422
