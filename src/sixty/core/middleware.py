"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request).

`RequestContextMiddleware` gives every request an id and a locale, adds the
response headers every answer carries (and the rate limit fields of limited
routes), feeds Prometheus and writes the access log, all in one layer, since
every layer costs on every request.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware as StarletteGZipMiddleware
from starlette.middleware.gzip import GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sixty.core import ratelimit
from sixty.core.i18n import current_locale, negotiate
from sixty.core.logging import request_id_var

access_logger = logging.getLogger("sixty.access")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
HSTS_HEADER = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Request id in and out, negotiated locale, security headers, metrics and the access log."""

    def __init__(
        self, app: ASGIApp, *, default_locale: str, access_log: bool, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.default_locale = default_locale
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming_id = _header(scope, b"x-request-id")
        if incoming_id and _VALID_REQUEST_ID.match(incoming_id):
            request_id = incoming_id
        else:  # 128 random bits as 32 hex digits: uuid4().hex without building a UUID (1 us, not 3)
            request_id = secrets.token_hex(16)
        locale = negotiate(_header(scope, b"accept-language"), self.default_locale)
        scope.setdefault("state", {})["request_id"] = request_id
        id_token = request_id_var.set(request_id)
        locale_token = current_locale.set(locale)
        extra_headers = [
            (b"x-request-id", request_id.encode("latin-1")),
            (b"content-language", locale.encode("latin-1")),
            *SECURITY_HEADERS,
        ]
        if scope.get("scheme") == "https":
            extra_headers.append(HSTS_HEADER)
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    *extra_headers,
                    *ratelimit.response_headers(scope),  # decisions of rate_limit()/check_rate_limit()
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route_template(scope), status, elapsed)
            if self.access_log:
                access_logger.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
            current_locale.reset(locale_token)
            request_id_var.reset(id_token)


class Metrics:
    """The platform's Prometheus instruments, in a registry of their own per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # .labels() is slow; resolve each label set once
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/notes/{note_id}`), so ids don't explode label cardinality."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "<unmatched>"


NO_COMPRESSION_SCOPE_KEY = "sixty.no_compression"


def skip_compression(scope: Scope) -> None:
    """Send this request's response as the route made it (file downloads: their length, ranges
    and ETag describe the bytes as stored, and compressing gigabytes costs a core)."""
    scope[NO_COMPRESSION_SCOPE_KEY] = True


class _SkippableGZipResponder(GZipResponder):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.request_scope = scope
        await super().__call__(scope, receive, send)

    async def send_with_compression(self, message: Message) -> None:
        if self.request_scope.get(NO_COMPRESSION_SCOPE_KEY):
            await self.send(message)
        else:
            await super().send_with_compression(message)


class GZipMiddleware(StarletteGZipMiddleware):
    """Starlette's gzip, minus its per-request work when the client does not accept gzip, and
    skipped for responses whose route called `skip_compression`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            accept = _header(scope, b"accept-encoding")
            if accept is not None and "gzip" in accept:
                await _SkippableGZipResponder(self.app, self.minimum_size, compresslevel=self.compresslevel)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


BODY_LIMIT_SCOPE_KEY = "sixty.max_body_bytes"


class BodyTooLarge(HTTPException):
    """Raised from `receive()`; an HTTPException so FastAPI's body parsing lets it through."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def raise_body_limit(scope: Scope, max_bytes: int) -> None:
    """Let one request's body grow to `max_bytes` (streaming routes call this before reading)."""
    scope[BODY_LIMIT_SCOPE_KEY] = max_bytes


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413: at once when Content-Length says so, else
    as soon as the streamed bytes pass it. Nothing is buffered here."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[BODY_LIMIT_SCOPE_KEY] = self.max_bytes
        declared = _header(scope, b"content-length")
        if declared is None and _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body (RFC 9112 6.3): nothing to count
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            limit: int = scope[BODY_LIMIT_SCOPE_KEY]
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        await self.app(scope, limited_receive, send)


# A comma-separated list of header names (RFC 9110 tokens): what a preflight may ask for.
_HEADER_NAMES = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$")


class OpenCORSMiddleware:
    """Cross-origin access from any origin, for the routes under `prefix` only.

    For a spec that requires open CORS (Todo-Backend): the platform's own CORS comes from
    settings and still governs every other path. Installed by the module's `setup.py`; `main`
    places module middleware just inside the request context, so a preflight is answered here
    before the platform's CORS could refuse an origin it does not list.

    - A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered 204 with
      `methods`, the requested headers echoed back, and a max age; it never reaches a route.
    - Every other response under the prefix gets `Access-Control-Allow-Origin: *` and
      `Access-Control-Expose-Headers`. No credentials: callers authenticate with a bearer
      token in `Authorization`, which a preflight may ask for like any other header.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        methods: tuple[str, ...],
        expose_headers: tuple[str, ...] = (),
        max_age: int = 7200,  # Chromium caps preflight caching at 2 hours
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.preflight_headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", ", ".join(methods).encode("latin-1")),
            (b"access-control-max-age", str(max_age).encode("latin-1")),
            (b"vary", b"Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        self.response_headers = {"access-control-allow-origin": "*"}
        if expose_headers:
            self.response_headers["access-control-expose-headers"] = ", ".join(expose_headers)

    def _covers(self, scope: Scope) -> bool:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._covers(scope):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
            await self._preflight(scope, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.response_headers.items():
                    headers[name] = value  # replaces what the platform's CORS may have set
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, send: Send) -> None:
        headers = list(self.preflight_headers)
        requested = _header(scope, b"access-control-request-headers")
        # Echo the names asked for (the spec runner asks for `content-type`); anything that is
        # not a list of header names is left out, and the browser then refuses the request.
        if requested is not None and _HEADER_NAMES.match(requested.strip()):
            headers.append((b"access-control-allow-headers", requested.strip().encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
