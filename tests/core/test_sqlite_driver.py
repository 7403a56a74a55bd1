"""The embedded database's driver (core/sqlite.py), used directly and through SQLAlchemy."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import literal, select, text

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.sqlite import LoopConnection, _Immediate, _is_read, _takes_write_lock, connect_factory


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[LoopConnection]:
    conn = await connect_factory(str(tmp_path / "driver.db"))()
    await conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    yield conn
    await conn.close()


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("SELECT 1", True),
        ("  select * from x", True),
        ("BEGIN", True),
        ("BEGIN DEFERRED", True),
        ("BEGIN IMMEDIATE", False),
        ("INSERT INTO x VALUES (1)", False),
        ("UPDATE x SET a = 1", False),
        ("PRAGMA journal_mode=WAL", False),
        ("CREATE TABLE y (a)", False),
    ],
)
def test_statements_that_only_read_stay_on_the_loop(sql: str, read: bool) -> None:
    assert _is_read(sql) is read


async def test_cursor_api(connection: LoopConnection) -> None:
    cursor = connection.cursor()
    async with cursor:
        await cursor.executemany("INSERT INTO item (name) VALUES (?)", [("a",), ("b",), ("c",)])
        assert cursor.rowcount == 3
        await cursor.execute("INSERT INTO item (name) VALUES (?)", ("d",))
        assert cursor.lastrowid == 4
    await connection.commit()
    cursor = await connection.execute("SELECT id, name FROM item ORDER BY id")
    assert [column[0] for column in cursor.description] == ["id", "name"]
    cursor.arraysize = 2
    assert cursor.arraysize == 2
    assert await cursor.fetchone() == (1, "a")
    assert await cursor.fetchmany() == [(2, "b"), (3, "c")]
    assert [row async for row in cursor] == [(4, "d")]
    assert await cursor.fetchall() == []
    await cursor.setinputsizes()  # accepted and ignored, as by sqlite3
    await cursor.nextset()


async def test_rollback_discards_writes(connection: LoopConnection) -> None:
    await connection.execute("BEGIN IMMEDIATE")
    await connection.execute("INSERT INTO item (name) VALUES ('gone')")
    await connection.rollback()
    cursor = await connection.execute("SELECT count(*) FROM item")
    assert await cursor.fetchone() == (0,)
    await connection.execute("BEGIN")  # a read-only transaction ends on the loop
    await connection.rollback()
    await connection.commit()


async def test_writes_wait_for_the_lock_off_the_loop_then_run_on_it(connection: LoopConnection) -> None:
    loop_thread = threading.get_ident()
    await connection.create_function("on_loop", 0, lambda: int(threading.get_ident() == loop_thread))
    insert = "INSERT INTO item (name) VALUES (on_loop())"
    await connection.execute(insert)  # autocommit: may wait for the lock, off the loop
    await connection.execute("BEGIN")
    await connection.execute(insert)  # the first write takes the lock, off the loop
    await connection.execute(insert)  # then nothing can wait: on the loop
    await connection.cursor().executemany(insert, [(), ()])
    assert connection.holds_write_lock
    await connection.commit()
    assert not connection.holds_write_lock
    await connection.execute("BEGIN IMMEDIATE")
    await connection.execute(insert)
    await connection.rollback()  # discarded, and the lock goes with it
    assert not connection.holds_write_lock
    await connection.execute("BEGIN")
    await connection.execute("SAVEPOINT s")  # holds no lock yet
    await connection.execute(insert)
    await connection.commit()
    cursor = await connection.execute("SELECT CAST(name AS INTEGER) FROM item ORDER BY id")
    assert [row[0] for row in await cursor.fetchall()] == [0, 0, 1, 1, 1, 0]


@pytest.mark.parametrize(
    ("sql", "locks"),
    [
        ("BEGIN IMMEDIATE", True),
        ("BEGIN EXCLUSIVE", True),
        ("insert into x values (1)", True),
        ("UPDATE x SET a = 1", True),
        ("DELETE FROM x", True),
        ("SAVEPOINT s", False),
        ("RELEASE SAVEPOINT s", False),
        ("PRAGMA journal_mode=WAL", False),
    ],
)
def test_which_statements_hold_the_write_lock(sql: str, locks: bool) -> None:
    assert _takes_write_lock(sql) is locks


async def test_functions_and_isolation_level(connection: LoopConnection) -> None:
    await connection.create_function("twice", 1, lambda value: value * 2)
    cursor = await connection.execute("SELECT twice(21)")
    assert await cursor.fetchone() == (42,)
    assert connection.isolation_level is None


async def test_sqlalchemy_sets_options_through_the_private_queue() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    _Immediate().put_nowait((done, lambda: 7))
    assert await done == 7
    failed: asyncio.Future[int] = loop.create_future()
    _Immediate().put_nowait((failed, lambda: 1 // 0))
    with pytest.raises(ZeroDivisionError):
        await failed


async def test_stop_closes_at_once(tmp_path: Path) -> None:
    conn = await connect_factory(str(tmp_path / "stop.db"))()
    conn.stop()
    with pytest.raises(sqlite3.ProgrammingError):
        await conn.execute("SELECT 1")


async def test_engine_configures_wal_and_foreign_keys(settings: Settings, tmp_path: Path) -> None:
    db = Database(create_engine(settings.model_copy(update={"data_dir": tmp_path, "database_url": None})))
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        await db.connect()
        assert await db.reader.one(select(literal(1).label("one"))) == {"one": 1}
        assert await db.reader.all(select(literal(1).label("one")).where(literal(1) == 0)) == []
        await db.connect()  # idempotent
    finally:
        await db.dispose()
    with pytest.raises(RuntimeError):
        _ = db.reader
