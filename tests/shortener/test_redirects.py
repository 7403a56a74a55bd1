"""Following short links: statuses, expiry, the visit cap, passwords, the cache."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.shortener.clicks import ClickRecorder, CountryLookup
from sixty.shortener.context import Shortener
from sixty.shortener.models import ShortLink
from sixty.shortener.redirects import CachedLink, LinkCache
from tests.shortener.conftest import PUBLIC, shorten


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_each_link_redirects_with_its_own_status(client: AsyncClient, status: int) -> None:
    link = await shorten(client, url=f"{PUBLIC}/to?x=1", redirect_status=status)
    response = await client.get(f"/s/{link['code']}")
    assert response.status_code == status
    assert response.headers["location"] == f"{PUBLIC}/to?x=1"
    assert response.content == b""
    expected = "public, max-age=3600" if status == 301 else "no-store"
    assert response.headers["cache-control"] == expected


async def test_head_answers_like_get(client: AsyncClient) -> None:
    link = await shorten(client)
    response = await client.head(f"/s/{link['code']}")
    assert (response.status_code, response.headers["location"]) == (302, f"{PUBLIC}/page")


async def test_an_unknown_code_is_a_404(client: AsyncClient) -> None:
    response = await client.get("/s/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "link_not_found"


async def test_a_link_past_its_expiry_is_a_410(client: AsyncClient, session: AsyncSession) -> None:
    link = await shorten(client, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    await session.execute(
        update(ShortLink)
        .where(ShortLink.code == link["code"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.flush()
    response = await client.get(f"/s/{link['code']}")
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "link_expired"


async def test_a_cached_link_expires_on_time(client: AsyncClient, shortener: Shortener) -> None:
    link = await shorten(client, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert (await client.get(f"/s/{link['code']}")).status_code == 302
    cached = shortener.cache.get(link["code"])
    assert cached is not None
    # What is cached carries the expiry; each redirect compares it with the clock.
    shortener.cache.put(link["code"], cached._replace(expires_at=datetime.now(UTC)))
    assert (await client.get(f"/s/{link['code']}")).status_code == 410


def test_cached_links_and_buffered_clicks_are_not_tracked_by_the_collector() -> None:
    # Atomic values only: a full cache and click buffer add nothing to a garbage collection's pass.
    cache = LinkCache(ttl=60, size=10_000)
    recorder = ClickRecorder(max_buffer=10_000, countries=CountryLookup(None))
    gc.collect()
    before = len(gc.get_objects())
    for n in range(5_000):
        link = CachedLink(uuid.uuid4().int, f"https://example.com/{n}", 302, None, None, None)
        cache.put(f"c{n}", link)
        recorder.record(link.id_int, "https://ref.example/", "Mozilla/5.0", "192.0.2.1")
    gc.collect()
    assert len(gc.get_objects()) - before < 1_000  # not the 10,000 of tracked tuples
    cached = cache.get("c1")
    assert cached is not None
    assert cached.target == "https://example.com/1"
    assert recorder.buffer[1][0] == cached.id.int


async def test_the_visit_cap_is_exact_and_head_does_not_count(
    client: AsyncClient, session: AsyncSession
) -> None:
    link = await shorten(client, max_visits=2)
    path = f"/s/{link['code']}"
    assert (await client.head(path)).status_code == 302
    assert [(await client.get(path)).status_code for _ in range(2)] == [302, 302]
    exhausted = await client.get(path)
    assert exhausted.status_code == 410
    assert exhausted.json()["code"] == "link_exhausted"
    assert (await client.get(path)).status_code == 410
    assert await session.scalar(select(ShortLink.visits).where(ShortLink.code == link["code"])) == 2


async def test_raising_the_cap_reopens_the_link(
    client: AsyncClient, owner: dict[str, str], session: AsyncSession
) -> None:
    link = await shorten(client, owner, max_visits=1)
    path = f"/s/{link['code']}"
    assert [(await client.get(path)).status_code for _ in range(2)] == [302, 410]
    raised = await client.patch(f"/api/links/{link['code']}", json={"max_visits": 2}, headers=owner)
    assert raised.json()["visits"] == 1
    assert [(await client.get(path)).status_code for _ in range(2)] == [302, 410]


async def test_a_lowered_cap_holds_even_when_cached(
    client: AsyncClient, owner: dict[str, str], session: AsyncSession, shortener: Shortener
) -> None:
    link = await shorten(client, owner, max_visits=5)
    path = f"/s/{link['code']}"
    assert (await client.get(path)).status_code == 302
    cached = shortener.cache.get(link["code"])
    await session.execute(update(ShortLink).where(ShortLink.code == link["code"]).values(max_visits=1))
    await session.flush()
    assert cached is not None
    # Another process lowered the cap: the database's count decides, whatever this cache holds.
    assert (await client.get(path)).status_code == 410


async def test_a_password_protected_link_shows_a_form_then_redirects(client: AsyncClient) -> None:
    link = await shorten(client, url=f"{PUBLIC}/secret", password="open sesame", redirect_status=307)
    path = f"/s/{link['code']}"
    form = await client.get(path, headers={"accept": "text/html"})
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert form.headers["cache-control"] == "no-store"
    assert '<form method="post">' in form.text
    assert 'name="password"' in form.text
    assert "secret" not in form.text  # the target stays hidden

    unlocked = await client.post(path, data={"password": "open sesame"})
    assert unlocked.status_code == 303  # never 307: the browser must not re-POST the password
    assert unlocked.headers["location"] == f"{PUBLIC}/secret"


async def test_a_wrong_password_is_a_403(client: AsyncClient) -> None:
    link = await shorten(client, password="open sesame")
    path = f"/s/{link['code']}"
    for attempt in (
        await client.post(path, data={"password": "open barley"}),
        await client.post(path, data={}),
        await client.post(path, json={"password": "open sesame"}),  # the form's encoding only
    ):
        assert attempt.status_code == 403
        assert attempt.headers["content-type"] == "application/problem+json"
        assert attempt.json()["code"] == "wrong_password"
        assert "location" not in attempt.headers
    browser = await client.post(path, data={"password": "nope"}, headers={"accept": "text/html"})
    assert browser.status_code == 403
    assert "<form" in browser.text
    assert 'role="alert"' in browser.text


async def test_a_capped_password_link_counts_only_unlocked_visits(client: AsyncClient) -> None:
    link = await shorten(client, password="open sesame", max_visits=1)
    path = f"/s/{link['code']}"
    assert (await client.get(path)).status_code == 200
    assert (await client.post(path, data={"password": "wrong!"})).status_code == 403
    assert (await client.post(path, data={"password": "open sesame"})).status_code == 303
    assert (await client.post(path, data={"password": "open sesame"})).status_code == 410


async def test_the_redirect_is_served_from_the_cache(
    client: AsyncClient, session: AsyncSession, shortener: Shortener
) -> None:
    link = await shorten(client)
    path = f"/s/{link['code']}"
    assert (await client.get(path)).status_code == 302
    # A change that bypasses this process (another worker's) shows once the entry expires.
    await session.execute(
        update(ShortLink).where(ShortLink.code == link["code"]).values(target=f"{PUBLIC}/moved")
    )
    await session.flush()
    assert (await client.get(path)).headers["location"] == f"{PUBLIC}/page"
    shortener.cache.evict(link["code"])
    assert (await client.get(path)).headers["location"] == f"{PUBLIC}/moved"


async def test_a_code_created_after_a_miss_is_found(client: AsyncClient) -> None:
    assert (await client.get("/s/later")).status_code == 404  # the miss is cached a few seconds
    await shorten(client, alias="later")
    assert (await client.get("/s/later")).status_code == 302


def test_the_cache_is_bounded_and_expires() -> None:
    from sixty.shortener.redirects import MISSING, LinkCache

    cache = LinkCache(ttl=60, size=2)
    for code in ("a", "b", "c"):
        cache.put(code, MISSING)
    assert len(cache) == 2
    assert cache.get("a") is None
    expired = LinkCache(ttl=0, size=10)
    expired.put("a", MISSING)
    assert expired.get("a") is None


async def test_a_password_form_has_a_size_limit(client: AsyncClient) -> None:
    link = await shorten(client, password="open sesame")
    path = f"/s/{link['code']}"
    big = await client.post(path, data={"password": "x" * 5000})
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    crowded = await client.post(
        path,
        content="&".join(f"f{i}=1" for i in range(10)) + "&password=open+sesame",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert crowded.status_code == 403
    latin = await client.post(
        path, content=b"password=\xff", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert latin.status_code == 403


async def test_the_fast_path_leaves_other_paths_and_methods_to_the_router(client: AsyncClient) -> None:
    link = await shorten(client)
    assert (await client.delete(f"/s/{link['code']}")).status_code == 405
    assert (await client.get(f"/s/{link['code']}/more")).status_code == 404
    assert (await client.get("/s/")).status_code == 404
    response = await client.get(f"/s/{link['code']}")
    assert response.headers["x-request-id"]  # still inside the request context
    assert response.headers["x-content-type-options"] == "nosniff"
