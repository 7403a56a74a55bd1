"""The platform's client for outside services (weather, exchange rates, LLM endpoints).

One `HttpClient` per app (`app.state.http`, `HttpClientDep`; closed on shutdown) wraps an
`httpx.AsyncClient` with what a call to someone else's server needs:

- explicit timeouts: connect and read per attempt, and a total for the whole call, retries
  and the waits between them included;
- retries of idempotent requests on connection errors, timeouts and 429/502/503/504, with
  exponential backoff and full jitter, honouring `Retry-After` up to a cap (tenacity does the
  bookkeeping); a call never sleeps past its total budget; a request that may not be repeated
  (POST) is retried only when it never reached the server (connect errors);
- a circuit breaker per host: after `breaker_threshold` failed calls in a row, calls fail at
  once for `breaker_cooldown` seconds, then one trial call decides whether it closes again;
- a bound on the size of a response body;
- one exception, `UpstreamError`, with a `reason` (`timeout`, `unavailable`, `bad_response`).
  It is a `Problem`: unless a module handles it (serving stale data, say), the platform
  answers it as a 503 (timeout, unavailable) or 502 (bad response) problem document.

`get_json`, `post_json` and `get_xml` add the decoding (XML through defusedxml: no DTDs, no
entities from a server we do not control).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import math
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from xml.etree.ElementTree import Element, ParseError

import httpx
import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from fastapi import Depends, Request
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from sixty import __version__
from sixty.core.config import Settings
from sixty.core.errors import Problem
from sixty.core.i18n import N_

logger = logging.getLogger("sixty.http")

Reason = Literal["timeout", "unavailable", "bad_response"]

# Methods a server must treat as safe to repeat (RFC 9110, section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Answers that say "not now": worth another try after a pause.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

_DETAILS: dict[Reason, str] = {
    "timeout": N_("{service} did not answer in time; try again later."),
    "unavailable": N_("{service} is unavailable right now; try again later."),
    "bad_response": N_("{service} sent an answer that could not be used."),
}


class UpstreamError(Problem):
    """An outside service failed us. `reason` says how; `cause` (for logs) says what happened."""

    def __init__(
        self,
        reason: Reason,
        *,
        service: str,
        cause: str = "",
        upstream_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else None
        super().__init__(_DETAILS[reason], code=f"upstream_{reason}", headers=headers, service=service)
        self.reason: Reason = reason
        self.service = service
        self.cause = cause
        self.upstream_status = upstream_status
        self.retry_after = retry_after
        if reason == "bad_response":
            self.status, self.title = 502, N_("Bad gateway")
        else:
            self.status, self.title = 503, N_("Service unavailable")

    def __str__(self) -> str:
        status = f" (HTTP {self.upstream_status})" if self.upstream_status else ""
        return f"{self.service}: {self.reason}{status}: {self.cause}"


class _RetryableStatus(Exception):
    """A 429/502/503/504 answer, raised inside the retry loop so tenacity sees it."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


class _TooLarge(Exception):
    pass


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delay-seconds or an HTTP-date (RFC 9110, 10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" in the date: UTC, says RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class CircuitBreaker:
    """Closed -> open after `threshold` failures in a row -> after `cooldown`, half-open: one trial
    call goes through (the others still fail fast); its success closes, its failure reopens."""

    threshold: int
    cooldown: float
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def allow(self) -> bool:
        if self.threshold <= 0 or self.opened_at is None:
            return True
        if self.clock() - self.opened_at < self.cooldown or self.trial_running:
            return False
        self.trial_running = True
        return True

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_running = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        self.trial_running = False
        if self.threshold > 0 and (self.failures >= self.threshold or self.opened_at is not None):
            self.opened_at = self.clock()

    def abandoned(self) -> None:
        """A trial call ended without a verdict (cancelled): let the next one try."""
        self.trial_running = False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_base: float = 0.25  # the first retry waits up to this, then 2x, 4x... (full jitter)
    backoff_max: float = 4.0
    retry_after_cap: float = 10.0  # a longer Retry-After is not waited for: the call fails at once


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The system's CA bundle (or SSL_CERT_FILE), loaded once per process: loading it takes ~80 ms
    of the event loop, which a client made per job (currency refresh) otherwise paid each time."""
    return httpx.create_ssl_context()


@dataclass
class HttpClient:
    """See the module docstring. Build it with `from_settings`; `aclose()` when done."""

    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    max_response_bytes: int = 32 * 1024 * 1024
    user_agent: str = f"Sixty/{__version__}"
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient = field(init=False, repr=False)
    _breakers: dict[str, CircuitBreaker] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            headers={"User-Agent": self.user_agent},
            follow_redirects=True,
            transport=self.transport,
            verify=shared_ssl_context(),
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> HttpClient:
        options: dict[str, Any] = {
            "connect_timeout": settings.http_connect_timeout,
            "read_timeout": settings.http_read_timeout,
            "total_timeout": settings.http_total_timeout,
            "retry": RetryPolicy(
                max_attempts=settings.http_max_attempts,
                backoff_base=settings.http_backoff_base,
                backoff_max=settings.http_backoff_max,
                retry_after_cap=settings.http_retry_after_cap,
            ),
            "breaker_threshold": settings.http_breaker_threshold,
            "breaker_cooldown": settings.http_breaker_cooldown.total_seconds(),
            "max_response_bytes": settings.http_max_response_bytes,
            "user_agent": settings.http_user_agent or default_user_agent(settings),
        }
        return cls(**{**options, **overrides})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def breaker(self, host: str) -> CircuitBreaker:
        if host not in self._breakers:
            self._breakers[host] = CircuitBreaker(self.breaker_threshold, self.breaker_cooldown)
        return self._breakers[host]

    async def request(
        self,
        method: str,
        url: str,
        *,
        service: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        idempotent: bool | None = None,
        read_timeout: float | None = None,
        total_timeout: float | None = None,
    ) -> httpx.Response:
        """One call, retried as the policy says. Answers the response (any status but the retried
        ones) or raises `UpstreamError`. `service` names the server in messages (default: its host)."""
        method = method.upper()
        host = httpx.URL(url).host
        service = service or host
        breaker = self.breaker(host)
        if not breaker.allow():
            raise UpstreamError(
                "unavailable", service=service, cause="circuit open", retry_after=breaker.retry_after()
            )
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        budget = total_timeout or self.total_timeout
        timeout = httpx.Timeout(read_timeout or self.read_timeout, connect=self.connect_timeout)
        send_options: dict[str, Any] = {
            "params": params,
            "headers": headers,
            "json": json,
            "content": content,
            "timeout": timeout,
        }
        verdict = False
        try:
            async with asyncio.timeout(budget):
                response = await self._send_with_retries(method, url, send_options, repeatable, budget)
            verdict = True
            breaker.succeeded()
            return response
        except BaseException as error:
            upstream = self._as_upstream_error(error, service=service, budget=budget)
            if upstream is None:
                raise
            verdict = True
            breaker.failed()
            logger.warning(
                "outside call failed",
                extra={
                    "service": service,
                    "method": method,
                    "reason": upstream.reason,
                    "cause": upstream.cause,
                },
            )
            raise upstream from error
        finally:
            if not verdict:
                breaker.abandoned()

    def _as_upstream_error(
        self, error: BaseException, *, service: str, budget: float
    ) -> UpstreamError | None:
        if isinstance(error, TimeoutError | httpx.TimeoutException):
            cause = str(error) or f"no answer within {budget:g}s"
            return UpstreamError("timeout", service=service, cause=cause)
        if isinstance(error, _RetryableStatus):
            return UpstreamError(
                "unavailable",
                service=service,
                cause=str(error),
                upstream_status=error.response.status_code,
                retry_after=error.retry_after,
            )
        if isinstance(error, _TooLarge):
            return UpstreamError("bad_response", service=service, cause=str(error))
        if isinstance(error, httpx.TransportError | httpx.InvalidURL):
            return UpstreamError("unavailable", service=service, cause=f"{type(error).__name__}: {error}")
        return None

    async def _send_with_retries(
        self, method: str, url: str, options: dict[str, Any], repeatable: bool, budget: float
    ) -> httpx.Response:
        policy = self.retry
        backoff = wait_random_exponential(multiplier=policy.backoff_base, max=policy.backoff_max)

        def should_retry(error: BaseException) -> bool:
            if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
                return True  # the request never reached the server: safe to send even a POST again
            if not repeatable:
                return False
            if isinstance(error, _RetryableStatus):
                return error.retry_after is None or error.retry_after <= policy.retry_after_cap
            return isinstance(error, httpx.TransportError)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _RetryableStatus) and error.retry_after is not None:
                return error.retry_after
            return float(backoff(state))

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.info(
                "retrying outside call",
                extra={"url": url, "attempt": state.attempt_number, "error": repr(error)},
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(budget),
            wait=wait,
            retry=retry_if_exception(should_retry),
            before_sleep=log_retry,
            reraise=True,
        )
        response: httpx.Response = await retrying(self._send_once, method, url, options)
        return response

    async def _send_once(self, method: str, url: str, options: dict[str, Any]) -> httpx.Response:
        async with self._client.stream(method, url, **options) as response:
            if response.status_code in RETRY_STATUSES:
                raise _RetryableStatus(response, parse_retry_after(response.headers.get("Retry-After")))
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise _TooLarge(f"response larger than {self.max_response_bytes} bytes")
        # The body is decoded already: drop the headers that describe its encoding on the wire.
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=response.request
        )

    # Decoding helpers: a non-2xx answer or an undecodable body is a `bad_response`.

    def _checked(self, response: httpx.Response, service: str | None) -> httpx.Response:
        if not response.is_success:
            raise UpstreamError(
                "bad_response",
                service=service or response.request.url.host,
                cause=f"HTTP {response.status_code}: {response.text[:200]}",
                upstream_status=response.status_code,
            )
        return response

    def _json(self, response: httpx.Response, service: str | None) -> Any:
        try:
            return orjson.loads(self._checked(response, service).content)
        except orjson.JSONDecodeError as error:
            raise UpstreamError(
                "bad_response", service=service or response.request.url.host, cause=f"invalid JSON: {error}"
            ) from error

    async def get_json(self, url: str, *, service: str | None = None, **options: Any) -> Any:
        headers = {"Accept": "application/json", **options.pop("headers", {})}
        response = await self.request("GET", url, service=service, headers=headers, **options)
        return self._json(response, service)

    async def post_json(self, url: str, body: Any, *, service: str | None = None, **options: Any) -> Any:
        headers = {"Accept": "application/json", **options.pop("headers", {})}
        response = await self.request("POST", url, service=service, json=body, headers=headers, **options)
        return self._json(response, service)

    async def get_xml(self, url: str, *, service: str | None = None, **options: Any) -> Element:
        headers = {"Accept": "application/xml, text/xml", **options.pop("headers", {})}
        response = self._checked(
            await self.request("GET", url, service=service, headers=headers, **options), service
        )
        try:
            root: Element = parse_xml(response.content, forbid_dtd=True)
        except (ParseError, DefusedXmlException) as error:
            raise UpstreamError(
                "bad_response", service=service or response.request.url.host, cause=f"invalid XML: {error}"
            ) from error
        return root


def default_user_agent(settings: Settings) -> str:
    """`Sixty/<version>`, with the deployment's address when known (so an operator can reach us)."""
    contact = f"(+{settings.public_base_url}) " if settings.public_base_url else ""
    return f"Sixty/{__version__} {contact}python-httpx/{httpx.__version__}"


async def get_http_client(request: Request) -> HttpClient:
    client: HttpClient = request.app.state.http
    return client


HttpClientDep = Annotated[HttpClient, Depends(get_http_client)]
