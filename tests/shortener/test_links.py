"""Creating links: random codes, aliases, options; and the links' owners managing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.shortener.models import ShortLink
from sixty.shortener.service import ALPHABET
from tests.shortener.conftest import PUBLIC, link_count, shorten


async def test_a_random_code_is_made_of_the_unambiguous_alphabet(client: AsyncClient) -> None:
    response = await client.post("/api/links", json={"url": f"{PUBLIC}/a/long/path?q=1#top"})
    assert response.status_code == 201, response.text
    link = response.json()
    assert len(link["code"]) == 7
    assert set(link["code"]) <= set(ALPHABET)
    assert not set(link["code"]) & set("0O1lIio")
    assert link["short_url"] == f"http://testserver/s/{link['code']}"
    assert response.headers["location"] == link["short_url"]
    assert link["url"] == f"{PUBLIC}/a/long/path?q=1#top"
    assert link["redirect_status"] == 302
    assert link["password_protected"] is False
    assert link["visits"] == 0


async def test_codes_differ(client: AsyncClient) -> None:
    codes = {(await shorten(client))["code"] for _ in range(20)}
    assert len(codes) == 20


async def test_an_alias_is_used_as_the_code(client: AsyncClient) -> None:
    link = await shorten(client, alias="Spring-Sale_2026")
    assert link["code"] == "Spring-Sale_2026"
    assert (await client.get("/s/Spring-Sale_2026")).status_code == 302


async def test_a_taken_alias_is_a_409_and_writes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    await shorten(client, alias="taken")
    before = await link_count(session)
    response = await client.post("/api/links", json={"url": f"{PUBLIC}/other", "alias": "taken"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "alias_taken"
    assert await link_count(session) == before


async def test_a_target_is_normalised_to_ascii(client: AsyncClient) -> None:
    link = await shorten(client, url="HTTP://93.184.215.14:8080/caf\u00e9?x=\u00e9&y=%20")
    assert link["url"] == "http://93.184.215.14:8080/caf%C3%A9?x=%C3%A9&y=%20"
    bare = await shorten(client, url="https://93.184.215.14")
    assert bare["url"] == "https://93.184.215.14/"


async def test_options_are_stored_and_shown(client: AsyncClient, owner: dict[str, str]) -> None:
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    link = await shorten(
        client,
        owner,
        redirect_status=307,
        expires_at=expires.isoformat(),
        max_visits=10,
        password="open sesame",
    )
    assert link["redirect_status"] == 307
    assert datetime.fromisoformat(link["expires_at"]) == expires
    assert link["max_visits"] == 10
    assert link["password_protected"] is True
    assert "password" not in link
    assert "password_hash" not in link


async def test_owners_list_get_update_and_delete_their_links(
    client: AsyncClient, owner: dict[str, str], session: AsyncSession
) -> None:
    first = await shorten(client, owner, alias="first")
    second = await shorten(client, owner)
    await shorten(client)  # anonymous: nobody's
    listed = await client.get("/api/links", headers=owner)
    assert listed.status_code == 200
    assert [item["code"] for item in listed.json()["items"]] == [second["code"], first["code"]]
    page = await client.get("/api/links", params={"limit": 1, "sort": "created_at"}, headers=owner)
    assert [item["code"] for item in page.json()["items"]] == ["first"]
    rest = await client.get(
        "/api/links",
        params={"limit": 1, "sort": "created_at", "cursor": page.json()["next_cursor"]},
        headers=owner,
    )
    assert [item["code"] for item in rest.json()["items"]] == [second["code"]]

    got = await client.get("/api/links/first", headers=owner)
    assert got.status_code == 200
    assert got.json() == first

    assert (await client.get("/s/first")).headers["location"] == f"{PUBLIC}/page"
    changed = await client.patch(
        "/api/links/first",
        json={"url": f"{PUBLIC}/new", "redirect_status": 301, "max_visits": 5},
        headers=owner,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["url"] == f"{PUBLIC}/new"
    assert changed.json()["max_visits"] == 5
    # The redirect cache of this process forgets the old target at once.
    followed = await client.get("/s/first")
    assert (followed.status_code, followed.headers["location"]) == (301, f"{PUBLIC}/new")

    cleared = await client.patch(
        "/api/links/first", json={"max_visits": None, "password": "pssst"}, headers=owner
    )
    assert cleared.json()["max_visits"] is None
    assert cleared.json()["password_protected"] is True

    deleted = await client.delete("/api/links/first", headers=owner)
    assert deleted.status_code == 204
    assert (await client.get("/api/links/first", headers=owner)).status_code == 404
    assert (await client.get("/s/first")).status_code == 404
    assert await session.scalar(select(ShortLink).where(ShortLink.code == "first")) is None


async def test_another_users_link_is_a_404(
    client: AsyncClient, owner: dict[str, str], stranger: dict[str, str]
) -> None:
    await shorten(client, owner, alias="mine")
    for response in (
        await client.get("/api/links/mine", headers=stranger),
        await client.patch("/api/links/mine", json={"max_visits": 1}, headers=stranger),
        await client.delete("/api/links/mine", headers=stranger),
        await client.get("/api/links/mine/stats", headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "link_not_found"
    assert (await client.get("/api/links", headers=stranger)).json()["items"] == []
    assert (await client.get("/api/links/mine", headers=owner)).status_code == 200


async def test_managing_needs_a_signed_in_caller(client: AsyncClient) -> None:
    await shorten(client, alias="orphan")
    for response in (
        await client.get("/api/links"),
        await client.get("/api/links/orphan"),
        await client.delete("/api/links/orphan"),
        await client.post("/api/links/bulk", json={"links": [{"url": PUBLIC}]}),
    ):
        assert response.status_code == 401
        assert "www-authenticate" in response.headers


async def test_bulk_creates_all(client: AsyncClient, owner: dict[str, str]) -> None:
    response = await client.post(
        "/api/links/bulk",
        json={
            "links": [{"url": f"{PUBLIC}/1"}, {"url": f"{PUBLIC}/2", "alias": "two"}, {"url": f"{PUBLIC}/3"}]
        },
        headers=owner,
    )
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [item["url"] for item in items] == [f"{PUBLIC}/1", f"{PUBLIC}/2", f"{PUBLIC}/3"]
    assert items[1]["code"] == "two"
    assert len((await client.get("/api/links", headers=owner)).json()["items"]) == 3


async def test_bulk_reports_every_bad_item_and_writes_nothing(
    client: AsyncClient, owner: dict[str, str], session: AsyncSession
) -> None:
    response = await client.post(
        "/api/links/bulk",
        json={
            "links": [
                {"url": f"{PUBLIC}/fine"},
                {"url": "http://10.0.0.1/"},
                {"url": f"{PUBLIC}/x", "alias": "admin"},
            ]
        },
        headers=owner,
    )
    assert response.status_code == 422
    errors = {(tuple(error["loc"]), error["type"]) for error in response.json()["errors"]}
    assert errors == {
        (("body", "links", 1, "url"), "url_not_public"),
        (("body", "links", 2, "alias"), "alias_reserved"),
    }
    assert await link_count(session) == 0


async def test_bulk_with_a_repeated_or_taken_alias_is_a_409_and_writes_nothing(
    client: AsyncClient, owner: dict[str, str], session: AsyncSession
) -> None:
    repeated = await client.post(
        "/api/links/bulk",
        json={"links": [{"url": PUBLIC, "alias": "twice"}, {"url": PUBLIC, "alias": "twice"}]},
        headers=owner,
    )
    assert repeated.status_code == 409
    await shorten(client, alias="held")
    before = await link_count(session)
    taken = await client.post(
        "/api/links/bulk",
        json={"links": [{"url": f"{PUBLIC}/new"}, {"url": PUBLIC, "alias": "held"}]},
        headers=owner,
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "alias_taken"
    assert await link_count(session) == before


async def test_qr_codes_in_png_and_svg(client: AsyncClient) -> None:
    link = await shorten(client, alias="qr-me")
    png = await client.get("/api/links/qr-me/qr")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = await client.get("/api/links/qr-me/qr", params={"format": "svg", "scale": 2})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    small = await client.get("/api/links/qr-me/qr", params={"scale": 1})
    assert len(small.content) < len(png.content)
    assert link["short_url"].endswith("/s/qr-me")
    assert (await client.get("/api/links/nope/qr")).status_code == 404
    assert (await client.get("/api/links/qr-me/qr", params={"format": "gif"})).status_code == 422
    assert (await client.get("/api/links/qr-me/qr", params={"scale": 41})).status_code == 422


async def test_the_qr_code_reads_back_as_the_short_url(client: AsyncClient) -> None:
    import segno

    await shorten(client, alias="readback")
    svg = (await client.get("/api/links/readback/qr", params={"format": "svg"})).text
    expected = segno.make("http://testserver/s/readback", error="m")
    assert svg.count("<path") == 1
    assert expected.designator  # the same version/error level renders the same matrix
    assert svg == _svg_of(expected)


def _svg_of(qr: object) -> str:
    import io

    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=8, border=4)  # type: ignore[attr-defined]
    return buffer.getvalue().decode()
