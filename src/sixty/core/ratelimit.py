"""Rate limits: named policies, two interchangeable stores, and the HTTP pieces around them.

A module declares what it limits, with a default, at import time:

    LOGIN_PER_IP = rate_policy("auth.login.ip", "20/minute")

`SIXTY_RATELIMIT_POLICIES=auth.login.ip=5/minute` overrides it by name. A router then
applies it with the dependency `rate_limit(LOGIN_PER_IP)` (keyed by the client's address),
or, when the key comes from the body, with `await check_rate_limit(request, POLICY, email)`.
Denied requests get a 429 problem document with `Retry-After`; every response of a limited
request carries the `RateLimit-Policy` and `RateLimit` fields of
draft-ietf-httpapi-ratelimit-headers (added by `RequestContextMiddleware`).

The algorithm is GCRA (generic cell rate algorithm), the one of redis-cell and throttled: a
limit of `count/period burst b` is a bucket of `b` requests (default: `count`) refilled at one
request every `period/count`. Per key it stores a single number, the theoretical arrival time
(TAT), which expires on its own once the bucket is full again. The in-process store and the
Redis store (one Lua script, one round trip per decision) run the same integer arithmetic in
microseconds, so they give identical answers.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import redis.asyncio as redis
from fastapi import Depends, Request, params
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from sixty.core.errors import ServiceUnavailable, TooManyRequests, problem_responses
from sixty.core.i18n import N_

if TYPE_CHECKING:
    from sixty.core.config import Settings

logger = logging.getLogger("sixty.ratelimit")

MICROS = 1_000_000
# TATs are integer microseconds; Lua numbers are doubles, exact below 2**53 (285 years of
# microseconds), so a bucket may take at most ~31 years to refill and `now + span` stays exact.
MAX_SPAN_US = 10**15
MAX_COUNT = 1_000_000
MAX_PERIOD_SECONDS = 366 * 86_400

_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3_600, "hour": 3_600, "hours": 3_600,
    "d": 86_400, "day": 86_400, "days": 86_400,
}  # fmt: skip
_UNIT_NAMES = ((86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second"))
_LIMIT = re.compile(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)(?:\s+burst\s+(\d+))?")
# Policy names appear in Redis keys and in quoted structured-field strings: keep them plain.
POLICY_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


# --- limits and policies ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` requests per `period` seconds, at most `burst` of them at once."""

    count: int
    period: int
    burst: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`5/minute`, `100/hour`, `5/15minutes`, `10/second burst 20` (units: second, minute,
        hour, day, or s, m, h, d; case and spaces do not matter)."""
        match = _LIMIT.fullmatch(text.strip().lower())
        if match is None:
            raise ValueError(
                f"invalid rate limit {text!r}: expected COUNT/PERIOD[ burst N], "
                "e.g. '5/minute', '5/15minutes' or '10/second burst 20'"
            )
        count, multiplier, unit, burst = match.groups()
        if unit not in _UNITS:
            raise ValueError(
                f"invalid rate limit {text!r}: unknown unit {unit!r}; use second, minute, hour or day"
            )
        return cls.of(int(count), int(multiplier or 1) * _UNITS[unit], int(burst) if burst else None)

    @classmethod
    def of(cls, count: int, period: int, burst: int | None = None) -> Limit:
        burst = count if burst is None else burst
        if not 1 <= count <= MAX_COUNT or not 1 <= burst <= MAX_COUNT:
            raise ValueError(f"rate limit count and burst must be between 1 and {MAX_COUNT:,}")
        if not 1 <= period <= MAX_PERIOD_SECONDS:
            raise ValueError("rate limit period must be between 1 second and 366 days")
        limit = cls(count, period, burst)
        if limit.burst * limit.interval_us > MAX_SPAN_US:
            raise ValueError(f"rate limit {limit}: a burst this large would take decades to refill")
        return limit

    @property
    def interval_us(self) -> int:
        """The emission interval: one request earns back its slot after this long."""
        return max(1, round(self.period * MICROS / self.count))

    @property
    def window(self) -> int:
        """Seconds a spent bucket takes to fill again: the `w` of `RateLimit-Policy`."""
        return max(1, math.ceil(self.burst * self.interval_us / MICROS))

    def __str__(self) -> str:
        seconds, unit = next((seconds, unit) for seconds, unit in _UNIT_NAMES if self.period % seconds == 0)
        multiple = self.period // seconds
        text = f"{self.count}/{unit}" if multiple == 1 else f"{self.count}/{multiple}{unit}s"
        return text if self.burst == self.count else f"{text} burst {self.burst}"


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """A named limit, declared by the module that enforces it; settings override it by name."""

    name: str
    default: Limit


_DECLARED: dict[str, RatePolicy] = {}


def check_policy_name(name: str) -> str:
    if not POLICY_NAME.fullmatch(name):
        raise ValueError(
            f"invalid rate limit policy name {name!r}: use 1-64 of a-z, 0-9, '.', '_', '-' "
            "(e.g. 'auth.login')"
        )
    return name


def rate_policy(name: str, default: str) -> RatePolicy:
    """Declare a policy (at module level, so a bad default fails at import)."""
    policy = RatePolicy(check_policy_name(name), Limit.parse(default))
    known = _DECLARED.setdefault(name, policy)
    if known != policy:
        raise ValueError(f"rate limit policy {name!r} is already declared as {known.default}")
    return policy


def declared_policies() -> Mapping[str, RatePolicy]:
    return dict(_DECLARED)


def parse_policies(policies: str | Mapping[str, str]) -> dict[str, str]:
    """Policy names to limits, each checked and in canonical form, from a mapping or from the
    form of SIXTY_RATELIMIT_POLICIES: `auth.login=5/minute; auth.otp=5/15minutes`."""
    if not isinstance(policies, str):
        return {check_policy_name(name): str(Limit.parse(str(limit))) for name, limit in policies.items()}
    parsed: dict[str, str] = {}
    for item in policies.split(";"):
        if not item.strip():
            continue
        name, equals, limit = item.partition("=")
        name = name.strip()
        if not equals:
            raise ValueError(f"invalid rate limit policy {item.strip()!r}: expected NAME=LIMIT")
        if name in parsed:
            raise ValueError(f"rate limit policy {name!r} is given twice")
        parsed[check_policy_name(name)] = str(Limit.parse(limit))
    return parsed


# --- decisions and stores ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    policy: str
    limit: Limit
    allowed: bool
    remaining: int  # requests that would be allowed right now, after this one
    reset_after: float  # seconds until the bucket is full again
    retry_after: float  # seconds until a denied request would be allowed (0 when allowed)


class RateLimiterUnavailable(ServiceUnavailable):
    """The store cannot answer. `RateLimits` fails open or raises this (a 503), as configured."""

    def __init__(self) -> None:
        super().__init__(
            N_("Rate limits cannot be checked right now; try again shortly."), headers={"Retry-After": "1"}
        )


class RateLimiter(Protocol):
    """A store of rate limit states. `key` must be safe to embed (`RateLimits` hashes it).
    Raises `RateLimiterUnavailable` when the store cannot answer."""

    async def hit(self, policy: str, key: str, limit: Limit, *, cost: int = 1) -> Decision: ...
    async def reset(self, policy: str, key: str) -> None: ...
    async def close(self) -> None: ...


def gcra(now: int, tat: int | None, interval: int, burst: int, cost: int) -> tuple[int, int, int, int, int]:
    """One GCRA decision in integer microseconds, as the Lua script below computes it.

    Returns (allowed, remaining, reset_after, retry_after, new_tat); when denied, new_tat is the
    unchanged TAT. `//` on integers equals Lua's math.floor of a double division here, since
    every operand stays below 2**53.
    """
    tat = now if tat is None or tat < now else tat
    new_tat = tat + interval * cost
    allow_at = new_tat - interval * burst
    if now < allow_at:
        remaining = max(0, (now - (tat - interval * burst)) // interval)
        return 0, remaining, tat - now, allow_at - now, tat
    return 1, (now - allow_at) // interval, new_tat - now, 0, new_tat


def _micros(seconds: float) -> int:
    return round(seconds * MICROS)


def _decision(policy: str, limit: Limit, allowed: int, remaining: int, reset: int, retry: int) -> Decision:
    return Decision(policy, limit, bool(allowed), int(remaining), reset / MICROS, retry / MICROS)


def _check_cost(limit: Limit, cost: int) -> None:
    if not 1 <= cost <= limit.burst:
        raise ValueError(f"cost must be between 1 and the burst of {limit} ({limit.burst}), not {cost}")


class MemoryRateLimiter:
    """Per process. Expired states are swept every minute, and the store never holds more than
    `max_keys` states: past that the least recently used go first (they fail open)."""

    SWEEP_INTERVAL_US = 60 * MICROS

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._tats: OrderedDict[str, int] = OrderedDict()
        self._next_sweep = 0

    def __len__(self) -> int:
        return len(self._tats)

    async def hit(self, policy: str, key: str, limit: Limit, *, cost: int = 1) -> Decision:
        _check_cost(limit, cost)
        now = _micros(self.clock())
        name = f"{policy}:{key}"
        # No await between reading and writing: on one event loop this is atomic.
        allowed, remaining, reset, retry, new_tat = gcra(
            now, self._tats.get(name), limit.interval_us, limit.burst, cost
        )
        if allowed:
            self._tats[name] = new_tat
            self._tats.move_to_end(name)
        if now >= self._next_sweep or len(self._tats) > self.max_keys:
            self._sweep(now)
        return _decision(policy, limit, allowed, remaining, reset, retry)

    def _sweep(self, now: int) -> None:
        for name in [name for name, tat in self._tats.items() if tat <= now]:
            del self._tats[name]
        # Evict down to 90% so a flood of new keys does not sweep on every hit.
        while len(self._tats) > self.max_keys * 0.9:
            self._tats.popitem(last=False)
        self._next_sweep = now + self.SWEEP_INTERVAL_US

    async def reset(self, policy: str, key: str) -> None:
        self._tats.pop(f"{policy}:{key}", None)

    async def close(self) -> None:
        self._tats.clear()


# KEYS[1]: the state; ARGV: emission interval (µs), burst, cost, and the time (µs) or "" for
# the server's clock. Redis's own clock is the default, so every app process agrees on "now"
# whatever their clock skew; tests pass the time to replay a sequence exactly. Since Redis 5
# a script's writes (not the script) are replicated, so reading TIME before a write is allowed;
# older servers need replicate_commands(). Numbers are formatted with %.0f because Lua's
# tostring() would write large ones in exponent notation and lose digits.
GCRA_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - interval * burst
if now < allow_at then
  local remaining = math.max(0, math.floor((now - (tat - interval * burst)) / interval))
  return {0, remaining, string.format('%.0f', tat - now), string.format('%.0f', allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), string.format('%.0f', new_tat - now), '0'}
"""


class RedisRateLimiter:
    """Shared by every process using the same Redis: one EVALSHA per decision, no retries, and
    short timeouts, so an outage costs a request at most `timeout` seconds."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "sixty:rl:",
        timeout: float = 0.25,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self.prefix = prefix
        self.clock = clock
        self._script = self.client.register_script(GCRA_SCRIPT)

    async def hit(self, policy: str, key: str, limit: Limit, *, cost: int = 1) -> Decision:
        _check_cost(limit, cost)
        now = "" if self.clock is None else _micros(self.clock())
        try:
            allowed, remaining, reset, retry = await self._script(
                keys=[f"{self.prefix}{policy}:{key}"], args=[limit.interval_us, limit.burst, cost, now]
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable from exc
        return _decision(policy, limit, allowed, remaining, int(reset), int(retry))

    async def reset(self, policy: str, key: str) -> None:
        try:
            await self.client.delete(f"{self.prefix}{policy}:{key}")
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable from exc

    async def close(self) -> None:
        await self.client.aclose()


# --- the app's rate limits -----------------------------------------------------------------------


class RateLimits:
    """What `app.state.rate_limits` holds: the store, the limits in force, and what to do
    when the store is down.

    Keys (addresses, emails, user ids) are hashed with a secret before they reach the store:
    user input cannot shape a Redis key, two policies never share a state, and the store holds
    no personal data in the clear.
    """

    OUTAGE_PAUSE_SECONDS = 1.0  # after a failure, skip the store this long: no timeout per request
    OUTAGE_LOG_INTERVAL_SECONDS = 30.0

    def __init__(
        self,
        store: RateLimiter,
        *,
        secret: str,
        overrides: Mapping[str, str] | None = None,
        enabled: bool = True,
        fail_open: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.enabled = enabled
        self.fail_open = fail_open
        self.overrides = {name: Limit.parse(text) for name, text in parse_policies(overrides or {}).items()}
        self.clock = clock
        self._hash_key = hashlib.blake2b(secret.encode(), digest_size=32, person=b"sixty.ratelimit").digest()
        self._paused_until = 0.0
        self._failures = 0
        self._last_outage_log: float | None = None

    def limit(self, policy: RatePolicy) -> Limit:
        return self.overrides.get(policy.name, policy.default)

    def warn_about_unknown_overrides(self) -> None:
        """Log overridden names that no imported module declares (typos, or unserved modules)."""
        if unknown := sorted(self.overrides.keys() - _DECLARED.keys()):
            logger.warning("SIXTY_RATELIMIT_POLICIES names undeclared policies", extra={"policies": unknown})

    def storage_key(self, key: str) -> str:
        return hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=16, key=self._hash_key
        ).hexdigest()

    async def check(self, policy: RatePolicy, key: str, *, cost: int = 1) -> Decision | None:
        """Count one request (or `cost`) of `key` against `policy`. None when nothing was
        decided: limits are disabled, or the store is down and the limiter fails open."""
        if not self.enabled:
            return None
        now = self.clock()
        if now >= self._paused_until:
            try:
                decision = await self.store.hit(
                    policy.name, self.storage_key(key), self.limit(policy), cost=cost
                )
            except RateLimiterUnavailable as exc:
                self._failures += 1
                self._outage(now, exc)
            else:
                self._recovered()
                return decision
        else:
            self._failures += 1
        if not self.fail_open:
            raise RateLimiterUnavailable
        return None

    async def reset(self, policy: RatePolicy, key: str) -> None:
        """Forget `key`'s state (e.g. the failed logins of an address once one succeeds).
        Best effort: an unavailable store is logged, not raised."""
        if not self.enabled:
            return
        now = self.clock()
        if now >= self._paused_until:
            try:
                await self.store.reset(policy.name, self.storage_key(key))
            except RateLimiterUnavailable as exc:
                self._outage(now, exc)
            else:
                self._recovered()

    def _outage(self, now: float, error: RateLimiterUnavailable) -> None:
        """Stop asking the store for a moment, and say so in the log at most every 30 s."""
        self._paused_until = now + self.OUTAGE_PAUSE_SECONDS
        if self._last_outage_log is None or now - self._last_outage_log >= self.OUTAGE_LOG_INTERVAL_SECONDS:
            self._last_outage_log = now
            logger.warning(
                "rate limiter store unavailable; %s",
                "allowing requests (fail open)" if self.fail_open else "refusing requests (fail closed)",
                extra={"undecided_checks": self._failures, "error": repr(error.__cause__ or error)},
            )

    def _recovered(self) -> None:
        if self._last_outage_log is not None:
            logger.info("rate limiter store answers again", extra={"undecided_checks": self._failures})
            self._failures, self._last_outage_log = 0, None

    async def close(self) -> None:
        await self.store.close()


def create_rate_limits(settings: Settings) -> RateLimits:
    url = settings.ratelimit_redis_url or settings.redis_url
    store: RateLimiter
    if url and settings.ratelimit_enabled:
        store = RedisRateLimiter(url, prefix=settings.ratelimit_prefix, timeout=settings.ratelimit_timeout)
    else:
        store = MemoryRateLimiter()
    return RateLimits(
        store,
        secret=settings.secret_key,
        overrides=settings.ratelimit_policies,
        enabled=settings.ratelimit_enabled,
        fail_open=settings.ratelimit_fail_open,
    )


# --- HTTP ----------------------------------------------------------------------------------------

STATE_KEY = "rate_limit_decisions"


def get_rate_limits(request: Request) -> RateLimits:
    rate_limits: RateLimits = request.app.state.rate_limits
    return rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


def client_ip(request: Request) -> str:
    """The client's address (uvicorn has already applied trusted proxies' `X-Forwarded-For`).
    IPv6 clients are keyed by their /64, since one subscriber usually holds a whole /64."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def check_rate_limit(
    request: Request, policy: RatePolicy, key: str, *, cost: int = 1
) -> Decision | None:
    """Count this request against `policy` for `key`; raise a 429 when the limit is reached.

    For keys from the body (an email in a login payload); `rate_limit()` covers the rest.
    The decision's headers are added to the response, whatever it turns out to be.
    """
    decision = await get_rate_limits(request).check(policy, key, cost=cost)
    if decision is None:
        return None
    decisions: dict[str, Decision] = request.scope.setdefault("state", {}).setdefault(STATE_KEY, {})
    known = decisions.get(policy.name)
    if known is None or decision.remaining <= known.remaining:  # report the tightest key
        decisions[policy.name] = decision
    if not decision.allowed:
        seconds = max(1, math.ceil(decision.retry_after))
        raise TooManyRequests(
            N_("Too many requests; try again in {seconds} second(s)."),
            headers={"Retry-After": str(seconds)},
            seconds=seconds,
        )
    return decision


def rate_limit(policy: RatePolicy, *, key: Callable[[Request], str] = client_ip) -> params.Depends:
    """A route dependency: `dependencies=[rate_limit(SEARCH, key=client_ip)]`."""

    async def limited(request: Request) -> None:
        await check_rate_limit(request, policy, key(request))

    return params.Depends(limited)


def rate_limit_headers(decisions: Iterable[Decision]) -> list[tuple[bytes, bytes]]:
    """`RateLimit-Policy` and `RateLimit` (structured-field lists) for `decisions`."""
    policies, states = [], []
    for decision in decisions:
        name, limit = decision.policy, decision.limit
        policies.append(f'"{name}";q={limit.burst};w={limit.window}')
        states.append(f'"{name}";r={decision.remaining};t={math.ceil(decision.reset_after)}')
    if not policies:
        return []
    return [
        (b"ratelimit-policy", ", ".join(policies).encode("ascii")),
        (b"ratelimit", ", ".join(states).encode("ascii")),
    ]


def response_headers(scope: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The rate limit fields for the response to the request of `scope` (none if unlimited)."""
    decisions: dict[str, Decision] | None = scope.get("state", {}).get(STATE_KEY)
    return rate_limit_headers(decisions.values()) if decisions else []


_HEADER_DOCS = {
    "RateLimit-Policy": 'The limits that apply: `"auth.login";q=5;w=60` is 5 requests per 60 s '
    "(draft-ietf-httpapi-ratelimit-headers).",
    "RateLimit": 'What is left of each: `"auth.login";r=0;t=37` is 0 requests left, all back in 37 s.',
}


def rate_limit_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for a rate-limited route: 429, and 503 when the limiter
    is configured to fail closed and its store is down."""
    responses = problem_responses(429, 503)
    responses[429]["headers"] = {
        "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
        **{name: {"description": text, "schema": {"type": "string"}} for name, text in _HEADER_DOCS.items()},
    }
    return responses
