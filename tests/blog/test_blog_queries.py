"""An article list costs the same number of SQL queries whatever its size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.engine import Dialect

from sixty.core.reader import Reader, Row
from tests.factories.blog import API, create_article, register


class CountingReader:
    """Wraps the app's reader and counts the statements it runs."""

    def __init__(self, inner: Reader) -> None:
        self.inner = inner
        self.count = 0

    @property
    def dialect(self) -> Dialect:
        return self.inner.dialect

    async def one(self, statement: Any, **params: Any) -> Row | None:
        self.count += 1
        return await self.inner.one(statement, **params)

    async def all(self, statement: Any, **params: Any) -> list[Row]:
        self.count += 1
        return await self.inner.all(statement, **params)

    async def close(self) -> None:
        await self.inner.close()


@contextmanager
def counting(app: FastAPI) -> Iterator[CountingReader]:
    db = app.state.db
    original = db._reader
    reader = CountingReader(original)
    db._reader = reader
    try:
        yield reader
    finally:
        db._reader = original


async def _queries(client: AsyncClient, app: FastAPI, path: str, **params: Any) -> tuple[int, int]:
    headers = params.pop("headers", {})
    with counting(app) as reader:
        response = await client.get(f"{API}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    return reader.count, len(page["articles"])


async def test_an_article_list_is_one_query_whatever_its_size(client: AsyncClient, app: FastAPI) -> None:
    jake = await register(client, "jake")
    ann = await register(client, "ann")
    await client.post(f"{API}/profiles/jake/follow", headers=ann)
    for index in range(12):
        article = await create_article(
            client, jake, title=f"Article {index}", tags=["dragons", f"tag{index}"]
        )
        await client.post(f"{API}/articles/{article['slug']}/favorite", headers=ann)
        await client.post(
            f"{API}/articles/{article['slug']}/comments", json={"comment": {"body": "x"}}, headers=ann
        )

    sizes = {}
    for limit in (1, 5, 12):
        sizes[limit] = await _queries(client, app, "/articles", limit=limit)
        assert await _queries(client, app, "/articles", limit=limit, favorited="ann", author="jake") == (
            1,
            limit,
        )
        # A signed-in request reads its principal first: one more query, whatever the page size.
        assert await _queries(client, app, "/articles", limit=limit, tag="dragons", headers=ann) == (2, limit)
        assert await _queries(client, app, "/articles/feed", limit=limit, headers=ann) == (2, limit)
    assert sizes == {1: (1, 1), 5: (1, 5), 12: (1, 12)}
    # A page past the end: still one query, answering the count alone.
    assert await _queries(client, app, "/articles", offset=50) == (1, 0)
    response = await client.get(f"{API}/articles", params={"offset": 50})
    assert response.json() == {"articles": [], "articlesCount": 12}
