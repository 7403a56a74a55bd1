"""Questions nothing matched, asked to any OpenAI-compatible endpoint (OpenAI, Azure's compatible
endpoint, vLLM, llama.cpp's server, Ollama, LiteLLM...): `POST {base_url}/chat/completions`.

Off unless `SIXTY_CHATBOT_LLM_ENABLED` is set. The call goes through the platform's client
(core/http.py): timeouts, retries with backoff, a circuit breaker per host. A chat completion
changes nothing on the server, so it is retried like a GET (on 429/502/503/504 and connection
errors) within `SIXTY_CHATBOT_LLM_TIMEOUT` seconds in all. Whatever goes wrong (a timeout, an
error document, an answer without text), `answer` returns None and the bot gives its normal
fallback: the endpoint never turns a message into a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from sixty.core.config import Settings
from sixty.core.http import HttpClient, UpstreamError

logger = logging.getLogger("sixty.chatbot")

SERVICE = "LLM endpoint"
MAX_REPLY_CHARS = 4000
ROLES = {"user": "user", "bot": "assistant"}


@dataclass(frozen=True)
class ChatCompletionsClient:
    http: HttpClient
    url: str
    model: str
    api_key: str | None
    timeout: float
    max_tokens: int
    system_prompt: str

    @classmethod
    def from_settings(cls, settings: Settings, http: HttpClient) -> ChatCompletionsClient | None:
        """The client the settings describe, or None when the endpoint is off."""
        if not (
            settings.chatbot_llm_enabled and settings.chatbot_llm_base_url and settings.chatbot_llm_model
        ):
            return None
        key = settings.chatbot_llm_api_key
        return cls(
            http=http,
            url=settings.chatbot_llm_base_url.rstrip("/") + "/chat/completions",
            model=settings.chatbot_llm_model,
            api_key=key.get_secret_value() if key is not None else None,
            timeout=settings.chatbot_llm_timeout,
            max_tokens=settings.chatbot_llm_max_tokens,
            system_prompt=settings.chatbot_llm_system_prompt,
        )

    def request_body(self, history: Sequence[tuple[str, str]], question: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": self.system_prompt}]
        messages += [{"role": ROLES[role], "content": text} for role, text in history if role in ROLES]
        messages.append({"role": "user", "content": question})
        return {"model": self.model, "messages": messages, "max_tokens": self.max_tokens}

    async def answer(self, history: Sequence[tuple[str, str]], question: str) -> str | None:
        """The endpoint's answer to `question` after `history` ((role, text), oldest first), or None."""
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = await self.http.request(
                "POST",
                self.url,
                service=SERVICE,
                json=self.request_body(history, question),
                headers=headers,
                idempotent=True,
                read_timeout=self.timeout,
                total_timeout=self.timeout,
            )
        except UpstreamError as error:
            logger.warning("LLM endpoint failed", extra={"reason": error.reason, "cause": error.cause})
            return None
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            document = None
        if not response.is_success:
            logger.warning(
                "LLM endpoint refused the question",
                extra={"status": response.status_code, "error": _error_message(document)},
            )
            return None
        text = _content(document)
        if text is None:
            logger.warning("LLM endpoint answered without text", extra={"body": response.text[:200]})
        return text


def _error_message(document: Any) -> str | None:
    """The `error.message` of OpenAI's error shape, when the endpoint uses it."""
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:300]
    return None


def _content(document: Any) -> str | None:
    """`choices[0].message.content`, stripped and bounded; None unless it is non-empty text."""
    try:
        content = document["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(content, str) or not content.strip():
        return None
    return content.strip()[:MAX_REPLY_CHARS]
