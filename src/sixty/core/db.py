"""Database access: one async engine per app, and the per-request unit of work.

The unit of work owns the transaction: it commits when the endpoint returns and
rolls back when it raises. Services only `flush()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from sixty.core.changefeed import ChangeFeed
from sixty.core.config import Settings
from sixty.core.reader import AsyncpgReader, Reader, SQLiteReader
from sixty.core.sqlite import connect_factory

# Methods that may write; on SQLite their transaction takes the write lock up front
# (BEGIN IMMEDIATE), so a read-then-write request waits for its turn instead of
# failing with SQLITE_BUSY when another writer commits in between.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=5000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.effective_database_url)
    kwargs: dict[str, Any] = {"echo": settings.database_echo}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # Our driver: reads on the event loop, lock waits and writes off it (core/sqlite.py).
        engine = create_async_engine(url, async_creator=connect_factory(url.database or ":memory:"), **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.update(pool_size=settings.database_pool_size, pool_pre_ping=True)
    return create_async_engine(url, **kwargs)


class Database:
    """The engine, the session factories of the unit of work, the `Reader` for GETs, and the
    feed of changes the database announces (PostgreSQL only; see core/changefeed.py)."""

    def __init__(self, engine: AsyncEngine, *, reader_pool_size: int = 10) -> None:
        self.engine = engine
        self.reader_pool_size = reader_pool_size
        self._reader: Reader | None = None
        # Copied into every session's `info`; core/jobs keeps its backend here.
        self.session_info: dict[str, Any] = {}
        self.changes = ChangeFeed()
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        write_bind = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        self.write_sessions = async_sessionmaker(write_bind, expire_on_commit=False)

    def session(self, *, write: bool = True) -> AsyncSession:
        factory = self.write_sessions if write else self.sessions
        return factory(info=dict(self.session_info))

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            raise RuntimeError("Database.connect() has not been awaited (the app's lifespan does it)")
        return self._reader

    async def connect(self) -> None:
        """Open the reader and start the change feed (at app startup)."""
        if self._reader is not None:
            return
        url = self.engine.url
        if self.is_sqlite:
            self._reader = SQLiteReader.open(self.engine.dialect, url.database or ":memory:")
        else:
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._reader = await AsyncpgReader.open(self.engine.dialect, dsn, max_size=self.reader_pool_size)
            self.changes.start(dsn)

    async def bind(self, connection: AsyncConnection) -> None:
        """Run every session and read on `connection` (tests: one outer transaction per test,
        sessions in savepoints that the test rolls back). The change feed stays off: nothing
        commits there to announce."""
        for factory in (self.sessions, self.write_sessions):
            factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        driver = (await connection.get_raw_connection()).driver_connection
        if driver is None:
            raise RuntimeError("the connection has no driver connection to read on")
        if self.is_sqlite:
            self._reader = SQLiteReader(self.engine.dialect, driver._conn, owned=False)
        else:
            self._reader = AsyncpgReader(self.engine.dialect, driver)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.changes.close()
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        await self.engine.dispose()


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit when the body succeeds, roll back when it raises; always close.

    An error that is itself the outcome of the request (a `Problem` with `keep_changes`,
    such as revoking a token family when a refresh token is replayed) commits first."""
    try:
        yield session
        await session.commit()
    except BaseException as error:
        if getattr(error, "keep_changes", False):
            await session.commit()
        else:
            await session.rollback()
        raise
    finally:
        await session.close()
