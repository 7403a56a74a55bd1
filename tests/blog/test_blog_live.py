"""Every RealWorld operation, in a scripted run against a live server (uvicorn on loopback),
each answer checked against the spec: status and payload schema."""

from __future__ import annotations

from typing import Any

import httpx

from tests.blog.spec import check

PASSWORD = "correct horse battery staple"


class Conduit:
    """A RealWorld client that checks every answer against the spec."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/api/blog", timeout=10)
        self.token: str | None = None

    def call(
        self, operation: str, method: str, path: str, status: int, body: Any = None, **params: Any
    ) -> Any:
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        response = self.http.request(method, path, json=body, params=params or None, headers=headers)
        assert response.status_code == status, (operation, response.status_code, response.text)
        payload = response.json() if response.content else None
        check(operation, status, payload)
        return payload


def test_every_realworld_operation_against_a_live_server(live_server: str) -> None:
    jake, ann = Conduit(live_server), Conduit(live_server)

    # Users: register, login, current user, update.
    user = jake.call(
        "CreateUser",
        "POST",
        "/users",
        201,
        {"user": {"username": "jake", "email": "jake@jake.jake", "password": PASSWORD}},
    )["user"]
    assert (user["username"], user["bio"], user["image"]) == ("jake", None, None)
    ann.call(
        "CreateUser",
        "POST",
        "/users",
        201,
        {"user": {"username": "ann", "email": "ann@ann.ann", "password": PASSWORD}},
    )
    ann.call(
        "CreateUser",
        "POST",
        "/users",
        422,
        {"user": {"username": "ann", "email": "ann2@ann.ann", "password": PASSWORD}},
    )
    jake.call(
        "Login",
        "POST",
        "/users/login",
        401,
        {"user": {"email": "jake@jake.jake", "password": "wrong password"}},
    )
    jake.token = jake.call(
        "Login", "POST", "/users/login", 200, {"user": {"email": "jake@jake.jake", "password": PASSWORD}}
    )["user"]["token"]
    ann.token = ann.call(
        "Login", "POST", "/users/login", 200, {"user": {"email": "ann@ann.ann", "password": PASSWORD}}
    )["user"]["token"]
    assert jake.call("GetCurrentUser", "GET", "/user", 200)["user"]["email"] == "jake@jake.jake"
    updated = jake.call(
        "UpdateCurrentUser",
        "PUT",
        "/user",
        200,
        {"user": {"bio": "I work at statefarm", "image": "https://example.com/j.png"}},
    )
    assert updated["user"]["bio"] == "I work at statefarm"
    jake.call("UpdateCurrentUser", "PUT", "/user", 422, {"user": {"username": "ann"}})

    # Profiles and follows.
    profile = ann.call("GetProfileByUsername", "GET", "/profiles/jake", 200)["profile"]
    assert (profile["bio"], profile["following"]) == ("I work at statefarm", False)
    assert (
        ann.call("FollowUserByUsername", "POST", "/profiles/jake/follow", 200)["profile"]["following"] is True
    )
    ann.call("FollowUserByUsername", "POST", "/profiles/nobody/follow", 404)

    # Articles: create, list, feed, get, update, filters.
    new = {
        "title": "How to train your dragon",
        "description": "Ever wonder how?",
        "body": "You have to believe",
        "tagList": ["training", "dragons"],
    }
    article = jake.call("CreateArticle", "POST", "/articles", 201, {"article": new})["article"]
    slug = article["slug"]
    assert (slug, article["tagList"]) == ("how-to-train-your-dragon", ["dragons", "training"])
    second = jake.call("CreateArticle", "POST", "/articles", 201, {"article": new})["article"]
    assert second["slug"] != slug
    listed = ann.call("GetArticles", "GET", "/articles", 200)
    assert (listed["articlesCount"], [a["slug"] for a in listed["articles"]]) == (2, [second["slug"], slug])
    assert (
        ann.call("GetArticles", "GET", "/articles", 200, tag="dragons", author="jake", limit=1, offset=1)[
            "articles"
        ][0]["slug"]
        == slug
    )
    assert ann.call("GetArticles", "GET", "/articles", 200, author="nobody") == {
        "articles": [],
        "articlesCount": 0,
    }
    assert ann.call("GetArticlesFeed", "GET", "/articles/feed", 200)["articlesCount"] == 2
    assert (
        jake.call("GetArticle", "GET", f"/articles/{slug}", 200)["article"]["body"] == "You have to believe"
    )
    edited = jake.call(
        "UpdateArticle", "PUT", f"/articles/{slug}", 200, {"article": {"body": "With two hands"}}
    )
    assert edited["article"]["body"] == "With two hands"
    ann.call("UpdateArticle", "PUT", f"/articles/{slug}", 403, {"article": {"body": "Mine"}})

    # Favorites.
    favorited = ann.call("CreateArticleFavorite", "POST", f"/articles/{slug}/favorite", 200)["article"]
    assert (favorited["favorited"], favorited["favoritesCount"]) == (True, 1)
    assert ann.call("GetArticles", "GET", "/articles", 200, favorited="ann")["articlesCount"] == 1
    unfavorited = ann.call("DeleteArticleFavorite", "DELETE", f"/articles/{slug}/favorite", 200)["article"]
    assert (unfavorited["favorited"], unfavorited["favoritesCount"]) == (False, 0)

    # Comments: add, list, delete.
    comment = ann.call(
        "CreateArticleComment",
        "POST",
        f"/articles/{slug}/comments",
        200,
        {"comment": {"body": "Thank you so much!"}},
    )["comment"]
    comments = jake.call("GetArticleComments", "GET", f"/articles/{slug}/comments", 200)["comments"]
    assert [c["id"] for c in comments] == [comment["id"]]
    jake.call("DeleteArticleComment", "DELETE", f"/articles/{slug}/comments/{comment['id']}", 403)
    ann.call("DeleteArticleComment", "DELETE", f"/articles/{slug}/comments/{comment['id']}", 204)
    assert jake.call("GetArticleComments", "GET", f"/articles/{slug}/comments", 200) == {"comments": []}

    # Tags, unfollow, delete.
    assert jake.call("GetTags", "GET", "/tags", 200) == {"tags": ["dragons", "training"]}
    assert (
        ann.call("UnfollowUserByUsername", "DELETE", "/profiles/jake/follow", 200)["profile"]["following"]
        is False
    )
    ann.call("DeleteArticle", "DELETE", f"/articles/{slug}", 403)
    jake.call("DeleteArticle", "DELETE", f"/articles/{slug}", 204)
    jake.call("GetArticle", "GET", f"/articles/{slug}", 404)
    anonymous = Conduit(live_server)
    anonymous.call("CreateArticle", "POST", "/articles", 401, {"article": new})
