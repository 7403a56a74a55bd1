"""Wires the shortener into the app: the link policy, the redirect cache and resolver, the
redirect's fast path, and the click recorder, whose periodic flush runs while the app does and
which is flushed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.modules import StartupHook
from sixty.shortener.clicks import ClickRecorder, CountryLookup
from sixty.shortener.context import Shortener
from sixty.shortener.redirects import LinkCache, LinkResolver
from sixty.shortener.router import RedirectFastPath
from sixty.shortener.service import LinkPolicy


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    db: Database = app.state.db
    shortener = Shortener(
        policy=LinkPolicy.from_settings(settings),
        resolver=LinkResolver(
            db,
            LinkCache(ttl=settings.shortener_cache_ttl.total_seconds(), size=settings.shortener_cache_size),
        ),
        clicks=ClickRecorder(
            max_buffer=settings.shortener_click_buffer_max,
            countries=CountryLookup(settings.shortener_geoip_database),
        ),
    )
    app.state.shortener = shortener
    # `/s/{code}` skips the router: matched last among a hundred-odd routes, it would spend more on
    # matching than on the redirect itself. The middleware sits inside the request context.
    app.add_middleware(RedirectFastPath)
    inner = app.router.lifespan_context
    every = settings.shortener_click_flush_interval.total_seconds()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        # Inside the app's lifespan: the database is connected before and disposed after.
        async with inner(app) as state:
            shortener.clicks.start(db, every)
            try:
                yield state
            finally:
                await shortener.clicks.close(db)

    app.router.lifespan_context = lifespan
    return None
