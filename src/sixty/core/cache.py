"""A small key-value cache with expiry: in-process by default, Redis when `SIXTY_REDIS_URL` is set.

Values are bytes; `incr` is atomic on both backends (the building block of
counters and rate limits).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as redis


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl: float | None = None) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    """An LRU dict with per-key expiry; bounded so it cannot eat the process's memory."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return entry

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return entry[0] if entry else None

    def _store(self, key: str, value: bytes, expires: float | None) -> None:
        self._data[key] = (value, expires)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._store(key, value, time.monotonic() + ttl if ttl else None)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        entry = self._live(key)
        value = int(entry[0]) + 1 if entry else 1
        expires = entry[1] if entry else (time.monotonic() + ttl if ttl else None)
        self._store(key, str(value).encode(), expires)
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


class RedisCache:
    def __init__(self, url: str, *, prefix: str = "sixty:") -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self.client.get(self.prefix + key)  # type: ignore[assignment]  # no decode_responses: bytes
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self.client.set(self.prefix + key, value, px=int(ttl * 1000) if ttl else None)

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        # One round trip: the counter and its expiry (set only when the key is new).
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(self.prefix + key)
            if ttl:
                pipe.pexpire(self.prefix + key, int(ttl * 1000), nx=True)
            results = await pipe.execute()
        return int(results[0])

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


def create_cache(redis_url: str | None, *, prefix: str = "sixty:") -> Cache:
    return RedisCache(redis_url, prefix=prefix) if redis_url else MemoryCache()
