"""The read path's PostgreSQL pool (core/reader.py), on a real server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.engine import make_url

from sixty.core.config import Settings
from sixty.core.db import create_engine
from sixty.core.reader import AsyncpgReader

ONE = select(literal(1).label("one"))
FAILING = select(text("1 / 0 AS boom"))


async def open_reader(settings: Settings, *, max_size: int) -> AsyncpgReader:
    if not settings.database_url or not settings.database_url.startswith("postgresql"):
        pytest.skip("the asyncpg pool is PostgreSQL's")
    engine = create_engine(settings)
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    await engine.dispose()  # only its dialect is needed
    return await AsyncpgReader.open(engine.dialect, dsn, max_size=max_size)


async def test_reads_waiting_for_a_pooled_connection_are_served_in_turn(settings: Settings) -> None:
    reader = await open_reader(settings, max_size=1)
    arrived: list[tuple[int, int]] = []
    answered: list[tuple[int, int]] = []

    async def client(number: int) -> None:
        # Like requests on a busy server: each client reads, works a few turns of the event loop
        # and reads again, so new reads keep arriving while others wait for the one connection.
        for read in range(10):
            arrived.append((number, read))
            await reader.one(ONE)
            answered.append((number, read))
            await asyncio.sleep((number * 7 + read * 3) % 10 / 10_000)

    try:
        await asyncio.gather(*(client(number) for number in range(32)))
    finally:
        await reader.close()
    assert len(answered) == 320
    # One connection: first come, first served. (asyncpg's own queue lets a read that arrives as
    # the connection comes back take it ahead of those waiting, which then queue again.)
    assert answered == arrived


async def test_pooled_reads_skip_the_reset_query_and_survive_errors(settings: Settings) -> None:
    reader = await open_reader(settings, max_size=1)
    try:
        async with reader.pool.acquire() as connection:
            # A round trip per release saved: the reader leaves no session state to reset.
            assert connection.get_reset_query() == ""
        with pytest.raises(Exception, match="division by zero"):
            await reader.one(FAILING)
        # The one connection went back usable, its failed statement rolled back.
        assert [await reader.one(ONE) for _ in range(3)] == [{"one": 1}] * 3
    finally:
        await reader.close()
