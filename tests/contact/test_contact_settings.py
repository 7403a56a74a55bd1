"""B7 settings: the inbox must be a bare address mail can be sent to as is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from sixty.core.config import Settings


@pytest.mark.parametrize(
    "value",
    ["Desk <desk@example.com>", "desk@localhost", "desk", "josé@example.com", "desk@example.com\r\nBcc: x"],
)
def test_an_inbox_that_is_not_a_bare_address_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="not a bare mail address"):
        Settings(contact_inbox=value, _env_file=None)


def test_inbox_and_times_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_CONTACT_INBOX", "desk@example.com")
    monkeypatch.setenv("SIXTY_CONTACT_MIN_FILL_TIME", "5")
    monkeypatch.setenv("SIXTY_CONTACT_FORM_TTL", "PT2H")
    settings = Settings(_env_file=None)
    assert settings.contact_inbox == "desk@example.com"
    assert settings.contact_min_fill_time == timedelta(seconds=5)
    assert settings.contact_form_ttl == timedelta(hours=2)
    monkeypatch.setenv("SIXTY_CONTACT_INBOX", "")
    assert Settings(_env_file=None).contact_inbox is None
    monkeypatch.setenv("SIXTY_CONTACT_FORM_TTL", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
