"""The read path's PostgreSQL pool (core/reader.py), on a real server."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.engine import make_url

from sixty.core.config import Settings
from sixty.core.db import create_engine
from sixty.core.reader import AsyncpgReader

ONE = select(literal(1).label("one"))
FAILING = select(text("1 / 0 AS boom"))


async def test_pooled_reads_skip_the_reset_query_and_survive_errors(settings: Settings) -> None:
    if not settings.database_url or not settings.database_url.startswith("postgresql"):
        pytest.skip("the asyncpg pool is PostgreSQL's")
    engine = create_engine(settings)
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    reader = await AsyncpgReader.open(engine.dialect, dsn, max_size=1)
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
        await engine.dispose()
