"""Unmatched questions routed to an OpenAI-compatible endpoint: a local fake server speaking
`POST /v1/chat/completions`, its error documents, and a timeout. Whatever the endpoint does, the
user gets an answer (the endpoint's or the normal fallback), never a 500."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.chatbot.conftest import say

API_KEY = "sk-test-0123456789"
PATH = "/v1/chat/completions"


def completion(content: Any) -> dict[str, Any]:
    """A chat completion as OpenAI's API answers it."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1764150000,
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
    }


def error(status: int, message: str, kind: str, code: str | None, **headers: str) -> Response:
    """An error as OpenAI's API answers it: `{"error": {"message", "type", "param", "code"}}`."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


@dataclass
class FakeLLM:
    """Answers like an OpenAI-compatible server; `script` holds the next answers (the last one repeats),
    `requests` what it was sent."""

    server: HTTPServer
    script: list[Response | float] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        self.requests.append({"headers": dict(request.headers), "body": request.get_json()})
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, float):  # stall this long, then answer
            time.sleep(step)
            return Response(json.dumps(completion("too late")), content_type="application/json")
        return step

    def answers(self, *steps: Response | float) -> None:
        self.script[:] = list(steps)


def ok(content: Any) -> Response:
    return Response(json.dumps(completion(content)), content_type="application/json")


@pytest.fixture(scope="module")
def llm_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def fake(llm_server: HTTPServer) -> Iterator[FakeLLM]:
    llm_server.clear()
    fake = FakeLLM(llm_server, [ok("We do not sell tickets, sorry.")])
    llm_server.expect_request(PATH, method="POST").respond_with_handler(fake.handle)
    yield fake
    llm_server.clear()


def llm_settings(settings: Settings, base_url: str, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "chatbot_llm_enabled": True,
            "chatbot_llm_base_url": base_url,
            "chatbot_llm_model": "test-model",
            "chatbot_llm_api_key": SecretStr(API_KEY),
            "chatbot_llm_timeout": 1.0,
            "chatbot_llm_history": 4,
            "http_max_attempts": 2,
            "http_backoff_base": 0.01,
            "http_backoff_max": 0.02,
            "http_breaker_threshold": 0,
            **changes,
        }
    )


async def app_client(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    app: FastAPI = create_app(settings, db=db)
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        yield http


@pytest.fixture
async def bot(settings: Settings, db: Database, fake: FakeLLM) -> AsyncIterator[AsyncClient]:
    """A client of an app whose unmatched questions go to the fake endpoint."""
    async for http in app_client(llm_settings(settings, fake.server.url_for("/v1")), db):
        yield http


async def test_an_unmatched_question_gets_the_endpoints_answer(bot: AsyncClient, fake: FakeLLM) -> None:
    first = await say(bot, "hello")
    assert first["intent"] == "greeting"
    assert fake.requests == []  # matched questions never leave the process

    reply = await say(bot, "Do you sell tickets for the concert?", first["conversation_id"])
    assert reply["source"] == "llm"
    assert reply["reply"] == "We do not sell tickets, sorry."
    assert reply["intent"] is None
    assert reply["confidence"] is None

    [sent] = fake.requests
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert sent["headers"]["Content-Type"] == "application/json"
    body = sent["body"]
    assert body["model"] == "test-model"
    assert body["max_tokens"] == 300
    roles = [message["role"] for message in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # the conversation so far goes along
    assert body["messages"][0]["content"].startswith("You are the support assistant")
    assert body["messages"][1]["content"] == "hello"
    assert body["messages"][2]["content"] == first["reply"]
    assert body["messages"][3]["content"] == "Do you sell tickets for the concert?"

    history = (await bot.get(f"/api/chatbot/conversations/{reply['conversation_id']}")).json()
    assert history["items"][-1]["text"] == "We do not sell tickets, sorry."
    assert history["items"][-1]["source"] == "llm"


async def test_history_sent_along_is_bounded(bot: AsyncClient, fake: FakeLLM) -> None:
    conversation = (await say(bot, "hello"))["conversation_id"]
    for question in ("thanks", "bye", "hi"):
        await say(bot, question, conversation)
    await say(bot, "anything about the concert?", conversation)
    [sent] = fake.requests
    assert len(sent["body"]["messages"]) == 1 + 4 + 1  # system, the last 4 messages, the question
    assert sent["body"]["messages"][1]["content"] == "bye"


async def test_no_call_during_a_flow(bot: AsyncClient, fake: FakeLLM) -> None:
    conversation = (await say(bot, "book a callback"))["conversation_id"]
    reply = await say(bot, "whatever you like, my friend", conversation)  # a bad name, not a question
    assert reply["source"] == "flow"
    assert fake.requests == []


TOO_LONG = error(400, "This model's maximum context length is 4096 tokens.", "invalid_request_error", None)
NO_MODEL = error(404, "The model `test-model` does not exist.", "invalid_request_error", "model_not_found")
SERVER_ERROR = error(500, "The server had an error while processing your request.", "server_error", None)
OVERLOADED = error(503, "The engine is currently overloaded.", "server_error", None)
RATE_LIMITED = error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", **{"Retry-After": "0"})


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        (TOO_LONG, "400"),
        (NO_MODEL, "404"),
        (SERVER_ERROR, "500"),
        (OVERLOADED, "503, retried"),
        (RATE_LIMITED, "429, retried"),
        (Response("<html>Bad gateway</html>", status=502, content_type="text/html"), "502 in HTML, retried"),
        (Response("not json", content_type="application/json"), "not JSON"),
        (Response(json.dumps({"choices": []}), content_type="application/json"), "no choices"),
        (ok(""), "empty content"),
        (ok(None), "null content (a tool call)"),
    ],
)
async def test_endpoint_errors_give_the_normal_fallback(
    bot: AsyncClient, fake: FakeLLM, answer: Response, what: str
) -> None:
    fake.answers(answer)
    reply = await say(bot, "Do you sell opening night tickets?")
    assert reply["source"] == "fallback", what
    assert reply["reply"].startswith("Sorry, I did not understand that.")
    assert reply["suggestions"][0]["intent"] == "opening_hours"
    assert len(fake.requests) == (2 if "retried" in what else 1), what


async def test_a_wrong_key_is_the_endpoints_401_and_the_fallback(
    settings: Settings, db: Database, fake: FakeLLM
) -> None:
    wrong = llm_settings(settings, fake.server.url_for("/v1"), chatbot_llm_api_key=SecretStr("sk-wrong"))
    async for http in app_client(wrong, db):
        reply = await say(http, "Do you sell tickets?")
        assert reply["source"] == "fallback"
    assert fake.requests[0]["headers"]["Authorization"] == "Bearer sk-wrong"


async def test_a_retried_429_then_an_answer(bot: AsyncClient, fake: FakeLLM) -> None:
    fake.answers(
        error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", **{"Retry-After": "0"}),
        ok("Hi!"),
    )
    reply = await say(bot, "Do you sell tickets?")
    assert reply["source"] == "llm"
    assert reply["reply"] == "Hi!"
    assert len(fake.requests) == 2


async def test_a_stalled_endpoint_times_out_into_the_fallback(
    settings: Settings, db: Database, fake: FakeLLM
) -> None:
    fake.answers(2.5)  # seconds of silence, then an answer; the bot waits 0.4 s in all
    slow = llm_settings(settings, fake.server.url_for("/v1"), chatbot_llm_timeout=0.4)
    async for http in app_client(slow, db):
        reply = await say(http, "Do you sell tickets?")
    # Had it waited for the stalled answer, the reply would be that answer ("too late").
    assert reply["source"] == "fallback"
    assert reply["reply"].startswith("Sorry, I did not understand that.")


async def test_an_endpoint_that_is_down_gives_the_fallback(settings: Settings, db: Database) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async for http in app_client(llm_settings(settings, f"http://127.0.0.1:{port}/v1"), db):
        reply = await say(http, "Do you sell tickets?")
    assert reply["source"] == "fallback"


async def test_off_by_default(app: FastAPI, settings: Settings) -> None:
    assert settings.chatbot_llm_enabled is False
    assert app.state.chatbot.llm is None
