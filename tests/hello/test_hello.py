from __future__ import annotations

import pytest
from httpx import AsyncClient


async def test_greets_the_world(client: AsyncClient) -> None:
    response = await client.get("/api/hello")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, World!"}
    assert response.headers["content-language"] == "en"


async def test_greets_by_name(client: AsyncClient) -> None:
    response = await client.get("/api/hello", params={"name": "Ada"})
    assert response.json() == {"message": "Hello, Ada!"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "¡Hola, Ada!"), ("fr-CA,fr;q=0.9", "Bonjour, Ada !"), ("de-DE", "Hallo, Ada!")],
)
async def test_greets_in_the_negotiated_language(client: AsyncClient, language: str, expected: str) -> None:
    response = await client.get("/api/hello", params={"name": "Ada"}, headers={"Accept-Language": language})
    assert response.json() == {"message": expected}
    assert response.headers["content-language"] == language[:2]


@pytest.mark.parametrize("name", ["", "x" * 65, "tab\there", "new\nline"])
async def test_refuses_bad_names(client: AsyncClient, name: str) -> None:
    response = await client.get("/api/hello", params={"name": name})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["query", "name"]
    assert problem["errors"][0]["field"] == "name"


async def test_accepts_64_printable_characters(client: AsyncClient) -> None:
    name = "é" * 64
    response = await client.get("/api/hello", params={"name": name})
    assert response.status_code == 200
    assert response.json() == {"message": f"Hello, {name}!"}
