"""What a rate limit decision costs: in process, and on Redis beside a plain PING.

A decision on Redis is one EVALSHA, so its latency should sit next to one PING round
trip; `commands/decision` (from the server's own counter) shows it. See benchmarks/README.md.

    .venv/bin/python benchmarks/ratelimit.py [--decisions N] [--concurrency C] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

from sixty.core.ratelimit import MemoryRateLimiter, RateLimits, RedisRateLimiter, rate_policy

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
KEYS = 1_000  # distinct clients, so states are created, updated and expire as in real traffic
POLICY = rate_policy("bench.decision", "100/second")
SECRET = "benchmark-secret-" + "x" * 32


def row(name: str, count: int, seconds: float, latencies: list[float] | None = None, note: str = "") -> None:
    """Decisions per second, the mean time per decision (amortized when concurrent), and the
    median and 99th percentile of single calls when they were timed one by one."""
    cells = [f"{name:<32}", f"{count / seconds:>10,.0f}/s", f"{seconds / count * 1e6:>8.1f}"]
    if latencies:
        ordered = sorted(latencies)
        cells += [
            f"{statistics.median(ordered) * 1e6:>8.1f}",
            f"{ordered[int(len(ordered) * 0.99)] * 1e6:>8.1f}",
        ]
    else:
        cells += [f"{'-':>8}", f"{'-':>8}"]
    print(" ".join([*cells, note]).rstrip(), flush=True)


async def sequential(call: Callable[[int], Awaitable[object]], count: int) -> tuple[float, list[float]]:
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        before = time.perf_counter()
        await call(index)
        latencies.append(time.perf_counter() - before)
    return time.perf_counter() - started, latencies


async def concurrent(call: Callable[[int], Awaitable[object]], count: int, tasks: int) -> float:
    async def worker(offset: int) -> None:
        for index in range(offset, count, tasks):
            await call(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker(offset) for offset in range(tasks)))
    return time.perf_counter() - started


async def command_counts(client: redis.Redis) -> tuple[int, int]:
    """(EVALSHA calls, all commands) the server has run; the second includes those a script runs."""
    stats = await client.info("commandstats")
    total = await client.info("stats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0)), int(total["total_commands_processed"])


async def bench_memory(count: int) -> None:
    store = MemoryRateLimiter()
    limits = RateLimits(store, secret=SECRET)
    limit = limits.limit(POLICY)
    seconds, _ = await sequential(lambda i: store.hit(POLICY.name, str(i % KEYS), limit), count)
    row("memory: store.hit", count, seconds)
    seconds, _ = await sequential(lambda i: limits.check(POLICY, str(i % KEYS)), count)
    row("memory: RateLimits.check", count, seconds, note="(hashes the key too)")


async def bench_redis(url: str, count: int, tasks: int) -> None:
    store = RedisRateLimiter(url, prefix=f"bench:{uuid.uuid4().hex}:", timeout=2.0)
    limits = RateLimits(store, secret=SECRET, fail_open=False)
    probe = redis.Redis.from_url(url)
    try:
        await store.client.ping()
        await limits.check(POLICY, "warm-up")  # connects and loads the script

        seconds, latencies = await sequential(lambda _i: store.client.ping(), count)
        row("redis: PING (one round trip)", count, seconds, latencies)

        evalsha_before, total_before = await command_counts(probe)
        seconds, latencies = await sequential(lambda i: limits.check(POLICY, str(i % KEYS)), count)
        evalsha_after, total_after = await command_counts(probe)
        # The probe's own two INFOs are counted; other clients of the server would add noise.
        evalsha = (evalsha_after - evalsha_before) / count
        in_script = (total_after - total_before - 2) / count - evalsha
        note = f"{evalsha:.2f} EVALSHA/decision (+{in_script:.2f} run inside it: TIME, GET, SET)"
        row("redis: RateLimits.check", count, seconds, latencies, note)

        seconds = await concurrent(lambda _i: store.client.ping(), count, tasks)
        row(f"redis: PING, {tasks} concurrent", count, seconds)
        seconds = await concurrent(lambda i: limits.check(POLICY, str(i % KEYS)), count, tasks)
        row(f"redis: check, {tasks} concurrent", count, seconds)
    finally:
        keys = [key async for key in probe.scan_iter(match=f"{store.prefix}*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
        await limits.close()


async def run(options: argparse.Namespace) -> None:
    print(f"{'measure':<32} {'rate':>12} {'mean µs':>8} {'p50 µs':>8} {'p99 µs':>8}")
    await bench_memory(options.decisions)
    try:
        await bench_redis(options.redis, options.decisions, options.concurrency)
    except (RedisError, OSError) as error:
        print(f"redis: skipped, {options.redis} does not answer ({error})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=20_000, help="decisions per measure (default 20000)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="tasks in the concurrent runs (default 32)"
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("SIXTY_BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help=f"Redis URL (default $SIXTY_BENCH_REDIS_URL or {DEFAULT_REDIS_URL})",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
