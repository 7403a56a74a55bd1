"""B11 downloads and file management: metadata, ranges, ETags, safe headers, listing, deleting,
and another account's file is a 404 everywhere."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.storage import Storage
from tests.factories.files import TEXT, counts, pdf, png, sha256
from tests.factories.mail import run_due_jobs


async def _upload(client: AsyncClient, data: bytes, name: str = "cat.png") -> dict[str, str]:
    response = await client.post("/api/files", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_metadata_of_a_file(client: AsyncClient) -> None:
    file = await _upload(client, pdf(1), "report.pdf")
    response = await client.get(f"/api/files/{file['id']}")
    assert response.status_code == 200
    assert response.json() == file


async def test_download_headers_are_safe(client: AsyncClient) -> None:
    data = pdf(2)
    file = await _upload(client, data, "Résumé; final.pdf")
    response = await client.get(f"/api/files/{file['id']}/content")
    assert response.status_code == 200
    assert response.content == data
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-length"] == str(len(data))
    assert headers["etag"] == f'"{sha256(data)}"'
    assert headers["accept-ranges"] == "bytes"
    assert "nosniff" in headers["x-content-type-options"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "sandbox" in headers["content-security-policy"]
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="R_sum_; final.pdf"' in disposition
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%3B%20final.pdf" in disposition


async def test_images_and_text_may_show_inline(client: AsyncClient) -> None:
    image = await _upload(client, png(3))
    text = await _upload(client, TEXT, "notes.txt")
    image_response = await client.get(f"/api/files/{image['id']}/content")
    assert image_response.headers["content-disposition"].startswith("inline;")
    text_response = await client.get(f"/api/files/{text['id']}/content")
    assert text_response.headers["content-type"] == "text/plain; charset=utf-8"
    assert text_response.headers["content-disposition"].startswith("inline;")


async def test_one_range_is_206(client: AsyncClient) -> None:
    data = png(4, size=5000)
    file = await _upload(client, data)
    url = f"/api/files/{file['id']}/content"
    response = await client.get(url, headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == data[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert response.headers["content-length"] == "100"
    suffix = await client.get(url, headers={"Range": "bytes=-10"})
    assert suffix.content == data[-10:]
    open_ended = await client.get(url, headers={"Range": f"bytes={len(data) - 5}-"})
    assert open_ended.content == data[-5:]
    clipped = await client.get(url, headers={"Range": f"bytes=10-{len(data) * 2}"})
    assert clipped.content == data[10:]


async def test_several_ranges_are_multipart_byteranges(client: AsyncClient) -> None:
    data = png(5, size=5000)
    file = await _upload(client, data)
    response = await client.get(
        f"/api/files/{file['id']}/content", headers={"Range": "bytes=0-9, 100-109, -5"}
    )
    assert response.status_code == 206
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.split("boundary=")[1]
    assert int(response.headers["content-length"]) == len(response.content)
    parts = response.content.split(f"--{boundary}".encode())[1:-1]
    bodies = [part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for part in parts]
    assert bodies == [data[0:10], data[100:110], data[-5:]]
    ranges = re.findall(rb"Content-Range: bytes (\S+)", response.content)
    assert ranges == [
        f"0-9/{len(data)}".encode(),
        f"100-109/{len(data)}".encode(),
        f"{len(data) - 5}-{len(data) - 1}/{len(data)}".encode(),
    ]


async def test_a_range_past_the_end_is_416(client: AsyncClient) -> None:
    data = png(6)
    file = await _upload(client, data)
    response = await client.get(f"/api/files/{file['id']}/content", headers={"Range": "bytes=99999-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"
    assert response.json()["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=5-2", "bytes=" + ",".join(["0-1"] * 17)])
async def test_a_malformed_range_is_ignored(client: AsyncClient, header: str) -> None:
    data = png(7)
    file = await _upload(client, data)
    response = await client.get(f"/api/files/{file['id']}/content", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == data


async def test_if_none_match_is_304_and_if_range_guards_ranges(client: AsyncClient) -> None:
    data = png(8)
    file = await _upload(client, data)
    url = f"/api/files/{file['id']}/content"
    etag = (await client.get(url)).headers["etag"]
    not_modified = await client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200
    matching = await client.get(url, headers={"Range": "bytes=0-3", "If-Range": etag})
    assert matching.status_code == 206
    stale = await client.get(url, headers={"Range": "bytes=0-3", "If-Range": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == data


async def test_another_accounts_file_is_404_everywhere(
    client: AsyncClient, stranger_client: AsyncClient, storage: Storage
) -> None:
    file = await _upload(client, png(9))
    base = f"/api/files/{file['id']}"
    for response in (
        await stranger_client.get(base),
        await stranger_client.get(f"{base}/content"),
        await stranger_client.post(f"{base}/link"),
        await stranger_client.delete(base),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert (await stranger_client.get("/api/files")).json()["items"] == []
    assert (await client.get(base)).status_code == 200


async def test_files_need_a_signed_in_caller(anonymous: AsyncClient) -> None:
    assert (await anonymous.get("/api/files")).status_code == 401
    assert (await anonymous.get("/api/files/6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41/content")).status_code == 401


async def test_listing_pages_with_a_cursor_and_sorts(client: AsyncClient) -> None:
    for index in range(5):
        await _upload(client, png(100 + index, size=100 + index), f"f{index}.png")
    first = (await client.get("/api/files", params={"limit": 2, "sort": "name"})).json()
    assert [item["name"] for item in first["items"]] == ["f0.png", "f1.png"]
    second = (
        await client.get("/api/files", params={"limit": 2, "sort": "name", "cursor": first["next_cursor"]})
    ).json()
    assert [item["name"] for item in second["items"]] == ["f2.png", "f3.png"]
    largest = (await client.get("/api/files", params={"limit": 1, "sort": "-size"})).json()
    assert largest["items"][0]["name"] == "f4.png"
    forged = await client.get("/api/files", params={"cursor": "abc.def"})
    assert forged.status_code == 422


async def test_deleting_a_file_deletes_its_bytes_after_commit(
    app: FastAPI, client: AsyncClient, storage: Storage, session: AsyncSession
) -> None:
    before = set(await storage.keys())
    file = await _upload(client, png(10))
    [key] = set(await storage.keys()) - before
    response = await client.delete(f"/api/files/{file['id']}")
    assert response.status_code == 204
    assert (await client.get(f"/api/files/{file['id']}")).status_code == 404
    assert await storage.exists(key)  # in the trash: kept until purged
    assert (await client.delete(f"/api/files/trash/{file['id']}")).status_code == 204
    await run_due_jobs(app.state.db, app.state.settings)
    assert not await storage.exists(key)
    assert await counts(session) == (0, 0, 0)


async def test_shared_content_stays_until_its_last_file_goes(
    app: FastAPI, client: AsyncClient, stranger_client: AsyncClient, storage: Storage
) -> None:
    data = png(11)
    before = set(await storage.keys())
    mine = await _upload(client, data)
    theirs = await _upload(stranger_client, data)
    await storage.settle()
    [key] = set(await storage.keys()) - before
    await client.delete(f"/api/files/{mine['id']}")
    await client.delete(f"/api/files/trash/{mine['id']}")
    await run_due_jobs(app.state.db, app.state.settings)
    assert await storage.exists(key)
    assert (await stranger_client.get(f"/api/files/{theirs['id']}/content")).content == data
    await stranger_client.delete(f"/api/files/{theirs['id']}")
    await stranger_client.delete(f"/api/files/trash/{theirs['id']}")
    await run_due_jobs(app.state.db, app.state.settings)
    assert not await storage.exists(key)
