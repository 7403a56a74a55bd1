"""B17: every bad input is a clear 4xx problem document and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.files import pdf
from tests.portfolio.conftest import PROFILE, add_project, counts, project, publish, upload, upload_png

ME = "/api/portfolio/me"


def problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


BAD_PROFILES: list[tuple[dict[str, Any], str]] = [
    ({"bio": "Hi <script>alert(1)</script>"}, "bio"),
    ({"bio": "<img src=x onerror=alert(1)>"}, "bio"),
    ({"bio": "[click](javascript:alert(1))"}, "bio"),
    ({"bio": "[click]( JavaScript:alert(1))"}, "bio"),
    ({"bio": "x" * 10_001}, "bio"),
    ({"links": [{"label": "x", "url": "javascript:alert(1)"}]}, "links.0.url"),
    ({"links": [{"label": "x", "url": "data:text/html,<script>1</script>"}]}, "links.0.url"),
    ({"links": [{"label": "x", "url": "//evil.example"}]}, "links.0.url"),
    ({"links": [{"label": "x", "url": "https://a.example/ b"}]}, "links.0.url"),
    ({"links": [{"label": "x", "url": "https:///nohost"}]}, "links.0.url"),
    ({"links": [{"label": "", "url": "https://a.example"}]}, "links.0.label"),
    ({"links": [{"label": "x", "url": "https://a.example"}] * 11}, "links"),
    ({"username": "me"}, "username"),
    ({"username": "bad name"}, "username"),
    ({"headline": "two\nlines"}, "headline"),
    ({"published": "maybe"}, "published"),
    ({"published": 0}, "published"),
    ({"colour": "red"}, "colour"),
]


async def test_a_bad_profile_is_a_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    for change, field in BAD_PROFILES:
        before = await counts(session)
        body = problem(await client.put(ME, json={**PROFILE, **change}, headers=ann), 422)
        assert field in fields(body), change
        assert await counts(session) == before


async def test_a_sanitised_bio_keeps_code_and_drops_raw_html(
    client: AsyncClient, ann: dict[str, str]
) -> None:
    profile = await publish(client, ann, bio="`a < b` and <b>bold</b> [ok](https://a.example)")
    assert profile["bio_html"] == (
        '<p><code>a &lt; b</code> and &lt;b&gt;bold&lt;/b&gt; <a href="https://a.example" '
        'rel="nofollow noopener noreferrer ugc">ok</a></p>'
    )


async def test_a_taken_username_is_a_409_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann)
    before = await counts(session)
    problem(await client.put(ME, json={"username": "ANN"}, headers=bob), 409, "username_taken")
    assert await counts(session) == before
    # Bob's own portfolio keeps its name when he asks for Ann's.
    await publish(client, bob)
    problem(await client.put(ME, json={"username": "ann"}, headers=bob), 409, "username_taken")
    assert (await client.get("/api/portfolio/bob")).json()["username"] == "bob"


async def test_editing_without_a_portfolio_is_a_404(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    before = await counts(session)
    problem(await client.post(f"{ME}/projects", json=project(), headers=ann), 404, "no_portfolio")
    problem(await client.post(f"{ME}/skills", json={"name": "Go", "level": "expert"}, headers=ann), 404)
    assert await counts(session) == before


async def test_writes_need_a_sign_in(client: AsyncClient) -> None:
    problem(await client.put(ME, json=PROFILE), 401)
    problem(await client.post(f"{ME}/projects", json=project()), 401)


BAD_PROJECTS: list[tuple[dict[str, Any], str]] = [
    ({"slug": "Has Spaces"}, "slug"),
    ({"slug": "x" * 81}, "slug"),
    ({"title": "   "}, "title"),
    ({"tags": ["<script>"]}, "tags.0"),
    ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"links": [{"label": "x", "url": "vbscript:msgbox"}]}, "links.0.url"),
    ({"description": "<iframe src=https://evil.example>"}, "description"),
    ({"image_ids": ["not-a-uuid"]}, "image_ids.0"),
    ({"image_ids": [str(uuid.UUID(int=1))] * 2}, "image_ids"),
    ({"image_ids": [str(uuid.uuid4()) for _ in range(11)]}, "image_ids"),
    ({"image_ids": [str(uuid.uuid4())]}, "image_ids.0"),
]


async def test_a_bad_project_is_a_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    for change, field in BAD_PROJECTS:
        before = await counts(session)
        body = problem(await client.post(f"{ME}/projects", json=project(**change), headers=ann), 422)
        assert field in fields(body), change
        assert await counts(session) == before


async def test_someone_elses_file_or_a_file_that_is_no_image_is_refused(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann)
    mine = await upload_png(client, ann, 1)
    theirs = await upload_png(client, bob, 2)
    document = await upload(client, ann, pdf(), name="cv.pdf")
    before = await counts(session)
    body = problem(
        await client.post(f"{ME}/projects", json=project(image_ids=[mine, theirs, document]), headers=ann),
        422,
    )
    assert [(error["field"], error["type"]) for error in body["errors"]] == [
        ("image_ids.1", "unknown_file"),
        ("image_ids.2", "not_an_image"),
    ]
    assert await counts(session) == before


async def test_a_duplicate_slug_is_a_409_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    await add_project(client, ann, "engine")
    other = await add_project(client, ann, "loom")
    before = await counts(session)
    problem(await client.post(f"{ME}/projects", json=project("engine"), headers=ann), 409, "slug_taken")
    problem(
        await client.put(f"{ME}/projects/{other['id']}", json=project("engine"), headers=ann),
        409,
        "slug_taken",
    )
    assert await counts(session) == before
    assert (await client.get("/api/portfolio/ann")).json()["projects"][1]["slug"] == "loom"


async def test_another_users_items_are_404(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann)
    await publish(client, bob)
    item = await add_project(client, ann)
    skill = (await client.post(f"{ME}/skills", json={"name": "Go", "level": "expert"}, headers=ann)).json()
    entry = (
        await client.post(
            f"{ME}/timeline",
            json={"kind": "education", "title": "BSc", "organization": "U", "start_date": "2000-01-01"},
            headers=ann,
        )
    ).json()
    written = await client.post("/api/portfolio/ann/testimonials", json={"author_name": "C", "text": "Good."})
    before = await counts(session)
    problem(await client.put(f"{ME}/projects/{item['id']}", json=project("x"), headers=bob), 404)
    problem(await client.delete(f"{ME}/projects/{item['id']}", headers=bob), 404)
    problem(
        await client.put(f"{ME}/skills/{skill['id']}", json={"name": "Go", "level": "beginner"}, headers=bob),
        404,
    )
    problem(await client.delete(f"{ME}/skills/{skill['id']}", headers=bob), 404)
    problem(await client.delete(f"{ME}/timeline/{entry['id']}", headers=bob), 404)
    testimonial = written.json()["id"]
    problem(await client.patch(f"{ME}/testimonials/{testimonial}", json={"approved": True}, headers=bob), 404)
    problem(await client.delete(f"{ME}/testimonials/{testimonial}", headers=bob), 404)
    problem(
        await client.put(f"{ME}/projects/order", json={"project_ids": [item["id"]]}, headers=bob),
        422,
    )
    assert await counts(session) == before
    assert (await client.get(f"{ME}/testimonials", headers=ann)).json()["items"][0]["approved_at"] is None


async def test_a_reorder_must_list_every_project_once(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    a, b = await add_project(client, ann, "a"), await add_project(client, ann, "b")
    for ids in (
        [a["id"]],
        [a["id"], a["id"]],
        [a["id"], b["id"], str(uuid.uuid4())],
        [b["id"], a["id"], a["id"]],
    ):
        body = problem(await client.put(f"{ME}/projects/order", json={"project_ids": ids}, headers=ann), 422)
        assert fields(body) == {"project_ids"}
    assert [p["slug"] for p in (await client.get("/api/portfolio/ann")).json()["projects"]] == ["a", "b"]


BAD_SKILLS: list[tuple[dict[str, Any], str]] = [
    ({"level": "guru"}, "level"),
    ({"level": None}, "level"),
    ({"name": ""}, "name"),
    ({"name": "x" * 61}, "name"),
]


async def test_a_bad_skill_is_a_422(client: AsyncClient, session: AsyncSession, ann: dict[str, str]) -> None:
    await publish(client, ann)
    for change, field in BAD_SKILLS:
        before = await counts(session)
        body = problem(
            await client.post(f"{ME}/skills", json={"name": "Go", "level": "expert", **change}, headers=ann),
            422,
        )
        assert field in fields(body), change
        assert await counts(session) == before


async def test_a_duplicate_skill_is_a_409_whatever_the_case(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    await client.post(f"{ME}/skills", json={"name": "Python", "level": "expert"}, headers=ann)
    before = await counts(session)
    problem(
        await client.post(f"{ME}/skills", json={"name": "PYTHON", "level": "beginner"}, headers=ann),
        409,
        "skill_taken",
    )
    assert await counts(session) == before


ENTRY = {"kind": "experience", "title": "Dev", "organization": "A", "start_date": "2020-01-01"}


BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    ({"end_date": "2019-12-31"}, "end_date"),
    ({"start_date": "1899-12-31"}, "start_date"),
    ({"start_date": "2101-01-01"}, "start_date"),
    ({"start_date": "2020-02-30"}, "start_date"),
    ({"start_date": None}, "start_date"),
    ({"start_date": 0}, "start_date"),
    ({"kind": "hobby"}, "kind"),
    ({"organization": "x" * 201}, "organization"),
    ({"description": "<script>x</script>"}, "description"),
]


async def test_a_bad_timeline_entry_is_a_422(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    for change, field in BAD_ENTRIES:
        before = await counts(session)
        body = problem(await client.post(f"{ME}/timeline", json={**ENTRY, **change}, headers=ann), 422)
        assert field in fields(body), change
        assert await counts(session) == before


async def test_an_entry_replaced_with_an_end_before_its_start_is_refused(
    client: AsyncClient, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    entry = (await client.post(f"{ME}/timeline", json=ENTRY, headers=ann)).json()
    bad = {**ENTRY, "start_date": "2021-05-01", "end_date": "2021-04-30"}
    body = problem(await client.put(f"{ME}/timeline/{entry['id']}", json=bad, headers=ann), 422)
    assert fields(body) == {"end_date"}
    assert (await client.get(ME, headers=ann)).json()["experience"][0]["start_date"] == "2020-01-01"


BAD_TESTIMONIALS: list[tuple[dict[str, Any], str]] = [
    ({"text": ""}, "text"),
    ({"text": "x" * 2001}, "text"),
    ({"author_name": "a\r\nBcc: x@example.com"}, "author_name"),
    ({"approved_at": "2020-01-01T00:00:00Z"}, "approved_at"),
]


async def test_a_bad_testimonial_is_a_422(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    for change, field in BAD_TESTIMONIALS:
        before = await counts(session)
        body = problem(
            await client.post(
                "/api/portfolio/ann/testimonials", json={"author_name": "C", "text": "Good.", **change}
            ),
            422,
        )
        assert field in fields(body), change
        assert await counts(session) == before


async def test_testimonials_for_a_draft_or_for_yourself_are_refused(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann, published=False)
    before = await counts(session)
    body = {"author_name": "C", "text": "Good."}
    problem(await client.post("/api/portfolio/ann/testimonials", json=body), 404)
    problem(await client.post("/api/portfolio/nobody/testimonials", json=body), 404)
    await publish(client, ann)
    before = await counts(session)
    problem(
        await client.post("/api/portfolio/ann/testimonials", json=body, headers=ann), 403, "own_portfolio"
    )
    assert await counts(session) == before


async def test_bad_paths_and_media_types(client: AsyncClient, ann: dict[str, str]) -> None:
    problem(await client.get("/api/portfolio/a"), 404)
    problem(await client.get("/api/portfolio/" + "x" * 41), 404)
    problem(await client.post("/api/portfolio/me/testimonials", json={"author_name": "C", "text": "x"}), 405)
    problem(await client.get("/api/portfolio/ann/images/not-a-uuid"), 404)
    problem(await client.put(ME, content=b"headline=x", headers={**ann, "Content-Type": "text/plain"}), 415)
    problem(await client.put(ME, content=b"{", headers={**ann, "Content-Type": "application/json"}), 422)
