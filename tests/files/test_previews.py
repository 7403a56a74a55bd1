"""I13 previews, on both storage backends: made by the `files.preview` job after the upload
commits (the tests run the jobs the way the worker does), polled with 202 until ready; thumbnails
upright and stripped of metadata, a PDF's first page, a text's first lines; bad content ends
`failed` with its reason, never a 500; the preview goes with its file; nobody else sees it."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from PIL import Image
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.jobs import backend_for
from sixty.core.storage import ObjectNotFound, Storage
from sixty.files import preview_service
from sixty.files.models import Blob, FilePreview, StoredFile
from tests.factories.files import png
from tests.factories.mail import run_due_jobs
from tests.factories.previews import (
    BLUE,
    RED,
    broken_document,
    corrupt_jpeg,
    document,
    encrypted_document,
    photo,
    png_bomb,
    transparent_png,
)

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300)


async def _upload(client: AsyncClient, data: bytes, name: str) -> dict[str, Any]:
    response = await client.post("/api/files", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ready(app: FastAPI, client: AsyncClient, file_id: str) -> Response:
    """Run the queued jobs, then the preview (which must no longer be pending)."""
    await run_due_jobs(app.state.db, app.state.settings)
    response = await client.get(f"/api/files/{file_id}/preview")
    assert response.status_code != 202, response.text
    return response


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


async def _preview_keys(storage: Storage) -> list[str]:
    await storage.settle()
    return await storage.keys("previews/")


async def test_a_photo_is_pending_until_the_job_runs_then_an_upright_thumbnail(
    app: FastAPI, client: AsyncClient
) -> None:
    # Stored 400 x 200, top half red; EXIF orientation 6: shown turned 90 degrees clockwise,
    # 200 x 400 with the red half on the right.
    file = await _upload(client, photo(orientation=6), "photo.jpg")
    pending = await client.get(f"/api/files/{file['id']}/preview")
    assert pending.status_code == 202
    assert pending.headers["retry-after"] == "1"
    assert pending.json() == {
        "file_id": file["id"],
        "status": "pending",
        "reason": None,
        "content_type": None,
        "width": None,
        "height": None,
    }
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline;")
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.format == "WEBP"
    assert thumbnail.size == (128, 256)
    rgb = thumbnail.convert("RGB")
    assert _close(rgb.getpixel((100, 128)), RED)  # type: ignore[arg-type]
    assert _close(rgb.getpixel((28, 128)), BLUE)  # type: ignore[arg-type]
    assert not thumbnail.getexif()  # no camera, no GPS, no orientation left
    assert b"Sixty test camera" not in response.content


async def test_a_ready_preview_has_an_etag_and_answers_304(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, photo(), "photo.jpg")
    response = await _ready(app, client, file["id"])
    etag = response.headers["etag"]
    again = await client.get(f"/api/files/{file['id']}/preview", headers={"If-None-Match": etag})
    assert again.status_code == 304


async def test_a_png_keeps_its_transparency(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, transparent_png(), "logo.png")
    response = await _ready(app, client, file["id"])
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.size == (256, 256)
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((250, 128))[3] == 0  # type: ignore[index]
    assert thumbnail.getpixel((5, 128))[3] == 255  # type: ignore[index]


async def test_a_pdf_previews_its_first_page(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, document(200, 100), "report.pdf")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200
    page = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert page.size == (256, 128)
    assert _close(page.getpixel((128, 100)), (255, 0, 0))  # type: ignore[arg-type]  # the bottom half
    assert _close(page.getpixel((128, 20)), (255, 255, 255))  # type: ignore[arg-type]


async def test_a_text_previews_its_first_lines_as_utf8(app: FastAPI, client: AsyncClient) -> None:
    lines = [f"ligne {number}: déjà vu, 東京" for number in range(40)]
    file = await _upload(client, "\n".join(lines).encode(), "notes.txt")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.split("\n") == lines[:20]


async def test_a_text_cut_by_the_byte_limit_keeps_whole_characters(app: FastAPI, client: AsyncClient) -> None:
    # 4096 bytes are read: one line of 4095 ASCII bytes then a 3-byte character cut after its
    # first byte. Control characters in the text never reach the preview.
    text = "x" * 4090 + "\x1b[2J" + "\u6771" * 10
    file = await _upload(client, text.encode(), "long.txt")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200
    preview = response.content.decode("utf-8")  # valid UTF-8
    assert "\ufffd" not in preview
    assert "\x1b" not in preview
    assert preview == "x" * 4090 + "[2J"


async def test_a_corrupt_image_fails_with_a_reason_not_a_500(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, corrupt_jpeg(), "broken.jpg")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "preview_failed"
    assert problem["reason"] == "corrupt"


async def test_a_decompression_bomb_is_refused_before_decoding(
    app: FastAPI, client: AsyncClient, storage: Storage
) -> None:
    before = await _preview_keys(storage)
    file = await _upload(client, png_bomb(), "bomb.png")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 422
    assert response.json()["reason"] == "too_many_pixels"
    assert await _preview_keys(storage) == before


async def test_an_encrypted_pdf_fails_as_encrypted(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, encrypted_document(), "secret.pdf")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 422
    assert response.json()["reason"] == "encrypted"


async def test_a_corrupt_pdf_fails_as_corrupt(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, broken_document(), "broken.pdf")
    response = await _ready(app, client, file["id"])
    assert response.status_code == 422
    assert response.json()["reason"] == "corrupt"


async def test_an_unsupported_type_has_no_preview_and_no_job(
    app: FastAPI, client: AsyncClient, session: AsyncSession
) -> None:
    file = await _upload(client, MP3, "song.mp3")
    assert await run_due_jobs(app.state.db, app.state.settings) == 0
    response = await client.get(f"/api/files/{file['id']}/preview")
    assert response.status_code == 422
    assert response.json()["code"] == "preview_unsupported"
    assert await session.scalar(select(func.count()).select_from(FilePreview)) == 0


async def test_someone_elses_preview_is_404(
    app: FastAPI, client: AsyncClient, stranger_client: AsyncClient
) -> None:
    file = await _upload(client, photo(), "mine.jpg")
    await run_due_jobs(app.state.db, app.state.settings)
    assert (await client.get(f"/api/files/{file['id']}/preview")).status_code == 200
    theirs = await stranger_client.get(f"/api/files/{file['id']}/preview")
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "not_found"
    missing = await client.get(f"/api/files/{uuid.uuid4()}/preview")
    assert missing.status_code == 404


async def test_a_preview_needs_a_signed_in_caller(anonymous: AsyncClient) -> None:
    response = await anonymous.get(f"/api/files/{uuid.uuid4()}/preview")
    assert response.status_code == 401


async def test_a_preview_is_purged_with_its_file(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await _preview_keys(storage)
    file = await _upload(client, photo(), "photo.jpg")
    await _ready(app, client, file["id"])
    [key] = set(await _preview_keys(storage)) - set(before)
    assert (await client.delete(f"/api/files/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    assert await storage.exists(key)  # in the trash, the file may still be restored
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    assert not await storage.exists(key)
    assert await session.scalar(select(func.count()).select_from(FilePreview)) == 0


async def test_a_file_purged_before_its_preview_is_made_leaves_nothing(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await _preview_keys(storage)
    file = await _upload(client, photo(), "photo.jpg")
    assert (await client.delete(f"/api/files/{file['id']}")).status_code == 204
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    assert await _preview_keys(storage) == before
    assert await session.scalar(select(func.count()).select_from(FilePreview)) == 0


async def test_a_refused_upload_queues_no_preview(app: FastAPI, client: AsyncClient) -> None:
    big = photo(quality=100) + bytes(300 * 1024)  # past files_settings' 256 KiB
    response = await client.post("/api/files", files={"file": ("big.jpg", big, "image/jpeg")})
    assert response.status_code == 413
    assert await run_due_jobs(app.state.db, app.state.settings) == 0


async def test_a_file_without_a_preview_row_starts_one_when_asked(
    app: FastAPI, client: AsyncClient, session: AsyncSession
) -> None:
    """A file stored before previews existed: the first request starts its preview."""
    file = await _upload(client, photo(), "old.jpg")
    await run_due_jobs(app.state.db, app.state.settings)
    await session.execute(delete(FilePreview))
    await session.flush()
    first = await client.get(f"/api/files/{file['id']}/preview")
    assert first.status_code == 202
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"


async def test_several_files_each_get_their_own_preview(app: FastAPI, client: AsyncClient) -> None:
    files = [
        ("file", ("a.jpg", photo(), "image/jpeg")),
        ("file", ("b.pdf", document(), "application/pdf")),
        ("file", ("c.jpg", corrupt_jpeg(), "image/jpeg")),
        ("file", ("d.mp3", MP3, "audio/mpeg")),
        ("file", ("e.png", png(1, size=LIMIT_PLUS), "image/png")),
    ]
    response = await client.post("/api/files", files=files)
    assert response.status_code == 207, response.text
    entries = response.json()
    assert [entry["status"] for entry in entries] == [201, 201, 201, 201, 413]
    ids = [entry["file"]["id"] for entry in entries[:4]]
    assert await run_due_jobs(app.state.db, app.state.settings) == 3  # one per previewable file
    statuses = [(await client.get(f"/api/files/{file_id}/preview")) for file_id in ids]
    assert [status.status_code for status in statuses] == [200, 200, 422, 422]
    assert statuses[0].headers["content-type"] == "image/webp"
    assert statuses[1].headers["content-type"] == "image/webp"
    assert statuses[2].json()["reason"] == "corrupt"
    assert statuses[3].json()["code"] == "preview_unsupported"


LIMIT_PLUS = 256 * 1024 + 1


async def _drop_queued_jobs(app: FastAPI) -> int:
    """Lose what is queued, as the in-process queue does when the process restarts."""
    backend = backend_for(app.state.db)
    assert backend is not None
    lost = 0
    while await backend.claim(0.01) is not None:
        lost += 1
    return lost


async def test_a_preview_whose_job_was_lost_is_queued_again(app: FastAPI, client: AsyncClient) -> None:
    file = await _upload(client, photo(), "photo.jpg")
    assert await _drop_queued_jobs(app) == 1
    assert (await client.get(f"/api/files/{file['id']}/preview")).status_code == 202
    assert await preview_service.requeue_stale(app.state.db) == 0  # not stale yet
    assert await preview_service.requeue_stale(app.state.db, older_than=timedelta(0)) == 1
    response = await _ready(app, client, file["id"])
    assert response.status_code == 200


async def test_storage_errors_are_retried_then_the_preview_fails_with_error(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    file = await _upload(client, photo(), "photo.jpg")
    await _drop_queued_jobs(app)
    file_id = uuid.UUID(file["id"])
    key = await session.scalar(
        select(Blob.key).join(StoredFile, StoredFile.blob_id == Blob.id).where(StoredFile.id == file_id)
    )
    assert key is not None
    await storage.delete(key)  # the bytes are gone from under the file
    settings = app.state.settings
    with pytest.raises(ObjectNotFound):
        await preview_service.make_preview(app.state.db, storage, settings, file_id, last_attempt=False)
    assert (await client.get(f"/api/files/{file['id']}/preview")).status_code == 202  # to be retried
    with pytest.raises(ObjectNotFound):
        await preview_service.make_preview(app.state.db, storage, settings, file_id, last_attempt=True)
    response = await client.get(f"/api/files/{file['id']}/preview")
    assert response.status_code == 422
    assert response.json()["reason"] == "error"
