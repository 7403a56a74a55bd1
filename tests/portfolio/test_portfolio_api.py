"""B17: a portfolio from its owner's first PUT to what visitors read, with ETags and drafts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.files import png
from tests.portfolio.conftest import add_project, publish, upload_png

ME = "/api/portfolio/me"


async def test_the_owner_creates_a_profile_under_their_username_with_a_rendered_bio(
    client: AsyncClient, ann: dict[str, str]
) -> None:
    response = await client.put(ME, json={"bio": "Hello *world*", "headline": " Builder "}, headers=ann)
    assert response.status_code == 201, response.text
    profile = response.json()
    assert profile["username"] == "ann"  # the account's, in lower case
    assert profile["headline"] == "Builder"
    assert profile["bio_html"] == "<p>Hello <em>world</em></p>"
    assert profile["published"] is False
    assert response.headers["etag"]

    again = await client.put(ME, json={"username": "Ann-Builds", "published": True}, headers=ann)
    assert again.status_code == 200
    assert again.json()["username"] == "ann-builds"
    assert again.json()["id"] == profile["id"]
    assert (await client.get("/api/portfolio/ANN-builds")).status_code == 200
    assert (await client.get("/api/portfolio/ann")).status_code == 404


async def test_a_draft_is_404_to_others_and_visible_to_its_owner(
    client: AsyncClient, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann, published=False)
    assert (await client.get("/api/portfolio/ann")).status_code == 404
    hidden = await client.get("/api/portfolio/ann", headers=bob)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    mine = await client.get("/api/portfolio/ann", headers=ann)
    assert mine.status_code == 200
    assert mine.json()["published"] is False
    assert mine.headers["cache-control"] == "private, no-cache"

    await publish(client, ann, published=True)
    public = await client.get("/api/portfolio/ann")
    assert public.status_code == 200
    assert public.headers["cache-control"] == "public, no-cache"


async def test_the_public_read_answers_304_for_its_etag_and_a_new_etag_after_any_edit(
    client: AsyncClient, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann)
    first = await client.get("/api/portfolio/ann")
    tag = first.headers["etag"]
    cached = await client.get("/api/portfolio/ann", headers={"If-None-Match": tag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == tag
    assert (
        await client.get("/api/portfolio/ann", headers={"If-None-Match": '"other", ' + tag})
    ).status_code == 304

    seen = {tag}
    edits: list[Callable[[], Awaitable[object]]] = [
        lambda: client.post(f"{ME}/skills", json={"name": "Python", "level": "expert"}, headers=ann),
        lambda: client.post(
            f"{ME}/timeline",
            json={"kind": "education", "title": "BSc", "organization": "Uni", "start_date": "2010-09-01"},
            headers=ann,
        ),
        lambda: add_project(client, ann, "one"),
        lambda: publish(client, ann, headline="Changed"),
    ]
    for edit in edits:
        await edit()
        response = await client.get("/api/portfolio/ann", headers={"If-None-Match": tag})
        assert response.status_code == 200
        tag = response.headers["etag"]
        assert tag not in seen
        seen.add(tag)

    # A testimonial waiting for approval changes nothing visitors see; its approval does.
    written = await client.post(
        "/api/portfolio/ann/testimonials", json={"author_name": "Bob", "text": "Great."}, headers=bob
    )
    assert (await client.get("/api/portfolio/ann", headers={"If-None-Match": tag})).status_code == 304
    approved = await client.patch(
        f"{ME}/testimonials/{written.json()['id']}", json={"approved": True}, headers=ann
    )
    assert approved.status_code == 200
    assert (await client.get("/api/portfolio/ann", headers={"If-None-Match": tag})).status_code == 200


async def test_the_owner_reads_their_own_portfolio_at_me(client: AsyncClient, ann: dict[str, str]) -> None:
    missing = await client.get(ME, headers=ann)
    assert missing.status_code == 404
    assert missing.json()["code"] == "no_portfolio"
    await publish(client, ann, published=False)
    response = await client.get(ME, headers=ann)
    assert response.status_code == 200
    assert response.json()["username"] == "ann"
    assert (
        await client.get(ME, headers={"If-None-Match": response.headers["etag"], **ann})
    ).status_code == 304
    assert (await client.get(ME)).status_code == 401


async def test_projects_are_ordered_reordered_and_close_up_on_delete(
    client: AsyncClient, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    a, b, c = [await add_project(client, ann, slug) for slug in ("a", "b", "c")]
    assert [p["position"] for p in (a, b, c)] == [1, 2, 3]
    assert a["tags"] == ["math"]
    assert a["description_html"] == "<p>It <em>computes</em>.</p>"

    order = [c["id"], a["id"], b["id"]]
    response = await client.put(f"{ME}/projects/order", json={"project_ids": order}, headers=ann)
    assert response.status_code == 200, response.text
    assert [(p["id"], p["position"]) for p in response.json()["items"]] == [
        (c["id"], 1),
        (a["id"], 2),
        (b["id"], 3),
    ]
    public = (await client.get("/api/portfolio/ann")).json()
    assert [p["slug"] for p in public["projects"]] == ["c", "a", "b"]

    assert (await client.delete(f"{ME}/projects/{c['id']}", headers=ann)).status_code == 204
    public = (await client.get("/api/portfolio/ann")).json()
    assert [(p["slug"], p["position"]) for p in public["projects"]] == [("a", 1), ("b", 2)]

    replaced = await client.put(
        f"{ME}/projects/{a['id']}",
        json={"slug": "a2", "title": "A two", "tags": ["x", "X", "y"]},
        headers=ann,
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["slug"], replaced.json()["tags"], replaced.json()["position"]) == (
        "a2",
        ["x", "y"],
        1,
    )


async def test_project_images_are_the_owners_uploads_and_visitors_can_fetch_them(
    client: AsyncClient, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    first, second = await upload_png(client, ann, 1), await upload_png(client, ann, 2)
    created = await add_project(client, ann, image_ids=[second, first])
    assert [image["id"] for image in created["images"]] == [second, first]
    image = created["images"][0]
    assert image["content_type"] == "image/png"
    assert image["url"] == f"/api/portfolio/ann/images/{second}"

    response = await client.get(image["url"])  # no sign-in: the portfolio is published
    assert response.status_code == 200
    assert response.content == png(2)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (
        await client.get(image["url"], headers={"If-None-Match": response.headers["etag"]})
    ).status_code == 304

    # A file of the owner that no project shows stays private.
    loose = await upload_png(client, ann, 3)
    assert (await client.get(f"/api/portfolio/ann/images/{loose}")).status_code == 404

    # Deleting the file for good in the files module (trash, then purge) takes it off the
    # project, and the ETag moves. While it is in the trash its bytes are not served.
    tag = (await client.get("/api/portfolio/ann")).headers["etag"]
    assert (await client.delete(f"/api/files/{second}", headers=ann)).status_code == 204
    assert (await client.get(image["url"])).status_code == 404
    assert (await client.delete(f"/api/files/trash/{second}", headers=ann)).status_code == 204
    after = await client.get("/api/portfolio/ann", headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert [i["id"] for i in after.json()["projects"][0]["images"]] == [first]


async def test_skills_and_timelines(client: AsyncClient, ann: dict[str, str]) -> None:
    await publish(client, ann)
    skill = await client.post(f"{ME}/skills", json={"name": "Rust", "level": "beginner"}, headers=ann)
    assert skill.status_code == 201
    await client.post(f"{ME}/skills", json={"name": "Python", "level": "expert"}, headers=ann)
    changed = await client.put(
        f"{ME}/skills/{skill.json()['id']}", json={"name": "rust", "level": "advanced"}, headers=ann
    )
    assert changed.status_code == 200  # renaming to another case of its own name is fine
    entries = [
        {
            "kind": "experience",
            "title": "Dev",
            "organization": "A",
            "start_date": "2015-01-01",
            "end_date": "2018-06-30",
        },
        {"kind": "experience", "title": "Lead", "organization": "B", "start_date": "2018-07-01"},
        {
            "kind": "education",
            "title": "MSc",
            "organization": "U",
            "start_date": "2012-09-01",
            "end_date": "2014-06-30",
        },
        {
            "kind": "experience",
            "title": "Day",
            "organization": "C",
            "start_date": "2014-07-01",
            "end_date": "2014-07-01",
        },
    ]
    for entry in entries:
        response = await client.post(f"{ME}/timeline", json=entry, headers=ann)
        assert response.status_code == 201, response.text
    public = (await client.get("/api/portfolio/ann")).json()
    assert [(s["name"], s["level"], s["position"]) for s in public["skills"]] == [
        ("rust", "advanced", 1),
        ("Python", "expert", 2),
    ]
    assert [e["title"] for e in public["experience"]] == ["Lead", "Dev", "Day"]  # ongoing first
    assert [e["title"] for e in public["education"]] == ["MSc"]

    lead = public["experience"][0]
    assert (await client.delete(f"{ME}/timeline/{lead['id']}", headers=ann)).status_code == 204
    assert (await client.delete(f"{ME}/skills/{skill.json()['id']}", headers=ann)).status_code == 204
    public = (await client.get("/api/portfolio/ann")).json()
    assert [e["title"] for e in public["experience"]] == ["Dev", "Day"]
    assert [(s["name"], s["position"]) for s in public["skills"]] == [("Python", 1)]


async def test_testimonials_show_only_once_approved(
    client: AsyncClient, ann: dict[str, str], session: AsyncSession
) -> None:
    await publish(client, ann)
    written = await client.post(
        "/api/portfolio/ann/testimonials",
        json={"author_name": "Carol", "author_title": "CTO", "text": "<b>Reliable</b> and kind."},
    )
    assert written.status_code == 202, written.text
    assert written.json()["status"] == "pending"
    assert (await client.get("/api/portfolio/ann")).json()["testimonials"] == []

    pending = await client.get(f"{ME}/testimonials", params={"status": "pending"}, headers=ann)
    assert [t["author_name"] for t in pending.json()["items"]] == ["Carol"]
    testimonial_id = written.json()["id"]
    approved = await client.patch(f"{ME}/testimonials/{testimonial_id}", json={"approved": True}, headers=ann)
    assert approved.json()["approved_at"] is not None
    [shown] = (await client.get("/api/portfolio/ann")).json()["testimonials"]
    assert shown["text"] == "<b>Reliable</b> and kind."  # plain text: the client escapes it
    assert (await client.get(f"{ME}/testimonials", params={"status": "pending"}, headers=ann)).json()[
        "items"
    ] == []

    await client.patch(f"{ME}/testimonials/{testimonial_id}", json={"approved": False}, headers=ann)
    assert (await client.get("/api/portfolio/ann")).json()["testimonials"] == []
    assert (await client.delete(f"{ME}/testimonials/{testimonial_id}", headers=ann)).status_code == 204
    assert (await client.get(f"{ME}/testimonials", headers=ann)).json()["items"] == []


async def test_deleting_the_portfolio_frees_its_name(
    client: AsyncClient, ann: dict[str, str], bob: dict[str, str]
) -> None:
    await publish(client, ann)
    await add_project(client, ann)
    assert (await client.delete(ME, headers=ann)).status_code == 204
    assert (await client.get("/api/portfolio/ann")).status_code == 404
    assert (await client.delete(ME, headers=ann)).status_code == 404
    taken = await client.put(ME, json={"username": "ann"}, headers=bob)
    assert taken.status_code == 201
