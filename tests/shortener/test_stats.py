"""Click statistics: buffered at redirect time, written in batches, counted per day, referrer,
country (from a MaxMind database made here with mmdb-writer) and browser, bots apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from sixty.shortener.clicks import browser_of, referrer_host
from sixty.shortener.context import Shortener
from sixty.shortener.models import LinkClick
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.waiting import eventually
from tests.shortener.conftest import click_count, shorten

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


async def test_clicks_are_buffered_then_counted(
    client: AsyncClient, owner: dict[str, str], shortener: Shortener, db: Database, session: AsyncSession
) -> None:
    link = await shorten(client, owner, alias="counted")
    visits = [
        (FIREFOX, "https://news.example.org/story/1"),
        (FIREFOX, "https://news.example.org/story/2"),
        (CHROME, "https://mail.example.net/"),
        (CHROME, None),
        (GOOGLEBOT, None),
    ]
    for agent, referrer in visits:
        headers = {"user-agent": agent} | ({"referer": referrer} if referrer else {})
        assert (await client.get("/s/counted", headers=headers)).status_code == 302
    await client.head("/s/counted", headers={"user-agent": FIREFOX})  # not a click
    assert len(shortener.clicks.buffer) == 5
    assert await click_count(session) == 0  # nothing written on the redirect's path

    assert await shortener.clicks.flush(db) == 5
    assert shortener.clicks.buffer == []
    rows = (
        await session.execute(select(LinkClick.browser, LinkClick.clicks).order_by(LinkClick.clicks))
    ).all()
    assert len(rows) == 4  # aggregated: the two Firefox visits from one referrer host share a row

    stats = (await client.get("/api/links/counted/stats", headers=owner)).json()
    assert stats["code"] == "counted"
    assert stats["clicks"] == 4
    assert stats["bot_clicks"] == 1
    assert stats["by_day"] == [{"day": datetime.now(UTC).date().isoformat(), "clicks": 4}]
    assert stats["referrers"] == [
        {"key": "news.example.org", "clicks": 2},
        {"key": "mail.example.net", "clicks": 1},
    ]
    assert stats["browsers"] == [{"key": "Chrome", "clicks": 2}, {"key": "Firefox", "clicks": 2}]
    assert stats["countries"] is None  # no GeoIP database configured
    assert link["visits"] == 0


async def test_stats_of_a_link_without_clicks(client: AsyncClient, owner: dict[str, str]) -> None:
    await shorten(client, owner, alias="quiet")
    stats = (await client.get("/api/links/quiet/stats", headers=owner)).json()
    assert stats == {
        "code": "quiet",
        "clicks": 0,
        "bot_clicks": 0,
        "by_day": [],
        "referrers": [],
        "countries": None,
        "browsers": [],
    }


async def test_clicks_of_a_link_deleted_before_the_flush_are_dropped(
    client: AsyncClient, owner: dict[str, str], shortener: Shortener, db: Database, session: AsyncSession
) -> None:
    await shorten(client, owner, alias="fleeting")
    kept = await shorten(client, owner, alias="kept")
    await client.get("/s/fleeting")
    await client.get(f"/s/{kept['code']}")
    assert (await client.delete("/api/links/fleeting", headers=owner)).status_code == 204
    assert await shortener.clicks.flush(db) == 1  # the deleted link's click went with it
    assert await click_count(session) == 1


async def test_a_full_buffer_drops_clicks_but_never_the_redirect(
    client: AsyncClient, shortener: Shortener, db: Database, session: AsyncSession
) -> None:
    link = await shorten(client)
    shortener.clicks.max_buffer = 2
    statuses = [(await client.get(f"/s/{link['code']}")).status_code for _ in range(4)]
    assert statuses == [302] * 4
    assert len(shortener.clicks.buffer) == 2
    assert shortener.clicks.dropped == 2
    await shortener.clicks.flush(db)
    assert shortener.clicks.dropped == 0
    assert await click_count(session) == 2


async def test_clicks_are_flushed_when_the_app_shuts_down(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    app: FastAPI = create_app(settings, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        link = await shorten(client)
        for _ in range(3):
            await client.get(f"/s/{link['code']}")

    assert await click_count(session) == 3


async def test_clicks_are_flushed_periodically(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    app: FastAPI = create_app(
        settings.model_copy(update={"shortener_click_flush_interval": timedelta(milliseconds=20)}), db=db
    )
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        link = await shorten(client)
        await client.get(f"/s/{link['code']}")
        recorder = app.state.shortener.clicks
        await eventually(lambda: recorder.written > 0)
        assert recorder.written == 1
        assert recorder.buffer == []
        assert await click_count(session) == 1


@pytest.fixture
def geoip_database(tmp_path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "GB"}})
    writer.insert_network(IPSet(["2.16.0.0/16"]), {"country": {"iso_code": "FR"}})
    writer.insert_network(IPSet(["2a02:ec0::/29"]), {"registered_country": {"iso_code": "de"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.fixture
async def geo_app(settings: Settings, db: Database, geoip_database: Path) -> AsyncIterator[FastAPI]:
    app: FastAPI = create_app(
        settings.model_copy(
            update={
                "shortener_geoip_database": geoip_database,
                "shortener_click_flush_interval": timedelta(hours=1),
            }
        ),
        db=db,
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_clicks_get_a_country_from_the_geoip_database(
    geo_app: FastAPI, db: Database, session: AsyncSession
) -> None:
    def client_from(address: str) -> AsyncClient:
        return AsyncClient(
            transport=ASGITransport(app=geo_app, client=(address, 5000)), base_url="http://testserver"
        )

    async with client_from("127.0.0.1") as client:
        await create_user(session, geo_app.state.auth, email="geo@example.com")
        headers = bearer(await sign_in(client, "geo@example.com"))
        await shorten(client, headers, alias="geo")
    for address in ("81.2.69.160", "81.2.69.7", "2.16.4.4", "2a02:ec0::1", "8.8.8.8"):
        async with client_from(address) as visitor:
            assert (await visitor.get("/s/geo")).status_code == 302
    await geo_app.state.shortener.clicks.flush(db)
    async with client_from("127.0.0.1") as client:
        stats = (await client.get("/api/links/geo/stats", headers=headers)).json()
    assert stats["clicks"] == 5
    assert stats["countries"] == [
        {"key": "GB", "clicks": 2},
        {"key": "DE", "clicks": 1},
        {"key": "FR", "clicks": 1},
    ]


def test_user_agents_and_referrers_are_read_safely() -> None:
    assert browser_of(None) == (None, False)
    assert browser_of("") == (None, False)
    assert browser_of(GOOGLEBOT) == ("Googlebot", True)
    assert browser_of(FIREFOX) == ("Firefox", False)
    assert browser_of("x" * 10_000) == (None, False)
    assert referrer_host("https://Example.org:8443/path") == "example.org"
    assert referrer_host("not a url") is None
    assert referrer_host("http://[::1") is None
    assert referrer_host(None) is None
