"""`articlesCount` of all articles and of a tag comes from counts the database keeps (a ledger
written by triggers, migration 0018): exact after every kind of write, cascades included, and
unchanged by compaction."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.blog import service, tasks
from sixty.blog.models import Article, ArticleCount, ArticleTag, Tag
from sixty.core.jobs import JobContext
from tests.factories.blog import API, create_article, register


async def listed_count(client: AsyncClient, **params: Any) -> int:
    response = await client.get(f"{API}/articles", params={"limit": 1, **params})
    assert response.status_code == 200, response.text
    count: int = response.json()["articlesCount"]
    return count


async def counted(session: AsyncSession, tag: str | None = None) -> int:
    """What a count over the tables themselves says."""
    if tag is None:
        return int(await session.scalar(select(func.count()).select_from(Article)) or 0)
    statement = select(func.count()).select_from(ArticleTag).join(Tag).where(Tag.name == tag)
    return int(await session.scalar(statement) or 0)


async def assert_counts_exact(client: AsyncClient, session: AsyncSession, tags: list[str]) -> None:
    assert await listed_count(client) == await counted(session)
    for tag in tags:
        assert await listed_count(client, tag=tag) == await counted(session, tag), tag


async def test_counts_stay_exact_through_creates_edits_and_deletes(
    client: AsyncClient, session: AsyncSession
) -> None:
    tags = ["dragons", "training", "fire"]
    before = await listed_count(client)
    jake = await register(client, "jake")
    ann = await register(client, "ann")
    first = await create_article(client, jake, title="One", tags=["dragons", "training"])
    await create_article(client, jake, title="Two", tags=["dragons"])
    third = await create_article(client, ann, title="Three", tags=["fire", "dragons"])
    assert await listed_count(client) == before + 3
    assert await listed_count(client, tag="dragons") == 3
    await assert_counts_exact(client, session, tags)

    # New tags replace the old ones.
    edited = await client.put(
        f"{API}/articles/{first['slug']}", json={"article": {"tagList": ["fire"]}}, headers=jake
    )
    assert edited.status_code == 200, edited.text
    assert (await listed_count(client, tag="training"), await listed_count(client, tag="fire")) == (0, 2)
    await assert_counts_exact(client, session, tags)

    assert (await client.delete(f"{API}/articles/{third['slug']}", headers=ann)).status_code == 204
    assert await listed_count(client) == before + 2
    await assert_counts_exact(client, session, tags)

    # An account's deletion takes its articles and their tag links with it, through the
    # database's cascades, which no blog code sees: the counts follow all the same.
    await session.execute(delete(User).where(User.username == "jake"))
    assert await listed_count(client) == before
    assert await listed_count(client, tag="dragons") == 0
    await assert_counts_exact(client, session, tags)
    assert await listed_count(client, tag="no-such-tag") == 0


async def test_compaction_folds_the_ledger_and_keeps_every_count(
    client: AsyncClient, session: AsyncSession, app: FastAPI
) -> None:
    jake = await register(client, "jake")
    for index in range(4):
        await create_article(client, jake, title=f"Article {index}", tags=["dragons", f"tag{index}"])
    removed = await create_article(client, jake, title="Gone", tags=["ephemeral"])
    assert (await client.delete(f"{API}/articles/{removed['slug']}", headers=jake)).status_code == 204
    tags = ["dragons", "ephemeral", *(f"tag{index}" for index in range(4))]
    counts = {tag: await listed_count(client, tag=tag) for tag in tags}
    total = await listed_count(client)

    # The job, as the scheduler runs it (on the test's own transaction here).
    await tasks.compact_counts(JobContext(db=app.state.db, settings=app.state.settings, attempt=1))
    rows = (
        await session.execute(select(ArticleCount.tag_id, func.count()).group_by(ArticleCount.tag_id))
    ).all()
    assert all(number == 1 for _, number in rows), rows  # one row per key
    ephemeral = await session.scalar(select(Tag.id).where(Tag.name == "ephemeral"))
    assert ephemeral not in {tag_id for tag_id, _ in rows}  # a key that sums to 0 has no row
    assert {tag: await listed_count(client, tag=tag) for tag in tags} == counts
    assert await listed_count(client) == total
    await assert_counts_exact(client, session, tags)

    assert await service.compact_counts(session) == 0  # nothing left to fold
    await create_article(client, jake, title="After", tags=["dragons"])
    assert await listed_count(client, tag="dragons") == counts["dragons"] + 1
    assert await service.compact_counts(session) > 0
    assert await listed_count(client, tag="dragons") == counts["dragons"] + 1
