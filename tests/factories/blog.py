"""Blog data for tests, made through the blog's own API (RealWorld payloads)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

PASSWORD = "correct horse battery staple"
API = "/api/blog"


def token_header(token: str, scheme: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def register(client: AsyncClient, username: str, *, email: str | None = None) -> dict[str, str]:
    """A new account signed in to the blog: the headers of its requests."""
    payload = {
        "user": {"username": username, "email": email or f"{username}@example.com", "password": PASSWORD}
    }
    response = await client.post(f"{API}/users", json=payload)
    assert response.status_code == 201, response.text
    return token_header(response.json()["user"]["token"])


async def create_article(
    client: AsyncClient,
    headers: dict[str, str],
    *,
    title: str = "How to train your dragon",
    description: str = "Ever wonder how?",
    body: str = "You have to believe",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    payload = {"article": {"title": title, "description": description, "body": body, "tagList": tags or []}}
    response = await client.post(f"{API}/articles", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    article: dict[str, Any] = response.json()["article"]
    return article
