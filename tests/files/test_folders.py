"""I4 folders: nesting, moving and renaming folders and files, unique sanitised names, no
cycles, and another account's folder is a 404 everywhere."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.files.models import Folder
from tests.factories.files import pdf, png


async def folder(client: AsyncClient, name: str, parent_id: str | None = None) -> dict[str, Any]:
    response = await client.post("/api/files/folders", json={"name": name, "parent_id": parent_id})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload(client: AsyncClient, data: bytes, name: str = "cat.png", **params: str) -> dict[str, Any]:
    response = await client.post(
        "/api/files",
        params={"name": name, **params},
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def folder_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Folder)) or 0)


async def test_nested_folders_hold_files_and_move_and_rename(client: AsyncClient) -> None:
    docs = await folder(client, "Docs")
    invoices = await folder(client, "Invoices", docs["id"])
    assert invoices["parent_id"] == docs["id"]
    top = (await client.get("/api/files/folders")).json()
    assert [item["name"] for item in top["items"]] == ["Docs"]
    inside = (await client.get("/api/files/folders", params={"parent_id": docs["id"]})).json()
    assert [item["id"] for item in inside["items"]] == [invoices["id"]]

    placed = await upload(client, pdf(1), "march.pdf", folder_id=invoices["id"])
    assert placed["folder_id"] == invoices["id"]
    loose = await upload(client, png(2), "cat.png")
    assert loose["folder_id"] is None
    multipart = await client.post(
        "/api/files",
        params={"folder_id": docs["id"]},
        files=[("file", ("a.png", png(3), "image/png")), ("file", ("b.png", png(4), "image/png"))],
    )
    assert multipart.status_code == 201, multipart.text
    assert {entry["file"]["folder_id"] for entry in multipart.json()} == {docs["id"]}

    moved = await client.patch(
        f"/api/files/{loose['id']}", json={"folder_id": invoices["id"], "name": "../kitty.png"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["folder_id"] == invoices["id"]
    assert moved.json()["name"] == "kitty.png"  # sanitised like an upload's name
    listed = (await client.get(f"/api/files/folders/{invoices['id']}/files")).json()
    assert [item["name"] for item in listed["items"]] == ["kitty.png", "march.pdf"]
    assert (await client.get(f"/api/files/{loose['id']}")).json()["folder_id"] == invoices["id"]

    renamed = await client.patch(
        f"/api/files/folders/{invoices['id']}", json={"name": "Bills", "parent_id": None}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**renamed.json(), "name": "Bills", "parent_id": None}
    top = (await client.get("/api/files/folders")).json()
    assert [item["name"] for item in top["items"]] == ["Bills", "Docs"]

    back = await client.patch(f"/api/files/{loose['id']}", json={"folder_id": None})
    assert back.json()["folder_id"] is None


async def test_deleting_a_folder_needs_it_empty(client: AsyncClient, session: AsyncSession) -> None:
    parent = await folder(client, "Parent")
    child = await folder(client, "Child", parent["id"])
    refused = await client.delete(f"/api/files/folders/{parent['id']}")
    assert refused.status_code == 409
    assert refused.json()["code"] == "folder_not_empty"
    file = await upload(client, png(5), folder_id=child["id"])
    assert (await client.delete(f"/api/files/folders/{child['id']}")).json()["code"] == "folder_not_empty"
    assert await folder_count(session) == 2
    # a file in the trash does not keep its folder; restored, it comes back at the top level
    assert (await client.delete(f"/api/files/{file['id']}")).status_code == 204
    assert (await client.delete(f"/api/files/folders/{child['id']}")).status_code == 204
    assert (await client.delete(f"/api/files/folders/{parent['id']}")).status_code == 204
    restored = await client.post(f"/api/files/{file['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["folder_id"] is None
    assert (await client.get(f"/api/files/folders/{parent['id']}")).status_code == 404


async def test_a_folder_cannot_move_into_itself_or_below_itself(client: AsyncClient) -> None:
    a = await folder(client, "A")
    b = await folder(client, "B", a["id"])
    c = await folder(client, "C", b["id"])
    for target in (a, b, c):
        response = await client.patch(f"/api/files/folders/{a['id']}", json={"parent_id": target["id"]})
        assert response.status_code == 409, target["name"]
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "folder_cycle"
    assert (await client.get(f"/api/files/folders/{a['id']}")).json()["parent_id"] is None
    # the other way round is fine
    moved = await client.patch(f"/api/files/folders/{c['id']}", json={"parent_id": None})
    assert moved.json()["parent_id"] is None


BAD_NAMES = ["../etc", "..", ".", "a/b", "a\\b", "a\x00b", "tab\there", "cv\u202efdp", "", "   ", "x" * 256]


async def test_bad_folder_names_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    existing = await folder(client, "Kept")
    for name in BAD_NAMES:
        response = await client.post("/api/files/folders", json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["errors"][0]["loc"][:2] == ["body", "name"]
        renamed = await client.patch(f"/api/files/folders/{existing['id']}", json={"name": name})
        assert renamed.status_code == 422, name
    assert await folder_count(session) == 1
    assert (await client.get(f"/api/files/folders/{existing['id']}")).json()["name"] == "Kept"


async def test_names_are_unique_within_a_parent(client: AsyncClient, session: AsyncSession) -> None:
    first = await folder(client, "Photos")
    taken = await client.post("/api/files/folders", json={"name": "Photos"})
    assert taken.status_code == 409
    assert taken.json()["code"] == "folder_name_taken"
    other = await folder(client, "Other")
    nested = await folder(client, "Photos", other["id"])  # same name, another parent: fine
    moved = await client.patch(f"/api/files/folders/{nested['id']}", json={"parent_id": None})
    assert moved.status_code == 409
    renamed = await client.patch(f"/api/files/folders/{other['id']}", json={"name": "Photos"})
    assert renamed.status_code == 409
    assert (await client.get(f"/api/files/folders/{other['id']}")).json()["name"] == "Other"
    assert await folder_count(session) == 3
    assert first["name"] == "Photos"
    null_name = await client.patch(f"/api/files/folders/{other['id']}", json={"name": None})
    assert null_name.status_code == 422


async def test_another_accounts_folders_are_not_found(
    client: AsyncClient, stranger_client: AsyncClient
) -> None:
    mine = await folder(client, "Mine")
    file = await upload(client, png(6), folder_id=mine["id"])
    theirs = await folder(stranger_client, "Theirs")
    for response in (
        await stranger_client.get(f"/api/files/folders/{mine['id']}"),
        await stranger_client.get(f"/api/files/folders/{mine['id']}/files"),
        await stranger_client.get("/api/files/folders", params={"parent_id": mine["id"]}),
        await stranger_client.patch(f"/api/files/folders/{mine['id']}", json={"name": "Stolen"}),
        await stranger_client.delete(f"/api/files/folders/{mine['id']}"),
        await stranger_client.post("/api/files/folders", json={"name": "In yours", "parent_id": mine["id"]}),
        await stranger_client.patch(f"/api/files/{file['id']}", json={"name": "x.png"}),
        await stranger_client.post(
            "/api/files",
            params={"name": "x.png", "folder_id": mine["id"]},
            content=png(7),
            headers={"content-type": "application/octet-stream"},
        ),
        await client.patch(f"/api/files/{file['id']}", json={"folder_id": theirs["id"]}),
        await client.patch(f"/api/files/folders/{mine['id']}", json={"parent_id": theirs["id"]}),
    ):
        assert response.status_code == 404, response.request.url
    assert (await client.get(f"/api/files/folders/{mine['id']}")).json()["name"] == "Mine"
    assert (await client.get(f"/api/files/{file['id']}")).json()["folder_id"] == mine["id"]
    usage = (await stranger_client.get("/api/files/usage")).json()
    assert usage["used"] == 0
    assert usage["reserved"] == 0
