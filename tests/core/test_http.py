"""The client for outside services, against a real HTTP server on loopback that misbehaves on cue."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sixty.core.config import Settings
from sixty.core.errors import install_error_handlers
from sixty.core.http import (
    CircuitBreaker,
    HttpClient,
    HttpClientDep,
    RetryPolicy,
    UpstreamError,
    default_user_agent,
    parse_retry_after,
    shared_ssl_context,
)
from sixty.main import create_app
from tests.factories.fakes import local_server

FAST_RETRIES = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05, retry_after_cap=2.0)


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[HTTPServer]:
    with local_server() as server:
        yield server


@pytest.fixture
def upstream(upstream_server: HTTPServer) -> Iterator[HTTPServer]:
    upstream_server.clear()
    yield upstream_server
    upstream_server.clear()


@pytest.fixture
def stalling_server() -> Iterator[HTTPServer]:
    """A server of the test's own: answers that stall past the test must not land in another's log."""
    with local_server() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(
        connect_timeout=1.0, read_timeout=0.5, total_timeout=5.0, retry=FAST_RETRIES, breaker_threshold=0
    )
    yield client
    await client.aclose()


def closed_port_url() -> str:
    """A loopback address nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def fail_then_answer(server: HTTPServer, path: str, failures: list[Response], answer: Response) -> None:
    for failure in failures:
        server.expect_oneshot_request(path).respond_with_response(failure)
    server.expect_request(path).respond_with_response(answer)


async def test_get_json_answers_the_decoded_body_and_names_the_project(
    http: HttpClient, upstream: HTTPServer
) -> None:
    upstream.expect_request("/data", query_string="q=1").respond_with_json({"ok": True})

    assert await http.get_json(upstream.url_for("/data"), params={"q": 1}) == {"ok": True}

    request, _response = upstream.log[0]
    assert request.headers["User-Agent"].startswith("Sixty/")
    assert request.headers["Accept"] == "application/json"


async def test_503s_are_retried_until_an_answer_comes(http: HttpClient, upstream: HTTPServer) -> None:
    fail_then_answer(
        upstream, "/flaky", [Response("down", status=503), Response("bad gw", status=502)], Response("{}")
    )

    assert await http.get_json(upstream.url_for("/flaky")) == {}
    assert len(upstream.log) == 3


async def test_a_service_that_keeps_failing_is_unavailable_after_the_last_attempt(
    http: HttpClient, upstream: HTTPServer
) -> None:
    upstream.expect_request("/down").respond_with_data("no", status=504)

    with pytest.raises(UpstreamError) as caught:
        await http.get_json(upstream.url_for("/down"), service="Down Inc.")

    assert caught.value.reason == "unavailable"
    assert caught.value.status == 503
    assert caught.value.upstream_status == 504
    assert caught.value.params == {"service": "Down Inc."}
    assert str(caught.value).startswith("Down Inc.: unavailable (HTTP 504)")
    assert len(upstream.log) == FAST_RETRIES.max_attempts


async def test_429_retry_after_is_honoured(http: HttpClient, upstream: HTTPServer) -> None:
    seen: list[float] = []

    def handler(request: Request) -> Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response('{"n": 2}', content_type="application/json")

    upstream.expect_request("/limited").respond_with_handler(handler)

    assert await http.get_json(upstream.url_for("/limited")) == {"n": 2}
    # The jittered backoff alone would have waited at most 0.05 s.
    assert seen[1] - seen[0] >= 0.95


async def test_a_retry_after_beyond_the_cap_fails_at_once_and_is_passed_on(
    http: HttpClient, upstream: HTTPServer
) -> None:
    upstream.expect_request("/later").respond_with_data("later", status=503, headers={"Retry-After": "120"})

    with pytest.raises(UpstreamError) as caught:
        await http.get_json(upstream.url_for("/later"))

    assert len(upstream.log) == 1
    assert caught.value.retry_after == 120
    assert caught.value.headers == {"Retry-After": "120"}


async def test_a_stalled_answer_is_a_timeout_within_the_total_budget(stalling_server: HTTPServer) -> None:
    started_attempts: list[float] = []

    def stall(request: Request) -> Response:
        started_attempts.append(time.monotonic())
        time.sleep(1.5)
        return Response("{}")

    stalling_server.expect_request("/stall").respond_with_handler(stall)
    client = HttpClient(
        read_timeout=0.3,
        total_timeout=0.8,
        retry=RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_max=0.01),
        breaker_threshold=0,
    )
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        await client.get_json(stalling_server.url_for("/stall"))
    elapsed = time.monotonic() - started
    await client.aclose()

    assert caught.value.reason == "timeout"
    assert caught.value.status == 503
    # Attempts time out after 0.3 s and are retried, but the whole call stops at its 0.8 s budget.
    assert 0.6 <= elapsed < 1.4
    assert 2 <= len(started_attempts) <= 3


async def test_a_refused_connection_is_retried_then_unavailable(http: HttpClient) -> None:
    attempts: list[httpx.Request] = []

    class CountingTransport(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(request)
            return await super().handle_async_request(request)

    client = HttpClient(retry=FAST_RETRIES, breaker_threshold=0, transport=CountingTransport())
    with pytest.raises(UpstreamError) as caught:
        await client.post_json(closed_port_url(), {"x": 1})
    await client.aclose()

    assert caught.value.reason == "unavailable"
    assert "ConnectError" in caught.value.cause
    # Even a POST is sent again when it never reached the server.
    assert len(attempts) == FAST_RETRIES.max_attempts


async def test_a_post_that_reached_the_server_is_not_repeated(http: HttpClient, upstream: HTTPServer) -> None:
    upstream.expect_request("/orders", method="POST").respond_with_data("busy", status=503)

    with pytest.raises(UpstreamError):
        await http.post_json(upstream.url_for("/orders"), {"item": 1})

    assert len(upstream.log) == 1
    assert json.loads(upstream.log[0][0].get_data()) == {"item": 1}


async def test_a_post_marked_idempotent_is_retried(http: HttpClient, upstream: HTTPServer) -> None:
    fail_then_answer(upstream, "/put-like", [Response("busy", status=503)], Response('{"done": 1}'))

    assert await http.post_json(upstream.url_for("/put-like"), {}, idempotent=True) == {"done": 1}
    assert len(upstream.log) == 2


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (Response("not json", content_type="application/json"), "invalid JSON"),
        (Response('{"error": "nope"}', status=404), "HTTP 404"),
        (Response('{"error": "boom"}', status=500), "HTTP 500"),
    ],
)
async def test_unusable_answers_are_bad_responses_and_not_retried(
    http: HttpClient, upstream: HTTPServer, answer: Response, cause: str
) -> None:
    upstream.expect_request("/odd").respond_with_response(answer)

    with pytest.raises(UpstreamError) as caught:
        await http.get_json(upstream.url_for("/odd"))

    assert caught.value.reason == "bad_response"
    assert caught.value.status == 502
    assert cause in caught.value.cause
    assert len(upstream.log) == 1


async def test_get_xml_parses_and_refuses_entities(http: HttpClient, upstream: HTTPServer) -> None:
    upstream.expect_request("/ok.xml").respond_with_data(
        '<?xml version="1.0"?><a xmlns="urn:x"><b v="1"/></a>', content_type="text/xml"
    )
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<lolz>&lol2;</lolz>"
    )
    upstream.expect_request("/bomb.xml").respond_with_data(bomb, content_type="text/xml")
    upstream.expect_request("/broken.xml").respond_with_data("<a><b></a>", content_type="text/xml")

    root = await http.get_xml(upstream.url_for("/ok.xml"))
    assert root.find("{urn:x}b") is not None
    for path in ("/bomb.xml", "/broken.xml"):
        with pytest.raises(UpstreamError) as caught:
            await http.get_xml(upstream.url_for(path))
        assert caught.value.reason == "bad_response"


async def test_an_oversized_body_is_refused(upstream: HTTPServer) -> None:
    upstream.expect_request("/huge").respond_with_data(b"x" * 5000)
    client = HttpClient(max_response_bytes=4096, retry=FAST_RETRIES, breaker_threshold=0)

    with pytest.raises(UpstreamError) as caught:
        await client.request("GET", upstream.url_for("/huge"))
    await client.aclose()

    assert caught.value.reason == "bad_response"
    assert "larger than 4096" in caught.value.cause


async def test_gzip_bodies_are_decoded(http: HttpClient, upstream: HTTPServer) -> None:
    upstream.expect_request("/gz").respond_with_data(
        gzip.compress(b'{"zipped": true}'),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )

    assert await http.get_json(upstream.url_for("/gz")) == {"zipped": True}


async def test_the_circuit_opens_after_failures_and_a_trial_call_closes_it(upstream: HTTPServer) -> None:
    upstream.expect_oneshot_request("/svc").respond_with_data("down", status=503)
    upstream.expect_oneshot_request("/svc").respond_with_data("down", status=503)
    upstream.expect_request("/svc").respond_with_json({"back": True})
    client = HttpClient(
        retry=RetryPolicy(max_attempts=1), breaker_threshold=2, breaker_cooldown=0.3, read_timeout=1.0
    )
    url = upstream.url_for("/svc")

    for _ in range(2):
        with pytest.raises(UpstreamError):
            await client.get_json(url)
    with pytest.raises(UpstreamError) as fast:
        await client.get_json(url)
    assert fast.value.cause == "circuit open"
    assert fast.value.retry_after is not None
    assert len(upstream.log) == 2  # the open circuit kept the third call home

    await asyncio.sleep(0.35)
    assert await client.get_json(url) == {"back": True}
    assert client.breaker("127.0.0.1").opened_at is None
    await client.aclose()


async def test_a_cancelled_call_counts_neither_as_success_nor_failure(stalling_server: HTTPServer) -> None:
    def stall(request: Request) -> Response:
        time.sleep(1.0)
        return Response("{}")

    stalling_server.expect_request("/slow").respond_with_handler(stall)
    client = HttpClient(breaker_threshold=1, retry=RetryPolicy(max_attempts=1))
    call = asyncio.create_task(client.get_json(stalling_server.url_for("/slow")))
    await asyncio.sleep(0.2)
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    breaker = client.breaker("127.0.0.1")
    assert (breaker.failures, breaker.opened_at, breaker.trial_running) == (0, None, False)
    await client.aclose()


def test_breaker_half_open_lets_one_trial_through_and_reopens_on_its_failure() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=lambda: now[0])
    breaker.failed()
    assert not breaker.allow()
    assert breaker.retry_after() == 10
    now[0] = 11
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # everyone else waits for its verdict
    breaker.failed()
    assert not breaker.allow()
    now[0] = 22
    assert breaker.allow()
    breaker.abandoned()  # a cancelled trial leaves room for the next
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.allow()
    assert breaker.retry_after() == 0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0
    assert parse_retry_after("Mon, 02 Mar 2026 12:01:30 -0000", now=now) == 90
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_an_upstream_error_is_a_problem_document() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/timeout")
    async def timeout() -> None:
        raise UpstreamError("timeout", service="Example", retry_after=2.2)

    @app.get("/garbage")
    async def garbage() -> None:
        raise UpstreamError("bad_response", service="Example")

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        timed_out = await client.get("/timeout")
        bad = await client.get("/garbage")

    assert timed_out.status_code == 503
    assert timed_out.headers["Retry-After"] == "3"
    assert timed_out.headers["content-type"] == "application/problem+json"
    assert timed_out.json()["code"] == "upstream_timeout"
    assert "Example did not answer in time" in timed_out.json()["detail"]
    assert bad.status_code == 502
    assert bad.json()["code"] == "upstream_bad_response"


async def test_routes_get_the_apps_client_as_a_dependency() -> None:
    app = FastAPI()
    app.state.http = HttpClient(user_agent="Sixty/test")

    @app.get("/agent")
    async def agent(http: HttpClientDep) -> str:
        return http.user_agent

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/agent")).json() == "Sixty/test"
    await app.state.http.aclose()


async def test_the_client_closes_as_a_context_manager() -> None:
    async with HttpClient() as client:
        assert not client._client.is_closed
    assert client._client.is_closed


async def test_the_app_has_one_client_built_from_settings_and_closes_it(settings: Settings) -> None:
    own = settings.model_copy(update={"http_user_agent": None, "public_base_url": "https://sixty.example"})
    app = create_app(own)
    async with app.router.lifespan_context(app):
        client: HttpClient = app.state.http
        assert client.total_timeout == own.http_total_timeout
        assert client.retry.max_attempts == own.http_max_attempts
        assert client.user_agent == default_user_agent(own)
        assert "(+https://sixty.example)" in client.user_agent
    assert client._client.is_closed


async def test_clients_share_one_ssl_context() -> None:
    # Loading the CA bundle is the costly part of a client; a client per job must not repeat it.
    first, second = HttpClient(), HttpClient()
    try:
        contexts = {id(client._client._transport._pool._ssl_context) for client in (first, second)}  # type: ignore[attr-defined]
        assert contexts == {id(shared_ssl_context())}
        assert shared_ssl_context().verify_mode.name == "CERT_REQUIRED"
    finally:
        await first.aclose()
        await second.aclose()
