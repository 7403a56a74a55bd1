from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.notes.models import Note
from tests.factories.notes import create_note, create_notes

JSON = {"Content-Type": "application/json"}


async def note_count(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(Note))) or 0)


async def test_create_read_update_delete(client: AsyncClient) -> None:
    created = await client.post("/api/notes", json={"title": "  Groceries ", "body": "Milk"})
    assert created.status_code == 201
    note = created.json()
    assert set(note) == {"id", "title", "body", "tags", "created_at", "updated_at"}
    assert note["title"] == "Groceries"  # surrounding whitespace removed
    assert created.headers["location"] == f"/api/notes/{note['id']}"
    etag = created.headers["etag"]

    read = await client.get(created.headers["location"])
    assert read.status_code == 200
    assert read.json() == note
    assert read.headers["etag"] == etag

    patched = await client.patch(
        f"/api/notes/{note['id']}", json={"body": "Milk, eggs"}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "Groceries"
    assert patched.json()["body"] == "Milk, eggs"
    assert patched.headers["etag"] != etag
    assert patched.json()["updated_at"] >= note["updated_at"]

    replaced = await client.put(f"/api/notes/{note['id']}", json={"title": "Shopping", "body": ""})
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "Shopping"
    assert replaced.json()["body"] == ""

    deleted = await client.delete(f"/api/notes/{note['id']}", headers={"If-Match": replaced.headers["etag"]})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"/api/notes/{note['id']}")).status_code == 404


async def test_body_defaults_to_empty(client: AsyncClient) -> None:
    response = await client.post("/api/notes", json={"title": "Only a title"})
    assert response.status_code == 201
    assert response.json()["body"] == ""


async def test_timestamps_are_utc_iso8601(client: AsyncClient) -> None:
    note = (await client.post("/api/notes", json={"title": "t"})).json()
    assert note["created_at"].endswith("Z") or note["created_at"].endswith("+00:00")


async def test_if_none_match_answers_304(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    note = await create_note(session, owner.id)
    first = await client.get(f"/api/notes/{note['id']}")
    again = await client.get(f"/api/notes/{note['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get(f"/api/notes/{note['id']}", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_stale_if_match_is_412_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, owner: User, method: str
) -> None:
    note = await create_note(session, owner.id, title="Original")
    payload = {"title": "Changed", "body": "x"} if method != "DELETE" else None
    response = await client.request(
        method, f"/api/notes/{note['id']}", json=payload, headers={"If-Match": '"stale.1"'}
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    current = await client.get(f"/api/notes/{note['id']}")
    assert current.status_code == 200
    assert current.json()["title"] == "Original"


async def test_if_match_star_and_lists(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    note = await create_note(session, owner.id)
    etag = (await client.get(f"/api/notes/{note['id']}")).headers["etag"]
    star = await client.patch(f"/api/notes/{note['id']}", json={"title": "a"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    listed = await client.patch(
        f"/api/notes/{note['id']}", json={"title": "b"}, headers={"If-Match": f'"x", {star.headers["etag"]}'}
    )
    assert listed.status_code == 200
    old = await client.patch(f"/api/notes/{note['id']}", json={"title": "c"}, headers={"If-Match": etag})
    assert old.status_code == 412


async def test_missing_note_is_404_problem(client: AsyncClient) -> None:
    missing = uuid.uuid4()
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        payload = {"title": "t", "body": "b"} if method in ("PATCH", "PUT") else None
        response = await client.request(method, f"/api/notes/{missing}", json=payload)
        assert response.status_code == 404, method
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["code"] == "not_found"
        assert str(missing) in problem["detail"]


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        ({}, "title", "missing"),
        ({"title": ""}, "title", "string_too_short"),
        ({"title": "   "}, "title", "string_pattern_mismatch"),
        ({"title": "x" * 201}, "title", "string_too_long"),
        ({"title": "t", "body": "x" * 100_001}, "body", "string_too_long"),
        ({"title": 5}, "title", "string_type"),
        ({"title": "t", "owner": "me"}, "owner", "extra_forbidden"),
        ({"title": "nul\u0000"}, "title", "string_pattern_mismatch"),
        ({"title": "t", "body": "nul\u0000"}, "body", "string_pattern_mismatch"),
        ([], "", "model_attributes_type"),
    ],
)
async def test_invalid_create_is_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, owner: User, payload: object, field: str, kind: str
) -> None:
    before = await note_count(session)
    response = await client.post("/api/notes", json=payload)
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert problem["code"] == "validation_failed"
    assert any(error["field"] == field and error["type"] == kind for error in problem["errors"]), problem
    assert await note_count(session) == before


async def test_title_of_exactly_200_and_body_of_100000_are_accepted(client: AsyncClient) -> None:
    response = await client.post("/api/notes", json={"title": "x" * 200, "body": "y" * 100_000})
    assert response.status_code == 201


async def test_patch_refuses_null(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    note = await create_note(session, owner.id, title="Keep")
    response = await client.patch(f"/api/notes/{note['id']}", json={"title": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "title"
    assert (await client.get(f"/api/notes/{note['id']}")).json()["title"] == "Keep"


async def test_put_needs_every_field(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    note = await create_note(session, owner.id)
    response = await client.put(f"/api/notes/{note['id']}", json={"title": "only title"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "body", [b'{"title": ', b"\x0087w`", b"\xff\xfe{}", b'{"title": "\xe9"}', b"\xef\xbb\xbf{}", b"nul\x00"]
)
async def test_malformed_json_is_422(
    client: AsyncClient, session: AsyncSession, owner: User, body: bytes
) -> None:
    before = await note_count(session)
    response = await client.post("/api/notes", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert response.json()["errors"][0]["loc"][0] == "body"
    assert await note_count(session) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_wrong_content_type_is_415(
    client: AsyncClient, session: AsyncSession, owner: User, content_type: str
) -> None:
    before = await note_count(session)
    response = await client.post(
        "/api/notes", content=b'{"title": "t"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert await note_count(session) == before


async def test_json_with_charset_and_vendor_suffix_is_accepted(client: AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/api/notes", content=b'{"title": "t"}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 201, content_type


async def test_oversized_body_is_413_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, owner: User
) -> None:
    before = await note_count(session)
    body = b'{"title": "t", "body": "' + b"x" * 1_100_000 + b'"}'
    response = await client.post("/api/notes", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "content_too_large"
    assert await note_count(session) == before


async def test_oversized_streamed_body_is_413(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "t", "body": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    response = await client.post("/api/notes", content=chunks(), headers=JSON)
    assert response.status_code == 413


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0b6f1f5e-4a53-4b8a-9a4b"])
async def test_a_malformed_id_is_not_found(client: AsyncClient, bad_id: str) -> None:
    """Note ids are UUIDs in the route itself, so `/api/notes/tags` can never be taken for one."""
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, f"/api/notes/{bad_id}", json={"title": "x"})
        assert response.status_code in (404, 405), method
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/api/notes/{bad_id}")).status_code == 404


async def test_list_pages_through_every_note_once(
    client: AsyncClient, session: AsyncSession, owner: User
) -> None:
    created = await create_notes(session, owner.id, 7)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/notes", params=params)).json()
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(note["id"]) for note in created)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
async def test_list_sorts(client: AsyncClient, session: AsyncSession, owner: User, sort: str) -> None:
    await create_notes(session, owner.id, 5)
    items = (await client.get("/api/notes", params={"sort": sort, "limit": 100})).json()["items"]
    keys = [item[sort.lstrip("-")] for item in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


async def test_list_default_is_newest_first(client: AsyncClient) -> None:
    for title in ("first", "second", "third"):
        assert (await client.post("/api/notes", json={"title": title})).status_code == 201
    items = (await client.get("/api/notes")).json()["items"]
    assert [item["title"] for item in items[:3]] == ["third", "second", "first"]
    assert "body" in items[0]


async def test_search_in_title_and_body_case_insensitively(
    client: AsyncClient, session: AsyncSession, owner: User
) -> None:
    await create_note(session, owner.id, title="Buy MILK", body="")
    await create_note(session, owner.id, title="Other", body="remember the milk")
    await create_note(session, owner.id, title="Unrelated", body="nothing")
    await create_note(session, owner.id, title="100% sure", body="under_score")
    titles = {
        item["title"] for item in (await client.get("/api/notes", params={"q": "milk"})).json()["items"]
    }
    assert titles == {"Buy MILK", "Other"}
    # LIKE wildcards in the query are taken literally.
    percent = (await client.get("/api/notes", params={"q": "%"})).json()["items"]
    assert [item["title"] for item in percent] == ["100% sure"]
    underscore = (await client.get("/api/notes", params={"q": "r_s"})).json()["items"]
    assert [item["body"] for item in underscore] == ["under_score"]


async def test_search_pages_with_cursor(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    await create_notes(session, owner.id, 5, prefix="match")
    await create_notes(session, owner.id, 5, prefix="other")
    first = (await client.get("/api/notes", params={"q": "match", "limit": 3})).json()
    second = (
        await client.get("/api/notes", params={"q": "match", "limit": 3, "cursor": first["next_cursor"]})
    ).json()
    titles = [item["title"] for item in first["items"] + second["items"]]
    assert len(titles) == 5
    assert all(title.startswith("match") for title in titles)
    assert second["next_cursor"] is None


async def test_search_refuses_nul(client: AsyncClient) -> None:
    response = await client.get("/api/notes", params={"q": "a\x00b"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "q"


@pytest.mark.parametrize("limit", ["0", "-1", "101", "100000000000000000000", "ten"])
async def test_bad_limit_is_422(client: AsyncClient, limit: str) -> None:
    response = await client.get("/api/notes", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_unknown_sort_is_422(client: AsyncClient) -> None:
    response = await client.get("/api/notes", params={"sort": "title"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sort"


async def test_tampered_cursor_is_422(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    await create_notes(session, owner.id, 3)
    cursor = (await client.get("/api/notes", params={"limit": 1})).json()["next_cursor"]
    payload, _, signature = cursor.partition(".")
    forged = ("A" if payload[0] != "A" else "B") + payload[1:] + "." + signature
    for bad in (forged, "garbage", cursor + "x", "." + signature, "x" * 600, "é.ü", payload + ".sïg"):
        response = await client.get("/api/notes", params={"cursor": bad})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_cursor_of_another_sort_is_422(client: AsyncClient, session: AsyncSession, owner: User) -> None:
    await create_notes(session, owner.id, 3)
    cursor = (await client.get("/api/notes", params={"limit": 1, "sort": "created_at"})).json()["next_cursor"]
    response = await client.get("/api/notes", params={"cursor": cursor, "sort": "-updated_at"})
    assert response.status_code == 422


async def test_a_title_never_strips_down_to_nothing(client: AsyncClient) -> None:
    """Only the blanks the pattern looks past are stripped: a control character is kept as sent,
    a title of blanks is refused, never stored empty."""
    kept = await client.post("/api/notes", json={"title": "\x1c"})
    assert kept.status_code == 201
    assert kept.json()["title"] == "\x1c"
    blank = await client.post("/api/notes", json={"title": " \u2003\ufeff "})
    assert blank.status_code == 422
