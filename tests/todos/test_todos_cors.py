"""Open CORS on `/api/todos` only: preflights on the root and on items, the headers of actual
answers, and the platform's own CORS (from settings) unchanged on every other path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.factories.todos import create_todo, todo_count

ORIGIN = "https://www.todobackend.com"


def preflight(method: str = "PATCH", headers: str | None = "content-type") -> dict[str, str]:
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


def allowed_methods(value: str) -> set[str]:
    return {method.strip() for method in value.split(",")}


async def test_preflight_on_the_root_and_on_an_item(client: AsyncClient, session: AsyncSession) -> None:
    todo = await create_todo(session)
    for path, method in (
        ("/api/todos", "POST"),
        ("/api/todos", "DELETE"),
        (f"/api/todos/{todo.id}", "PATCH"),
    ):
        response = await client.options(path, headers=preflight(method, "Content-Type, Authorization"))
        assert response.status_code == 204, path
        assert response.content == b""
        assert response.headers["access-control-allow-origin"] == "*"
        assert {"GET", "POST", "PATCH", "DELETE"} <= allowed_methods(
            response.headers["access-control-allow-methods"]
        )
        assert response.headers["access-control-allow-headers"] == "Content-Type, Authorization"
        assert int(response.headers["access-control-max-age"]) > 0
        assert "x-request-id" in response.headers  # answered inside the request context
    assert await todo_count(session) == 1  # a preflight never reaches a route


async def test_preflight_without_requested_headers_allows_none(client: AsyncClient) -> None:
    response = await client.options("/api/todos", headers=preflight("DELETE", headers=None))
    assert response.status_code == 204
    assert "access-control-allow-headers" not in response.headers


@pytest.mark.parametrize("asked", ["content-type\r\nx-injected: 1", "content type", "a,,b", ""])
async def test_requested_headers_that_are_not_header_names_are_not_echoed(
    client: AsyncClient, asked: str
) -> None:
    response = await client.options("/api/todos", headers=preflight(headers=asked.replace("\r\n", " ")))
    assert response.status_code == 204
    assert "access-control-allow-headers" not in response.headers


async def test_actual_answers_carry_the_cors_headers(client: AsyncClient, session: AsyncSession) -> None:
    todo = await create_todo(session)
    answers = [
        await client.get("/api/todos", headers={"Origin": ORIGIN}),
        await client.post("/api/todos", json={"title": "t"}, headers={"Origin": ORIGIN}),
        await client.patch(f"/api/todos/{todo.id}", json={"completed": True}),
        await client.get("/api/todos/not-a-uuid"),
        await client.post("/api/todos", content=b"x", headers={"Content-Type": "text/plain"}),
        await client.delete("/api/todos"),
    ]
    for response in answers:
        assert response.headers["access-control-allow-origin"] == "*", response.request.url
        assert "Location" in response.headers["access-control-expose-headers"]


async def test_an_options_request_that_is_not_a_preflight_reaches_the_routes(client: AsyncClient) -> None:
    response = await client.options("/api/todos", headers={"Origin": ORIGIN})
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/api/notes", "/api/todosx", "/api/hello", "/healthz"])
async def test_other_paths_do_not_get_open_cors(client: AsyncClient, path: str) -> None:
    assert "access-control-allow-origin" not in (await client.get(path, headers={"Origin": ORIGIN})).headers
    response = await client.options(path, headers=preflight())
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
async def platform_cors_client(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    """The platform's CORS configured for one origin, beside the todos module's open CORS."""
    application: FastAPI = create_app(
        settings.model_copy(update={"cors_origins": ["https://app.example.com"]}), db=db
    )
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


async def test_the_platforms_cors_still_governs_other_paths(platform_cors_client: AsyncClient) -> None:
    client = platform_cors_client
    listed = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    unlisted = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}

    notes_listed = await client.options("/api/notes", headers=listed)
    assert notes_listed.status_code == 200
    assert notes_listed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert (await client.options("/api/notes", headers=unlisted)).status_code == 400
    assert (
        "access-control-allow-origin"
        not in (await client.get("/api/notes", headers={"Origin": "https://elsewhere.example"})).headers
    )

    # The todos routes stay open to any origin, listed or not.
    for headers in (listed, unlisted):
        todos = await client.options("/api/todos", headers=headers)
        assert todos.status_code == 204
        assert todos.headers["access-control-allow-origin"] == "*"
        answer = await client.get("/api/todos", headers={"Origin": headers["Origin"]})
        assert answer.headers["access-control-allow-origin"] == "*"
