"""Wires the chatbot into the app: the per-process matcher index, the policy from settings, and
the OpenAI-compatible client when one is configured (on the platform's HTTP client)."""

from __future__ import annotations

from fastapi import FastAPI

from sixty.chatbot.llm import ChatCompletionsClient
from sixty.chatbot.service import ChatbotContext, ChatPolicy, IntentIndex
from sixty.core.config import Settings
from sixty.modules import StartupHook


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    app.state.chatbot = ChatbotContext(
        index=IntentIndex(),
        policy=ChatPolicy.from_settings(settings),
        llm=ChatCompletionsClient.from_settings(settings, app.state.http),
    )
    return None
