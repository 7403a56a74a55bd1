"""I18: notes belong to their author, carry tags, and can be shared read-only by link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.notes.models import NoteShare, NoteTag
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.notes import create_note


@pytest.fixture
async def stranger(app: FastAPI, session: AsyncSession, anonymous: AsyncClient) -> dict[str, str]:
    await create_user(session, app.state.auth, email="stranger@example.com", username="stranger")
    return bearer(await sign_in(anonymous, "stranger@example.com"))


async def test_anonymous_requests_are_401(anonymous: AsyncClient, session: AsyncSession, owner: User) -> None:
    note = await create_note(session, owner.id)
    for method, path in [
        ("GET", "/api/notes"),
        ("POST", "/api/notes"),
        ("GET", f"/api/notes/{note['id']}"),
        ("PATCH", f"/api/notes/{note['id']}"),
        ("GET", "/api/notes/tags"),
    ]:
        response = await anonymous.request(method, path, json={"title": "x"} if method != "GET" else None)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_another_users_notes_are_404_to_them(
    anonymous: AsyncClient, session: AsyncSession, owner: User, stranger: dict[str, str]
) -> None:
    note = await create_note(session, owner.id, title="Private")
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        payload = {"title": "hijacked", "body": ""} if method in ("PATCH", "PUT") else None
        response = await anonymous.request(method, f"/api/notes/{note['id']}", json=payload, headers=stranger)
        assert response.status_code == 404, method
    assert (await anonymous.get("/api/notes", headers=stranger)).json()["items"] == []
    share = await anonymous.put(f"/api/notes/{note['id']}/share", headers=stranger)
    assert share.status_code == 404


async def test_tags_are_normalised_sorted_and_deduplicated(client: AsyncClient) -> None:
    created = await client.post(
        "/api/notes", json={"title": "Plan", "tags": ["Work Items", "work_items", "Home", "ＵＲＧＥＮＴ"]}
    )
    assert created.status_code == 201
    assert created.json()["tags"] == ["home", "urgent", "work-items"]
    read = await client.get(created.headers["location"])
    assert read.json()["tags"] == ["home", "urgent", "work-items"]


@pytest.mark.parametrize("tags", [["C++"], [""], ["x" * 51], [f"t{index}" for index in range(21)], "home"])
async def test_bad_tags_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, tags: object
) -> None:
    response = await client.post("/api/notes", json={"title": "Plan", "tags": tags})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("tags")
    assert await session.scalar(select(func.count()).select_from(NoteTag)) == 0


async def test_changing_tags_moves_the_etag_on(client: AsyncClient) -> None:
    created = await client.post("/api/notes", json={"title": "Plan", "tags": ["a"]})
    etag = created.headers["etag"]
    changed = await client.patch(
        created.headers["location"], json={"tags": ["a", "b"]}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json()["tags"] == ["a", "b"]
    assert changed.headers["etag"] != etag
    same = await client.patch(created.headers["location"], json={"title": "Plan 2"})
    assert same.json()["tags"] == ["a", "b"]  # omitted tags are kept
    stale = await client.patch(created.headers["location"], json={"tags": []}, headers={"If-Match": etag})
    assert stale.status_code == 412
    cleared = await client.put(created.headers["location"], json={"title": "Plan", "body": ""})
    assert cleared.json()["tags"] == []


async def test_filter_by_any_or_all_tags_and_list_counts(
    client: AsyncClient, session: AsyncSession, owner: User, app: FastAPI
) -> None:
    await create_note(session, owner.id, title="both", tags=["home", "work"])
    await create_note(session, owner.id, title="home only", tags=["home"])
    await create_note(session, owner.id, title="work only", tags=["work"])
    await create_note(session, owner.id, title="untagged")
    other = await create_user(session, app.state.auth, email="other@example.com", username="other")
    await create_note(session, other.id, title="someone else's", tags=["home"])

    async def titles(**params: str | list[str]) -> set[str]:
        response = await client.get("/api/notes", params=params)
        assert response.status_code == 200, response.text
        return {item["title"] for item in response.json()["items"]}

    assert await titles(tag=["home", "work"]) == {"both", "home only", "work only"}
    assert await titles(tag=["home", "work"], match="all") == {"both"}
    assert await titles(tag="HOME") == {"both", "home only"}
    assert await titles(tag="nothing") == set()
    assert await titles(tag="home", q="only") == {"home only"}
    assert len(await titles()) == 4
    counts = (await client.get("/api/notes/tags")).json()["items"]
    assert counts == [{"tag": "home", "count": 2}, {"tag": "work", "count": 2}]
    bad = await client.get("/api/notes", params={"tag": "a b c +"})
    assert bad.status_code == 422


async def test_a_shared_link_reads_the_note_without_signing_in(
    client: AsyncClient, anonymous: AsyncClient, session: AsyncSession
) -> None:
    created = (
        await client.post("/api/notes", json={"title": "Recipe", "body": "Flour", "tags": ["food"]})
    ).json()
    shared = await client.put(f"/api/notes/{created['id']}/share", json={"expires_in_days": 7})
    assert shared.status_code == 201
    link = shared.json()["url"]
    assert link.startswith("http://testserver/api/notes/shared/")
    read = await anonymous.get(link)
    assert read.status_code == 200
    assert read.json() == {key: created[key] for key in read.json()}
    assert (await anonymous.patch(link, json={"title": "x"})).status_code == 405  # read only
    stored = await session.scalar(select(NoteShare.token_hash))
    assert stored is not None
    assert link.rsplit("/", 1)[1] not in stored

    # A new link replaces the old one; revoking ends it; an expired link is 410.
    again = (await client.put(f"/api/notes/{created['id']}/share")).json()
    assert again["expires_at"] is None
    assert (await anonymous.get(link)).status_code == 404
    await session.execute(update(NoteShare).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await anonymous.get(again["url"])).status_code == 410
    assert (await client.delete(f"/api/notes/{created['id']}/share")).status_code == 204
    assert (await anonymous.get(again["url"])).status_code == 404


async def test_bad_share_requests(client: AsyncClient, anonymous: AsyncClient) -> None:
    created = (await client.post("/api/notes", json={"title": "Recipe"})).json()
    too_long = await client.put(f"/api/notes/{created['id']}/share", json={"expires_in_days": 1000})
    assert too_long.status_code == 422
    assert (await anonymous.get("/api/notes/shared/not-a-token")).status_code == 422
    assert (await anonymous.get("/api/notes/shared/" + "A" * 43)).status_code == 404
