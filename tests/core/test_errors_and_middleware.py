from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.errors import Conflict, Unauthorized
from sixty.core.i18n import N_
from sixty.core.routing import module_router
from sixty.main import create_app

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "request_id"}


async def test_unknown_route_is_404_problem(client: AsyncClient) -> None:
    response = await client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem.keys() >= PROBLEM_KEYS
    assert problem["type"] == "urn:sixty:problem:not_found"
    assert problem["instance"] == "/api/does-not-exist"
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_405_with_allow(client: AsyncClient) -> None:
    response = await client.delete("/api/hello")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_request_id_is_echoed_when_valid_and_replaced_when_not(client: AsyncClient) -> None:
    echoed = await client.get("/api/hello", headers={"X-Request-ID": "abc-123.def"})
    assert echoed.headers["x-request-id"] == "abc-123.def"
    replaced = await client.get("/api/hello", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert replaced.headers["x-request-id"] != "bad id"
    assert len(replaced.headers["x-request-id"]) == 32
    generated = await client.get("/api/hello")
    assert len(generated.headers["x-request-id"]) == 32


async def test_security_headers_on_every_response(client: AsyncClient) -> None:
    for path in ("/api/hello", "/api/nope"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in response.headers


async def test_hsts_only_behind_tls(app: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="https://testserver") as https:
        response = await https.get("/api/hello")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_large_responses_are_gzipped_small_ones_not(
    client: AsyncClient, auth_headers: dict[str, str]
) -> None:
    client.headers.update(auth_headers)
    for index in range(30):
        await client.post("/api/notes", json={"title": f"note {index}", "body": "lorem ipsum " * 10})
    large = await client.get("/api/notes", params={"limit": 30}, headers={"Accept-Encoding": "gzip"})
    assert large.headers["content-encoding"] == "gzip"
    assert len(large.json()["items"]) == 30  # httpx decompresses
    small = await client.get("/api/hello", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    plain = await client.get("/api/notes", params={"limit": 30}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


@pytest.fixture
async def failing_app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, db=db)
    router = module_router("/api/test-errors", "test")

    @router.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret internal detail")

    @router.get("/conflict")
    async def conflict() -> dict[str, str]:
        raise Conflict(N_("Note {id} was not found."), id="x", code="custom_conflict")

    @router.get("/login")
    async def login() -> dict[str, str]:
        raise Unauthorized()

    application.include_router(router)
    async with application.router.lifespan_context(application):
        yield application


async def test_unexpected_error_is_500_without_internals_and_logged(
    failing_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    transport = ASGITransport(app=failing_app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        with caplog.at_level(logging.ERROR, logger="sixty.errors"):
            response = await http.get("/api/test-errors/boom", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in response.text
    assert response.json()["code"] == "internal_error"
    record = next(record for record in caplog.records if record.name == "sixty.errors")
    assert record.__dict__["request_id"] == "trace-me"
    assert record.exc_info is not None
    assert "secret internal detail" in str(record.exc_info[1])


async def test_problem_subclasses_keep_code_params_and_headers(failing_app: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=failing_app), base_url="http://testserver") as http:
        conflict = await http.get("/api/test-errors/conflict")
        unauthorized = await http.get("/api/test-errors/login")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "custom_conflict"
    assert conflict.json()["detail"] == "Note x was not found."
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"] == "Bearer"


async def test_metrics_count_requests_by_route_template(
    client: AsyncClient, auth_headers: dict[str, str]
) -> None:
    client.headers.update(auth_headers)
    created = (await client.post("/api/notes", json={"title": "m"})).json()
    await client.get(f"/api/notes/{created['id']}")
    await client.get("/api/nowhere")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/notes/{note_id}",status="200"} 1.0' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert created["id"] not in text


async def test_cors_from_settings(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ["https://app.example"]}), db=db)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        preflight = await http.options(
            "/api/notes",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        other = await http.get("/api/hello", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


async def test_access_log_is_structured(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings.model_copy(update={"access_log": True}), db=db)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        with caplog.at_level(logging.INFO, logger="sixty.access"):
            await http.get("/api/hello", headers={"X-Request-ID": "log-me"})
    record = next(record for record in caplog.records if record.name == "sixty.access")
    assert record.__dict__["status"] == 200
    assert record.__dict__["path"] == "/api/hello"
    assert record.__dict__["duration_ms"] >= 0
