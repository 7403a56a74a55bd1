"""The read path's PostgreSQL pool (core/reader.py), on a real server."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, literal, select, text
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


BACKEND = select(func.pg_backend_pid().label("pid"), func.pg_sleep(0.01).label("slept"))


async def test_connections_stay_with_the_reader_up_to_the_pool_size(settings: Settings) -> None:
    reader = await open_reader(settings, max_size=2)
    try:
        rows = await asyncio.gather(*(reader.one(BACKEND) for _ in range(12)))
        assert len({row["pid"] for row in rows if row}) == 2  # twelve reads, two connections
        assert len(reader._idle) == 2
        assert reader.pool.get_idle_size() == 0  # both kept by the reader, between reads
        later = await reader.one(BACKEND)
        assert later is not None
        assert later["pid"] in {row["pid"] for row in rows if row}
    finally:
        await reader.close()
    assert reader._idle == []


async def test_a_kept_connection_the_server_closed_is_replaced(settings: Settings) -> None:
    reader = await open_reader(settings, max_size=1)
    try:
        first = await reader.one(BACKEND)
        assert first is not None
        killer = await asyncpg.connect(reader.pool._connect_args[0])
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", first["pid"]) is True
        finally:
            await killer.close()
        for _ in range(500):  # until the event loop has seen the connection go
            if reader.pool.get_size() == 0:
                break
            await asyncio.sleep(0.01)
        assert reader.pool.get_size() == 0
        second = await reader.one(BACKEND)
        assert second is not None
        assert second["pid"] != first["pid"]
    finally:
        await reader.close()


async def test_a_cancelled_read_gives_its_connection_back(settings: Settings) -> None:
    reader = await open_reader(settings, max_size=1)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.one(select(func.pg_sleep(5).label("slept"))), 0.1)
        # The one connection is usable again at once, not after the 5 s query.
        assert await asyncio.wait_for(reader.one(ONE), 2) == {"one": 1}
    finally:
        await reader.close()
