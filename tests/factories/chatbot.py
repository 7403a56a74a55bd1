"""Chatbot data made through the service, as staff would make it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot import service
from sixty.chatbot.models import Intent
from sixty.chatbot.schemas import IntentCreate


async def create_intent(
    session: AsyncSession,
    *,
    name: str = "store_location",
    patterns: tuple[str, ...] = (r"\bwhere (is|are) (the|your) (store|shop)\b",),
    examples: tuple[str, ...] = ("where is your store", "store address"),
    answer: str = "Our store is at 1 Example Street.",
    flow: str | None = None,
) -> Intent:
    data = IntentCreate.model_validate(
        {"name": name, "patterns": list(patterns), "examples": list(examples), "answer": answer, "flow": flow}
    )
    return await service.create_intent(session, data)
