"""Every bad input of the shortener: a clear 4xx problem document, and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.shortener.conftest import PUBLIC, link_count, shorten

PROBLEM = "application/problem+json"


async def refused(
    client: AsyncClient, session: AsyncSession, body: Any, *, status: int = 422
) -> dict[str, Any]:
    response = await client.post("/api/links", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await link_count(session) == 0
    problem: dict[str, Any] = response.json()
    return problem


def error_types(problem: dict[str, Any]) -> set[tuple[str, str]]:
    return {(error["field"], error["type"]) for error in problem["errors"]}


MALFORMED = (
    ("ftp://93.184.215.14/file", "url_scheme"),
    ("javascript:alert(1)", "url_scheme"),
    ("data:text/html,<script>alert(1)</script>", "url_scheme"),
    ("file:///etc/passwd", "url_scheme"),
    ("93.184.215.14/no-scheme", "url_scheme"),
    ("http://", "url_invalid"),
    ("http:///path-only", "url_invalid"),
    ("http://93.184.215.14:99999/", "url_invalid"),
    ("http://[::1/", "url_invalid"),
    ("http://93.184.215.14/a b", "url_invalid"),
    ("http://93.184.215.14/\r\nSet-Cookie: x=1", "url_invalid"),
    ("http://user:secret@93.184.215.14/", "url_credentials"),
    ("http://google.com@93.184.215.14/", "url_credentials"),
)


async def test_malformed_urls_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    for url, kind in MALFORMED:
        problem = await refused(client, session, {"url": url})
        assert error_types(problem) == {("url", kind)}, url
        assert problem["errors"][0]["message"]


PRIVATE = (
    "http://127.0.0.1/",
    "http://127.1.2.3:8080/admin",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://localhost/",
    "http://LOCALHOST:8000/x",
    "http://224.0.0.1/",
)


async def test_targets_inside_our_network_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    for url in PRIVATE:
        problem = await refused(client, session, {"url": url})
        assert error_types(problem) == {("url", "url_not_public")}, url


async def test_a_host_that_does_not_resolve_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    problem = await refused(client, session, {"url": "https://no-such-host.invalid/"})
    assert error_types(problem) == {("url", "url_unresolvable")}


INVALID: tuple[tuple[dict[str, Any], str], ...] = (
    ({}, "url"),
    ({"url": ""}, "url"),
    ({"url": "   "}, "url"),
    ({"url": None}, "url"),
    ({"url": 42}, "url"),
    ({"url": PUBLIC + "/" + "a" * 2048}, "url"),
    ({"url": PUBLIC, "alias": "ab"}, "alias"),
    ({"url": PUBLIC, "alias": "a" * 65}, "alias"),
    ({"url": PUBLIC, "alias": "has space"}, "alias"),
    ({"url": PUBLIC, "alias": "slash/no"}, "alias"),
    ({"url": PUBLIC, "alias": "-dash-first"}, "alias"),
    ({"url": PUBLIC, "alias": "caf\u00e9"}, "alias"),
    ({"url": PUBLIC, "redirect_status": 303}, "redirect_status"),
    ({"url": PUBLIC, "redirect_status": "302"}, "redirect_status"),
    ({"url": PUBLIC, "max_visits": 0}, "max_visits"),
    ({"url": PUBLIC, "password": "abc"}, "password"),
    ({"url": PUBLIC, "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
    ({"url": PUBLIC, "expires_at": "tomorrow"}, "expires_at"),
    ({"url": PUBLIC, "surprise": True}, "surprise"),
)


async def test_invalid_fields_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    for body, field in INVALID:
        problem = await refused(client, session, body)
        assert field in {error["field"] for error in problem["errors"]}, body


async def test_reserved_words_are_refused_as_aliases(client: AsyncClient, session: AsyncSession) -> None:
    for alias in ("admin", "API", "Login", "static", "Metrics"):
        problem = await refused(client, session, {"url": PUBLIC, "alias": alias})
        assert error_types(problem) == {("alias", "alias_reserved")}, alias


async def test_an_expiry_in_the_past_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    problem = await refused(client, session, {"url": PUBLIC, "expires_at": past})
    assert error_types(problem) == {("expires_at", "expires_in_past")}


async def test_every_bad_field_is_reported_at_once(client: AsyncClient, session: AsyncSession) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    problem = await refused(
        client, session, {"url": "http://10.1.2.3/", "alias": "admin", "expires_at": past}
    )
    assert error_types(problem) == {
        ("url", "url_not_public"),
        ("alias", "alias_reserved"),
        ("expires_at", "expires_in_past"),
    }


async def test_a_body_that_is_not_json_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    form = await client.post(
        "/api/links", content=b"url=http://93.184.215.14/", headers={"content-type": "text/plain"}
    )
    assert form.status_code == 415
    broken = await client.post("/api/links", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert await link_count(session) == 0


async def test_updates_are_checked_too(
    client: AsyncClient, session: AsyncSession, owner: dict[str, str]
) -> None:
    await shorten(client, owner, alias="steady")
    for body, field in (
        ({"url": "http://192.168.0.10/"}, "url"),
        ({"url": None}, "url"),
        ({"redirect_status": None}, "redirect_status"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"alias": "renamed"}, "alias"),
    ):
        response = await client.patch("/api/links/steady", json=body, headers=owner)
        assert response.status_code == 422, (body, response.text)
        assert field in {error["field"] for error in response.json()["errors"]}
    link = (await client.get("/api/links/steady", headers=owner)).json()
    assert link["url"] == f"{PUBLIC}/page"
    assert link["expires_at"] is None


async def test_bad_codes_in_paths(client: AsyncClient, owner: dict[str, str]) -> None:
    assert (await client.get("/api/links/" + "x" * 65, headers=owner)).status_code == 422
    for path in ("/s/" + "x" * 65, "/s/no.dots", "/s/%00", "/s/unknown"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_private_targets_are_allowed_when_the_settings_say_so(settings: Settings, db: Database) -> None:
    app: FastAPI = create_app(settings.model_copy(update={"shortener_allow_private_targets": True}), db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        link = await shorten(client, url="http://10.0.0.8:8080/intranet")
        response = await client.get(f"/s/{link['code']}")
        assert response.headers["location"] == "http://10.0.0.8:8080/intranet"
        # Still http(s) only.
        assert (await client.post("/api/links", json={"url": "gopher://10.0.0.8/"})).status_code == 422


async def test_anonymous_creation_is_rate_limited(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    limited = settings.model_copy(
        update={"ratelimit_enabled": True, "ratelimit_policies": {"shortener.create.ip": "2/hour"}}
    )
    app: FastAPI = create_app(limited, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        statuses = [(await client.post("/api/links", json={"url": PUBLIC})).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        refused = await client.post("/api/links", json={"url": PUBLIC})
        assert refused.headers["content-type"] == PROBLEM
        assert "retry-after" in refused.headers

    assert await link_count(session) == 2


async def test_signed_in_creation_is_rate_limited_per_account_and_bulk_counts_each_link(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    limited = settings.model_copy(
        update={"ratelimit_enabled": True, "ratelimit_policies": {"shortener.create.user": "3/hour"}}
    )
    app: FastAPI = create_app(limited, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        await create_user(session, app.state.auth, email="busy@example.com")
        headers = bearer(await sign_in(client, "busy@example.com"))
        bulk = await client.post(
            "/api/links/bulk", json={"links": [{"url": PUBLIC}, {"url": PUBLIC}]}, headers=headers
        )
        assert bulk.status_code == 201
        assert (await client.post("/api/links", json={"url": PUBLIC}, headers=headers)).status_code == 201
        refused = await client.post("/api/links", json={"url": PUBLIC}, headers=headers)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
    assert await link_count(session) == 3
