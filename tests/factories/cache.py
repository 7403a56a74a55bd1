"""The app's cache in tests: Redis outlives each test's app, so tests start without their keys."""

from __future__ import annotations

import redis.asyncio as redis

from sixty.core.config import Settings


async def forget_cached(settings: Settings, pattern: str) -> None:
    """Delete the cache keys matching `pattern` (after the `sixty:` prefix) when the cache is Redis."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        async for key in client.scan_iter(f"sixty:{pattern}"):
            await client.delete(key)
        await client.aclose()
