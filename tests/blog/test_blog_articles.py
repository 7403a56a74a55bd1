"""Articles, favorites, the feed, lists and their filters, comments and tags."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.blog.models import Article, Comment, Favorite
from sixty.blog.service import slugify
from tests.blog.spec import check
from tests.factories.blog import API, create_article, register

ARTICLE_KEYS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}


async def test_create_and_read_an_article(client: AsyncClient, jake: dict[str, str]) -> None:
    payload = {
        "article": {
            "title": "How to train your dragon",
            "description": "Ever wonder how?",
            "body": "# Step one\n\n<script>alert(1)</script> You have to believe",
            "tagList": ["Training", "dragons", " training "],
        }
    }
    created = await client.post(f"{API}/articles", json=payload, headers=jake)
    assert created.status_code == 201
    check("CreateArticle", 201, created.json())
    article = created.json()["article"]
    assert set(article) == ARTICLE_KEYS
    assert article["slug"] == "how-to-train-your-dragon"
    assert article["tagList"] == ["dragons", "training"]
    assert article["body"] == payload["article"]["body"]  # raw Markdown, never rendered
    assert article["createdAt"] == article["updatedAt"]
    assert article["favorited"] is False
    assert article["favoritesCount"] == 0
    assert article["author"] == {"username": "jake", "bio": None, "image": None, "following": False}

    read = await client.get(f"{API}/articles/how-to-train-your-dragon")
    assert read.status_code == 200
    check("GetArticle", 200, read.json())
    assert read.json()["article"] == article


def test_slugs_keep_letters_of_every_script() -> None:
    assert slugify("How to train your dragon") == "how-to-train-your-dragon"
    assert slugify("  Ça va? Да, 日本語!  ") == "ça-va-да-日本語"
    assert slugify("snake_case and -- dashes") == "snake-case-and-dashes"
    assert slugify("!!!") == "article"
    assert len(slugify("word " * 100)) <= 80


async def test_an_article_with_a_slug_in_another_script_is_found_by_it(
    client: AsyncClient, jake: dict[str, str]
) -> None:
    article = await create_article(client, jake, title="Ça va? Да!")
    assert article["slug"] == "ça-va-да"
    response = await client.get(f"{API}/articles/ça-va-да")
    assert response.status_code == 200
    assert response.json()["article"]["title"] == "Ça va? Да!"


async def test_a_taken_slug_gets_a_random_suffix(client: AsyncClient, jake: dict[str, str]) -> None:
    slugs = [(await create_article(client, jake, title="Same title"))["slug"] for _ in range(3)]
    assert slugs[0] == "same-title"
    assert len(set(slugs)) == 3
    for slug in slugs[1:]:
        assert slug.startswith("same-title-")
        assert len(slug) == len("same-title-") + 6


async def test_update_an_article(client: AsyncClient, jake: dict[str, str], article: dict[str, Any]) -> None:
    slug = article["slug"]
    body = await client.put(
        f"{API}/articles/{slug}", json={"article": {"body": "With two hands"}}, headers=jake
    )
    assert body.status_code == 200
    check("UpdateArticle", 200, body.json())
    assert body.json()["article"]["body"] == "With two hands"
    assert body.json()["article"]["slug"] == slug
    assert body.json()["article"]["updatedAt"] > article["updatedAt"]

    renamed = await client.put(
        f"{API}/articles/{slug}",
        json={"article": {"title": "Did you train your dragon?", "tagList": ["Pets"]}},
        headers=jake,
    )
    assert renamed.status_code == 200
    assert renamed.json()["article"]["slug"] == "did-you-train-your-dragon"
    assert renamed.json()["article"]["tagList"] == ["pets"]
    assert (await client.get(f"{API}/articles/{slug}")).status_code == 404
    assert (await client.get(f"{API}/articles/did-you-train-your-dragon")).status_code == 200


async def test_only_the_author_may_change_or_delete_an_article(
    client: AsyncClient, ann: dict[str, str], article: dict[str, Any], session: AsyncSession
) -> None:
    slug = article["slug"]
    update = await client.put(f"{API}/articles/{slug}", json={"article": {"body": "mine now"}}, headers=ann)
    assert update.status_code == 403
    check("UpdateArticle", 403, update.json())
    delete = await client.delete(f"{API}/articles/{slug}", headers=ann)
    assert delete.status_code == 403
    assert delete.json() == {"errors": {"body": ["Only its author may change or delete this article."]}}
    assert await session.scalar(select(Article.body).where(Article.slug == slug)) == "You have to believe"


async def test_delete_an_article_with_its_comments_and_favorites(
    client: AsyncClient,
    jake: dict[str, str],
    ann: dict[str, str],
    article: dict[str, Any],
    session: AsyncSession,
) -> None:
    slug = article["slug"]
    await client.post(f"{API}/articles/{slug}/comments", json={"comment": {"body": "Nice"}}, headers=ann)
    await client.post(f"{API}/articles/{slug}/favorite", headers=ann)
    deleted = await client.delete(f"{API}/articles/{slug}", headers=jake)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"{API}/articles/{slug}")).status_code == 404
    for table in (Article, Comment, Favorite):
        assert await session.scalar(select(func.count()).select_from(table)) == 0
    assert (await client.delete(f"{API}/articles/{slug}", headers=jake)).status_code == 404


async def test_favorites_are_idempotent_and_counted(
    client: AsyncClient, jake: dict[str, str], ann: dict[str, str], article: dict[str, Any]
) -> None:
    slug = article["slug"]
    for _ in range(2):
        favorited = await client.post(f"{API}/articles/{slug}/favorite", headers=ann)
        assert favorited.status_code == 200
        check("CreateArticleFavorite", 200, favorited.json())
        assert favorited.json()["article"]["favorited"] is True
        assert favorited.json()["article"]["favoritesCount"] == 1
    await client.post(f"{API}/articles/{slug}/favorite", headers=jake)
    seen = (await client.get(f"{API}/articles/{slug}")).json()["article"]
    assert (seen["favorited"], seen["favoritesCount"]) == (False, 2)

    for _ in range(2):
        unfavorited = await client.delete(f"{API}/articles/{slug}/favorite", headers=ann)
        assert unfavorited.status_code == 200
        check("DeleteArticleFavorite", 200, unfavorited.json())
        assert unfavorited.json()["article"]["favorited"] is False
        assert unfavorited.json()["article"]["favoritesCount"] == 1
    assert (await client.post(f"{API}/articles/nope/favorite", headers=ann)).status_code == 404
    assert (await client.delete(f"{API}/articles/nope/favorite", headers=ann)).status_code == 404
    assert (await client.post(f"{API}/articles/{slug}/favorite")).status_code == 401


@pytest.fixture
async def library(client: AsyncClient, jake: dict[str, str], ann: dict[str, str]) -> list[str]:
    """Five articles, oldest first: three by jake (tagged), two by ann; ann favorites two of jake's."""
    slugs = []
    for index in range(3):
        tags = ["dragons"] if index % 2 == 0 else ["cats"]
        slugs.append((await create_article(client, jake, title=f"Jake {index}", tags=tags))["slug"])
    for index in range(2):
        slugs.append((await create_article(client, ann, title=f"Ann {index}"))["slug"])
    for slug in slugs[:2]:
        await client.post(f"{API}/articles/{slug}/favorite", headers=ann)
    return slugs


async def _list(
    client: AsyncClient, *, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await client.get(f"{API}/articles", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    check("GetArticles", 200, response.json())
    page: dict[str, Any] = response.json()
    return page


async def test_list_newest_first_without_bodies(client: AsyncClient, library: list[str]) -> None:
    page = await _list(client)
    assert [item["slug"] for item in page["articles"]] == library[::-1]
    assert page["articlesCount"] == 5
    assert all("body" not in item for item in page["articles"])
    assert set(page["articles"][0]) == ARTICLE_KEYS - {"body"}


async def test_limit_and_offset_page_through_and_the_count_is_the_total(
    client: AsyncClient, library: list[str]
) -> None:
    first = await _list(client, limit=2)
    second = await _list(client, limit=2, offset=2)
    last = await _list(client, limit=2, offset=4)
    beyond = await _list(client, limit=2, offset=10)
    assert [a["slug"] for a in first["articles"] + second["articles"] + last["articles"]] == library[::-1]
    assert {
        first["articlesCount"],
        second["articlesCount"],
        last["articlesCount"],
        beyond["articlesCount"],
    } == {5}
    assert beyond["articles"] == []


async def test_filters(client: AsyncClient, ann: dict[str, str], library: list[str]) -> None:
    by_tag = await _list(client, tag="Dragons")
    assert [a["slug"] for a in by_tag["articles"]] == [library[2], library[0]]
    assert by_tag["articlesCount"] == 2
    by_author = await _list(client, author="ann")
    assert [a["slug"] for a in by_author["articles"]] == [library[4], library[3]]
    favorited = await _list(client, headers=ann, favorited="ANN")
    assert [a["slug"] for a in favorited["articles"]] == [library[1], library[0]]
    assert all(a["favorited"] for a in favorited["articles"])
    combined = await _list(client, author="jake", tag="dragons", favorited="ann")
    assert [a["slug"] for a in combined["articles"]] == [library[0]]
    assert combined["articlesCount"] == 1


@pytest.mark.parametrize("params", [{"tag": "nope"}, {"author": "nobody"}, {"favorited": "nobody"}])
async def test_an_unknown_filter_value_is_an_empty_list(
    client: AsyncClient, library: list[str], params: dict[str, Any]
) -> None:
    assert await _list(client, **params) == {"articles": [], "articlesCount": 0}


async def test_feed_pages_merge_the_followed_authors_newest_first(
    client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    """Several followed authors' articles interleaved, one author not followed, two articles
    sharing a timestamp (ties go to the higher id): every page size and offset agrees with the
    whole list. (PostgreSQL reads each followee's newest articles; SQLite filters all.)"""
    authors = {name: await register(client, name) for name in ("amy", "bob", "cyd", "dan")}
    slugs: list[tuple[str, str]] = []
    for round_ in range(4):
        for name, headers in authors.items():
            article = await create_article(client, headers, title=f"{name} {round_}")
            slugs.append((name, article["slug"]))
    tied = [slug for name, slug in slugs if name == "bob"][1:3]
    moment = (await session.execute(select(Article.created_at).where(Article.slug == tied[0]))).scalar_one()
    await session.execute(update(Article).where(Article.slug == tied[1]).values(created_at=moment))
    await session.flush()
    for name in ("amy", "bob", "cyd"):
        assert (await client.post(f"{API}/profiles/{name}/follow", headers=ann)).status_code == 200

    # Newest first, except that bob's later article now has his earlier one's timestamp: it
    # sorts right before it (the same time, a higher id).
    expected = [slug for name, slug in reversed(slugs) if name != "dan" and slug != tied[1]]
    expected.insert(expected.index(tied[0]), tied[1])
    whole = (await client.get(f"{API}/articles/feed", params={"limit": 100}, headers=ann)).json()
    assert whole["articlesCount"] == 12
    assert [a["slug"] for a in whole["articles"]] == expected
    for limit in (1, 2, 5, 7):
        walked: list[str] = []
        for offset in range(0, 13, limit):
            page = await client.get(
                f"{API}/articles/feed", params={"limit": limit, "offset": offset}, headers=ann
            )
            assert page.json()["articlesCount"] == 12
            walked += [a["slug"] for a in page.json()["articles"]]
        assert walked == expected, limit


async def test_the_feed_holds_the_articles_of_followed_authors(
    client: AsyncClient, jake: dict[str, str], ann: dict[str, str], library: list[str]
) -> None:
    empty = await client.get(f"{API}/articles/feed", headers=ann)
    assert empty.status_code == 200
    check("GetArticlesFeed", 200, empty.json())
    assert empty.json() == {"articles": [], "articlesCount": 0}

    await client.post(f"{API}/profiles/jake/follow", headers=ann)
    feed = await client.get(f"{API}/articles/feed", params={"limit": 2}, headers=ann)
    check("GetArticlesFeed", 200, feed.json())
    assert [a["slug"] for a in feed.json()["articles"]] == [library[2], library[1]]
    assert feed.json()["articlesCount"] == 3
    assert all(a["author"]["following"] for a in feed.json()["articles"])
    assert (await client.get(f"{API}/articles/feed")).status_code == 401


async def test_comments(
    client: AsyncClient, jake: dict[str, str], ann: dict[str, str], article: dict[str, Any]
) -> None:
    slug = article["slug"]
    empty = await client.get(f"{API}/articles/{slug}/comments")
    assert empty.status_code == 200
    assert empty.json() == {"comments": []}

    added = await client.post(
        f"{API}/articles/{slug}/comments", json={"comment": {"body": "First!"}}, headers=ann
    )
    assert added.status_code == 200
    check("CreateArticleComment", 200, added.json())
    comment = added.json()["comment"]
    assert comment["body"] == "First!"
    assert comment["author"]["username"] == "ann"
    await client.post(f"{API}/profiles/ann/follow", headers=jake)
    second = await client.post(
        f"{API}/articles/{slug}/comments", json={"comment": {"body": "Thanks"}}, headers=jake
    )

    listed = await client.get(f"{API}/articles/{slug}/comments", headers=jake)
    check("GetArticleComments", 200, listed.json())
    comments = listed.json()["comments"]
    assert [c["id"] for c in comments] == [second.json()["comment"]["id"], comment["id"]]
    assert comments[1]["author"]["following"] is True

    forbidden = await client.delete(f"{API}/articles/{slug}/comments/{comment['id']}", headers=jake)
    assert forbidden.status_code == 403
    check("DeleteArticleComment", 403, forbidden.json())
    deleted = await client.delete(f"{API}/articles/{slug}/comments/{comment['id']}", headers=ann)
    assert deleted.status_code == 204
    gone = await client.delete(f"{API}/articles/{slug}/comments/{comment['id']}", headers=ann)
    assert gone.status_code == 404
    assert len((await client.get(f"{API}/articles/{slug}/comments")).json()["comments"]) == 1


async def test_comment_errors(client: AsyncClient, ann: dict[str, str], article: dict[str, Any]) -> None:
    slug = article["slug"]
    assert (await client.get(f"{API}/articles/nope/comments")).status_code == 404
    missing = await client.post(f"{API}/articles/nope/comments", json={"comment": {"body": "x"}}, headers=ann)
    assert missing.status_code == 404
    assert (
        await client.post(f"{API}/articles/{slug}/comments", json={"comment": {"body": "x"}})
    ).status_code == 401
    blank = await client.post(
        f"{API}/articles/{slug}/comments", json={"comment": {"body": "  "}}, headers=ann
    )
    assert blank.status_code == 422
    assert blank.json() == {"errors": {"body": ["body: Has an invalid format."]}}
    other = await create_article(client, ann, title="Another")
    on_other = await client.post(
        f"{API}/articles/{other['slug']}/comments", json={"comment": {"body": "x"}}, headers=ann
    )
    wrong_article = await client.delete(
        f"{API}/articles/{slug}/comments/{on_other.json()['comment']['id']}", headers=ann
    )
    assert wrong_article.status_code == 404
    assert (await client.delete(f"{API}/articles/{slug}/comments/abc", headers=ann)).status_code == 422


async def test_tags_in_use_sorted_by_name(client: AsyncClient, jake: dict[str, str]) -> None:
    empty = await client.get(f"{API}/tags")
    assert empty.status_code == 200
    assert empty.json() == {"tags": []}
    await create_article(client, jake, title="One", tags=["zebra", "Apple"])
    two = await create_article(client, jake, title="Two", tags=["mango", "apple"])
    await client.delete(f"{API}/articles/{two['slug']}", headers=jake)
    response = await client.get(f"{API}/tags")
    check("GetTags", 200, response.json())
    assert response.json() == {"tags": ["apple", "zebra"]}


async def test_a_user_registered_elsewhere_gets_an_empty_profile(client: AsyncClient) -> None:
    """An account made through /api/auth has no blog profile row: its bio and image are null."""
    await client.post(
        "/api/auth/register", json={"email": "zoe@example.com", "password": "a long passphrase"}
    )
    headers = await register(client, "max")
    response = await client.get(f"{API}/profiles/zoe", headers=headers)
    assert response.json()["profile"] == {"username": "zoe", "bio": None, "image": None, "following": False}
