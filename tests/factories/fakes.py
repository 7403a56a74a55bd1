"""Helpers for tests of modules that call outside services through local fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import redis.asyncio as redis
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pytest_httpserver import HTTPServer

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app


@contextmanager
def local_server() -> Iterator[HTTPServer]:
    """A real HTTP server on 127.0.0.1, answering in threads (a stalled answer must not hold up
    the next connection)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


async def forget_cached(settings: Settings, pattern: str) -> None:
    """Delete the cache keys matching `pattern` (after the `sixty:` prefix) when the cache is Redis."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        async for key in client.scan_iter(f"sixty:{pattern}"):
            await client.delete(key)
        await client.aclose()


@asynccontextmanager
async def app_client(settings: Settings, db: Database, *, cached: str) -> AsyncIterator[AsyncClient]:
    """The app of `settings` on the test's database, running, with a client; its cache keys
    matching `cached` forgotten first (Redis outlives each test's app)."""
    await forget_cached(settings, cached)
    app: FastAPI = create_app(settings, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client
