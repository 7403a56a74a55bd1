"""Concurrency claims, proven with concurrent requests on a database that really commits: messages
sent at once to one conversation are all kept, numbered without gaps or repeats, and a flow's
answers are applied one at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select

from sixty.chatbot.models import CallbackRequest, Conversation, Message
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app

RACERS = 12


@dataclass
class Committing:
    client: AsyncClient
    db: Database
    conversations: list[uuid.UUID]


@pytest.fixture
async def committing(settings: Settings) -> AsyncIterator[Committing]:
    """An app whose requests commit for real; the conversations the test records are removed after it."""
    db = Database(create_engine(settings))
    app: FastAPI = create_app(settings, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        state = Committing(http, db, [])
        yield state
    async with db.session() as session:
        await session.execute(
            delete(CallbackRequest).where(CallbackRequest.conversation_id.in_(state.conversations))
        )
        await session.execute(delete(Conversation).where(Conversation.id.in_(state.conversations)))
        await session.commit()
    await db.dispose()


async def post(
    client: AsyncClient, message: str, conversation_id: uuid.UUID | None = None
) -> dict[str, object]:
    body: dict[str, object] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = str(conversation_id)
    response = await client.post("/api/chatbot/messages", json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply


async def test_concurrent_messages_are_all_kept_in_order(committing: Committing) -> None:
    conversation = uuid.UUID(str((await post(committing.client, "hello"))["conversation_id"]))
    committing.conversations.append(conversation)

    questions = [f"opening hours {index}" for index in range(RACERS)]
    await asyncio.gather(*(post(committing.client, question, conversation) for question in questions))

    async with committing.db.session() as session:
        messages = (
            await session.execute(
                select(Message.seq, Message.role, Message.text)
                .where(Message.conversation_id == conversation)
                .order_by(Message.seq)
            )
        ).all()
        count = await session.scalar(
            select(Conversation.message_count).where(Conversation.id == conversation)
        )
    assert [row.seq for row in messages] == list(range(1, 2 * RACERS + 3))
    assert count == 2 * RACERS + 2
    # Each question is followed by its own answer: turns never interleave.
    for said, answered in zip(messages[::2], messages[1::2], strict=True):
        assert said.role == "user"
        assert answered.role == "bot"
    assert sorted(row.text for row in messages[2::2]) == sorted(questions)


async def test_concurrent_yes_books_one_callback(committing: Committing) -> None:
    conversation = uuid.UUID(str((await post(committing.client, "book a callback"))["conversation_id"]))
    committing.conversations.append(conversation)
    await post(committing.client, "Ann", conversation)
    await post(committing.client, "tomorrow", conversation)

    replies = await asyncio.gather(*(post(committing.client, "yes", conversation) for _ in range(RACERS)))

    completed = [reply for reply in replies if (reply["flow"] or {}).get("status") == "completed"]  # type: ignore[attr-defined]
    assert len(completed) == 1  # the first yes books; the others arrive after the flow has ended
    async with committing.db.session() as session:
        booked = await session.scalar(
            select(CallbackRequest.name).where(CallbackRequest.conversation_id == conversation)
        )
        total = len(
            (
                await session.scalars(
                    select(CallbackRequest.id).where(CallbackRequest.conversation_id == conversation)
                )
            ).all()
        )
    assert booked == "Ann"
    assert total == 1
