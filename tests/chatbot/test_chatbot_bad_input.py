"""Bad messages and bad ids: a clear 4xx problem document, and nothing written. Messages are rate
limited per client address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot.models import Conversation, Message
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.chatbot.conftest import count, problem, say


async def nothing_written(session: AsyncSession) -> tuple[int, int]:
    return await count(session, Conversation), await count(session, Message)


@pytest.mark.parametrize(
    ("body", "field", "error_type"),
    [
        ({"message": ""}, "message", "string_too_short"),
        ({"message": "   \t\n "}, "message", "string_pattern_mismatch"),
        ({"message": "\u3000\u00a0"}, "message", "string_pattern_mismatch"),
        ({"message": "a" * 1001}, "message", "string_too_long"),
        ({"message": "hi\u0000"}, "message", "string_pattern_mismatch"),
        ({"message": 42}, "message", "string_type"),
        ({"message": None}, "message", "string_type"),
        ({}, "message", "missing"),
        ({"message": "hi", "conversation_id": "not-a-uuid"}, "conversation_id", "uuid_parsing"),
        ({"message": "hi", "conversation_id": 12}, "conversation_id", "uuid_type"),
        ({"message": "hi", "mood": "happy"}, "mood", "extra_forbidden"),
    ],
)
async def test_bad_messages_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, body: dict[str, Any], field: str, error_type: str
) -> None:
    before = await nothing_written(session)
    document = problem(await client.post("/api/chatbot/messages", json=body), 422)
    assert document["code"] == "validation_failed"
    assert (document["errors"][0]["field"], document["errors"][0]["type"]) == (field, error_type)
    assert await nothing_written(session) == before


async def test_the_longest_message_is_accepted_and_blanks_are_trimmed(client: AsyncClient) -> None:
    reply = await say(client, " " + "a" * 998 + " ")  # the limit counts what was sent, blanks included
    history = (await client.get(f"/api/chatbot/conversations/{reply['conversation_id']}")).json()
    assert history["items"][0]["text"] == "a" * 998


async def test_an_unknown_conversation_is_404_and_writes_nothing(
    client: AsyncClient, session: AsyncSession
) -> None:
    before = await nothing_written(session)
    unknown = str(uuid.uuid4())
    document = problem(
        await client.post("/api/chatbot/messages", json={"message": "hi", "conversation_id": unknown}), 404
    )
    assert document["detail"] == f"Conversation {unknown} was not found."
    problem(await client.get(f"/api/chatbot/conversations/{unknown}"), 404)
    problem(await client.delete(f"/api/chatbot/conversations/{unknown}"), 404)
    assert await nothing_written(session) == before


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "6f1d2c3b-4a59-4e8d-b7c6-a5f4e3d2c1bz"])
async def test_malformed_ids_in_paths_are_422(client: AsyncClient, bad_id: str) -> None:
    for response in (
        await client.get(f"/api/chatbot/conversations/{bad_id}"),
        await client.delete(f"/api/chatbot/conversations/{bad_id}"),
    ):
        assert problem(response, 422)["errors"][0]["loc"] == ["path", "conversation_id"]


async def test_bad_bodies_and_media_types(client: AsyncClient, session: AsyncSession) -> None:
    before = await nothing_written(session)
    not_json = await client.post(
        "/api/chatbot/messages", content=b'{"message": "hi"', headers={"Content-Type": "application/json"}
    )
    assert problem(not_json, 422)["errors"][0]["type"] == "json_invalid"
    wrong_type = await client.post(
        "/api/chatbot/messages", content=b"message=hi", headers={"Content-Type": "text/plain"}
    )
    problem(wrong_type, 415)
    array = await client.post("/api/chatbot/messages", json=["hi"])
    problem(array, 422)
    assert await nothing_written(session) == before


async def test_bad_history_queries_are_422(client: AsyncClient) -> None:
    conversation = (await say(client, "hello"))["conversation_id"]
    url = f"/api/chatbot/conversations/{conversation}"
    for params in ({"limit": 0}, {"limit": 101}, {"sort": "text"}, {"cursor": "forged.cursor"}):
        problem(await client.get(url, params=params), 422)


async def test_a_bad_token_is_401_not_anonymous(client: AsyncClient, session: AsyncSession) -> None:
    before = await nothing_written(session)
    response = await client.post(
        "/api/chatbot/messages", json={"message": "hi"}, headers={"Authorization": "Bearer not.a.token"}
    )
    assert problem(response, 401)["code"] == "invalid_token"
    assert await nothing_written(session) == before


@pytest.fixture
async def limited(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    configured = settings.model_copy(
        update={
            "ratelimit_enabled": True,
            "ratelimit_prefix": f"sixty-test:{uuid.uuid4().hex}:",
            "ratelimit_policies": {"chatbot.messages.ip": "3/minute"},
        }
    )
    app = create_app(configured, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


async def test_messages_are_rate_limited_per_address(limited: AsyncClient, session: AsyncSession) -> None:
    conversation = (await say(limited, "hello"))["conversation_id"]
    await say(limited, "thanks", conversation)
    await say(limited, "bye", conversation)
    before = await nothing_written(session)
    blocked = await limited.post(
        "/api/chatbot/messages", json={"message": "hi", "conversation_id": conversation}
    )
    assert problem(blocked, 429)["code"] == "rate_limited"
    assert int(blocked.headers["retry-after"]) >= 1
    assert '"chatbot.messages.ip";r=0;' in blocked.headers["ratelimit"]
    assert await nothing_written(session) == before
    # Reading the history is not a message: it is not limited by this policy.
    assert (await limited.get(f"/api/chatbot/conversations/{conversation}")).status_code == 200
