"""B11 uploads: multipart and raw bodies streamed to storage, sniffed types, the allowlist,
size limits, names, several files at once; and each bad input refused with nothing stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message

from sixty.core.config import Settings
from sixty.core.storage import Storage
from tests.factories.files import HTML, TEXT, counts, pdf, png, sha256

LIMIT = 256 * 1024  # files_settings' files_max_bytes


async def _nothing_stored(storage: Storage, session: AsyncSession, keys_before: list[str]) -> None:
    await storage.settle()
    assert await storage.keys() == keys_before
    assert await counts(session) == (0, 0, 0)


async def test_multipart_upload_stores_the_file_and_answers_its_sha256(
    client: AsyncClient, storage: Storage
) -> None:
    data = png(1)
    response = await client.post("/api/files", files={"file": ("cat.png", data, "image/png")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "cat.png"
    assert body["size"] == len(data)
    assert body["sha256"] == sha256(data)
    assert body["content_type"] == "image/png"
    assert set(body) == {
        "id",
        "name",
        "content_type",
        "size",
        "sha256",
        "folder_id",
        "created_at",
        "updated_at",
    }
    content = await client.get(f"/api/files/{body['id']}/content")
    assert content.content == data


async def test_a_lying_content_type_never_wins(client: AsyncClient) -> None:
    response = await client.post("/api/files", files={"file": ("cat.png", pdf(1), "image/png")})
    assert response.status_code == 201
    assert response.json()["content_type"] == "application/pdf"
    text = await client.post("/api/files", files={"file": ("notes.exe", TEXT, "application/x-msdownload")})
    assert text.json()["content_type"] == "text/plain"


@pytest.mark.parametrize(
    "payload",
    [
        HTML,
        b"  <script>fetch('/api/auth/me')</script>",
        b'<?xml version="1.0"?><svg xmlns="x" onload="x()"/>',
    ],
    ids=["html", "script", "svg"],
)
async def test_markup_named_png_is_refused_with_nothing_stored(
    client: AsyncClient, storage: Storage, session: AsyncSession, payload: bytes
) -> None:
    before = await storage.keys()
    response = await client.post("/api/files", files={"file": ("cat.png", payload, "image/png")})
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["code"] == "unsupported_file_type"
    assert response.headers["content-type"] == "application/problem+json"
    await _nothing_stored(storage, session, before)


async def test_a_type_outside_the_allowlist_is_415(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    elf = b"\x7fELF\x02\x01\x01" + bytes(200)
    response = await client.post("/api/files", files={"file": ("tool.png", elf, "image/png")})
    assert response.status_code == 415
    await _nothing_stored(storage, session, before)


async def test_oversized_upload_is_413_with_nothing_left_behind(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    big = png(2, size=LIMIT + 10)
    response = await client.post("/api/files", files={"file": ("big.png", big, "image/png")})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "file_too_large"
    raw = await client.post("/api/files?name=big.png", content=big, headers={"Content-Type": "image/png"})
    assert raw.status_code == 413
    await _nothing_stored(storage, session, before)


async def test_oversized_stream_without_length_is_stopped_at_the_limit(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    sent = 0

    async def endless() -> Any:
        nonlocal sent
        yield png(3)
        while sent < 4 * LIMIT:
            sent += 8192
            yield bytes(8192)

    response = await client.post("/api/files?name=x.png", content=endless())
    assert response.status_code == 413
    await _nothing_stored(storage, session, before)


async def test_empty_file_is_422(client: AsyncClient, storage: Storage, session: AsyncSession) -> None:
    before = await storage.keys()
    response = await client.post("/api/files", files={"file": ("empty.txt", b"", "text/plain")})
    assert response.status_code == 422
    assert response.json()["code"] == "empty_file"
    raw = await client.post("/api/files?name=empty.txt", content=b"", headers={"Content-Type": "text/plain"})
    assert raw.status_code == 422
    await _nothing_stored(storage, session, before)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\ann\\cv.png", "cv.png"),
        ("Cafe\u0301.png", "Café.png"),
    ],
)
async def test_names_keep_their_last_component_and_never_reach_a_path(
    client: AsyncClient, files_settings: Settings, storage: Storage, sent: str, kept: str
) -> None:
    response = await client.post("/api/files", files={"file": (sent, png(4), "image/png")})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == kept
    keys = await storage.keys()
    assert all(key.startswith(("objects/", "tus/", "incoming/", "previews/")) for key in keys)
    if files_settings.storage_backend == "local":
        root = files_settings.effective_storage_dir
        assert not (root.parent / "etc").exists()
        assert all(path.resolve().is_relative_to(root) for path in root.rglob("*"))


async def test_a_long_name_is_cut_keeping_its_extension(client: AsyncClient) -> None:
    response = await client.post("/api/files", files={"file": ("x" * 600 + ".png", png(5), "image/png")})
    name = response.json()["name"]
    assert len(name) == 255
    assert name.endswith(".png")


@pytest.mark.parametrize("name", ["a\x00b.png", "line\nbreak.png", "cv\u202egnp.exe", "..", "dir/"])
async def test_bad_names_are_422_with_nothing_stored(
    client: AsyncClient, storage: Storage, session: AsyncSession, name: str
) -> None:
    before = await storage.keys()
    raw = await client.post("/api/files", params={"name": name}, content=png(6))
    assert raw.status_code == 422, raw.text
    await _nothing_stored(storage, session, before)


async def test_a_nul_in_a_multipart_file_name_is_422(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    body = (
        b'--BB\r\nContent-Disposition: form-data; name="file"; filename="a\x00.png"\r\n\r\n'
        + png(7)
        + b"\r\n--BB--\r\n"
    )
    response = await client.post(
        "/api/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=BB"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_name"
    await _nothing_stored(storage, session, before)


async def test_raw_upload_takes_its_name_from_the_query(client: AsyncClient) -> None:
    data = pdf(2)
    response = await client.post(
        "/api/files",
        params={"name": "report.pdf"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "report.pdf"
    assert response.json()["sha256"] == sha256(data)


async def test_raw_upload_without_a_name_is_422(client: AsyncClient) -> None:
    response = await client.post("/api/files", content=png(8), headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "name"]


async def test_several_files_all_stored_is_201_with_one_entry_each(client: AsyncClient) -> None:
    files = [("file", ("a.png", png(10), "image/png")), ("file", ("b.pdf", pdf(10), "application/pdf"))]
    response = await client.post("/api/files", files=files)
    assert response.status_code == 201, response.text
    entries = response.json()
    assert [entry["status"] for entry in entries] == [201, 201]
    assert [entry["file"]["name"] for entry in entries] == ["a.png", "b.pdf"]
    listed = (await client.get("/api/files")).json()["items"]
    assert {item["name"] for item in listed} == {"a.png", "b.pdf"}


async def test_several_files_some_refused_is_207_and_the_good_ones_are_kept(
    client: AsyncClient, storage: Storage
) -> None:
    files = [
        ("file", ("a.png", png(11), "image/png")),
        ("file", ("evil.png", HTML, "image/png")),
        ("file", ("big.png", png(12, size=LIMIT), "image/png")),
        ("file", ("empty.png", b"", "image/png")),
    ]
    response = await client.post("/api/files", files=files)
    assert response.status_code == 207, response.text
    entries = response.json()
    assert [entry["status"] for entry in entries] == [201, 415, 413, 422]
    assert entries[0]["file"]["sha256"] == sha256(png(11))
    assert entries[1]["problem"]["code"] == "unsupported_file_type"
    assert entries[1]["file"] is None
    assert entries[2]["problem"]["status"] == 413
    listed = (await client.get("/api/files")).json()["items"]
    assert [item["name"] for item in listed] == ["a.png"]
    await storage.settle()
    sizes = [(await storage.stat(key)) for key in await storage.keys()]
    assert all(stat is not None and stat.size <= LIMIT for stat in sizes)


async def test_other_form_fields_are_skipped(client: AsyncClient) -> None:
    response = await client.post(
        "/api/files", data={"comment": "hello"}, files={"file": ("a.png", png(13), "image/png")}
    )
    assert response.status_code == 201
    assert response.json()["name"] == "a.png"


async def test_more_files_than_allowed_is_413(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    files = [("file", (f"{index}.png", png(20 + index), "image/png")) for index in range(6)]
    response = await client.post("/api/files", files=files)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_files"
    await _nothing_stored(storage, session, before)


async def test_multipart_without_a_file_part_is_422(client: AsyncClient) -> None:
    response = await client.post(
        "/api/files", data={"comment": "no file"}, files={"other": ("a.png", png(14))}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "file"]


async def test_a_multipart_body_cut_off_halfway_is_400_with_nothing_stored(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    body = b'--BB\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + png(15)
    response = await client.post(
        "/api/files", content=body, headers={"Content-Type": "multipart/form-data; boundary=BB"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "malformed_multipart"
    await _nothing_stored(storage, session, before)


async def test_a_client_that_disconnects_mid_body_leaves_nothing(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    """The ASGI app called directly: half the body arrives, then the client is gone."""
    before = await storage.keys()
    token = client.headers["Authorization"].encode()
    data = png(16, size=100_000)
    body = (
        b'--BB\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + data
        + b"\r\n--BB--\r\n"
    )
    messages: list[Message] = [
        {"type": "http.request", "body": body[:30_000], "more_body": True},
        {"type": "http.request", "body": body[30_000:60_000], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/files",
        "raw_path": b"/api/files",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", token),
            (b"content-type", b"multipart/form-data; boundary=BB"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    await _nothing_stored(storage, session, before)


async def test_uploads_need_a_signed_in_caller(anonymous: AsyncClient, storage: Storage) -> None:
    before = await storage.keys()
    response = await anonymous.post("/api/files", files={"file": ("a.png", png(17), "image/png")})
    assert response.status_code == 401
    assert await storage.keys() == before


async def test_identical_content_is_stored_once(
    client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = set(await storage.keys())
    data = png(18)
    first = (await client.post("/api/files", files={"file": ("a.png", data, "image/png")})).json()
    second = (await client.post("/api/files", files={"file": ("b.png", data, "image/png")})).json()
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    await storage.settle()
    assert len(set(await storage.keys()) - before) == 1
    files, blobs, _uploads = await counts(session)
    assert (files, blobs) == (2, 1)
