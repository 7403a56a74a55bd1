"""I4 share links: read-only downloads without signing in; expiring, revocable, optionally
password-protected; unguessable tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.models import utcnow
from sixty.files.models import Share
from tests.factories.files import pdf

RAW = {"content-type": "application/octet-stream"}


async def upload(client: AsyncClient, data: bytes, name: str = "report.pdf") -> dict[str, Any]:
    response = await client.post("/api/files", params={"name": name}, content=data, headers=RAW)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def share(client: AsyncClient, file_id: str, **options: Any) -> dict[str, Any]:
    response = await client.post(f"/api/files/{file_id}/shares", json=options)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


async def test_a_share_link_serves_the_file_without_signing_in(
    client: AsyncClient, anonymous: AsyncClient, session: AsyncSession
) -> None:
    data = pdf(30)
    file = await upload(client, data)
    link = await share(client, file["id"], expires_in=3600)
    assert len(link["token"]) >= 43  # 256 random bits
    assert link["url"].endswith(f"/api/files/shared/{link['token']}")
    assert link["has_password"] is False
    stored = (await session.scalars(select(Share.token_hash))).one()
    assert stored == hashlib.sha256(link["token"].encode()).hexdigest()  # the token itself is not kept

    meta = await anonymous.get(f"/api/files/shared/{link['token']}")
    assert meta.status_code == 200, meta.text
    assert meta.json() == {
        "name": "report.pdf",
        "content_type": "application/pdf",
        "size": len(data),
        "sha256": file["sha256"],
        "expires_at": link["expires_at"],
    }
    content = await anonymous.get(f"/api/files/shared/{link['token']}/content")
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-disposition"].startswith("attachment")
    partial = await anonymous.get(
        f"/api/files/shared/{link['token']}/content", headers={"Range": "bytes=1-2"}
    )
    assert partial.status_code == 206
    assert partial.content == data[1:3]

    listed = (await client.get(f"/api/files/{file['id']}/shares")).json()["items"]
    assert [item["id"] for item in listed] == [link["id"]]
    assert "token" not in listed[0]


async def test_revoked_expired_and_tampered_links_are_refused(
    client: AsyncClient, anonymous: AsyncClient, session: AsyncSession
) -> None:
    file = await upload(client, pdf(31))
    revoked = await share(client, file["id"])
    expired = await share(client, file["id"], expires_in=60)
    await session.execute(
        update(Share)
        .where(Share.id == uuid.UUID(expired["id"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.flush()
    assert (await client.delete(f"/api/files/{file['id']}/shares/{revoked['id']}")).status_code == 204
    assert (
        await client.delete(f"/api/files/{file['id']}/shares/{revoked['id']}")
    ).status_code == 204  # idempotent

    for token, status, code in (
        (revoked["token"], 410, "share_revoked"),
        (expired["token"], 410, "share_expired"),
        (tampered(expired["token"]), 404, "share_not_found"),
        ("x" * 43, 404, "share_not_found"),
    ):
        for path in (f"/api/files/shared/{token}", f"/api/files/shared/{token}/content"):
            response = await anonymous.get(path)
            assert response.status_code == status, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == code
    assert (await anonymous.get("/api/files/shared/short")).status_code == 422

    listed = {
        item["id"]: item for item in (await client.get(f"/api/files/{file['id']}/shares")).json()["items"]
    }
    assert listed[revoked["id"]]["revoked_at"] is not None
    assert listed[expired["id"]]["revoked_at"] is None


async def test_a_password_protected_link(client: AsyncClient, anonymous: AsyncClient) -> None:
    data = pdf(32)
    file = await upload(client, data)
    link = await share(client, file["id"], password="correct horse")
    assert link["has_password"] is True
    url = f"/api/files/shared/{link['token']}/content"
    missing = await anonymous.get(url)
    assert missing.status_code == 403
    assert missing.json()["code"] == "share_password_required"
    wrong = await anonymous.get(url, headers={"X-Share-Password": "battery staple"})
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "share_password_wrong"
    right = await anonymous.get(url, headers={"X-Share-Password": "correct horse"})
    assert right.status_code == 200
    assert right.content == data
    short = await client.post(f"/api/files/{file['id']}/shares", json={"password": "abc"})
    assert short.status_code == 422
    unknown = await client.post(f"/api/files/{file['id']}/shares", json={"expires_in": 10})
    assert unknown.status_code == 422


async def test_shares_of_another_account_or_of_a_trashed_file(
    client: AsyncClient, stranger_client: AsyncClient, anonymous: AsyncClient, session: AsyncSession
) -> None:
    file = await upload(client, pdf(33))
    link = await share(client, file["id"])
    for response in (
        await stranger_client.post(f"/api/files/{file['id']}/shares", json={}),
        await stranger_client.get(f"/api/files/{file['id']}/shares"),
        await stranger_client.delete(f"/api/files/{file['id']}/shares/{link['id']}"),
    ):
        assert response.status_code == 404, response.request.url
    assert int(await session.scalar(select(func.count()).select_from(Share)) or 0) == 1
    assert (await anonymous.post(f"/api/files/{file['id']}/shares", json={})).status_code == 401
    assert (await anonymous.get(f"/api/files/shared/{link['token']}")).status_code == 200

    await client.delete(f"/api/files/{file['id']}")  # in the trash: the link leads nowhere
    assert (await anonymous.get(f"/api/files/shared/{link['token']}")).status_code == 404
    await client.post(f"/api/files/{file['id']}/restore")
    assert (await anonymous.get(f"/api/files/shared/{link['token']}")).status_code == 200
