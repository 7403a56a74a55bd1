"""The read path: SQLAlchemy Core statements, compiled once, run straight on the driver.

A GET that reads one row through an ORM session pays for a session, a pool
checkout, BEGIN, statement caching, ORM loading and COMMIT: on this kind of
machine over half a millisecond before the row is even fetched. Reads that
serve GET requests instead use a `Reader`: the statement is an ordinary
SQLAlchemy construct (portable, typed, defined once at module level), compiled
per dialect on first use together with its bind and result type processors,
then executed directly on the driver:

- SQLite: one sqlite3 connection in autocommit mode, used on the event loop
  (WAL readers never wait on locks, so a read takes microseconds and never
  yields; one connection serves every request of the process).
- PostgreSQL: an asyncpg pool, with the same JSON codecs SQLAlchemy sets up.

Writes keep using the ORM session of the request's unit of work. In tests the
reader runs on the test's own connection, so it sees the test's uncommitted rows.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol, TypeAlias

from sqlalchemy import Float, Select, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Row = dict[str, Any]
# A SELECT of any columns (Select is generic over its column types).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


@dataclass(frozen=True)
class CompiledRead:
    sql: str
    params: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    defaults: Mapping[str, Any]  # values fixed when the statement was built
    # Derived from `columns`: most columns have no result processor, so a row is built in one
    # C call and only the few that have one are converted.
    keys: tuple[str, ...] = field(init=False)
    processed: tuple[tuple[int, str, Callable[[Any], Any]], ...] = field(init=False)

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        bound = []
        for name, process in self.params:
            value = values[name] if name in values else self.defaults[name]
            bound.append(process(value) if process is not None and value is not None else value)
        return bound

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(key for key, _ in self.columns))
        processed = tuple(
            (index, key, process) for index, (key, process) in enumerate(self.columns) if process is not None
        )
        object.__setattr__(self, "processed", processed)

    def row(self, raw: Sequence[Any]) -> Row:
        row = dict(zip(self.keys, raw, strict=True))
        for index, key, process in self.processed:
            row[key] = process(raw[index])
        return row


def compile_read(statement: Executable, dialect: Dialect) -> CompiledRead:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    bind_processors = compiled._bind_processors
    positions = compiled.positiontup or []
    params = tuple((name, bind_processors.get(name)) for name in positions)
    columns = tuple(
        (column.keyname, column.type._cached_result_processor(dialect, None))
        for column in compiled._result_columns
    )
    defaults = {
        name: value for name, value in compiled.construct_params(_check=False).items() if value is not None
    }
    return CompiledRead(sql=str(compiled), params=params, columns=columns, defaults=defaults)


class Reader(Protocol):
    @property
    def dialect(self) -> Dialect: ...  # for a statement only one dialect can run (LATERAL)

    async def one(self, statement: Executable, **params: Any) -> Row | None: ...
    async def all(self, statement: Executable, **params: Any) -> list[Row]: ...
    async def close(self) -> None: ...


class SessionReader:
    """A `Reader` over a unit of work's session: after a write, read what it wrote (uncommitted)
    with the same statements the GETs use."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> Dialect:
        return self.session.get_bind().dialect

    async def one(self, statement: Executable, **params: Any) -> Row | None:
        row = (await self.session.execute(statement, params)).mappings().first()
        return None if row is None else dict(row)

    async def all(self, statement: Executable, **params: Any) -> list[Row]:
        return [dict(row) for row in (await self.session.execute(statement, params)).mappings()]

    async def close(self) -> None:  # the unit of work owns the session
        return None


class _CompilingReader:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[int, tuple[Executable, CompiledRead]] = {}

    def compiled(self, statement: Executable) -> CompiledRead:
        # Keyed by identity: statements are module-level constants built once.
        # The statement is kept alive in the value, so its id cannot be reused.
        entry = self._compiled.get(id(statement))
        if entry is None:
            entry = (statement, compile_read(statement, self.dialect))
            self._compiled[id(statement)] = entry
        return entry[1]


class SQLiteReader(_CompilingReader):
    def __init__(self, dialect: Dialect, connection: sqlite3.Connection, *, owned: bool) -> None:
        super().__init__(dialect)
        self.connection = connection
        self.owned = owned

    @classmethod
    def open(cls, dialect: Dialect, database: str) -> SQLiteReader:
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=5000")
        return cls(dialect, connection, owned=True)

    async def one(self, statement: Executable, **params: Any) -> Row | None:
        compiled = self.compiled(statement)
        raw = self.connection.execute(compiled.sql, compiled.bind(params)).fetchone()
        return None if raw is None else compiled.row(raw)

    async def all(self, statement: Executable, **params: Any) -> list[Row]:
        compiled = self.compiled(statement)
        return [compiled.row(raw) for raw in self.connection.execute(compiled.sql, compiled.bind(params))]

    async def close(self) -> None:
        if self.owned:
            self.connection.close()


def _usable(connection: Any) -> bool:
    """Whether a pooled connection kept between reads is still open."""
    from asyncpg import InterfaceError

    try:
        return not connection.is_closed()
    except InterfaceError:  # closed by the server: asyncpg gave it back to the pool on its own
        return False


class AsyncpgReader(_CompilingReader):
    """Reads on asyncpg: in production on connections of a pool, in tests on the test's connection.

    A connection taken from the pool is kept between reads (a read takes an idle one, or takes a
    new one from the pool while fewer than the pool's size are out): going through the pool for
    every read (acquire, release, the task that shields the release) cost ~80 us of the event loop
    on top of the ~90 us of the read itself. A read that fails gives its connection back to the
    pool, which rolls it back or replaces it; one the server closed meanwhile is replaced.
    """

    def __init__(self, dialect: Dialect, executor: Any, *, pool: Any = None) -> None:
        super().__init__(dialect)
        self.executor = executor  # an asyncpg Pool, or one Connection in tests
        self.pool = pool
        self._idle: list[Any] = []  # connections taken from the pool, between two reads
        # Reads wait for a connection here, first come first served. (asyncpg's pool queues them
        # in an asyncio.Queue, where a read arriving just as a connection comes back takes it
        # before the reads already waiting, each of which then waits again at the back of the
        # line: a few waited 100+ ms while most waited none. Redirects over 100,000 links at 64
        # connections: p99 137 ms, 33 ms behind this gate.) It also keeps the connections out at
        # once to the pool's size, so taking one from the pool never waits.
        self._gate = asyncio.Semaphore(pool.get_max_size() if pool is not None else 1)

    @classmethod
    async def open(cls, dialect: Any, dsn: str, *, max_size: int) -> AsyncpgReader:
        import asyncpg

        async def init(connection: Any) -> None:
            holder = SimpleNamespace(_connection=connection)
            await dialect.setup_asyncpg_json_codec(holder)
            await dialect.setup_asyncpg_jsonb_codec(holder)

        class ReaderConnection(asyncpg.Connection):  # type: ignore[misc]
            # No reset query when a connection goes back to the pool: the reader only runs single
            # SELECTs (no SET, LISTEN or advisory lock to undo; an open transaction is still rolled
            # back). The default `RESET ALL; UNLISTEN *; ...` costs a round trip.
            def get_reset_query(self) -> str:
                return ""

        # min_size=0: the app starts while the database is down; /readyz reports it.
        pool = await asyncpg.create_pool(
            dsn, min_size=0, max_size=max_size, init=init, connection_class=ReaderConnection
        )
        return cls(dialect, pool, pool=pool)

    async def _run(self, method: str, sql: str, args: list[Any]) -> Any:
        async with self._gate:
            if self.pool is None:
                return await getattr(self.executor, method)(sql, *args)
            connection = None
            while self._idle and connection is None:
                kept = self._idle.pop()
                if _usable(kept):
                    connection = kept
                else:
                    await self.pool.release(kept)  # (asyncpg may have taken it back already)
            if connection is None:
                connection = await self.pool.acquire()
            try:
                result = await getattr(connection, method)(sql, *args)
            except BaseException:
                await self.pool.release(connection)
                raise
            self._idle.append(connection)
            return result

    async def one(self, statement: Executable, **params: Any) -> Row | None:
        compiled = self.compiled(statement)
        raw = await self._run("fetchrow", compiled.sql, compiled.bind(params))
        return None if raw is None else compiled.row(raw)

    async def all(self, statement: Executable, **params: Any) -> list[Row]:
        compiled = self.compiled(statement)
        return [compiled.row(raw) for raw in await self._run("fetch", compiled.sql, compiled.bind(params))]

    async def close(self) -> None:
        if self.pool is not None:
            idle, self._idle = self._idle, []
            for connection in idle:
                await self.pool.release(connection)
            await asyncio.wait_for(self.pool.close(), 10)


class Real(TypeDecorator[float]):
    """A floating-point result (`cast(avg(...), Real())`) for statements the reader runs. The
    reader compiles result processors without the column's database type, which the asyncpg
    dialect's Float insists on; both drivers return a float for FLOAT as is, so none is needed."""

    impl = Float
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class joined(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """`joined(column, ",")`: the group's values in one string, as `group_concat` (SQLite) or
    `string_agg` (PostgreSQL). Unlike `func.aggregate_strings`, the separator is part of the
    SQL text, so a statement using it compiles once for the read path."""

    type = String()
    inherit_cache = True
    name = "joined"


@compiles(joined, "sqlite")
def _joined_sqlite(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    column, separator = list(element.clauses)
    return f"group_concat({compiler.process(column, **kw)}, {_sql_literal(separator)})"


@compiles(joined, "postgresql")
def _joined_postgresql(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    column, separator = list(element.clauses)
    return f"string_agg(CAST({compiler.process(column, **kw)} AS TEXT), {_sql_literal(separator)})"


class iso_millis(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """`iso_millis(column)`: a UTC timestamp column as text, `2026-11-26T09:30:00.123Z` (ISO 8601,
    milliseconds, truncated like `datetime.isoformat(timespec="milliseconds")`), formatted by the
    database. Parsing a datetime out of each row only to format it again cost a page of twenty
    SQLite articles a fifth of its instructions (SQLite keeps the text, and parsing it is slow)."""

    type = String()
    inherit_cache = True
    name = "iso_millis"


@compiles(iso_millis, "sqlite")
def _iso_millis_sqlite(element: iso_millis, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, SQLAlchemy's format); a value written without
    # a fraction (`CURRENT_TIMESTAMP`) gets `.000`.
    (column,) = list(element.clauses)
    text = compiler.process(column, **kw)
    return (
        f"(substr({text}, 1, 10) || 'T' || substr({text}, 12, 8) || '.'"
        f" || substr(substr({text}, 21) || '000', 1, 3) || 'Z')"
    )


@compiles(iso_millis, "postgresql")
def _iso_millis_postgresql(element: iso_millis, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    pattern = """'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""
    return f"to_char({compiler.process(column, **kw)} AT TIME ZONE 'UTC', {pattern})"


def _sql_literal(separator: Any) -> str:
    value = separator.value
    if not isinstance(value, str) or "'" in value or "\\" in value:
        raise ValueError("joined() takes a plain string separator")
    return f"'{value}'"
