"""The change feed: PostgreSQL notifications delivered to their channel's subscribers, and a
reset whenever the feed starts or stops listening (a lost notification must not go unnoticed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import create_async_engine

from sixty.core.changefeed import APPLICATION_NAME, ChangeFeed
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from tests.conftest import POSTGRES_URL
from tests.factories.waiting import eventually

postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's")


class Heard:
    def __init__(self, feed: ChangeFeed, channel: str) -> None:
        self.payloads: list[str] = []
        self.resets = 0
        feed.subscribe(channel, self.payloads.append, self.reset)

    def reset(self) -> None:
        self.resets += 1


@pytest.fixture
async def feed(settings: Settings) -> AsyncIterator[tuple[ChangeFeed, Heard, Heard]]:
    feed = ChangeFeed()
    first, second = Heard(feed, "sixty_test_a"), Heard(feed, "sixty_test_b")
    dsn = settings.effective_database_url.replace("postgresql+asyncpg://", "postgresql://")
    feed.start(dsn)
    await eventually(lambda: feed.live)
    yield feed, first, second
    await feed.close()


TERMINATE_FEED = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name = :name"
).bindparams(name=APPLICATION_NAME)


async def notify(settings: Settings, *statements: str | TextClause) -> None:
    engine = create_async_engine(settings.effective_database_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement) if isinstance(statement, str) else statement)
    finally:
        await engine.dispose()


@postgres_only
async def test_notifications_reach_their_channel_on_commit(
    settings: Settings, feed: tuple[ChangeFeed, Heard, Heard]
) -> None:
    _, first, second = feed
    assert (first.resets, second.resets) == (1, 1)  # went live
    await notify(settings, "NOTIFY sixty_test_a, 'one'", "NOTIFY sixty_test_b, 'two'", "NOTIFY other, 'x'")
    await eventually(lambda: bool(first.payloads and second.payloads))
    assert (first.payloads, second.payloads) == (["one"], ["two"])

    engine = create_async_engine(settings.effective_database_url)
    async with engine.connect() as connection:  # rolled back: never announced
        await connection.execute(text("NOTIFY sixty_test_a, 'rolled back'"))
        await connection.rollback()
    await engine.dispose()
    await notify(settings, "NOTIFY sixty_test_a, 'after'")
    await eventually(lambda: len(first.payloads) == 2)
    assert first.payloads == ["one", "after"]


@postgres_only
async def test_a_lost_connection_resets_and_listens_again(
    settings: Settings, feed: tuple[ChangeFeed, Heard, Heard]
) -> None:
    changes, first, _ = feed
    await notify(settings, TERMINATE_FEED)
    await eventually(lambda: not changes.live)
    assert first.resets == 2
    await eventually(lambda: changes.live)  # reconnected, after a short delay
    assert first.resets == 3
    await notify(settings, "NOTIFY sixty_test_a, 'again'")
    await eventually(lambda: first.payloads == ["again"])


async def test_closing_stops_listening(settings: Settings) -> None:
    changes = ChangeFeed()
    heard = Heard(changes, "sixty_test_a")
    await changes.close()  # never started: nothing to do
    assert (changes.live, heard.resets) == (False, 0)
    if POSTGRES_URL:
        changes.start(settings.effective_database_url.replace("postgresql+asyncpg://", "postgresql://"))
        await eventually(lambda: changes.live)
        await changes.close()
        assert (changes.live, heard.resets) == (False, 2)


async def test_sqlite_has_no_feed(settings: Settings, tmp_path: Path) -> None:
    embedded = settings.model_copy(update={"database_url": None, "data_dir": tmp_path})
    db = Database(create_engine(embedded))
    heard = Heard(db.changes, "sixty_test_a")
    await db.connect()
    try:
        # Nothing listens at all (not merely failing to connect over and over).
        assert not [task for task in asyncio.all_tasks() if task.get_name() == "sixty.changefeed"]
        assert (db.changes.live, heard.resets) == (False, 0)
    finally:
        await db.dispose()


@postgres_only
async def test_an_unexpected_failure_is_logged_and_listening_resumes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    changes = ChangeFeed()
    resets: list[bool] = []

    def reset() -> None:  # fails the first time the feed goes live
        resets.append(changes.live)
        if resets == [True]:
            raise RuntimeError("subscriber bug")

    changes.subscribe("sixty_test_a", lambda _payload: None, reset)
    changes.start(settings.effective_database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await eventually(lambda: len(resets) >= 3 and changes.live)
    finally:
        await changes.close()
    assert resets[:3] == [True, False, True]  # live, failed and reset, live again
    assert "change feed failed; retrying" in caplog.text
