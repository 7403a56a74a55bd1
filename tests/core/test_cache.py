"""The cache: the same behaviour in process (MemoryCache) and on Redis (RedisCache)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from sixty.core.cache import Cache, MemoryCache, RedisCache, create_cache

REDIS_URL = os.environ.get("SIXTY_TEST_REDIS_URL") or None
REQUIRE_SERVICES = os.environ.get("SIXTY_REQUIRE_SERVICES") == "1"


def redis_url_or_skip() -> str:
    if REDIS_URL:
        return REDIS_URL
    message = "SIXTY_TEST_REDIS_URL is not set"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, but SIXTY_REQUIRE_SERVICES=1 requires Redis")
    pytest.skip(message)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        memory = MemoryCache()
        yield memory
        await memory.close()
        return
    prefix = f"test:{uuid4().hex}:"
    redis_cache = RedisCache(redis_url_or_skip(), prefix=prefix)
    try:
        yield redis_cache
    finally:
        keys = [key async for key in redis_cache.client.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis_cache.client.delete(*keys)
        await redis_cache.close()


async def test_get_set_delete(cache: Cache) -> None:
    assert await cache.get("missing") is None
    await cache.set("greeting", b"hello")
    assert await cache.get("greeting") == b"hello"
    await cache.set("greeting", b"bonjour")
    assert await cache.get("greeting") == b"bonjour"
    await cache.delete("greeting")
    assert await cache.get("greeting") is None
    await cache.delete("greeting")  # deleting a missing key is fine


async def test_values_are_bytes(cache: Cache) -> None:
    value = bytes(range(256))
    await cache.set("binary", value)
    assert await cache.get("binary") == value


async def test_keys_are_independent(cache: Cache) -> None:
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.delete("a")
    assert await cache.get("a") is None
    assert await cache.get("b") == b"2"


async def test_set_with_ttl_expires(cache: Cache) -> None:
    await cache.set("short", b"v", ttl=0.05)
    await cache.set("long", b"v")
    assert await cache.get("short") == b"v"
    await asyncio.sleep(0.1)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"v"


async def test_set_without_ttl_clears_a_previous_ttl(cache: Cache) -> None:
    await cache.set("key", b"old", ttl=0.05)
    await cache.set("key", b"new")
    await asyncio.sleep(0.1)
    assert await cache.get("key") == b"new"


async def test_incr_counts_from_one(cache: Cache) -> None:
    assert [await cache.incr("hits") for _ in range(3)] == [1, 2, 3]
    assert await cache.get("hits") == b"3"
    assert await cache.incr("other") == 1


async def test_incr_keeps_the_ttl_of_the_first_incr(cache: Cache) -> None:
    assert await cache.incr("window", ttl=0.5) == 1
    await asyncio.sleep(0.3)
    assert await cache.incr("window", ttl=0.5) == 2  # does not push the expiry back
    assert await cache.incr("window", ttl=0.5) == 3
    await asyncio.sleep(0.3)  # 0.6s after the first incr, 0.3s after the last
    assert await cache.get("window") is None
    assert await cache.incr("window", ttl=0.5) == 1  # a new window


async def test_incr_is_atomic_under_concurrency(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.incr("concurrent", ttl=10) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
    assert await cache.get("concurrent") == b"50"


async def test_ping(cache: Cache) -> None:
    await cache.ping()


async def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_entries=3)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("c", b"3")
    assert await cache.get("a") == b"1"  # "b" is now the least recently used
    await cache.set("d", b"4")
    assert await cache.get("b") is None
    assert [await cache.get(key) for key in ("a", "c", "d")] == [b"1", b"3", b"4"]

    await cache.set("a", b"one")  # overwriting refreshes too: "c" is the oldest now
    await cache.set("e", b"5")
    assert await cache.get("c") is None
    assert [await cache.get(key) for key in ("a", "d", "e")] == [b"one", b"4", b"5"]


async def test_memory_cache_stays_bounded_when_counting() -> None:
    cache = MemoryCache(max_entries=3)
    for index in range(10):
        assert await cache.incr(f"counter:{index}", ttl=60) == 1
    alive = [index for index in range(10) if await cache.get(f"counter:{index}") is not None]
    assert len(alive) <= 3


async def test_memory_cache_close_empties_it() -> None:
    cache = MemoryCache()
    await cache.set("k", b"v")
    await cache.close()
    assert await cache.get("k") is None


@pytest.mark.services
async def test_redis_cache_uses_its_prefix() -> None:
    url = redis_url_or_skip()
    prefix = f"test:{uuid4().hex}:"
    first = RedisCache(url, prefix=prefix + "a:")
    second = RedisCache(url, prefix=prefix + "b:")
    try:
        await first.set("key", b"from first")
        assert await second.get("key") is None
        assert await first.client.get(f"{prefix}a:key") == b"from first"
    finally:
        await first.delete("key")
        await first.close()
        await second.close()


async def test_create_cache_without_url_is_in_process() -> None:
    cache = create_cache(None)
    assert isinstance(cache, MemoryCache)
    assert isinstance(create_cache(""), MemoryCache)


async def test_create_cache_with_url_is_redis() -> None:
    cache = create_cache("redis://127.0.0.1:6379/0", prefix="custom:")
    try:
        assert isinstance(cache, RedisCache)
        assert cache.prefix == "custom:"
    finally:
        await cache.close()  # never connected: closing is still clean
