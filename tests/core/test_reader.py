"""The read path (core/reader.py): its PostgreSQL pool on a real server, and its SQL helpers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import Boolean, Uuid, bindparam, func, literal, literal_column, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.models import UTCDateTime
from sixty.core.reader import AsyncpgReader, compile_read, iso_millis

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


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "2026-11-26T09:30:00.000Z"),
        (datetime(2026, 11, 26, 9, 30, 0, 123999, tzinfo=UTC), "2026-11-26T09:30:00.123Z"),
        (datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "1999-12-31T23:59:59.999Z"),
        (
            datetime(2026, 1, 2, 5, 4, 5, 6000, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-02T03:04:05.006Z",
        ),
    ],
)
async def test_iso_millis_writes_utc_with_milliseconds_truncated(
    db: Database, moment: datetime, text: str
) -> None:
    statement = select(iso_millis(literal(moment, UTCDateTime())).label("at"))
    assert await db.reader.one(statement) == {"at": text}
    assert moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z" == text  # as Python does


async def test_iso_millis_gives_a_sqlite_value_without_a_fraction_three_zeros(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("a SQLite storage detail")
    statement = select(iso_millis(literal_column("'2026-11-26 09:30:00'")).label("at"))
    assert await db.reader.one(statement) == {"at": "2026-11-26T09:30:00.000Z"}


def test_a_compiled_read_converts_only_the_columns_that_need_it() -> None:
    identifier = uuid.uuid4()
    statement = select(
        literal("x").label("text"),
        bindparam("flag", type_=Boolean()).label("flag"),
        bindparam("id", type_=Uuid()).label("id"),
        literal(None, Boolean()).label("nothing"),
    )
    compiled = compile_read(statement, sqlite.dialect())
    assert [(index, key) for index, key, _ in compiled.processed] == [(1, "flag"), (2, "id"), (3, "nothing")]
    # What SQLite hands back for those columns: text, 0/1 and 32 hex digits.
    row = compiled.row(("x", 1, identifier.hex, None))
    assert row == {"text": "x", "flag": True, "id": identifier, "nothing": None}
    assert list(row) == ["text", "flag", "id", "nothing"]
