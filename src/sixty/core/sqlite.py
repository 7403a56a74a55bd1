"""The embedded database's driver: sqlite3 under SQLAlchemy's aiosqlite dialect, without a
thread hop for every call.

aiosqlite runs every call (cursor, execute, fetch, commit, close) on a helper
thread and wakes the event loop for each result; a primary-key read costs a
dozen such hops. In WAL mode readers never wait for locks, so here statements
that only read run directly on the event loop thread (microseconds), and only
work that can wait for the write lock or touch the disk goes to the connection's
own thread, so one writer waiting for another never blocks the loop: taking the
write lock (BEGIN IMMEDIATE, or the first write of a deferred transaction) and
committing or rolling back a transaction that wrote (a commit can checkpoint).

Once a transaction holds the write lock, its further statements cannot wait for
a lock either, and run on the loop too. Python work in a second thread is no
cheaper for the loop than its own: the thread holds the GIL, and each time the
loop releases it (a socket send, a read) it waits up to the switch interval to
get it back, so a long write in the thread stalled every request for 100-300 ms.
Calls on one connection are never concurrent: SQLAlchemy awaits each in turn.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

_READ_ONLY_PREFIXES = ("SELECT", "BEGIN DEFERRED", "BEGIN;", "PRAGMA TABLE_INFO", "PRAGMA INDEX_LIST")


# Statements that hold the write lock once they have run (a SAVEPOINT, say, may not).
_WRITE_LOCKING_PREFIXES = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:20].upper()
    return head.startswith(_READ_ONLY_PREFIXES) or head == "BEGIN"


def _begins(sql: str) -> bool:
    return sql.lstrip()[:5].upper() == "BEGIN"


def _takes_write_lock(sql: str) -> bool:
    return sql.lstrip()[:20].upper().startswith(_WRITE_LOCKING_PREFIXES)


class LoopCursor:
    """The subset of aiosqlite's Cursor that SQLAlchemy's adapter uses."""

    def __init__(self, connection: LoopConnection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> LoopCursor:
        connection = self._connection
        if connection.holds_write_lock or _is_read(sql):
            if _begins(sql):  # a new transaction holds no lock (the last may have ended in SQL)
                connection._write_locked = False
            self._cursor.execute(sql, parameters)
        else:
            connection._wrote = True
            await connection._off_loop(self._cursor.execute, sql, parameters)
            connection._note_write_lock(sql)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> LoopCursor:
        connection = self._connection
        connection._wrote = True
        if connection.holds_write_lock:
            self._cursor.executemany(sql, seq_of_parameters)
        else:
            await connection._off_loop(self._cursor.executemany, sql, seq_of_parameters)
            connection._note_write_lock(sql)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None

    def __aiter__(self) -> LoopCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _Immediate:
    """aiosqlite's private request queue, which SQLAlchemy uses to set `isolation_level`."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller
            future.set_exception(error)


class LoopConnection:
    """The subset of aiosqlite's Connection that SQLAlchemy's adapter uses."""

    # aiosqlite exposes sqlite3's errors on its module; SQLAlchemy reads them from there.
    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._connection = conn  # SQLAlchemy checks this is set before commit/rollback
        self._tx = _Immediate()
        self._wrote = False  # the transaction has run a statement that may write
        self._write_locked = False  # ... and holds the write lock: no statement of it can wait now
        # A thread of its own: a connection waiting for the write lock must never hold up
        # the lock holder's next statement (a shared pool deadlocks until busy_timeout).
        self._thread = thread

    def _note_write_lock(self, sql: str) -> None:
        # Outside a transaction (autocommit) a write lets the lock go as it ends.
        self._write_locked = _takes_write_lock(sql) and self._conn.in_transaction

    @property
    def holds_write_lock(self) -> bool:
        # A transaction an error rolled back (SQLITE_FULL, say) has let the lock go.
        return self._write_locked and self._conn.in_transaction

    async def _off_loop(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(function, *args))

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> LoopCursor:
        return LoopCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> LoopCursor:
        cursor = LoopCursor(self)
        return await cursor.execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        if self._wrote:
            self._wrote = self._write_locked = False
            await self._off_loop(self._conn.commit)
        else:
            self._conn.commit()

    async def rollback(self) -> None:
        if self._wrote:
            self._wrote = self._write_locked = False
            await self._off_loop(self._conn.rollback)
        else:
            self._conn.rollback()

    async def close(self) -> None:
        try:
            await self._off_loop(self._conn.close)
        finally:
            self._thread.shutdown(wait=False)

    def stop(self) -> None:
        self._conn.close()
        self._thread.shutdown(wait=False)


def connect_factory(database: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`."""

    async def connect() -> LoopConnection:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sixty-sqlite")
        conn = await asyncio.get_running_loop().run_in_executor(
            thread,
            partial(
                sqlite3.connect,
                database,
                isolation_level=None,
                check_same_thread=False,
                uri=database.startswith("file:"),
            ),
        )
        return LoopConnection(conn, thread)

    return connect
