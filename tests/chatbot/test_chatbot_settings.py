"""The chatbot's settings (`SIXTY_CHATBOT_*`): checked when the app starts, not when a message
arrives."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from sixty.chatbot.service import ChatPolicy
from sixty.core.config import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults() -> None:
    defaults = settings()
    assert defaults.chatbot_match_threshold == 0.75
    assert defaults.chatbot_llm_enabled is False
    assert defaults.chatbot_timezone == "UTC"
    assert ChatPolicy.from_settings(defaults).timezone is UTC


def test_they_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_CHATBOT_MATCH_THRESHOLD", "0.6")
    monkeypatch.setenv("SIXTY_CHATBOT_TIMEZONE", "Pacific/Kiritimati")
    monkeypatch.setenv("SIXTY_CHATBOT_LLM_ENABLED", "true")
    monkeypatch.setenv("SIXTY_CHATBOT_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("SIXTY_CHATBOT_LLM_MODEL", "llama3.2")
    monkeypatch.setenv("SIXTY_CHATBOT_LLM_API_KEY", "sk-secret")
    loaded = settings()
    assert loaded.chatbot_match_threshold == 0.6
    assert loaded.chatbot_llm_api_key is not None
    assert loaded.chatbot_llm_api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(loaded)
    policy = ChatPolicy.from_settings(loaded)
    # UTC+14: "today" for the bot is the date there.
    assert policy.today() == datetime.now(ZoneInfo("Pacific/Kiritimati")).date()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"chatbot_timezone": "Mars/Olympus_Mons"}, "not an IANA time zone"),
        ({"chatbot_match_threshold": 1.5}, "less than or equal to 1"),
        ({"chatbot_match_threshold": -0.1}, "greater than or equal to 0"),
        ({"chatbot_pattern_budget": 0}, "greater than 0"),
        ({"chatbot_callback_horizon_days": 0}, "greater than or equal to 1"),
        ({"chatbot_llm_enabled": True}, "needs SIXTY_CHATBOT_LLM_BASE_URL and _MODEL"),
        ({"chatbot_llm_enabled": True, "chatbot_llm_base_url": "http://127.0.0.1/v1"}, "_MODEL"),
        ({"chatbot_llm_base_url": "file:///etc/passwd"}, "must be an http(s) URL"),
        ({"chatbot_llm_timeout": 0}, "greater than 0"),
        ({"chatbot_llm_system_prompt": ""}, "at least 1 character"),
    ],
)
def test_bad_values_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(**values)
