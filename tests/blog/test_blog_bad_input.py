"""Every bad input answers in the spec's error shape, with the right status, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.blog.models import Article, Comment, Tag
from tests.blog.spec import check
from tests.factories.blog import API, PASSWORD, register


async def _count(session: AsyncSession, table: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def _assert_shape(response: Any, status: int) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors"}
    assert set(body["errors"]) == {"body"}
    assert body["errors"]["body"]
    assert all(isinstance(message, str) for message in body["errors"]["body"])
    messages: list[str] = body["errors"]["body"]
    return messages


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, ["user: This field is required."]),
        (
            {"user": {}},
            [
                "username: This field is required.",
                "email: This field is required.",
                "password: This field is required.",
            ],
        ),
        (
            {"user": {"username": "jake", "email": "not-an-email", "password": PASSWORD}},
            ["email: Is not a valid email address."],
        ),
        (
            {"user": {"username": "j", "email": "jake@example.com", "password": PASSWORD}},
            ["username: Must be at least 3 characters long."],
        ),
        (
            {"user": {"username": "jake", "email": "jake@example.com", "password": "short"}},
            ["password: Must be at least 8 characters long."],
        ),
        (
            {"user": {"username": "jake", "email": "jake@example.com", "password": PASSWORD, "admin": True}},
            ["admin: This field is not allowed."],
        ),
        (
            {"user": {"username": "jake", "email": "jake@example.com", "password": "password123"}},
            ["This password is among the most common ones; choose another."],
        ),
    ],
)
async def test_bad_registrations_are_422(
    client: AsyncClient, session: AsyncSession, payload: dict[str, Any], expected: list[str]
) -> None:
    response = await client.post(f"{API}/users", json=payload)
    assert _assert_shape(response, 422) == expected
    check("CreateUser", 422, response.json())
    assert await _count(session, User) == 0


async def test_a_taken_username_or_email_is_422(client: AsyncClient, session: AsyncSession) -> None:
    await register(client, "jake")
    for user in (
        {"username": "JAKE", "email": "other@example.com", "password": PASSWORD},
        {"username": "other", "email": "Jake@Example.com", "password": PASSWORD},
    ):
        response = await client.post(f"{API}/users", json={"user": user})
        messages = _assert_shape(response, 422)
        assert "taken" in messages[0] or "already exists" in messages[0]
    assert await _count(session, User) == 1


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"user": {"email": "jake@example.com"}}, ["password: This field is required."]),
        ({"user": {"email": "", "password": PASSWORD}}, ["email: Must be at least 1 characters long."]),
        (
            {"user": {"email": "jake@example.com", "password": "x" * 129}},
            ["password: Must be at most 128 characters long."],
        ),
    ],
)
async def test_bad_logins_are_422(client: AsyncClient, payload: dict[str, Any], expected: list[str]) -> None:
    response = await client.post(f"{API}/users/login", json=payload)
    assert _assert_shape(response, 422) == expected
    check("Login", 422, response.json())


@pytest.mark.parametrize(
    ("article", "expected"),
    [
        ({"description": "d", "body": "b"}, ["title: This field is required."]),
        ({"title": "   ", "description": "d", "body": "b"}, ["title: Has an invalid format."]),
        (
            {"title": "t" * 201, "description": "d", "body": "b"},
            ["title: Must be at most 200 characters long."],
        ),
        ({"title": "t", "description": "d", "body": ""}, ["body: Must be at least 1 characters long."]),
        (
            {"title": "t", "description": "d", "body": "b", "tagList": "dragons"},
            ["tagList: Input should be a valid list"],
        ),
        (
            {"title": "t", "description": "d", "body": "b", "tagList": [""]},
            ["tagList.0: Must be at least 1 characters long."],
        ),
        (
            {"title": "t", "description": "d", "body": "b", "tagList": ["x"] * 21},
            ["tagList: List should have at most 20 items after validation, not 21"],
        ),
        ({"title": "t\u0000", "description": "d", "body": "b"}, ["title: Has an invalid format."]),
        (
            {"title": "t", "description": "d", "body": "b", "slug": "mine"},
            ["slug: This field is not allowed."],
        ),
    ],
)
async def test_bad_articles_are_422(
    client: AsyncClient,
    jake: dict[str, str],
    session: AsyncSession,
    article: dict[str, Any],
    expected: list[str],
) -> None:
    response = await client.post(f"{API}/articles", json={"article": article}, headers=jake)
    assert _assert_shape(response, 422) == expected
    check("CreateArticle", 422, response.json())
    assert await _count(session, Article) == 0
    assert await _count(session, Tag) == 0


@pytest.mark.parametrize(
    "changes", [{}, {"title": None}, {"title": ""}, {"body": None}, {"author": "ann"}, {"tagList": None}]
)
async def test_bad_article_updates_are_422(
    client: AsyncClient,
    jake: dict[str, str],
    article: dict[str, Any],
    changes: dict[str, Any],
    session: AsyncSession,
) -> None:
    response = await client.put(f"{API}/articles/{article['slug']}", json={"article": changes}, headers=jake)
    _assert_shape(response, 422)
    assert await session.scalar(select(Article.title)) == article["title"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"offset": -1}, {"tag": ""}, {"author": "a" * 101}],
)
async def test_bad_list_parameters_are_422(client: AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get(f"{API}/articles", params=params)
    _assert_shape(response, 422)
    check("GetArticles", 422, response.json())


async def test_unknown_slugs_are_404(client: AsyncClient, jake: dict[str, str]) -> None:
    requests = [
        ("GET", "/articles/nope", None),
        ("PUT", "/articles/nope", {"article": {"body": "b"}}),
        ("DELETE", "/articles/nope", None),
        ("POST", "/articles/nope/favorite", None),
        ("GET", "/articles/nope/comments", None),
        ("POST", "/articles/nope/comments", {"comment": {"body": "b"}}),
        ("DELETE", "/articles/nope/comments/1", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, f"{API}{path}", json=body, headers=jake)
        assert _assert_shape(response, 404) == ["There is no article nope."], (method, path)


async def test_writes_without_a_token_are_401(
    client: AsyncClient, article: dict[str, Any], session: AsyncSession
) -> None:
    slug = article["slug"]
    requests = [
        ("GET", "/user", None),
        ("PUT", "/user", {"user": {"bio": "x"}}),
        ("POST", "/profiles/jake/follow", None),
        ("DELETE", "/profiles/jake/follow", None),
        ("GET", "/articles/feed", None),
        ("POST", "/articles", {"article": {"title": "t", "description": "d", "body": "b"}}),
        ("PUT", f"/articles/{slug}", {"article": {"body": "b"}}),
        ("DELETE", f"/articles/{slug}", None),
        ("POST", f"/articles/{slug}/favorite", None),
        ("DELETE", f"/articles/{slug}/favorite", None),
        ("POST", f"/articles/{slug}/comments", {"comment": {"body": "b"}}),
        ("DELETE", f"/articles/{slug}/comments/1", None),
    ]
    for method, path, body in requests:
        for headers in ({}, {"Authorization": "Token not.a.jwt"}):
            response = await client.request(method, f"{API}{path}", json=body, headers=headers)
            _assert_shape(response, 401)
            assert response.headers["www-authenticate"] == "Token", (method, path)
    assert await _count(session, Article) == 1
    assert await _count(session, Comment) == 0


async def test_a_bad_token_on_an_optional_route_is_401_not_anonymous(client: AsyncClient) -> None:
    response = await client.get(f"{API}/articles", headers={"Authorization": "Token not.a.jwt"})
    assert _assert_shape(response, 401) == ["The access token is invalid or has expired."]


async def test_bodies_that_are_not_json(client: AsyncClient, jake: dict[str, str]) -> None:
    malformed = await client.post(
        f"{API}/articles", content=b'{"article": ', headers={**jake, "Content-Type": "application/json"}
    )
    _assert_shape(malformed, 422)
    text = await client.post(
        f"{API}/articles", content=b"title=x", headers={**jake, "Content-Type": "text/plain"}
    )
    assert _assert_shape(text, 415) == ["Send the request body as application/json."]


async def test_a_body_over_the_limit_is_413_in_the_blog_shape(
    client: AsyncClient, jake: dict[str, str], app: FastAPI, session: AsyncSession
) -> None:
    limit = app.state.settings.max_body_bytes
    article = {"title": "Big", "description": "d", "body": "x" * (limit + 1)}
    response = await client.post(f"{API}/articles", json={"article": article}, headers=jake)
    assert _assert_shape(response, 413) == ["The request body is larger than this endpoint accepts."]
    assert await _count(session, Article) == 0


async def test_paths_outside_the_blogs_routes_answer_platform_problems(client: AsyncClient) -> None:
    """Before a blog route is chosen there is no blog yet: an unknown path is the platform's 404."""
    response = await client.get(f"{API}/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_feed_path_is_never_an_article(client: AsyncClient, jake: dict[str, str]) -> None:
    created = await client.post(
        f"{API}/articles", json={"article": {"title": "Feed", "description": "d", "body": "b"}}, headers=jake
    )
    assert created.json()["article"]["slug"].startswith("feed-")
    response = await client.put(f"{API}/articles/feed", json={"article": {"body": "b"}}, headers=jake)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


async def test_a_wrong_method_lists_every_allowed_one(client: AsyncClient) -> None:
    """No blog route is chosen for a wrong method: the platform's 405 names all the path's methods."""
    response = await client.patch(f"{API}/articles/some-slug/favorite")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, POST"
    assert response.headers["content-type"].startswith("application/problem+json")
